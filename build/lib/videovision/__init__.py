"""VideoVision: video understanding with little labelled data, on PyTorch Lightning."""

__version__ = "0.1.0"
