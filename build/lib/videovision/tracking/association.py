"""Multi-object tracking by detection: link given detections into tracks by box overlap and appearance.

Tracking-by-detection as SORT (Bewley et al. 2016) and DeepSORT (Wojke et al. 2017) do it, without their Kalman
filter: each frame, a cost between every live track and every detection mixes ``1 - IoU`` (with the track's last
box) and ``1 - cosine`` (with the track's running appearance embedding); pairs that pass neither the IoU gate nor
the appearance gate cannot match; the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``) picks the
matches. A detection left over starts a track; a track unmatched for more than ``max_age`` frames ends, and until
then it can be re-identified by appearance alone (an object back from a short occlusion: no overlap needed, but the
similarity gate and a distance of at most ``max_distance`` box diagonals). Tracks seen in fewer than
``min_hits`` frames are dropped from the output (one-off false detections).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch.nn import functional as F
from torchvision.ops import roi_align

from .metrics import box_iou

_BLOCKED = 1e6


@dataclass(frozen=True)
class AssociationConfig:
    """``appearance``: weight of the appearance cost (0 = IoU only); ``min_iou`` / ``min_similarity``: gates;
    ``min_score``: detections below are dropped; ``max_age``: frames a lost track waits; ``momentum``: of the
    embedding's running average; ``min_hits``: frames a track needs to be reported; ``max_distance``: how far (in
    the track's box diagonals) a lost track may be re-identified."""

    appearance: float = 0.5
    min_iou: float = 0.3
    min_similarity: float = 0.6
    min_score: float = 0.0
    max_age: int = 10
    momentum: float = 0.8
    min_hits: int = 2
    max_distance: float = 3.0

    def __post_init__(self) -> None:
        if not 0 <= self.appearance <= 1 or not 0 <= self.momentum < 1 or self.max_age < 0 or self.min_hits < 1:
            raise ValueError(f"invalid association settings {self}")


@dataclass
class _Track:
    track_id: int
    box: np.ndarray
    embedding: np.ndarray | None
    last_frame: int
    rows: list[list[float]] = field(default_factory=list)


def pairwise_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 4), (M, 4) x, y, w, h boxes -> (N, M) IoU (:func:`~videovision.tracking.metrics.box_iou` of every pair)."""
    a, b = np.asarray(a, dtype=np.float64).reshape(-1, 4), np.asarray(b, dtype=np.float64).reshape(-1, 4)
    return box_iou(np.repeat(a, len(b), axis=0), np.tile(b, (len(a), 1))).reshape(len(a), len(b))


def box_embeddings(feats: torch.Tensor, boxes: np.ndarray, stride: int, grid: int = 2) -> np.ndarray:
    """(C, h, w) L2-normalised maps and (n, 4) x, y, w, h boxes (px) -> (n, C * grid^2) unit embeddings: the
    RoI-aligned ``grid`` x ``grid`` features of each box, flattened."""
    if len(boxes) == 0:
        return np.empty((0, feats.shape[0] * grid * grid), np.float32)
    xyxy = torch.as_tensor(np.asarray(boxes, dtype=np.float32)).clone()
    xyxy[:, 2:] += xyxy[:, :2]
    rois = torch.cat([torch.zeros(len(xyxy), 1), xyxy], dim=1)
    crops = roi_align(feats[None].float(), rois, grid, spatial_scale=1 / stride, sampling_ratio=2, aligned=True)
    return F.normalize(crops.flatten(1), dim=1).numpy()


def associate(
    detections: Sequence[np.ndarray],
    embeddings: Sequence[np.ndarray] | None = None,
    config: AssociationConfig = AssociationConfig(),
) -> np.ndarray:
    """Link per-frame detections into tracks.

    Shapes: detections[t] (n_t, 5) x, y, w, h, score of frame t (0-based); embeddings[t] (n_t, D) unit vectors
    (needed when ``config.appearance > 0``). Returns (N, 10) MOTChallenge rows ``frame (1-based), id (1-based),
    x, y, w, h, score, -1, -1, -1``, sorted by frame then id.
    """
    if config.appearance > 0 and embeddings is None:
        raise ValueError("appearance > 0 needs embeddings; pass them or set appearance: 0 (IoU only)")
    live: list[_Track] = []
    finished: list[_Track] = []
    for t, dets in enumerate(detections):
        dets = np.asarray(dets, dtype=np.float64).reshape(-1, 5)
        keep = dets[:, 4] >= config.min_score
        dets = dets[keep]
        embs = np.asarray(embeddings[t])[keep] if embeddings is not None else None
        finished += [tr for tr in live if t - tr.last_frame - 1 > config.max_age]
        live = [tr for tr in live if t - tr.last_frame - 1 <= config.max_age]
        matched = set()
        if live and len(dets):
            cost = _cost(live, dets, embs, t, config)
            for i, j in zip(*linear_sum_assignment(cost)):
                if cost[i, j] < _BLOCKED:
                    _update(live[i], dets[j], None if embs is None else embs[j], t, config.momentum)
                    matched.add(j)
        for j in range(len(dets)):
            if j not in matched:
                track = _Track(len(live) + len(finished) + 1, dets[j, :4], None if embs is None else embs[j], t)
                track.rows.append([t + 1, track.track_id, *dets[j, :5], -1, -1, -1])
                live.append(track)
    rows = [row for tr in finished + live if len(tr.rows) >= config.min_hits for row in tr.rows]
    rows = np.array(rows, dtype=np.float64).reshape(-1, 10)
    return rows[np.lexsort((rows[:, 1], rows[:, 0]))]


def _cost(
    tracks: list[_Track], dets: np.ndarray, embs: np.ndarray | None, t: int, config: AssociationConfig
) -> np.ndarray:
    """(tracks, detections) cost; ``_BLOCKED`` where neither the IoU gate nor the re-identification gates pass."""
    boxes = np.stack([tr.box for tr in tracks])
    iou = pairwise_iou(boxes, dets[:, :4])
    if config.appearance == 0:
        return np.where(iou >= config.min_iou, 1 - iou, _BLOCKED)
    similarity = np.stack([tr.embedding for tr in tracks]) @ embs.T
    cost = (1 - config.appearance) * (1 - iou) + config.appearance * (1 - similarity)
    lost = np.array([t - tr.last_frame > 1 for tr in tracks])[:, None]
    distance = np.linalg.norm(_centres(boxes)[:, None] - _centres(dets)[None], axis=-1)
    near = distance <= config.max_distance * np.hypot(boxes[:, 2], boxes[:, 3])[:, None]
    allowed = (iou >= config.min_iou) | (lost & near & (similarity >= config.min_similarity))
    return np.where(allowed, cost, _BLOCKED)


def _centres(boxes: np.ndarray) -> np.ndarray:
    return boxes[:, :2] + boxes[:, 2:4] / 2


def _update(track: _Track, det: np.ndarray, emb: np.ndarray | None, t: int, momentum: float) -> None:
    track.box, track.last_frame = det[:4], t
    if emb is not None:
        mixed = momentum * track.embedding + (1 - momentum) * emb
        track.embedding = mixed / max(np.linalg.norm(mixed), 1e-12)
    track.rows.append([t + 1, track.track_id, *det[:5], -1, -1, -1])
