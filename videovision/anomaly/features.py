"""Encoder features of whole videos for anomaly scoring: each frame through the per-frame part of a
:class:`FrameTemporalEncoder` once, then clips (and streams) through its temporal part from those features.

A clip is ``clip_len`` frames every ``stride`` frames, as in pretraining; it covers ``span = (clip_len - 1) *
stride + 1`` frames. Windows start every ``hop`` frames and together cover every frame
(:func:`videovision.anomaly.metrics.sliding_windows`).

An encoder that reads residual frames (``frame_input: residual``) saw, in pretraining, each sampled frame minus the
one sampled before it; here frame ``t``'s features are those of ``x_t - x_{t - residual_gap}`` (``x_t - x_0`` for
the first frames), and those of the pair's normal flow with ``frame_input: normal_flow``, so a clip of every
``residual_gap``-th frame sees what it saw in pretraining, but for its first frame, whose pair with the frame
before the clip is kept rather than zeroed. A scorer that fits on clips taken at other steps or played backwards
asks for those pairs too (:class:`ResidualView`), so that a clip of every ``k * residual_gap``-th frame, or one
played backwards, sees what that clip showed in pretraining.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from data_modules.clip_samplers import clip_span

from ..models.encoder import FrameTemporalEncoder
from ..models.frame_inputs import motion_frames
from .metrics import sliding_windows

RESIDUAL_GAP = 3
"""Frames between the two frames of a residual input: the demo's clip stride (every 3rd frame at 25 fps)."""
RANDOM_INIT_SEED = 0
"""Seeds torch's generator before an encoder is built without a checkpoint (``checkpoint: null``): ``anomaly fit``,
``score``, the bench's random-init column and ``serve --anomaly`` get the same random encoder."""


class ResidualView(NamedTuple):
    """Residual frames of a video at another ``gap``, or as playing it ``backwards`` shows them: frame ``t``'s
    features are those of ``x_t - x_{t - gap}``, backwards ``x_{t - gap} - x_t`` (what playback reaching frame
    ``t - gap`` from frame ``t`` shows there); with normal-flow input, of that pair's normal flow."""

    gap: int
    backwards: bool = False


TrainingViews = dict[ResidualView, list[torch.Tensor]]
"""Per-frame features (N_v, C) of each training video under each residual view, in the order of the videos."""


def check_encoder(encoder: torch.nn.Module) -> FrameTemporalEncoder:
    """``encoder`` if it is a :class:`FrameTemporalEncoder` (scorers read its per-frame features and temporal model)."""
    if not isinstance(encoder, FrameTemporalEncoder):
        raise TypeError(
            f"anomaly scorers need a FrameTemporalEncoder (per-frame features + temporal model), got "
            f"{type(encoder).__name__}: set encoder.class_path to videovision.models.FrameTemporalEncoder"
        )
    return encoder


class FrameFeatures:
    """Pooled per-frame features before the temporal refiner of one video, fed in order a chunk at a time:
    normalised frames (N, 3, H, W) -> (N, C * grid^2). With residual or normal-flow input it carries the last
    ``residual_gap`` frames from one chunk to the next, so chunking does not change the features; ``backwards``
    pairs each frame the other way round, as playback backwards does (:class:`ResidualView`)."""

    def __init__(
        self,
        encoder: torch.nn.Module,
        residual_gap: int = RESIDUAL_GAP,
        batch_size: int = 256,
        backwards: bool = False,
    ) -> None:
        if residual_gap < 1:
            raise ValueError(f"residual_gap must be >= 1 (frames between a residual's two frames), got {residual_gap}")
        self.encoder = check_encoder(encoder).eval()
        self.residual_gap, self.batch_size, self.backwards = residual_gap, batch_size, backwards
        self.previous: torch.Tensor | None = None  # the last residual_gap frames seen

    @torch.no_grad()
    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        if self.encoder.frame_input != "rgb":
            frames = self._motion(frames)
        out = []
        for chunk in frames.split(self.batch_size):
            maps = self.encoder.spatial_refiner(self.encoder.backbone(chunk[None]))[0]
            out.append(self.encoder.pool(maps).flatten(1))
        return torch.cat(out)

    def _motion(self, frames: torch.Tensor) -> torch.Tensor:
        """What the backbone reads of each (N, 3, H, W) frame ``x_t`` after ``x_{t - residual_gap}`` (the video's
        first frame standing in before it), e.g. ``x_t - x_{t - residual_gap}``; the pair swapped ``backwards``."""
        gap = self.residual_gap
        if self.previous is None:
            self.previous = frames[:1].expand(gap, -1, -1, -1)
        seen = torch.cat([self.previous, frames])
        self.previous = seen[-gap:]
        earlier = seen[: len(frames)]
        pair = (earlier, frames) if self.backwards else (frames, earlier)
        return motion_frames(*pair, self.encoder.frame_input)


def frame_features(encoder: torch.nn.Module, frames: torch.Tensor, residual_gap: int = RESIDUAL_GAP) -> torch.Tensor:
    """:class:`FrameFeatures` of a whole video: normalised frames (N, 3, H, W) -> (N, C * grid^2)."""
    return FrameFeatures(encoder, residual_gap)(frames)


def clip_windows(num_frames: int, clip_len: int, stride: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame indices of the clips, (K, clip_len), and of every frame each covers, (K, span)."""
    span = clip_span(clip_len, stride)
    covered = sliding_windows(num_frames, span, min(hop, span))
    return covered[:, ::stride], covered


@torch.no_grad()
def clip_embeddings(encoder: FrameTemporalEncoder, features: torch.Tensor, clip_indices: np.ndarray) -> torch.Tensor:
    """Clip embeddings from per-frame features: (N, C) and (K, T) frame indices -> (K, D), as ``encoder(clips)``."""
    check_encoder(encoder).eval()
    sequences = encoder.temporal_refiner(features[torch.as_tensor(clip_indices)])
    return encoder.temporal(sequences)[0]
