"""Encoder parts, each chosen in YAML by ``class_path``."""

from .backbones import ResNetFrames
from .encoder import ClipEncoder, ResNetRNNEncoder
from .refiners import SpatialConvRefiner, TemporalConvRefiner
from .temporal import RecurrentTemporal, TemporalModel

__all__ = [
    "ClipEncoder",
    "RecurrentTemporal",
    "ResNetFrames",
    "ResNetRNNEncoder",
    "SpatialConvRefiner",
    "TemporalConvRefiner",
    "TemporalModel",
]
