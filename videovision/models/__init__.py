"""Encoder parts, each chosen in YAML by ``class_path``."""

from .backbones import FrameBackbone, ResNetFrames, ViTFrames
from .encoder import ClipEncoder, FrameTemporalEncoder, ResNetRNNEncoder
from .refiners import SpatialConvRefiner, TemporalConvRefiner
from .temporal import RecurrentTemporal, TemporalModel, TransformerTemporal
from .video_cnn import Video3DCNN

__all__ = [
    "ClipEncoder",
    "FrameBackbone",
    "FrameTemporalEncoder",
    "RecurrentTemporal",
    "ResNetFrames",
    "ResNetRNNEncoder",
    "SpatialConvRefiner",
    "TemporalConvRefiner",
    "TemporalModel",
    "TransformerTemporal",
    "Video3DCNN",
    "ViTFrames",
]
