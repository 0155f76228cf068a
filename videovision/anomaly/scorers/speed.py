"""Feature speed: a two-sided test of how fast a video's per-frame features change, calibrated on normal video.

Motion-irregularity detectors flag video that runs too fast (Georgescu et al., "Anomaly Detection in Video via
Self-Supervised and Multi-Task Learning", CVPR 2021, train a classifier of consecutive vs skipped frames), and
density scorers model the speed of normal motion (Reiss and Hoshen, "Attribute-based representations for accurate
and interpretable video anomaly detection", 2022, fit normal optical-flow velocities). Here the speed is that of the
encoder's own frame features, ``v_t = ||z_t - z_{t-step}||`` with ``z`` the features standardised per dimension on
normal training frames, and a frame is anomalous when ``log v_t`` is far from its normal distribution on either side:
too slow (frozen frames) or too fast (a speed burst, shaking). Score = ``|log v_t - mean| / std``, both statistics
from the normal training videos.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..features import TrainingViews
from ..metrics import clip_scores_to_frames
from .base import AnomalyScorer


def frame_differences(features: torch.Tensor, step: int) -> torch.Tensor:
    """``features[t] - features[t - step]`` for t = step..N-1: (N, C) -> (N - step, C)."""
    if step < 1 or len(features) <= step:
        raise ValueError(f"a video of {len(features)} frames has no frame difference at step {step}")
    return features[step:] - features[:-step]


def difference_frames(num_frames: int, step: int) -> np.ndarray:
    """The frames each difference of :func:`frame_differences` spans, t - step..t: -> (N - step, step + 1)."""
    return np.arange(num_frames - step)[:, None] + np.arange(step + 1)[None, :]


class FeatureSpeedScorer(AnomalyScorer):
    """Score = |log ||z_t - z_{t-step}|| - mean| / std over normal training frames, spread (mean) over the
    ``step + 1`` frames each difference spans."""

    def __init__(self, step: int = 3, eps: float = 1e-6) -> None:
        super().__init__()
        if step < 1:
            raise ValueError(f"FeatureSpeedScorer: step must be >= 1, got {step}")
        self.step, self.eps = step, eps
        self.register_buffer("feature_mean", torch.zeros(0))
        self.register_buffer("feature_std", torch.ones(0))
        self.register_buffer("log_speed_mean", torch.tensor(0.0, dtype=torch.float64))
        self.register_buffer("log_speed_std", torch.tensor(1.0, dtype=torch.float64))

    @property
    def lookahead(self) -> int:
        return self.step  # the difference into frame t + step covers frame t

    def log_speeds(self, features: torch.Tensor) -> torch.Tensor:
        """log ||z_t - z_{t-step}|| of one video: (N, C) -> (N - step,) float64."""
        standardised = (features.double() - self.feature_mean) / self.feature_std
        return torch.log(frame_differences(standardised, self.step).norm(dim=1) + self.eps)

    def fit(
        self,
        encoder: nn.Module,
        train: list[torch.Tensor],
        checkpoint: str | None = None,
        views: TrainingViews | None = None,
    ) -> None:
        self.setup(encoder)
        pooled = torch.cat(train).double()
        self.feature_mean, self.feature_std = pooled.mean(0), pooled.std(0).clamp_min(1e-6)
        speeds = torch.cat([self.log_speeds(f) for f in train])
        self.log_speed_mean.fill_(float(speeds.mean()))
        self.log_speed_std.fill_(max(float(speeds.std()), 1e-12))
        self.calibrate([self.score(encoder, f) for f in train])

    def score(self, encoder: nn.Module, features: torch.Tensor) -> np.ndarray:
        if len(self.feature_mean) == 0:
            raise RuntimeError("FeatureSpeedScorer.score before fit (or load_fitted)")
        z = ((self.log_speeds(features) - self.log_speed_mean) / self.log_speed_std).abs()
        return clip_scores_to_frames(z.numpy(), difference_frames(len(features), self.step), len(features))
