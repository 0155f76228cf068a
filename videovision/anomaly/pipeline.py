"""Anomaly detection end to end: decode a benchmark's videos, encode every frame once, fit a scorer on the normal
training videos, score every test frame, compute the frame-level metrics and write them.

Training videos that do not decode are skipped and counted (the metadata probe's rule, and any that fails part-way
through later); a test video that does not decode, or whose ground truth does not fit it, raises with its path. A
test video cut short (fewer frames decode than its file declares) is scored on the frames that decode, and named in
``metrics.json`` (``truncated_test_videos``) and in a warning on every run: no test frame leaves the metric silently.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from data_modules.anomaly_readers import AnomalyReader, AnomalyRecord, AnomalySplit, frame_labels
from data_modules.metadata import probe_videos
from data_modules.transforms import EvalTransform
from data_modules.video_io import VideoDecodeError, VideoMeta, iter_frame_chunks

from .features import RESIDUAL_GAP, FrameFeatures, ResidualView, TrainingViews
from .metrics import frame_level_metrics, gaussian_smooth, summary_plot, timeline_plot
from .scorers import AnomalyScorer

log = logging.getLogger(__name__)
UNSCORABLE = "test video cannot be decoded, so its frames cannot be scored"
"""How a test video that does not decode, at the probe or part-way through, is refused."""


@dataclass
class EncodedSplit:
    """Per-frame features (N_v, C) of the decodable videos of one split, their records, for test their labels, the
    features under any further residual views asked for, the skipped videos {path: reason} and the truncated test
    videos {name: frames that decode}."""

    records: list[AnomalyRecord]
    features: list[torch.Tensor]
    labels: list[np.ndarray] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    views: TrainingViews = field(default_factory=dict)
    truncated: dict[str, int] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.records]


def probe_split(reader: AnomalyReader, split: AnomalySplit, cache_file: str | Path) -> tuple[list, dict, dict]:
    """The records of ``split`` with their :class:`VideoMeta`, and the undecodable ones {path: reason}.

    Raises when a test video cannot be decoded (its frames would otherwise leave the metric)."""
    records = reader.anomaly_records(split)
    if not records:
        raise ValueError(f"{type(reader).__name__} at {reader.root}: no {split} videos")
    metas = probe_videos([r.path for r in records], cache_file)
    bad = {p: m for p, m in metas.items() if not isinstance(m, VideoMeta)}
    if split == "test" and bad:
        path, reason = next(iter(bad.items()))
        raise ValueError(f"{UNSCORABLE}: {reason} ({len(bad)} in all)")
    if bad:
        log.warning("skipped %d undecodable training videos, e.g. %s", len(bad), next(iter(bad.values())))
    return records, metas, bad


def encode_split(
    encoder: nn.Module,
    reader: AnomalyReader,
    split: AnomalySplit,
    cache_file: str | Path,
    frame_size: int,
    residual_gap: int = RESIDUAL_GAP,
    chunk_frames: int = 1024,
    views: Sequence[ResidualView] = (),
) -> EncodedSplit:
    """Decode every video of ``split`` (resized to ``frame_size`` on the short side, centre crop, normalised as
    in evaluation) and encode each frame once (:class:`FrameFeatures`), and once more for each residual view in
    ``views``, ``chunk_frames`` decoded frames at a time (a surveillance video of many minutes never sits in
    memory whole)."""
    records, metas, bad = probe_split(reader, split, cache_file)
    transform = EvalTransform(resize=frame_size, crop_size=frame_size)
    out = EncodedSplit([], [], skipped=bad, views={view: [] for view in views})
    standard = ResidualView(residual_gap)  # the features every split has; a view equal to it is not encoded twice
    others = [view for view in dict.fromkeys(views) if view != standard]
    for record in records:
        meta = metas[record.path]
        if record.path in bad:
            continue
        featurisers = {standard: FrameFeatures(encoder, residual_gap)}
        featurisers |= {view: FrameFeatures(encoder, view.gap, backwards=view.backwards) for view in others}
        features: dict[ResidualView, list[torch.Tensor]] = {key: [] for key in featurisers}
        try:
            for chunk in iter_frame_chunks(record.path, meta, chunk_frames):
                frames = transform(torch.from_numpy(chunk).permute(0, 3, 1, 2)[None, None])[0, 0]
                for key, featurise in featurisers.items():
                    features[key].append(featurise(frames))
        except VideoDecodeError as exc:  # e.g. one broken image in a frame folder, past the probe's first and last
            if split == "test":
                raise ValueError(f"{UNSCORABLE}: {exc}") from exc
            log.warning("skipped a training video that fails part-way through: %s", exc)
            out.skipped[record.path] = str(exc)
            continue
        if split == "test" and meta.truncated:
            log.warning("test video %s is cut short: scored on the %d frames that decode", record.path, meta.num_frames)
            out.truncated[record.name] = meta.num_frames
        out.features.append(torch.cat(features[standard]))
        for view in out.views:
            out.views[view].append(out.features[-1] if view == standard else torch.cat(features[view]))
        out.records.append(record)
        if split == "test":
            out.labels.append(frame_labels(record, meta.num_frames))
    if not out.records:
        reason = next(iter(out.skipped.values()), "")
        raise ValueError(f"{type(reader).__name__} at {reader.root}: no {split} video decodes, e.g. {reason}")
    return out


def score_split(scorer: AnomalyScorer, encoder: nn.Module, test: EncodedSplit) -> list[np.ndarray]:
    """Standardised frame scores (N_v,) of every test video (:meth:`AnomalyScorer.normalised`: 0 = a typical normal
    training frame, in robust standard deviations; distances and errors on their log scale), the units that the
    smoothing, the written files, ``combined`` and ``serve`` share. Smoothed raw, one frame's error 1000 times the
    usual outweighed every normal frame within the Gaussian's reach; future-frame prediction's score is a log of the
    error too (PSNR; Liu et al., CVPR 2018). A test video too short for ``scorer`` raises, naming it: its frames
    cannot leave the metric unseen."""
    for name, features in zip(test.names, test.features):
        if len(features) < scorer.min_frames:
            raise ValueError(
                f"test video {name}: {len(features)} frames, fewer than the {scorer.min_frames} that "
                f"{type(scorer).__name__} needs to score it; take it out of the test set, or use a scorer with a "
                "smaller stride"
            )
    return [scorer.normalised(encoder, f) for f in test.features]


def write_results(
    out_dir: str | Path,
    test: EncodedSplit,
    scores: list[np.ndarray],
    sigma: float = 0.0,
    normalise_per_video: bool = False,
    plots: bool = True,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``scores/<video>.npy`` and ``.csv`` (frame, score, smoothed score, label), ``metrics.json`` and, with
    ``plots``, ``timelines/<video>.png`` and ``summary.png``; returns the metrics."""
    out_dir = Path(out_dir)
    (out_dir / "scores").mkdir(parents=True, exist_ok=True)
    metrics = frame_level_metrics(scores, test.labels, sigma, normalise_per_video, test.names)
    metrics["truncated_test_videos"] = test.truncated
    metrics.update(extra or {})
    for name, score, label in zip(test.names, scores, test.labels):
        smoothed = gaussian_smooth(score, sigma)
        (out_dir / "scores" / name).parent.mkdir(parents=True, exist_ok=True)  # a name may be a path: cam2/d
        np.save(out_dir / "scores" / f"{name}.npy", score)
        with (out_dir / "scores" / f"{name}.csv").open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["frame", "score", "smoothed_score", "label"])
            writer.writerows(zip(range(len(score)), score.tolist(), smoothed.tolist(), label.tolist()))
        if plots:
            auc = metrics["per_video_auroc"][name]
            timeline_plot(smoothed, label, out_dir / "timelines" / f"{name}.png", f"{name}: AUROC {auc:.3f}")
    if plots:
        title = f"micro AUROC {metrics['micro_auroc']:.3f}, macro {metrics['macro_auroc']:.3f}"
        summary_plot(metrics["per_video_auroc"], out_dir / "summary.png", title)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics
