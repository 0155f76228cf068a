"""Tracking metrics computed as the benchmarks' own evaluation code computes them.

- DAVIS (video object segmentation): J, F and J&F as in davisvideochallenge/davis2017-evaluation
  (``davis2017/metrics.py``: ``db_eval_iou``, ``f_measure``, ``_seg2bmap``; ``davis2017/evaluation.py``: the
  semi-supervised protocol), re-written here with numpy/scipy.
- OTB (single-object boxes): success and precision curves as in the OTB toolkit (Wu et al., CVPR 2013 / TPAMI 2015,
  ``calcSeqErrRobust.m``, ``calcRectInt.m``) and pytracking's port (visionml/pytracking,
  ``pytracking/analysis/extract_results.py``), re-written here.
- MOT (multi-object boxes): MOTA, IDF1 and HOTA computed by TrackEval (PyPI ``trackeval``), the MOTChallenge's
  official evaluation code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import ndimage

OTB_IOU_THRESHOLDS = np.linspace(0.0, 1.0, 21)
MOT_DISTRACTOR_CLASSES = {"MOT16": (2, 7, 8, 12), "MOT17": (2, 7, 8, 12), "MOT20": (2, 6, 7, 8, 12)}
"""Ground-truth classes whose matched predictions are dropped before scoring, per benchmark, as TrackEval's
``MotChallenge2DBox`` preprocessing does (person on vehicle, non-MOT vehicle (MOT20), static person, distractor,
reflection); only class 1 (pedestrian) is then scored. MOT15 has no classes."""
MOT_CLASSES = range(1, 14)


def mot_distractor_classes(sequence: str) -> tuple[int, ...] | None:
    """The distractor classes of a MOTChallenge sequence by its name's benchmark prefix (``MOT17-02-FRCNN``), or
    None for a sequence of no class-labelled benchmark (MOT15, the embedded sets)."""
    return MOT_DISTRACTOR_CLASSES.get(sequence.split("-")[0])


def _mask_pair(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = np.asarray(pred, dtype=bool), np.asarray(gt, dtype=bool)
    if pred.ndim != 2 or pred.shape != gt.shape:
        raise ValueError(f"expected two (H, W) masks of the same shape, got {pred.shape} and {gt.shape}")
    return pred, gt


def region_similarity(pred: np.ndarray, gt: np.ndarray) -> float:
    """DAVIS J: intersection over union of two (H, W) masks; 1 when both are empty (as ``db_eval_iou``)."""
    pred, gt = _mask_pair(pred, gt)
    union = np.count_nonzero(pred | gt)
    return 1.0 if union == 0 else np.count_nonzero(pred & gt) / union


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool -> (H, W) bool: DAVIS's one-pixel boundary of a mask (``_seg2bmap``, after D. Martin's BSDS code).

    A pixel is on the boundary when it differs from its right, lower or lower-right neighbour, the image being
    extended by repeating its last row and column: the contour sits half a pixel up-left of the true edge, and the
    image border is never a boundary (a full-frame mask has none).
    """
    mask = np.asarray(mask, dtype=bool)
    padded = np.pad(mask, ((0, 1), (0, 1)), mode="edge")
    return (mask != padded[:-1, 1:]) | (mask != padded[1:, :-1]) | (mask != padded[1:, 1:])


def _disk(radius: int) -> np.ndarray:
    offsets = np.arange(-radius, radius + 1)
    return offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius**2


def boundary_tolerance(bound_th: float, shape: tuple[int, int]) -> int:
    """DAVIS F's matching radius in pixels: ``ceil(bound_th * image diagonal)`` when ``bound_th < 1``, else
    ``bound_th`` itself (which must then be a whole number of pixels)."""
    if bound_th < 0:
        raise ValueError(f"bound_th must be >= 0, got {bound_th}")
    if bound_th >= 1:
        if bound_th != int(bound_th):
            raise ValueError(f"bound_th >= 1 is a radius in pixels and must be a whole number, got {bound_th}")
        return int(bound_th)
    return math.ceil(bound_th * math.hypot(*shape))


def boundary_f_measure(pred: np.ndarray, gt: np.ndarray, bound_th: float = 0.008) -> float:
    """DAVIS F on two (H, W) masks, as davis2017-evaluation's ``f_measure``.

    Boundaries come from :func:`boundary_map`; a boundary pixel of one mask is matched when the other's boundary,
    dilated by a disk of radius :func:`boundary_tolerance` (``x^2 + y^2 <= r^2``), covers it. Precision = matched
    fraction of the prediction's boundary, recall = of the ground truth's, F = 2PR / (P + R). When a boundary is
    empty: both empty -> 1; only one empty -> 0 (the toolkit sets P, R to 1, 0 or 0, 1).
    """
    pred, gt = _mask_pair(pred, gt)
    radius = boundary_tolerance(bound_th, pred.shape)
    pred_edge, gt_edge = boundary_map(pred), boundary_map(gt)
    n_pred, n_gt = np.count_nonzero(pred_edge), np.count_nonzero(gt_edge)
    if n_pred == 0 or n_gt == 0:
        return 1.0 if n_pred == n_gt else 0.0
    disk = _disk(radius)
    precision = np.count_nonzero(pred_edge & ndimage.binary_dilation(gt_edge, structure=disk)) / n_pred
    recall = np.count_nonzero(gt_edge & ndimage.binary_dilation(pred_edge, structure=disk)) / n_gt
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def davis_scores(
    pred_masks: np.ndarray | Sequence[np.ndarray],
    gt_masks: np.ndarray | Sequence[np.ndarray],
    num_objects: int | None = None,
    bound_th: float = 0.008,
) -> dict[str, float | list[float]]:
    """One sequence under the DAVIS semi-supervised protocol (davis2017-evaluation, ``evaluation.py``).

    Shapes: pred_masks, gt_masks (T, H, W) integer labels (0 background, 1..K objects), or T frames of (H, W).
    Objects are 1..``num_objects`` (default: the largest label in the first ground-truth frame, as the toolkit).
    Scored frames are 1..T-2: the first frame's masks are given to the method, and the official code also leaves
    the last frame out (its ``[1:-1]`` slice). Per object, J and F are averaged over the scored frames; J-Mean and
    F-Mean average those over objects and J&F-Mean is their mean. Over a dataset, the toolkit pools the per-object
    values of every sequence (``J-per-object``, ``F-per-object``) before averaging. Ground-truth labels above
    ``num_objects`` (e.g. 255) count as background; predicted ones are an error.
    """
    if len(pred_masks) != len(gt_masks):
        raise ValueError(f"prediction has {len(pred_masks)} frames, ground truth {len(gt_masks)}")
    for t, (pred, gt) in enumerate(zip(pred_masks, gt_masks)):
        if np.ndim(gt) != 2 or np.shape(pred) != np.shape(gt):
            raise ValueError(
                f"frame {t}: prediction mask {np.shape(pred)} and ground truth {np.shape(gt)} "
                "must be (H, W) masks of the same shape"
            )
    if len(gt_masks) < 3:
        raise ValueError(f"DAVIS scores frames 1..T-2, so a sequence needs at least 3 frames, got {len(gt_masks)}")
    if num_objects is None:
        num_objects = int(np.max(gt_masks[0]))
    if num_objects < 1:
        raise ValueError("no object to score: the first ground-truth frame has no label above 0")
    scored = range(1, len(gt_masks) - 1)
    for t in scored:
        if np.max(pred_masks[t]) > num_objects:
            raise ValueError(f"frame {t}: predicted label {int(np.max(pred_masks[t]))} but only {num_objects} objects")
    j_per_object, f_per_object = [], []
    for k in range(1, num_objects + 1):
        pairs = [(np.asarray(pred_masks[t]) == k, np.asarray(gt_masks[t]) == k) for t in scored]
        j_per_object.append(float(np.mean([region_similarity(p, g) for p, g in pairs])))
        f_per_object.append(float(np.mean([boundary_f_measure(p, g, bound_th) for p, g in pairs])))
    j_mean, f_mean = float(np.mean(j_per_object)), float(np.mean(f_per_object))
    return {
        "J&F-Mean": (j_mean + f_mean) / 2,
        "J-Mean": j_mean,
        "F-Mean": f_mean,
        "J-per-object": j_per_object,
        "F-per-object": f_per_object,
    }


