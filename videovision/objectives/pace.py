"""Pace and direction prediction: which speed, forwards or backwards, a clip was played at.

Wang et al., "Self-supervised Video Representation Learning by Pace Prediction" (ECCV 2020), classify the
playback pace of a clip drawn from a longer window; Wei et al., "Learning and Using the Arrow of Time"
(CVPR 2018), classify forwards against backwards. Both can only be solved from motion, which is what the
frozen features must carry when classes differ by how things move rather than by what is seen.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from data_modules.clip_samplers import clip_span

from .base import Objective


def pace_views(
    clips: torch.Tensor, clip_len: int, paces: tuple[int, ...], generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw a pace, a direction and a start for each clip; return the views and their classes.

    ``clips`` (B, K, L, C, H, W) with ``L >= (clip_len - 1) * max(paces) + 1`` -> views (B, K, clip_len, C, H, W)
    and targets (B, K): ``pace index + len(paces) * backwards``. A view at pace ``p`` takes every ``p``-th frame
    from a random start that keeps it inside the clip; backwards views are the same frames in reverse order.
    Any trailing shape after L is carried along: per-frame features (B, K, L, D), or frame indices (B, K, L).
    """
    b, k, length = clips.shape[:3]
    needed = clip_span(clip_len, max(paces))
    if length < needed:
        raise ValueError(
            f"pace views of {clip_len} frames at pace {max(paces)} need clips of {needed} frames, got {length}"
        )
    device = clips.device
    pace_index = torch.randint(len(paces), (b, k), generator=generator).to(device)
    backwards = torch.randint(2, (b, k), generator=generator).to(device)
    pace = torch.tensor(paces, device=device)[pace_index]
    span = clip_span(clip_len, pace)
    start = (torch.rand(b, k, generator=generator).to(device) * (length - span + 1)).long()
    steps = torch.arange(clip_len, device=device)
    steps = torch.where(backwards[..., None].bool(), clip_len - 1 - steps, steps)
    index = start[..., None] + pace[..., None] * steps  # (B, K, clip_len)
    views = torch.take_along_dim(clips, index.reshape(*index.shape, *[1] * (clips.dim() - 3)), dim=2)
    return views, pace_index + len(paces) * backwards


class PaceHead(nn.Module):
    """Linear -> BatchNorm -> ReLU -> Linear: (N, in_dim) -> logits (N, 2 * num_paces)."""

    def __init__(self, in_dim: int, num_paces: int, hidden_dim: int = 512) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_dim, hidden_dim, bias=False),
            nn.BatchNorm1d(hidden_dim),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, 2 * num_paces),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.layers(features)


class PaceObjective(Objective):
    """Cross entropy over the ``2 * len(paces)`` (pace, direction) classes of views made by :func:`pace_views`.

    The objective makes its own views from the sampled clips, so the training sampler's ``clip_len`` must be at
    least ``(clip_len - 1) * max(paces) + 1`` (:attr:`min_frames`). Shapes: :meth:`make_views` (B, K, L, C, H, W)
    -> views (B, K, clip_len, C, H, W) and targets (B, K); ``forward(embeddings (B, K, D), targets (B, K))`` ->
    ``{"loss", "acc"}``.
    """

    own_views = True

    def __init__(
        self, in_dim: int, weight: float = 1.0, clip_len: int = 4, paces: list[int] = (1, 2, 3), hidden_dim: int = 512
    ) -> None:
        super().__init__(in_dim, weight)
        paces = tuple(int(p) for p in paces)
        if len(set(paces)) != len(paces) or min(paces) < 1:
            raise ValueError(f"model.objectives PaceObjective.paces must be distinct integers >= 1, got {list(paces)}")
        self.clip_len, self.paces = clip_len, paces
        self.min_frames = clip_span(clip_len, max(paces))
        self.head = PaceHead(in_dim, len(paces), hidden_dim)

    def make_views(self, clips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return pace_views(clips, self.clip_len, self.paces)

    def forward(self, embeddings: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        logits = self.head(embeddings.flatten(0, 1))
        targets = targets.flatten()
        return {"loss": F.cross_entropy(logits, targets), "acc": (logits.argmax(1) == targets).float().mean()}
