"""Tracking evaluation: DAVIS J/F/J&F, OTB success and precision, MOTChallenge MOTA/IDF1/HOTA (via TrackEval)."""

from .metrics import (
    boundary_f_measure,
    box_iou,
    davis_scores,
    mot_metrics,
    mot_metrics_combined,
    precision_at,
    precision_curve,
    region_similarity,
    success_auc,
    success_curve,
)

__all__ = [
    "boundary_f_measure",
    "box_iou",
    "davis_scores",
    "mot_metrics",
    "mot_metrics_combined",
    "precision_at",
    "precision_curve",
    "region_similarity",
    "success_auc",
    "success_curve",
]
