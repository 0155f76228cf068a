"""A fitted anomaly scorer served frame by frame (``serve --anomaly``, ``stream --anomaly``).

:class:`ServedScorer` loads what ``anomaly fit`` saved (``scorer.pt`` and ``scorer.yaml`` beside it: the encoder,
its checkpoint (none: the seeded random encoder ``fit`` built), the scorer, the frame size and the residual gap) and
turns decoded frames into that encoder's per-frame features (:meth:`ServedScorer.frame_features`: one per video, as
it carries the last frames of an encoder on residual or normal-flow input).
Scores are the scorer's :meth:`~videovision.anomaly.scorers.AnomalyScorer.normalised` ones: standardised with
the normal training frames' statistics (0 is typical of normal video), the values ``anomaly score`` writes.

Over a whole video (a job) :meth:`ServedScorer.video_scores` scores every frame as ``anomaly score`` does. A
stream gets one of two online scorers (:meth:`ServedScorer.online`):

- :class:`StepScores` for the causal :class:`~videovision.anomaly.scorers.NextStepScorer`: every frame goes once
  through the temporal conv refiner's and the RNN's ``step()`` (one carried state per phase of its stride). A
  frame's score is the mean error of the transitions that cover it, so it is final ``stride`` frames later and
  then equals the offline score;
- :class:`WindowScores` for scorers that look at clips around a frame (kNN, temporal order, combined): the last
  ``window`` frames are scored again at each frame, and the frame the scorer's ``lookahead`` frames back gets its
  score, now that the clip centred on it is complete (an approximation of the whole-video score, whose clips
  start elsewhere and which also sees earlier frames).

Either returns, per frame, the ``(frame index, score)`` pairs that became known.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import yaml
from jsonargparse import ArgumentParser

from data_modules.transforms import KINETICS_MEAN, KINETICS_STD

from ..anomaly.features import RANDOM_INIT_SEED, RESIDUAL_GAP, FrameFeatures, check_encoder
from ..anomaly.scorers import AnomalyScorer, NextStepScorer
from ..checkpoints import load_state_dict_file
from ..tracking.features import load_encoder
from .model import Preprocess

Scores = list[tuple[int, float]]


class ServedScorer:
    """The scorer saved at ``path`` (``scorer.pt``) with the encoder it was fitted on (``scorer.yaml``)."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        settings_file = path.with_suffix(".yaml")
        if not path.is_file() or not settings_file.is_file():
            raise FileNotFoundError(
                f"{path}: needs {path.name} and {settings_file.name} beside it, as "
                "`python -m videovision anomaly fit --config ...` writes them into its out_dir"
            )
        settings = yaml.safe_load(settings_file.read_text())
        parser = ArgumentParser()
        parser.add_argument("--scorer", type=AnomalyScorer)
        self.scorer: AnomalyScorer = parser.instantiate_classes(
            parser.parse_object({"scorer": settings["scorer"]})
        ).scorer
        encoder = load_encoder(settings["encoder"], settings.get("checkpoint"), seed=RANDOM_INIT_SEED)
        self.encoder = check_encoder(encoder)  # without a checkpoint: the random encoder fit built, seeded alike
        self.scorer.load_fitted(self.encoder, load_state_dict_file(path))
        self.scorer.eval()
        self.preprocess = self.preprocess_for(int(settings["frame_size"]))
        self.residual_gap = int(settings.get("residual_gap", RESIDUAL_GAP))
        self.path = str(path)

    @staticmethod
    def preprocess_for(frame_size: int) -> Preprocess:
        """The anomaly pipeline's frame transform (``EvalTransform(resize=crop=frame_size)``, Kinetics statistics)."""
        return Preprocess(frame_size, frame_size, KINETICS_MEAN, KINETICS_STD)

    @property
    def short_side(self) -> int:
        return self.preprocess.resize

    def frame_features(self) -> Callable[[np.ndarray], torch.Tensor]:
        """Features of one video's frames, fed in order: uint8 frames (T, H, W, 3) -> (T, C), as ``anomaly score``
        encodes them."""
        featurise = FrameFeatures(self.encoder, self.residual_gap)
        return lambda frames: featurise(self.preprocess(frames))

    def video_scores(self, features: torch.Tensor) -> np.ndarray:
        """Every frame of a whole video: features (N, C) -> normalised scores (N,)."""
        return self.scorer.normalised(self.encoder, features)

    def online(self, window: int = 64) -> StepScores | WindowScores:
        if type(self.scorer) is NextStepScorer:
            return StepScores(self)
        return WindowScores(self, window)


