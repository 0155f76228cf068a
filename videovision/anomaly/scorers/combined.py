"""A weighted sum of scorers, each standardised with its own normal-training statistics (never test data),
as multi-task anomaly detectors combine their branches (Georgescu et al., CVPR 2021, sum the normalised
scores of their proxy tasks)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..features import ResidualView, TrainingViews
from .base import AnomalyScorer, residual_views_of


class CombinedScorer(AnomalyScorer):
    """Score = sum_i weights[i] * (score_i - train_median_i) / train_scale_i (:meth:`AnomalyScorer.calibrate`);
    ``weights`` default to 1 each. The sum is already on a training scale, so its own statistics stay 0 and 1."""

    def __init__(self, scorers: list[AnomalyScorer], weights: list[float] | None = None) -> None:
        super().__init__()
        if not scorers:
            raise ValueError("CombinedScorer: scorers is empty")
        weights = [1.0] * len(scorers) if weights is None else list(weights)
        if len(weights) != len(scorers):
            raise ValueError(f"CombinedScorer: {len(weights)} weights for {len(scorers)} scorers")
        self.scorers = nn.ModuleList(scorers)
        self.weights = weights

    @property
    def min_frames(self) -> int:
        return max(scorer.min_frames for scorer in self.scorers)

    @property
    def lookahead(self) -> int:
        return max(scorer.lookahead for scorer in self.scorers)

    def setup(self, encoder: nn.Module) -> None:
        for scorer in self.scorers:
            scorer.setup(encoder)

    def residual_views(self, encoder: nn.Module) -> list[ResidualView]:
        return residual_views_of(self.scorers, encoder)

    def fit(
        self,
        encoder: nn.Module,
        train: list[torch.Tensor],
        checkpoint: str | None = None,
        views: TrainingViews | None = None,
    ) -> None:
        for scorer in self.scorers:
            scorer.fit(encoder, train, checkpoint, views)

    def fit_videos(
        self,
        encoder: nn.Module,
        train: list[torch.Tensor],
        anomalous: Sequence[bool | None],
        checkpoint: str | None = None,
        views: TrainingViews | None = None,
    ) -> None:
        for scorer in self.scorers:
            scorer.fit_videos(encoder, train, anomalous, checkpoint, views)

    def score(self, encoder: nn.Module, features: torch.Tensor) -> np.ndarray:
        return sum(w * s.normalised(encoder, features) for w, s in zip(self.weights, self.scorers))
