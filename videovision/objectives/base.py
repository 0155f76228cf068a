"""The objective interface: embeddings of the K clips of each sample -> a weighted loss."""

from __future__ import annotations

import torch
from torch import nn


class Objective(nn.Module):
    """Base of every self-supervised objective.

    An objective owns its head (projection MLP, order classifier, ...) and its loss. It is built
    with the encoder's output width first (``in_dim``), so a YAML config names it with
    ``class_path`` and only its own options; ``weight`` scales it in a sum of objectives.

    ``forward(embeddings: (B, K, D)) -> dict`` with ``loss`` (scalar) and any other scalars to log.
    An objective that sets ``own_views`` makes its inputs from the sampled clips with ``make_views(clips)
    -> (views, targets)``, has them encoded apart from the others', and is called ``forward(embeddings,
    targets)``; its sampler's clips must hold ``min_frames`` frames.
    """

    min_clips: int = 1
    min_frames: int = 1
    own_views: bool = False

    def __init__(self, in_dim: int, weight: float = 1.0) -> None:
        super().__init__()
        self.in_dim = in_dim
        self.weight = weight

    @property
    def name(self) -> str:
        return type(self).__name__.removesuffix("Objective").lower()

    def forward(self, embeddings: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError
