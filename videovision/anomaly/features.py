"""Encoder features of whole videos for anomaly scoring: each frame through the per-frame part of a
:class:`FrameTemporalEncoder` once, then clips (and streams) through its temporal part from those features.

A clip is ``clip_len`` frames every ``stride`` frames, as in pretraining; it covers ``span = (clip_len - 1) *
stride + 1`` frames. Windows start every ``hop`` frames and together cover every frame
(:func:`videovision.anomaly.metrics.sliding_windows`).
"""

from __future__ import annotations

import numpy as np
import torch

from ..models.encoder import FrameTemporalEncoder
from .metrics import sliding_windows


def check_encoder(encoder: torch.nn.Module) -> FrameTemporalEncoder:
    """``encoder`` if it is a :class:`FrameTemporalEncoder` (scorers read its per-frame features and temporal model)."""
    if not isinstance(encoder, FrameTemporalEncoder):
        raise TypeError(
            f"anomaly scorers need a FrameTemporalEncoder (per-frame features + temporal model), got "
            f"{type(encoder).__name__}: set encoder.class_path to videovision.models.FrameTemporalEncoder"
        )
    if encoder.frame_input != "rgb":
        raise ValueError(
            f"anomaly scorers read each frame's own features, and this encoder reads frame differences "
            f"(encoder.init_args.frame_input: {encoder.frame_input}): use an encoder with frame_input: rgb"
        )
    return encoder


@torch.no_grad()
def frame_features(encoder: FrameTemporalEncoder, frames: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Pooled per-frame features before the temporal refiner: normalised frames (N, 3, H, W) -> (N, C * grid^2)."""
    check_encoder(encoder).eval()
    out = []
    for chunk in frames.split(batch_size):
        maps = encoder.spatial_refiner(encoder.backbone(chunk[None]))[0]
        out.append(encoder.pool(maps).flatten(1))
    return torch.cat(out)


def clip_windows(num_frames: int, clip_len: int, stride: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame indices of the clips, (K, clip_len), and of every frame each covers, (K, span)."""
    span = (clip_len - 1) * stride + 1
    covered = sliding_windows(num_frames, span, min(hop, span))
    return covered[:, ::stride], covered


@torch.no_grad()
def clip_embeddings(encoder: FrameTemporalEncoder, features: torch.Tensor, clip_indices: np.ndarray) -> torch.Tensor:
    """Clip embeddings from per-frame features: (N, C) and (K, T) frame indices -> (K, D), as ``encoder(clips)``."""
    check_encoder(encoder).eval()
    sequences = encoder.temporal_refiner(features[torch.as_tensor(clip_indices)])
    return encoder.temporal(sequences)[0]
