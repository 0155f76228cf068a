"""VCOP: clip order prediction (Xu et al., "Self-supervised Spatiotemporal Learning via Video
Clip Order Prediction", CVPR 2019)."""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn

from .base import Objective


class VCOPHead(nn.Module):
    """The paper's order classifier: every pair of clip features is concatenated and passed through
    one shared layer; the pair outputs are concatenated and classified into the n! orders.

    The clip features are first standardised over the batch (BatchNorm without affine): a
    recurrent encoder's outputs differ between clips of one video by a small fraction of their
    scale, and unscaled they leave the pair layer with almost no signal to learn from.

    Shapes: (B, n, D) clip features in their (shuffled) order -> logits (B, n!).
    """

    def __init__(self, in_dim: int, num_clips: int = 3, pair_dim: int = 512, dropout: float = 0.5) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(in_dim, affine=False)
        self.pairs = list(itertools.combinations(range(num_clips), 2))
        self.pair_layer = nn.Sequential(nn.Linear(2 * in_dim, pair_dim), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(pair_dim * len(self.pairs), math.factorial(num_clips))

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        clips = self.norm(clips.flatten(0, 1)).unflatten(0, clips.shape[:2])
        pair_features = [self.pair_layer(torch.cat([clips[:, i], clips[:, j]], dim=1)) for i, j in self.pairs]
        return self.classifier(self.dropout(torch.cat(pair_features, dim=1)))


class VCOPObjective(Objective):
    """Shuffle each tuple's clip embeddings by a random permutation; cross entropy on its index.

    The clips arrive in temporal order and are encoded separately, so permuting their embeddings
    is the same as encoding shuffled clips. Shapes: embeddings (B, n, D) -> ``{"loss", "acc"}``.
    """

    def __init__(self, in_dim: int, weight: float = 1.0, num_clips: int = 3, pair_dim: int = 512, dropout: float = 0.5):
        super().__init__(in_dim, weight)
        self.min_clips = num_clips
        self.num_clips = num_clips
        self.head = VCOPHead(in_dim, num_clips, pair_dim, dropout)
        self.register_buffer("orders", torch.tensor(list(itertools.permutations(range(num_clips)))), persistent=False)

    def forward(self, embeddings: torch.Tensor) -> dict[str, torch.Tensor]:
        tuples = embeddings[:, : self.num_clips]
        target = torch.randint(len(self.orders), (len(tuples),), device=tuples.device)
        order = self.orders[target]  # (B, n)
        shuffled = torch.gather(tuples, 1, order[:, :, None].expand(-1, -1, tuples.shape[-1]))
        logits = self.head(shuffled)
        return {"loss": F.cross_entropy(logits, target), "acc": (logits.argmax(1) == target).float().mean()}
