"""Clip encoders: a video clip ``(N, T, 3, H, W)`` -> an embedding ``(N, out_dim)``."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .backbones import ResNetFrames
from .refiners import SpatialConvRefiner, TemporalConvRefiner
from .temporal import TemporalModel


class ClipEncoder(nn.Module):
    """Interface every encoder follows, so objectives and tasks take any of them:
    ``forward(clips: (N, T, 3, H, W)) -> (N, out_dim)``."""

    out_dim: int

    def encode_views(self, clips: torch.Tensor) -> torch.Tensor:
        """Every view of every sample encoded separately: ``(B, K, T, 3, H, W)`` -> ``(B, K, out_dim)``."""
        return self(clips.flatten(0, 1)).unflatten(0, clips.shape[:2])


class FrameTemporalEncoder(ClipEncoder):
    """Per-frame backbone (a ResNet) -> optional CNN refinement -> temporal model (LSTM/GRU or a
    causal Transformer) -> clip embedding.

    Each frame's map is average-pooled to a ``pool_grid`` x ``pool_grid`` grid and flattened.
    A grid of 1 is global average pooling, which discards where things are: a grid of 2 or 3
    keeps the coarse position that translation (camera pans, objects crossing) shows up in.

    The parts that depend on the previous part's width take it as their first argument, so a
    YAML config names them without repeating sizes (``class_path`` + ``init_args``)::

        backbone: {class_path: videovision.models.ResNetFrames, init_args: {arch: resnet18}}
        temporal: {class_path: videovision.models.RecurrentTemporal, init_args: {cell: gru}}
    """

    def __init__(
        self,
        backbone: ResNetFrames,
        temporal: Callable[[int], TemporalModel],
        spatial_refiner: Callable[[int], SpatialConvRefiner] | None = None,
        temporal_refiner: Callable[[int], TemporalConvRefiner] | None = None,
        pool_grid: int = 1,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        channels = backbone.out_channels
        self.spatial_refiner = spatial_refiner(channels) if spatial_refiner else nn.Identity()
        if spatial_refiner:
            channels = self.spatial_refiner.out_channels
        self.pool = nn.AdaptiveAvgPool2d(pool_grid)
        width = channels * pool_grid * pool_grid
        self.temporal_refiner = temporal_refiner(width) if temporal_refiner else nn.Identity()
        self.temporal = temporal(width)
        self.out_dim: int = self.temporal.out_dim

    def features(self, clips: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every level: ``maps`` (N, T, C, h, w), ``frame_features`` (N, T, C * grid^2), ``frames`` (N, T, D),
        ``clip`` (N, D)."""
        maps = self.spatial_refiner(self.backbone(clips))
        frame_features = self.temporal_refiner(self.pool(maps.flatten(0, 1)).flatten(1).unflatten(0, maps.shape[:2]))
        clip, frames = self.temporal(frame_features)
        return {"maps": maps, "frame_features": frame_features, "frames": frames, "clip": clip}

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        return self.features(clips)["clip"]


ResNetRNNEncoder = FrameTemporalEncoder  # the name before 0.2; configs that use it keep working for one release
