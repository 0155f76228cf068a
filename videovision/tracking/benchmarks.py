"""Run a tracker over a whole benchmark: results in the benchmark's own format, scores as its toolkit pools them.

- DAVIS: one folder of palette PNGs per sequence (``<out>/<seq>/00000.png``, as the DAVIS toolkit reads them);
  J and F pooled over every object of every sequence (davis2017-evaluation's dataset means); void pixels left out.
- OTB: ``<out>/<Seq>.txt``, one 1-based x,y,w,h box a line; success AUC and precision@20 averaged over sequences.
- MOTChallenge: ``<out>/<SEQ>.txt`` rows ``frame,id,x,y,w,h,score,-1,-1,-1``; MOTA, IDF1 and HOTA over all
  sequences combined as TrackEval combines them (:func:`~videovision.tracking.metrics.mot_metrics_combined`).

``features=None`` runs the baselines: copy the first frame's masks (DAVIS), IoU-only association (MOT).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from data_modules.tracking_readers import OTB, Davis2017, MOTChallenge, write_index_png
from data_modules.video_io import probe_video, read_frames

from .annotate import write_gif
from .association import AssociationConfig, associate, box_embeddings
from .boxes import BoxTrackerConfig, track_box
from .features import DenseFeatures
from .metrics import davis_scores, mot_distractor_classes, mot_metrics, mot_metrics_combined, precision_at, success_auc
from .propagation import PropagationConfig, propagate_masks


def load_frames(folder: str | Path, start: int = 0, count: int | None = None) -> np.ndarray:
    """The frames of a frame folder (or video file) from index ``start`` (``count`` of them; all by default) as
    uint8 (T, H, W, 3)."""
    meta = probe_video(str(folder))
    stop = meta.num_frames if count is None else min(meta.num_frames, start + count)
    return read_frames(str(folder), np.arange(start, stop), meta)


def save_masks(folder: str | Path, masks: np.ndarray) -> None:
    """(T, H, W) labels -> ``folder/00000.png ...`` palette PNGs (DAVIS's results format)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for t, labels in enumerate(masks):
        write_index_png(folder / f"{t:05d}.png", labels)


def segment(frames: np.ndarray, first_mask: np.ndarray, features: DenseFeatures | None, config: PropagationConfig):
    """(T, H, W) masks from the first frame's: propagated, or copied when ``features`` is None (the baseline)."""
    num_objects = int(first_mask.max())
    if features is None:
        return np.repeat(first_mask[None].astype(np.uint8), len(frames), axis=0)
    return propagate_masks(features(frames), first_mask, num_objects, config)


def evaluate_davis(
    root: str | Path,
    split: str,
    features: DenseFeatures | None,
    config: PropagationConfig,
    out_dir: str | Path,
    gif: bool = True,
) -> dict:
    """Masks for every sequence of a DAVIS-2017 ``split``, written and scored."""
    reader, out_dir = Davis2017(root), Path(out_dir)
    j_all, f_all, per_sequence = [], [], {}
    for i, name in enumerate(reader.sequences(split)):
        seq = reader.sequence(name)
        frames = load_frames(seq.frames)
        masks = segment(frames, seq.masks[0], features, config)
        save_masks(out_dir / name, masks)
        # Void pixels (255) count for neither mask, as davis2017-evaluation's void_pixels (zeroed in both).
        scores = davis_scores(np.where(seq.void, 0, masks), seq.masks, seq.num_objects)
        j_all += scores["J-per-object"]
        f_all += scores["F-per-object"]
        per_sequence[name] = scores["J&F-Mean"]
        if gif and i == 0:
            write_gif(out_dir / f"{name}.gif", frames, masks)
    j_mean, f_mean = float(np.mean(j_all)), float(np.mean(f_all))
    return {"J&F-Mean": (j_mean + f_mean) / 2, "J-Mean": j_mean, "F-Mean": f_mean, "sequences": per_sequence}


def follow_box(frames: np.ndarray, first_box: np.ndarray, features: DenseFeatures, config: BoxTrackerConfig):
    """(T, 4) x, y, w, h boxes (0-based) from the first frame's box."""
    return track_box(features(frames), first_box, features.stride, frames.shape[1:3], config)


def evaluate_otb(
    root: str | Path, features: DenseFeatures, config: BoxTrackerConfig, out_dir: str | Path, gif: bool = True
) -> dict:
    """Boxes for every OTB sequence under ``root``, written and scored."""
    reader, out_dir = OTB(root), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    auc, precision = {}, {}
    for i, name in enumerate(reader.sequences()):
        seq = reader.sequence(name)
        frames = load_frames(seq.frames, seq.start, len(seq.boxes))
        boxes = follow_box(frames, seq.boxes[0], features, config)
        one_based = boxes + [1, 1, 0, 0]
        (out_dir / f"{name}.txt").write_text("".join(",".join(f"{v:.2f}" for v in b) + "\n" for b in one_based))
        auc[name], precision[name] = success_auc(boxes, seq.boxes), precision_at(boxes, seq.boxes, 20)
        if gif and i == 0:
            write_gif(out_dir / f"{name}.gif", frames, boxes=[np.r_[1, b] for b in boxes])
    return {
        "success_auc": float(np.mean(list(auc.values()))),
        "precision_20px": float(np.mean(list(precision.values()))),
        "sequences": {name: {"success_auc": auc[name], "precision_20px": precision[name]} for name in auc},
    }


def track_detections(
    frames: np.ndarray, detections: list[np.ndarray], features: DenseFeatures | None, config: AssociationConfig
) -> np.ndarray:
    """MOTChallenge rows (1-based frames and boxes) from per-frame (n, 5) x, y, w, h, score detections (0-based
    boxes); IoU only when ``features`` is None. Embeddings are centred on the sequence's mean detection embedding
    before their cosine is taken: ReLU features share a large common part that makes every pair look alike."""
    embeddings = None
    if features is not None:
        maps = features(frames)
        raw = [box_embeddings(maps[t], dets[:, :4], features.stride) for t, dets in enumerate(detections)]
        mean = np.concatenate(raw).mean(axis=0)
        embeddings = [(e - mean) / np.maximum(np.linalg.norm(e - mean, axis=1, keepdims=True), 1e-12) for e in raw]
    rows = associate(detections, embeddings, config)
    rows[:, 2:4] += 1
    return rows


def evaluate_mot(
    root: str | Path,
    split: str,
    features: DenseFeatures | None,
    config: AssociationConfig,
    out_dir: str | Path,
    gif: bool = True,
) -> dict:
    """Tracks for every sequence of a MOTChallenge ``split``, written and scored (all sequences as one)."""
    reader, out_dir = MOTChallenge(root, split), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scored, distractors, per_sequence = [], [], {}
    for i, name in enumerate(reader.sequences()):
        seq = reader.sequence(name)
        frames = load_frames(seq.frames)
        detections = [seq.detections(t + 1) - [1, 1, 0, 0, 0] for t in range(len(frames))]
        rows = track_detections(frames, detections, features, config)
        np.savetxt(out_dir / f"{name}.txt", rows, fmt="%g", delimiter=",")
        distractors.append(mot_distractor_classes(name))
        per_sequence[name] = mot_metrics(seq.gt, rows, distractors[-1])
        scored.append((seq.gt, rows))
        if gif and i == 0:
            boxes = [rows[rows[:, 0] == t + 1][:, 1:6] - [0, 1, 1, 0, 0] for t in range(len(frames))]
            write_gif(out_dir / f"{name}.gif", frames, boxes=boxes)
    return {**mot_metrics_combined(scored, distractors), "sequences": per_sequence}
