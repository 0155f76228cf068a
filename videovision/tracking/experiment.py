"""Tracking experiments from a config (``experiments/tracking/<task>.yaml``): a benchmark, or one video.

Config keys (all checked; an unknown one raises)::

    task: davis | otb | mot
    data: {root: data/tracking, embedded: true, split: val}   # embedded: generate the benchmark on first use
    encoder: demo/base/encoder.yaml   # a class_path mapping, or a YAML file (inlined by videovision.config)
    checkpoint: null                  # a VideoVision checkpoint's encoder.* weights; null = random init
    seed: 0
    features: {stride: 8}
    tracker: {...}          # PropagationConfig / BoxTrackerConfig / AssociationConfig fields
    output: runs/tracking/davis
    gif: true
"""

from __future__ import annotations

import json
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from data_modules.tracking_readers import read_index_png
from data_modules.tracking_synthetic import TrackingSpec, generate_tracking

from .annotate import write_gif
from .association import AssociationConfig
from .benchmarks import evaluate_davis, evaluate_mot, evaluate_otb, follow_box, load_frames, save_masks, segment
from .boxes import BoxTrackerConfig
from .features import CachedFeatures, DenseFeatures, encoder_backbone, load_encoder
from .propagation import PropagationConfig

TRACKERS = {"davis": PropagationConfig, "otb": BoxTrackerConfig, "mot": AssociationConfig}
_KEYS = {"task", "data", "encoder", "checkpoint", "seed", "features", "tracker", "output", "gif"}
_SECTIONS = {
    "data": {"root", "embedded", "split", "spec"},
    "features": {"stride"},
}


def check_config(config: dict[str, Any]) -> None:
    """Raise on an unknown task, key or tracker field, naming it and what is known."""
    task = config.get("task")
    if task not in TRACKERS:
        raise ValueError(f"task must be one of {sorted(TRACKERS)}, got {task!r}")
    unknown = set(config) - _KEYS
    if unknown:
        raise ValueError(f"unknown key(s) {sorted(unknown)}; known: {sorted(_KEYS)}")
    for section, known in {**_SECTIONS, "tracker": {f.name for f in fields(TRACKERS[task])}}.items():
        extra = set(config.get(section) or {}) - known
        if extra:
            raise ValueError(f"{section}: unknown key(s) {sorted(extra)} for task {task}; known: {sorted(known)}")


def tracker_settings(config: dict[str, Any]) -> PropagationConfig | BoxTrackerConfig | AssociationConfig:
    """The task's tracker dataclass from ``config['tracker']`` (lists become tuples)."""
    settings = {k: tuple(v) if isinstance(v, list) else v for k, v in (config.get("tracker") or {}).items()}
    return TRACKERS[config["task"]](**settings)


def build_features(config: dict[str, Any], checkpoint: str | None = None) -> DenseFeatures:
    """Dense features of the config's encoder (``checkpoint`` overrides the config's)."""
    encoder = load_encoder(
        config.get("encoder", "demo/base/encoder.yaml"), checkpoint or config.get("checkpoint"), config.get("seed", 0)
    )
    return DenseFeatures(encoder_backbone(encoder), **(config.get("features") or {}))


def benchmark_root(config: dict[str, Any]) -> Path:
    """The task's data folder; the embedded benchmark is generated there on first use."""
    data = config.get("data") or {}
    if "root" not in data:
        raise ValueError("data.root is required (a DAVIS-2017, OTB or MOTChallenge folder, or the embedded one)")
    root = Path(data["root"])
    if data.get("embedded", False):
        return generate_tracking(root, TrackingSpec(**(data.get("spec") or {}))) / config["task"]
    return root


def run_benchmark(
    config: dict[str, Any],
    checkpoint: str | None = None,
    output: str | None = None,
    baseline: bool = False,
    features: DenseFeatures | CachedFeatures | None = None,
) -> dict[str, Any]:
    """Track a whole benchmark; writes its results, ``metrics.json`` and a GIF under the output folder.

    ``baseline``: DAVIS copies the first frame's masks, MOT associates by IoU only (OTB has none). ``features``:
    dense features already built (e.g. shared across tasks), instead of the config's encoder and ``checkpoint``."""
    check_config(config)
    task, tracker = config["task"], tracker_settings(config)
    root, out = benchmark_root(config), Path(output or config.get("output", f"runs/tracking/{config['task']}"))
    split = (config.get("data") or {}).get("split", {"davis": "val", "mot": "train"}.get(task))
    if baseline and task == "otb":
        raise ValueError("OTB has no baseline here; drop --baseline")
    start = time.time()
    if baseline:
        features = None
    elif features is None:
        features = build_features(config, checkpoint)
    gif = config.get("gif", True)
    if task == "davis":
        metrics = evaluate_davis(root, split, features, tracker, out, gif)
    elif task == "otb":
        metrics = evaluate_otb(root, features, tracker, out, gif)
    else:
        metrics = evaluate_mot(root, split, features, replace(tracker, appearance=0) if baseline else tracker, out, gif)
    metrics["seconds"] = round(time.time() - start, 1)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics


def run_video(
    config: dict[str, Any],
    video: str,
    box: tuple[float, float, float, float] | None = None,
    mask: str | None = None,
    checkpoint: str | None = None,
    output: str | None = None,
) -> Path:
    """Track in one video (frame folder or file) from a first-frame box (x, y, w, h, 0-based px) or mask (index
    PNG); writes ``boxes.txt`` (1-based, OTB's format) or ``masks/``, and ``tracked.gif``. Returns the folder."""
    if (box is None) == (mask is None):
        raise ValueError("give either a first-frame box or a first-frame mask")
    check_config(config)
    frames = load_frames(video)
    features, out = build_features(config, checkpoint), Path(output or config.get("output", "runs/tracking/video"))
    out.mkdir(parents=True, exist_ok=True)
    if box is not None:
        x, y, w, h = box
        height, width = frames.shape[1:3]
        if w <= 0 or h <= 0 or x >= width or y >= height or x + w <= 0 or y + h <= 0:
            raise ValueError(f"{video}: first box {list(box)} is empty or outside the {width}x{height} frames")
        settings = tracker_settings(config) if config["task"] == "otb" else BoxTrackerConfig()
        boxes = follow_box(frames, np.asarray(box, dtype=np.float64), features, settings)
        (out / "boxes.txt").write_text("".join(",".join(f"{v:.2f}" for v in b + [1, 1, 0, 0]) + "\n" for b in boxes))
        write_gif(out / "tracked.gif", frames, boxes=[np.r_[1, b] for b in boxes])
        return out
    first = read_index_png(mask)
    if first.shape != frames.shape[1:3]:
        raise ValueError(
            f"{mask}: mask is {first.shape[1]}x{first.shape[0]}, frames {frames.shape[2]}x{frames.shape[1]}"
        )
    settings = tracker_settings(config) if config["task"] == "davis" else PropagationConfig()
    masks = segment(frames, first, features, settings)
    save_masks(out / "masks", masks)
    write_gif(out / "tracked.gif", frames, masks)
    return out
