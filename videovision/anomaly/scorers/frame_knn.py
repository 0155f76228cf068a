"""kNN per frame on what a frame shows and how it is changing: ``[a * z_t / s_z, b * (z_t - z_{t-step}) / s_d]``.

The clip-level kNN scorer (:mod:`.knn`) embeds clips through the temporal model; this one works on the per-frame
features themselves, as object-level kNN detectors concatenate an appearance and a velocity descriptor and score a
test frame by its distance to the nearest normal training descriptors (Reiss and Hoshen, "Attribute-based
representations for accurate and interpretable video anomaly detection", 2022; the velocity there is optical flow,
here the change of the encoder's frame features over ``step`` frames). ``z`` are the features standardised per
dimension on normal training frames; ``s_z`` and ``s_d`` are the mean norms of the two parts on training frames, so
the weights ``a`` (appearance) and ``b`` (motion) set their share. Calibration is leave-one-video-out, as in
:class:`KNNScorer`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..features import TrainingViews
from ..metrics import clip_scores_to_frames
from .base import AnomalyScorer
from .knn import knn_distances
from .speed import difference_frames, frame_differences


class FrameKNNScorer(AnomalyScorer):
    """Score = mean distance of each frame's descriptor to its ``k`` nearest normal training descriptors (every
    ``bank_hop``-th training frame), spread (mean) over the ``step + 1`` frames a descriptor spans."""

    magnitude_scores = True

    def __init__(
        self, k: int = 5, step: int = 3, appearance_weight: float = 1.0, motion_weight: float = 1.0, bank_hop: int = 1
    ) -> None:
        super().__init__()
        if k < 1 or step < 1 or bank_hop < 1:
            raise ValueError(f"FrameKNNScorer: k, step and bank_hop must be >= 1, got {k}, {step}, {bank_hop}")
        if appearance_weight < 0 or motion_weight < 0 or appearance_weight + motion_weight == 0:
            raise ValueError(
                f"FrameKNNScorer: weights must be >= 0 and not both 0, got {appearance_weight}, {motion_weight}"
            )
        self.k, self.step, self.bank_hop = k, step, bank_hop
        self.appearance_weight, self.motion_weight = appearance_weight, motion_weight
        for name in ("feature_mean", "feature_std", "bank"):
            self.register_buffer(name, torch.zeros(0, dtype=torch.float64))
        self.register_buffer("scales", torch.ones(2, dtype=torch.float64))
        self.register_buffer("bank_video", torch.zeros(0, dtype=torch.long))

    @property
    def lookahead(self) -> int:
        return self.step  # the descriptor of frame t + step covers frame t

    def _parts(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = (features.double() - self.feature_mean) / self.feature_std
        return z[self.step :], frame_differences(z, self.step)

    def descriptors(self, features: torch.Tensor) -> torch.Tensor:
        """``[a * z_t / s_z, b * d_t / s_d]`` for t = step..N-1: (N, C) -> (N - step, 2C) float64."""
        appearance, motion = self._parts(features)
        a, b = self.appearance_weight / self.scales[0], self.motion_weight / self.scales[1]
        return torch.cat([a * appearance, b * motion], dim=1)

    def fit(
        self,
        encoder: nn.Module,
        train: list[torch.Tensor],
        checkpoint: str | None = None,
        views: TrainingViews | None = None,
    ) -> None:
        self.setup(encoder)
        if len(train) < 2:
            raise ValueError("FrameKNNScorer needs at least 2 training videos (its calibration is leave-one-video-out)")
        pooled = torch.cat(train).double()
        self.feature_mean, self.feature_std = pooled.mean(0), pooled.std(0).clamp_min(1e-6)
        parts = [self._parts(f) for f in train]
        self.scales = torch.stack(
            [torch.cat([p[i] for p in parts]).norm(dim=1).mean().clamp_min(1e-12) for i in range(2)]
        )
        described = [self.descriptors(f)[:: self.bank_hop] for f in train]
        self.bank = torch.cat(described)
        self.bank_video = torch.cat([torch.full((len(d),), i) for i, d in enumerate(described)])
        own = knn_distances(self.bank, self.bank, self.k, self.bank_video, self.bank_video).numpy()
        bounds = np.cumsum([0] + [len(d) for d in described])
        self.calibrate([own[a:b] for a, b in zip(bounds[:-1], bounds[1:])])

    def score(self, encoder: nn.Module, features: torch.Tensor) -> np.ndarray:
        if len(self.bank) == 0:
            raise RuntimeError("FrameKNNScorer.score before fit (or load_fitted)")
        distances = knn_distances(self.descriptors(features), self.bank, self.k).numpy()
        return clip_scores_to_frames(distances, difference_frames(len(features), self.step), len(features))
