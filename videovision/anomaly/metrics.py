"""Frame-level video anomaly detection scores and metrics, computed the way the benchmark papers compute them.

Scores are per frame, higher = more anomalous; labels are per frame, 1 = anomalous. A test set is a list of videos,
each a 1-D array of ``N_v`` frames. Micro AUROC pools every test frame; macro AUROC averages per-video AUCs
(the AED-SSMTL README of Georgescu et al., CVPR 2021, reports both). No function here drops a test frame.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy.ndimage import gaussian_filter1d
from sklearn.metrics import roc_auc_score

PAD_ANOMALOUS_SCORE = sys.float_info.max
"""Score of the anomalous frame macro AUROC appends to every video (the largest float, as in Reiss et al.'s code)."""
PAD_NORMAL_SCORE = 0.0
"""Score of the normal frame macro AUROC prepends to every video."""


def clip_scores_to_frames(
    clip_scores: ArrayLike,
    clip_frames: ArrayLike,
    num_frames: int,
    reduce: Literal["mean", "max", "centre"] = "mean",
) -> np.ndarray:
    """Spread clip scores over frames: each frame gets the mean (or max) score of the clips that contain it, or
    (``"centre"``) each clip's score goes to its middle frame only (``clip_frames[:, T // 2]``), so a frame is scored
    by the clip centred on it and a long clip does not lend an anomaly's score to the normal frames at its ends.

    Shapes: clip_scores (K,), clip_frames (K, T) integer frame indices in [0, num_frames) -> (num_frames,) float64.
    A frame listed several times in one clip (a short video's repeated last frame) counts that clip once. Frames no
    clip covers are linearly interpolated between the nearest covered frames, and hold the edge value before the
    first and after the last covered frame, so every test frame keeps a score (the future-frame-prediction code,
    Liu et al. CVPR 2018, instead drops its first 4 frames). Sultani et al. (CVPR 2018) likewise give every frame of
    a segment that segment's score.
    """
    if reduce not in ("mean", "max", "centre"):
        raise ValueError(f"reduce must be 'mean', 'max' or 'centre', got {reduce!r}")
    scores = np.asarray(clip_scores, dtype=np.float64)
    frames = np.asarray(clip_frames)
    if num_frames < 1:
        raise ValueError(f"num_frames must be at least 1, got {num_frames}")
    if scores.size == 0 or frames.size == 0:
        raise ValueError("no clip at all: at least one clip with at least one frame is needed")
    if scores.ndim != 1 or frames.ndim != 2:
        raise ValueError(f"clip_scores must be (K,) and clip_frames (K, T), got {scores.shape} and {frames.shape}")
    if len(scores) != len(frames):
        raise ValueError(f"{len(scores)} clip scores but {len(frames)} clips in clip_frames (K mismatch)")
    if not np.issubdtype(frames.dtype, np.integer):
        raise ValueError(f"clip_frames must hold integer frame indices, got dtype {frames.dtype}")
    if not np.isfinite(scores).all():
        raise ValueError(f"clip_scores hold {int((~np.isfinite(scores)).sum())} NaN or infinite values")
    outside = (frames < 0) | (frames >= num_frames)
    if outside.any():
        clip, col = np.argwhere(outside)[0]
        raise ValueError(
            f"clip {clip} holds frame index {frames[clip, col]}, outside [0, {num_frames}) "
            f"({int(outside.sum())} indices outside in all)"
        )
    if reduce == "centre":
        frames = frames[:, [frames.shape[1] // 2]]
    pairs = np.unique(np.arange(len(frames))[:, None] * num_frames + frames)  # one (clip, frame) pair per clip
    clip_of, frame_of = np.divmod(pairs, num_frames)
    counts = np.bincount(frame_of, minlength=num_frames)
    if reduce != "max":
        values = np.bincount(frame_of, weights=scores[clip_of], minlength=num_frames) / np.maximum(counts, 1)
    else:
        values = np.full(num_frames, -np.inf)
        np.maximum.at(values, frame_of, scores[clip_of])
    covered = np.flatnonzero(counts)
    return np.interp(np.arange(num_frames), covered, values[covered])


def centre_lookahead(span: int) -> int:
    """The frames after its middle frame that a clip of ``span`` frames reads: how much later a stream knows the
    score :func:`clip_scores_to_frames` gives that middle frame (``"centre"``)."""
    return span - 1 - span // 2


def sliding_windows(num_frames: int, window: int, stride: int) -> np.ndarray:
    """Frame indices of clips of ``window`` frames every ``stride`` frames that together cover every frame.

    Shape: -> (K, window) int64. The last window ends at the last frame (an extra window is added when the stride
    does not land there); a video shorter than ``window`` gives one window with its last frame repeated. A stride
    above the window would skip frames, so it raises. Feed the result to :func:`clip_scores_to_frames`.
    """
    if num_frames < 1 or window < 1 or stride < 1:
        raise ValueError(f"num_frames, window and stride must be at least 1, got {num_frames}, {window}, {stride}")
    if stride > window:
        raise ValueError(f"stride {stride} > window {window} would leave frames between windows uncovered")
    if num_frames <= window:
        return np.minimum(np.arange(window), num_frames - 1)[None, :]
    starts = list(range(0, num_frames - window + 1, stride))
    if starts[-1] + window < num_frames:
        starts.append(num_frames - window)
    return np.asarray(starts)[:, None] + np.arange(window)[None, :]


def gaussian_smooth(scores: ArrayLike, sigma: float) -> np.ndarray:
    """Temporal Gaussian smoothing of one video's frame scores (scipy's ``gaussian_filter1d``, mode "reflect",
    truncated at 4 sigma), as Reiss et al.'s evaluate.py smooths each test video (sigma 3 by default).

    Shape: (N,) -> (N,) float64. ``sigma=0`` returns the scores unchanged (as float64).
    """
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"scores must be one video's (N,) array, got shape {values.shape}")
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    return values.copy() if sigma == 0 else gaussian_filter1d(values, sigma)


def minmax_per_video(scores: ArrayLike) -> np.ndarray:
    """Min-max normalise one video's frame scores to [0, 1]; a constant video gives zeros.

    Shape: (N,) -> (N,) float64. This uses test statistics (each test video's own min and max), as the
    future-frame-prediction code does (Liu et al. CVPR 2018, Codes/evaluate.py, ``NORMALIZE = True``), so
    :func:`frame_level_metrics` leaves it off by default and marks its results when it is on.
    """
    values = np.asarray(scores, dtype=np.float64)
    span = values.max() - values.min() if values.size else 0.0
    return np.zeros_like(values) if span == 0 else (values - values.min()) / span


def _as_videos(
    scores: Sequence[ArrayLike], labels: Sequence[ArrayLike], names: Sequence[str] | None = None
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Checked float64 scores and int64 labels per video; errors name the video (index, and name if given)."""
    if len(scores) != len(labels):
        raise ValueError(f"{len(scores)} videos of scores but {len(labels)} videos of labels")
    if names is not None and len(names) != len(scores):
        raise ValueError(f"{len(names)} names for {len(scores)} videos")
    if len(scores) == 0:
        raise ValueError("no videos")
    out_scores, out_labels = [], []
    for i, (score, label) in enumerate(zip(scores, labels)):
        video = f"video {i}" + (f" ({names[i]!r})" if names is not None else "")
        s, y = np.asarray(score, dtype=np.float64), np.asarray(label)
        if s.ndim != 1 or y.ndim != 1:
            raise ValueError(f"{video}: scores and labels must be 1-D, got shapes {s.shape} and {y.shape}")
        if len(s) != len(y):
            raise ValueError(f"{video}: {len(s)} scores but {len(y)} labels")
        if len(s) == 0:
            raise ValueError(f"{video} has no frames")
        if not np.isin(y, (0, 1)).all():
            raise ValueError(f"{video}: labels must be 0 or 1, found {np.unique(y[~np.isin(y, (0, 1))])[:5].tolist()}")
        if not np.isfinite(s).all():
            raise ValueError(f"{video}: {int((~np.isfinite(s)).sum())} NaN or infinite scores")
        out_scores.append(s)
        out_labels.append(y.astype(np.int64))
    return out_scores, out_labels


def _check_both_classes(pooled_labels: np.ndarray) -> None:
    if pooled_labels.min() == pooled_labels.max():
        kind = "anomalous" if pooled_labels[0] else "normal"
        raise ValueError(f"all {len(pooled_labels)} test frames are {kind}: AUROC needs normal and anomalous frames")


def micro_auroc(scores: Sequence[ArrayLike], labels: Sequence[ArrayLike]) -> float:
    """Micro frame-level AUROC: one ROC AUC over all test frames pooled (sklearn's ``roc_auc_score``).

    Shapes: scores and labels, one (N_v,) array per video -> float. The pool needs both classes.
    """
    pooled_scores, pooled_labels = (np.concatenate(v) for v in _as_videos(scores, labels))
    _check_both_classes(pooled_labels)
    return float(roc_auc_score(pooled_labels, pooled_scores))


def per_video_auroc(scores: Sequence[ArrayLike], labels: Sequence[ArrayLike], pad: bool = True) -> np.ndarray:
    """ROC AUC of each video, padded as in Reiss et al.'s public code unless ``pad=False``.

    Shapes: scores and labels, one (N_v,) array per video -> (V,) float64.
    ``pad=True`` follows ``macro_auc`` in talreiss/Accurate-Interpretable-VAD, evaluate.py ("Attribute-based
    representations for accurate and interpretable video anomaly detection"): every video, not only single-class
    ones, gets one extra frame labelled normal and scored :data:`PAD_NORMAL_SCORE` (0) before its first frame and
    one labelled anomalous and scored :data:`PAD_ANOMALOUS_SCORE` (the largest float64, not the video's maximum)
    after its last. With P anomalous and N normal frames the padded AUC is
    ``(AUC * P * N + (N + 1) + #{anomalous > 0} + #{anomalous == 0} / 2) / ((P + 1) (N + 1))``, so an all-normal
    video scores exactly 1, an all-anomalous one scores the fraction of its frames above 0 (ties count half), two-class
    videos move towards 1, and the normal pad is neutral only for scores >= 0. ``pad=False`` computes the plain AUC
    and raises on a single-class video. Other codes pad differently (Georgescu et al. add one normal frame to videos
    without any, lilygeorgescu/AED-SSMTL issue 11), so say which rule a macro AUROC used.
    """
    aucs = []
    for i, (s, y) in enumerate(zip(*_as_videos(scores, labels))):
        if pad:
            s = np.concatenate(([PAD_NORMAL_SCORE], s, [PAD_ANOMALOUS_SCORE]))
            y = np.concatenate(([0], y, [1]))
        elif y.min() == y.max():
            raise ValueError(f"video {i} has only {'anomalous' if y[0] else 'normal'} frames: its AUC needs pad=True")
        aucs.append(roc_auc_score(y, s))
    return np.asarray(aucs, dtype=np.float64)


def macro_auroc(scores: Sequence[ArrayLike], labels: Sequence[ArrayLike], pad: bool = True) -> float:
    """Macro frame-level AUROC: the unweighted mean over videos of :func:`per_video_auroc` (padded by default, as in
    Reiss et al.'s evaluate.py; see there for what the padding does to single-class videos).

    Shapes: scores and labels, one (N_v,) array per video -> float.
    """
    return float(per_video_auroc(scores, labels, pad=pad).mean())


def micro_auroc_by_group(
    scores: Sequence[ArrayLike], labels: Sequence[ArrayLike], groups: Sequence[str], reference: str = "normal"
) -> dict[str, float]:
    """Micro AUROC of each group of videos (e.g. one injected anomaly kind) pooled with the ``reference`` videos.

    Shapes: scores and labels, one (N_v,) array per video, groups (V,) -> {group: AUROC} for every group but the
    reference (whose all-normal videos give each group the same normal frames to be ranked against).
    """
    checked_scores, checked_labels = _as_videos(scores, labels)
    if len(groups) != len(checked_scores):
        raise ValueError(f"{len(groups)} groups for {len(checked_scores)} videos")
    out = {}
    for group in dict.fromkeys(g for g in groups if g != reference):
        chosen = [i for i, g in enumerate(groups) if g in (group, reference)]
        out[group] = micro_auroc([checked_scores[i] for i in chosen], [checked_labels[i] for i in chosen])
    return out


def frame_level_metrics(
    scores: Sequence[ArrayLike],
    labels: Sequence[ArrayLike],
    sigma: float = 0.0,
    normalise_per_video: bool = False,
    names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Micro and macro frame-level AUROC of a test set after per-video Gaussian smoothing (``sigma``; 0 = none) and,
    only if asked, per-video min-max normalisation (test statistics: the result says so).

    Shapes: scores and labels, one (N_v,) array per video, names (V,) -> dict with ``micro_auroc``, ``macro_auroc``
    (padded, see :func:`per_video_auroc`), ``per_video_auroc`` {name: AUC}, ``num_frames``, ``num_videos``,
    ``single_class_videos``, ``sigma``, ``normalise_per_video`` and ``uses_test_statistics``.
    Raises ValueError on unequal lengths, labels other than 0/1, NaN/inf scores, or a pool with one class only.
    """
    checked_scores, checked_labels = _as_videos(scores, labels, names)
    pooled = np.concatenate(checked_labels)
    _check_both_classes(pooled)
    processed = [gaussian_smooth(s, sigma) for s in checked_scores]
    if normalise_per_video:
        processed = [minmax_per_video(s) for s in processed]
    video_names = list(names) if names is not None else [str(i) for i in range(len(processed))]
    per_video = per_video_auroc(processed, checked_labels)
    return {
        "micro_auroc": micro_auroc(processed, checked_labels),
        "macro_auroc": float(per_video.mean()),
        "per_video_auroc": dict(zip(video_names, per_video.tolist())),
        "num_frames": int(len(pooled)),
        "num_videos": len(processed),
        "single_class_videos": sum(int(y.min() == y.max()) for y in checked_labels),
        "sigma": float(sigma),
        "normalise_per_video": normalise_per_video,
        "uses_test_statistics": normalise_per_video,
    }


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    _pyplot().close(fig)
    return path


def timeline_plot(
    scores: ArrayLike, labels: ArrayLike, path: str | Path, title: str = "", threshold: float | None = None
) -> Path:
    """One video's anomaly score over frames, ground-truth anomalous spans shaded, saved as a PNG at ``path``.

    Shapes: scores (N,), labels (N,) 0/1. ``threshold`` draws a horizontal line.
    """
    (s,), (y,) = _as_videos([scores], [labels])
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 3))
    edges = np.flatnonzero(np.diff(np.concatenate(([0], y, [0]))))
    for i, (start, stop) in enumerate(edges.reshape(-1, 2)):
        label = "anomalous (ground truth)" if i == 0 else None
        ax.axvspan(start - 0.5, stop - 0.5, color="tab:red", alpha=0.2, lw=0, label=label)
    ax.plot(np.arange(len(s)), s, color="tab:blue", lw=1.2, label="score")
    if threshold is not None:
        ax.axhline(threshold, color="black", ls="--", lw=0.8, label=f"threshold {threshold:g}")
    ax.set_xlim(-0.5, len(s) - 0.5)
    ax.set_xlabel("frame")
    ax.set_ylabel("anomaly score")
    ax.set_title(title or f"{len(s)} frames, {int(y.sum())} anomalous")
    ax.legend(fontsize=7, loc="upper right")
    return _save(fig, path)


def summary_plot(results: Mapping[str, float] | Sequence[float], path: str | Path, title: str = "") -> Path:
    """Bar chart of per-video AUROC ({name: AUC}, e.g. ``frame_level_metrics(...)["per_video_auroc"]``, or a list of
    AUCs named by index) with their mean (the macro AUROC) as a line, saved as a PNG at ``path``."""
    named = dict(results) if isinstance(results, Mapping) else {str(i): float(a) for i, a in enumerate(results)}
    if not named:
        raise ValueError("no per-video AUROC to plot")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(4.0, 0.3 * len(named) + 1.5), 3.5))
    values = np.asarray(list(named.values()), dtype=np.float64)
    ax.bar(range(len(named)), values, color="tab:blue")
    ax.axhline(values.mean(), color="black", ls="--", lw=0.8, label=f"mean {values.mean():.3f}")
    ax.set_xticks(range(len(named)), list(named), rotation=90, fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_ylabel("frame-level AUROC")
    ax.set_title(title or f"per-video AUROC, {len(named)} videos")
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, path)