def _box_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 4 or a.shape != b.shape:
        raise ValueError(f"expected two (N, 4) arrays of x, y, w, h boxes, got {a.shape} and {b.shape}")
    return a, b


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 4), (N, 4) x, y, w, h boxes -> (N,) IoU of each pair; 0 where the union is empty.

    Areas are continuous: OTB's ``calcRectInt`` counts pixels x..x+w-1 inclusively, and its -1 and +1 cancel.
    """
    a, b = _box_pair(a, b)
    inter_w = np.clip(np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    inter_h = np.clip(np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = inter_w * inter_h
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _otb_frames(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The OTB toolkits' per-frame errors: (IoU, centre distance in px), each (M,) over the M frames with a valid
    ground-truth box.

    - A prediction after frame 0 with a NaN or a width or height <= 0 takes the previous frame's box (as predicted,
      frame by frame), unless that frame's ground truth has a NaN (OTB's ``calcSeqErrRobust``).
    - Frame 0 is the initialisation: then its prediction is replaced by the ground truth (OTB and pytracking).
    - Frames whose ground truth has a NaN or a width or height <= 0 are left out of the numerator and the
      denominator, as pytracking does for OTB. (The MATLAB toolkit keeps them in the denominator, as misses for
      success but as hits for precision, its centre error being -1 there.)
    - Centres are x + (w - 1) / 2, y + (h - 1) / 2 in both toolkits.
    """
    pred, gt = _box_pair(pred, gt)
    if len(gt) == 0:
        raise ValueError("no frames")
    pred = pred.copy()
    bad_pred = np.isnan(pred).any(axis=1) | (pred[:, 2] <= 0) | (pred[:, 3] <= 0)
    bad_pred[0] = False
    gt_nan = np.isnan(gt).any(axis=1)
    for t in np.flatnonzero(bad_pred & ~gt_nan):
        pred[t] = pred[t - 1]
    pred[0] = gt[0]
    valid = ~gt_nan & (gt[:, 2] > 0) & (gt[:, 3] > 0)
    if not valid.any():
        raise ValueError("no frame has a valid ground-truth box (finite, width and height > 0)")
    pred, gt = pred[valid], gt[valid]
    centre_error = np.hypot(*((pred[:, :2] + (pred[:, 2:] - 1) / 2) - (gt[:, :2] + (gt[:, 2:] - 1) / 2)).T)
    return box_iou(pred, gt), centre_error


def success_curve(pred: np.ndarray, gt: np.ndarray, thresholds: np.ndarray = OTB_IOU_THRESHOLDS) -> np.ndarray:
    """OTB success plot: (N, 4), (N, 4) x, y, w, h boxes -> (len(thresholds),) fraction of frames with IoU strictly
    above each threshold (0, 0.05, ..., 1 by default). Frame handling: see :func:`_otb_frames`."""
    iou, _ = _otb_frames(pred, gt)
    return (iou[:, None] > np.asarray(thresholds)[None, :]).mean(axis=0)


def success_auc(pred: np.ndarray, gt: np.ndarray) -> float:
    """OTB success AUC: the mean of the 21-threshold :func:`success_curve`, as the OTB toolkit and pytracking."""
    return float(success_curve(pred, gt).mean())


def precision_curve(pred: np.ndarray, gt: np.ndarray, max_px: int = 50) -> np.ndarray:
    """OTB precision plot: (N, 4), (N, 4) x, y, w, h boxes -> (max_px + 1,) fraction of frames whose centre error is
    at most 0, 1, ..., max_px pixels. Frame handling: see :func:`_otb_frames`."""
    _, error = _otb_frames(pred, gt)
    return (error[:, None] <= np.arange(max_px + 1)[None, :]).mean(axis=0)


