"""How sure a frame-level micro AUROC is: a percentile bootstrap over test videos (Efron and Tibshirani, "An
Introduction to the Bootstrap", 1993, ch. 13).

A video's frames share its scene, its motion and its anomaly, so they are not independent draws: the unit resampled
is the video. Each round draws, with replacement, as many all-normal videos and as many videos with an anomalous frame
as the test set holds (so every round has both), pools their frames and computes the micro AUROC. Several methods
scored on the same test set are resampled with the same draws, so the interval of their difference accounts for the
videos they share (a paired bootstrap).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from .metrics import micro_auroc

BOOTSTRAP_ROUNDS = 1000


def video_resamples(labels: Sequence[ArrayLike], rounds: int = BOOTSTRAP_ROUNDS, seed: int = 0) -> np.ndarray:
    """Video indices of ``rounds`` bootstrap resamples, drawn within the all-normal videos and within the videos with
    an anomalous frame: labels, one (N_v,) 0/1 array per video -> (rounds, V) int64."""
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    has_anomaly = np.asarray([np.asarray(y).max() > 0 for y in labels])
    generator = np.random.default_rng(seed)
    groups = [np.flatnonzero(has_anomaly == g) for g in (False, True)]
    return np.concatenate([generator.choice(g, (rounds, len(g))) for g in groups if len(g)], axis=1)


def micro_auroc_resamples(
    scores_by_method: Mapping[str, Sequence[ArrayLike]],
    labels: Sequence[ArrayLike],
    rounds: int = BOOTSTRAP_ROUNDS,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Micro AUROC of each method on the same bootstrap resamples of the test videos:
    {method: one (N_v,) score array per video}, labels per video -> {method: (rounds,) float64}."""
    picks = video_resamples(labels, rounds, seed)
    return {
        method: np.asarray([micro_auroc([scores[i] for i in pick], [labels[i] for i in pick]) for pick in picks])
        for method, scores in scores_by_method.items()
    }


def percentile_interval(values: ArrayLike, level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` percentile interval of bootstrap values: (R,) -> (low, high)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(np.asarray(values, dtype=np.float64), [tail, 100 - tail])
    return float(low), float(high)
