"""What one video (a job, a ``stream`` run, a WebSocket connection) gets frame by frame from the three
applications: class probabilities (the classifier's streaming step), an anomaly score (a scorer fitted by
``anomaly fit``, when the server or stream was given one) and a box (the single-object tracker, when the
session was given a first-frame box).

:class:`Analysers` holds the models, loaded once; :meth:`Analysers.session` gives a :class:`Session` that carries
one video's state. ``session(index, frame)`` takes a decoded frame (uint8 ``(H, W, 3)``, short side at least
:attr:`Analysers.short_side`) and returns that frame's outputs as JSON-ready values; the transports (the API, the
``stream`` tool) pass them on without knowing which applications ran.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..tracking.boxes import BoxTracker, BoxTrackerConfig
from ..tracking.features import DenseFeatures, encoder_backbone
from .anomaly import ServedScorer
from .model import ServedClassifier
from .runtime import EagerStep, OrtStep, make_step

TRACK_SHORT_SIDE = 128  # frames the box tracker sees (stride-8 maps: 16 cells on the short side)
Box = tuple[float, float, float, float]
TRACK_CKPT_HELP = (
    "--track-ckpt, a checkpoint of a run whose encoder reads RGB frames (e.g. "
    "runs/demo/pretrain_rgb/checkpoints/last.ckpt from experiments/demo/pretrain_rgb.yaml)"
)


def parse_box(text: str) -> Box:
    """``"x,y,w,h"`` (0-based pixels of the source video, positive size) -> a box; ValueError naming the text."""
    try:
        box = tuple(float(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        box = ()
    if len(box) != 4 or box[2] <= 0 or box[3] <= 0:
        raise ValueError(f"box must be x,y,w,h: 4 numbers with a positive width and height, got {text!r}")
    return box


@dataclass
class Analysers:
    """The served models: the classifier (in ``runtime``, at input ``size`` if given, every ``stride``-th frame:
    by default the run's frame spacing at each video's rate, :meth:`stride_at`), an optional fitted anomaly scorer
    and the box tracker on the ResNet features of ``tracker_encoder`` (an encoder that reads RGB frames; the
    classifier's when None)."""

    served: ServedClassifier
    runtime: str = "eager"
    export_dir: str | Path | None = None
    anomaly: ServedScorer | None = None
    top_k: int = 5
    size: int | None = None
    stride: int | None = None
    threads: int = 0
    tracker_config: BoxTrackerConfig = field(default_factory=BoxTrackerConfig)
    tracker_encoder: nn.Module | None = None

    def __post_init__(self) -> None:
        self.preprocess = self.served.preprocess.at(self.size)

    @cached_property
    def dense(self) -> DenseFeatures:
        """The tracker's features: the tracker encoder's backbone maps at stride 8 (built on the first tracked
        video)."""
        return DenseFeatures(encoder_backbone(self._tracker_encoder), stride=8).eval()

    @property
    def _tracker_encoder(self) -> nn.Module:
        return self.served.encoder if self.tracker_encoder is None else self.tracker_encoder

    def new_step(self) -> EagerStep | OrtStep:
        """A classifier step with its own state (with ``onnx``, exports first when the export is stale)."""
        return make_step(self.served, self.runtime, self.export_dir, self.size, self.threads)[0]

    def short_side(self, box: Box | None = None) -> int:
        """The short side to decode frames at, for every application a session with ``box`` runs."""
        sides = [self.preprocess.resize, TRACK_SHORT_SIDE if box else 0]
        return max(sides + ([self.anomaly.short_side] if self.anomaly else []))

    def stride_at(self, fps: float) -> int:
        """Frames between two classified frames of a video at ``fps`` (0: unknown): ``stride`` when given, else the
        run's (:meth:`ServedClassifier.stride_at`)."""
        return self.stride or self.served.stride_at(fps)

    def every_frame(self, box: Box | None = None) -> bool:
        """Whether a session needs every frame (anomaly, tracking) or only the classifier's (every ``stride``-th)."""
        return self.anomaly is not None or box is not None

    def session(
        self, box: Box | None = None, source_size: tuple[int, int] | None = None, keep=False, fps: float = 0.0
    ) -> Session:
        """A new video's state; ``box`` is in the pixels of a source ``source_size`` (W, H) wide and high;
        ``keep``: keep what :meth:`Session.finish` needs (a whole video's job, not a live stream); ``fps``: the
        source's rate (0: unknown), which sets the classified frames' spacing (:meth:`stride_at`)."""
        if box is not None and source_size is None:
            raise ValueError("a first-frame box needs the source's size")
        if box is not None:
            self.check_tracker()
        return Session(self, box, source_size, keep, self.stride_at(fps))

    def check_tracker(self) -> None:
        """Refuses a box, before any frame is read, when the tracker's encoder reads no appearance (residual or
        normal-flow frames)."""
        try:
            encoder_backbone(self._tracker_encoder)
        except ValueError as exc:
            raise ValueError(f"{exc}; or give the box tracker its own: {TRACK_CKPT_HELP}") from exc


class Session:
    """One video's carried state; call it with each frame (in order), then :meth:`finish` for a whole video."""

    def __init__(
        self, analysers: Analysers, box: Box | None, source_size: tuple[int, int] | None, keep: bool, stride: int
    ):
        self.analysers, self.box, self.source_size, self.keep = analysers, box, source_size, keep
        self.step = analysers.new_step()
        self.every = stride if analysers.every_frame(box) else 1  # else frames come pre-thinned
        self.online = analysers.anomaly.online() if analysers.anomaly and not keep else None
        self.anomaly_features = analysers.anomaly.frame_features() if analysers.anomaly else None
        self.tracker: BoxTracker | None = None
        self.scale = 1.0
        self.inputs: list[torch.Tensor] = []
        self.features: list[torch.Tensor] = []
        self.indices: deque[int] = deque(maxlen=1024)  # source index of the last frames (live sources drop some)
        self.count = 0

    def __call__(self, index: int, frame: np.ndarray) -> dict:
        """``{"frame", "top", "probs"}`` on classified frames, ``"anomaly": [[frame, score], ...]`` (the frames
        whose score became known; a ``keep`` session scores them in :meth:`finish`) with a scorer,
        ``"box": [x, y, w, h]`` (source pixels) with a first box."""
        analysers, out = self.analysers, {"frame": index}
        classes = analysers.served.classes
        self.indices.append(index)
        self.count += 1
        if (self.count - 1) % self.every == 0:
            x = analysers.preprocess(frame[None])
            probs = self.step(x.numpy())
            order = np.argsort(probs)[::-1][: analysers.top_k]
            out["top"] = [{"label": classes[i], "prob": round(float(probs[i]), 4)} for i in order]
            out["probs"] = [round(float(p), 5) for p in probs]
            if self.keep:
                self.inputs.append(x[0])
        if self.anomaly_features is not None:
            feature = self.anomaly_features(frame[None])
            if self.keep:  # scored at the end, as a whole video
                self.features.append(feature)
            else:
                out["anomaly"] = self._scores(self.online(feature))
        if self.box is not None:
            out["box"] = self._track(frame)
        return out

    def _track(self, frame: np.ndarray) -> list[float]:
        maps = self.analysers.dense(frame[None])[0]
        if self.tracker is None:
            self.scale = min(frame.shape[:2]) / min(self.source_size)
            first = np.asarray(self.box) * self.scale
            stride, config = self.analysers.dense.stride, self.analysers.tracker_config
            self.tracker = BoxTracker(maps, first, stride, frame.shape[:2], config)
            box = self.tracker.box
        else:
            box = self.tracker.update(maps)
        return [round(float(v), 2) for v in box / self.scale]

    def flush(self) -> list[list[float]]:
        """The anomaly scores still owed at the end of a stream, ``[[frame, score], ...]``."""
        return self._scores(self.online.finish()) if self.online is not None else []

    def _scores(self, scores: list[tuple[int, float]]) -> list[list[float]]:
        """The online scorer's ``(n-th frame it saw, score)`` -> ``[source frame index, score]``."""
        first = self.count - len(self.indices)
        return [[self.indices[n - first], round(s, 5)] for n, s in scores]

    def finish(self) -> dict:
        """Whole-video outputs of a ``keep`` session: ``"clip_probs"`` (the run's test protocol over the
        classified frames) and ``"anomaly"`` (every frame's score, as ``anomaly score`` computes it)."""
        if not self.keep or not self.inputs:
            raise RuntimeError("finish() needs a session made with keep=True that saw at least one frame")
        out = {"clip_probs": _clip_protocol(self.analysers.served, torch.stack(self.inputs))}
        if self.features:
            scores = self.analysers.anomaly.video_scores(torch.cat(self.features))
            out["anomaly"] = [round(float(s), 5) for s in scores]
        return out


def _clip_protocol(served: ServedClassifier, inputs: torch.Tensor) -> np.ndarray:
    """Mean softmax over ``num_clips`` clips of ``clip_len`` consecutive inputs (the classified frames, spaced as the
    run's samplers space them), evenly spaced (looping a short video), as :class:`~data_modules.UniformClipSampler`."""
    n, t = len(inputs), served.clip_len
    starts = np.round(np.linspace(0, max(0, n - t), served.num_clips)).astype(int)
    index = (starts[:, None] + np.arange(t)[None]) % n
    with torch.inference_mode():
        return served.clip_model()(inputs[torch.from_numpy(index)]).mean(0).numpy()
