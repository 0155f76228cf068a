"""SimCLR on two clips of a video (CVRL's video form of SimCLR)."""

from __future__ import annotations

import torch
from torch import nn

from .base import Objective
from .nt_xent import NTXentLoss


class ProjectionHead(nn.Sequential):
    """SimCLR's 2-layer MLP: ``(N, in_dim)`` -> ``(N, out_dim)``; dropped after pretraining."""

    def __init__(self, in_dim: int, hidden_dim: int = 512, out_dim: int = 128) -> None:
        super().__init__(
            nn.Linear(in_dim, hidden_dim, bias=False),
            nn.BatchNorm1d(hidden_dim),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, out_dim),
        )


class SimCLRObjective(Objective):
    """NT-Xent between the projections of clips 0 and 1 of each sample (Chen et al. 2020;
    Qian et al., "Spatiotemporal Contrastive Video Representation Learning", CVPR 2021).

    Shapes: embeddings (B, K >= 2, D) -> ``{"loss", "pair_acc"}``; ``pair_acc`` is how often an
    anchor's nearest other embedding is its partner.
    """

    min_clips = 2

    def __init__(
        self, in_dim: int, weight: float = 1.0, hidden_dim: int = 512, out_dim: int = 128, temperature: float = 0.1
    ) -> None:
        super().__init__(in_dim, weight)
        self.head = ProjectionHead(in_dim, hidden_dim, out_dim)
        self.loss = NTXentLoss(temperature)

    def forward(self, embeddings: torch.Tensor) -> dict[str, torch.Tensor]:
        z_a, z_b = self.head(embeddings[:, 0]), self.head(embeddings[:, 1])
        with torch.no_grad():
            sim = nn.functional.normalize(z_a, dim=1) @ nn.functional.normalize(z_b, dim=1).T
            pair_acc = (sim.argmax(dim=1) == torch.arange(len(sim), device=sim.device)).float().mean()
        return {"loss": self.loss(z_a, z_b), "pair_acc": pair_acc}
