"""Serving a trained classifier: frame-by-frame streaming, exported models (ONNX, ``torch.export``), an
HTTP API with a web page."""
