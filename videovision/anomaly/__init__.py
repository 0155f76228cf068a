"""Video anomaly detection evaluation: clip-to-frame scores, smoothing, micro/macro frame-level AUROC, plots."""

from .metrics import (
    centre_lookahead,
    clip_scores_to_frames,
    frame_level_metrics,
    gaussian_smooth,
    macro_auroc,
    micro_auroc,
    micro_auroc_by_group,
    minmax_per_video,
    per_video_auroc,
    sliding_windows,
    summary_plot,
    timeline_plot,
)

__all__ = [
    "centre_lookahead",
    "clip_scores_to_frames",
    "frame_level_metrics",
    "gaussian_smooth",
    "macro_auroc",
    "micro_auroc",
    "micro_auroc_by_group",
    "minmax_per_video",
    "per_video_auroc",
    "sliding_windows",
    "summary_plot",
    "timeline_plot",
]
