"""LightningModules: one base, one module per task."""

from .base import VideoModule
from .classify import VideoClassifier
from .embed import VideoEmbedder
from .pretrain import SSLPretrainModule

__all__ = ["SSLPretrainModule", "VideoClassifier", "VideoEmbedder", "VideoModule"]