def precision_at(pred: np.ndarray, gt: np.ndarray, px: float = 20) -> float:
    """OTB precision: the fraction of frames whose centre error is at most ``px`` pixels (20 in the OTB papers)."""
    _, error = _otb_frames(pred, gt)
    return float((error <= px).mean())


def _mot_rows(rows: np.ndarray, name: str) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float64)
    if rows.size == 0:
        return np.empty((0, 6))
    if rows.ndim != 2 or rows.shape[1] < 6:
        raise ValueError(f"{name}: expected (N, >=6) rows [frame, id, x, y, w, h, ...], got {rows.shape}")
    return rows


def _without_distractors(gt: np.ndarray, pred: np.ndarray, distractors: tuple[int, ...]) -> tuple:
    """MOT16/17/20 preprocessing: in each frame, predictions matched (Hungarian on IoU >= 0.5) to a ground-truth box
    of a distractor class are dropped; then only pedestrian (class 1) ground truth not marked 0 is kept.
    (N, 9) gt rows, (M, >=6) pred rows -> the kept rows of each."""
    from scipy.optimize import linear_sum_assignment
    from trackeval.datasets import MotChallenge2DBox

    if gt.shape[1] < 8:
        raise ValueError(f"gt: MOT16/17/20 ground truth has a class column (8th), got {gt.shape[1]} columns")
    unknown = np.setdiff1d(gt[:, 7], MOT_CLASSES)
    if len(unknown):
        raise ValueError(f"gt: class(es) {unknown.tolist()} are not MOTChallenge classes 1-13")
    keep = np.ones(len(pred), dtype=bool)
    eps = np.finfo(float).eps
    for frame in np.intersect1d(gt[:, 0], pred[:, 0]):
        g, p = np.flatnonzero(gt[:, 0] == frame), np.flatnonzero(pred[:, 0] == frame)
        iou = MotChallenge2DBox._calculate_box_ious(gt[g, 2:6], pred[p, 2:6], box_format="xywh")
        iou[iou < 0.5 - eps] = 0
        rows, cols = linear_sum_assignment(-iou)
        matched = iou[rows, cols] > eps
        on_distractor = np.isin(gt[g[rows[matched]], 7], distractors)
        keep[p[cols[matched][on_distractor]]] = False
    return gt[(gt[:, 6].astype(int) != 0) & (gt[:, 7] == 1)], pred[keep]


def _trackeval_data(gt: np.ndarray, pred: np.ndarray, distractors: tuple[int, ...] | None = None) -> dict:
    """TrackEval's per-sequence input (``MotChallenge2DBox.get_preprocessed_seq_data``'s output) from MOTChallenge
    rows; see :func:`mot_metrics` for what is kept."""
    from trackeval.datasets import MotChallenge2DBox

    gt, pred = _mot_rows(gt, "gt"), _mot_rows(pred, "pred")
    if distractors is not None and len(gt):  # a test split has no ground truth to match
        gt, pred = _without_distractors(gt, pred, distractors)
    elif gt.shape[1] > 6:
        gt = gt[gt[:, 6].astype(int) != 0]  # TrackEval reads the conf column as an int: 0.5 marks a row 0
    gt_ids = np.unique(gt[:, 1], return_inverse=True)[1]
    pred_ids = np.unique(pred[:, 1], return_inverse=True)[1]
    data = {
        "num_timesteps": 0,
        "num_gt_dets": len(gt),
        "num_tracker_dets": len(pred),
        "seq": "sequence",
        "num_gt_ids": int(gt_ids.max(initial=-1)) + 1,
        "num_tracker_ids": int(pred_ids.max(initial=-1)) + 1,
        "gt_ids": [],
        "tracker_ids": [],
        "similarity_scores": [],
    }
    for frame in np.union1d(gt[:, 0], pred[:, 0]):
        in_gt, in_pred = gt[:, 0] == frame, pred[:, 0] == frame
        for name, rows in (("gt", gt[in_gt]), ("pred", pred[in_pred])):
            ids, counts = np.unique(rows[:, 1], return_counts=True)
            if (counts > 1).any():
                raise ValueError(f"{name}: frame {frame:g} has id(s) {ids[counts > 1].tolist()} more than once")
        data["num_timesteps"] += 1
        data["gt_ids"].append(gt_ids[in_gt])
        data["tracker_ids"].append(pred_ids[in_pred])
        data["similarity_scores"].append(
            MotChallenge2DBox._calculate_box_ious(gt[in_gt, 2:6], pred[in_pred, 2:6], box_format="xywh")
        )
    return data