class StepScores:
    """:class:`NextStepScorer` streamed: ``__call__(feature (1, C))`` -> the frames whose score became final."""

    def __init__(self, served: ServedScorer) -> None:
        self.encoder, self.scorer = served.encoder, served.scorer
        self.stride = self.scorer.stride
        self.states: dict[int, tuple] = {}  # phase -> (refiner buffers + temporal state, prediction)
        self.sums: dict[int, list[float]] = {}  # frame -> [sum of covering errors, count]
        self.count, self.last = 0, 0.0

    @torch.no_grad()
    def __call__(self, feature: torch.Tensor) -> Scores:
        index, stride, encoder = self.count, self.stride, self.encoder
        self.count += 1
        if index % stride not in self.states:  # past the input: FrameFeatures pairs the frames
            self.states[index % stride] = (encoder.initial_state(feature)[encoder.input_state_size :], None)
        state, prediction = self.states[index % stride]
        split = encoder.refiner_state_size
        refined, buffers = encoder.refine_step(feature, state[:split])
        if prediction is not None:  # the transition (index - stride -> index) scores the frames it spans
            error = float(self.scorer.prediction_errors(prediction, refined)[0].double())
            for frame in range(index - stride, index + 1):
                total = self.sums.setdefault(frame, [0.0, 0])
                total[0] += error
                total[1] += 1
        out, temporal = encoder.temporal.stream_step(refined, state[split:])
        self.states[index % stride] = ((*buffers, *temporal), self.scorer.head(out))
        return self._emit(index - stride) if index >= stride else []

    def finish(self) -> Scores:
        """The last ``stride`` frames, whose later transitions never came."""
        return [pair for frame in range(max(0, self.count - self.stride), self.count) for pair in self._emit(frame)]

    def _emit(self, frame: int) -> Scores:
        total, count = self.sums.pop(frame, (0.0, 0))
        raw = total / count if count else self.last  # a frame no transition covers holds the previous score
        self.last = raw
        return [(frame, float(self.scorer.normalise(raw)))]


class WindowScores:
    """Any scorer over the last ``window`` frames: ``__call__(feature (1, C))`` -> the scores of the frames that the
    scorer's ``lookahead`` has now passed (none before ``warmup`` frames, which the scorers' clips need; then every
    frame still in the window that has no score yet); :meth:`finish` scores the last ``lookahead`` frames."""

    def __init__(self, served: ServedScorer, window: int = 64, warmup: int = 16) -> None:
        if window <= served.scorer.lookahead:
            raise ValueError(f"window {window} must exceed the scorer's lookahead, {served.scorer.lookahead} frames")
        self.served, self.warmup, self.lookahead = served, warmup, served.scorer.lookahead
        self.features: deque[torch.Tensor] = deque(maxlen=window)
        self.count = self.next_frame = 0

    def __call__(self, feature: torch.Tensor) -> Scores:
        self.features.append(feature)
        self.count += 1
        if len(self.features) < self.warmup:
            return []
        return self._emit(self.count - self.lookahead)

    def finish(self) -> Scores:
        return self._emit(self.count) if self.count >= self.warmup else []

    def _emit(self, end: int) -> Scores:
        """Frames ``next_frame`` (or the window's first) to ``end - 1``, scored on the window."""
        first = self.count - len(self.features)
        start = max(self.next_frame, first)
        if end <= start:
            return []
        scores = self.served.video_scores(torch.cat(list(self.features)))
        self.next_frame = end
        return [(frame, float(scores[frame - first])) for frame in range(start, end)]