def _trackeval_metrics() -> tuple:
    try:
        from trackeval import metrics
    except ImportError as err:
        raise ImportError("mot_metrics needs TrackEval: pip install trackeval==1.3.0") from err
    quiet = {"THRESHOLD": 0.5, "PRINT_CONFIG": False}
    return metrics.HOTA(), metrics.CLEAR(quiet), metrics.Identity(quiet)


def _summary(hota: dict, clear: dict, identity: dict) -> dict[str, float]:
    return {
        "MOTA": float(clear["MOTA"]),
        "IDF1": float(identity["IDF1"]),
        "HOTA": float(np.mean(hota["HOTA"])),
        "DetA": float(np.mean(hota["DetA"])),
        "AssA": float(np.mean(hota["AssA"])),
        "MOTP": float(clear["MOTP"]),
        "IDSW": int(clear["IDSW"]),
        "FP": int(clear["CLR_FP"]),
        "FN": int(clear["CLR_FN"]),
    }


def mot_metrics(gt: np.ndarray, pred: np.ndarray, distractors: tuple[int, ...] | None = None) -> dict[str, float]:
    """MOTChallenge metrics of one sequence, computed by TrackEval's HOTA, CLEAR and Identity at IoU 0.5.

    Shapes: gt (N, >=6), pred (M, >=6) rows [frame, id, x, y, w, h, conf, class, ...] (the MOTChallenge text
    format). As TrackEval's ``MotChallenge2DBox``: without ``distractors`` (MOT15), ground-truth rows whose 7th
    column (conf) is 0 are ignored and every predicted row counts; with a benchmark's ``distractors``
    (:data:`MOT_DISTRACTOR_CLASSES`, :func:`mot_distractor_classes`), predictions on distractors are dropped first
    and only pedestrians are scored. Ids must be unique within a frame. Returns MOTA, IDF1, HOTA (mean over the 19
    IoU thresholds 0.05..0.95) with its DetA and AssA, MOTP (mean IoU of matches, as TrackEval), IDSW, FP, FN.
    """
    metrics = _trackeval_metrics()
    data = _trackeval_data(gt, pred, distractors)
    return _summary(*(metric.eval_sequence(data) for metric in metrics))


def mot_metrics_combined(
    sequences: Sequence[tuple[np.ndarray, np.ndarray]], distractors: Sequence[tuple[int, ...] | None] | None = None
) -> dict[str, float]:
    """:func:`mot_metrics` over several sequences, each a (gt, pred) pair with its ``distractors``, combined as
    TrackEval combines them (``combine_sequences``: counts summed, AssA weighted by each sequence's true positives,
    HOTA from the pooled DetA and AssA; not a mean of the sequences' scores)."""
    if not sequences:
        raise ValueError("no sequences to score")
    metrics = _trackeval_metrics()
    distractors = distractors if distractors is not None else [None] * len(sequences)
    data = [_trackeval_data(gt, pred, d) for (gt, pred), d in zip(sequences, distractors, strict=True)]
    per_sequence = [{f"seq{i}": metric.eval_sequence(d) for i, d in enumerate(data)} for metric in metrics]
    return _summary(*(metric.combine_sequences(res) for metric, res in zip(metrics, per_sequence)))
