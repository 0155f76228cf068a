"""The interface of every anomaly scorer: fit on normal training videos, score each frame of a test video.

A scorer works on per-frame encoder features (:func:`videovision.anomaly.features.frame_features`), so a video
is encoded once whatever the scorers. Scores are per frame, higher = more anomalous. Every scorer keeps a robust
location and scale of its scores on normal training frames (never test frames), so scores of different scorers can
be compared and combined (:class:`CombinedScorer`): the median and 1.4826 x the median absolute deviation, which a
long tail of very normal or very unusual training frames does not move. Scorers whose scores are magnitudes (a
distance, an error; :attr:`AnomalyScorer.magnitude_scores`) are compared on a log scale, log(1 + score / median
training score): a distance 1000 times the usual one counts 7 units, not 1000, and an exact match counts 0. The
others already are on one (log-odds of a head's doubt, a standardised log speed).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from ..features import ResidualView, TrainingViews, check_encoder

log = logging.getLogger(__name__)

MAD_TO_STD = 1.4826
"""The median absolute deviation of a normal distribution times this is its standard deviation."""


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one intra-op thread inside the block (then restore the count): a small head's training steps
    gain nothing from more, and on a shared CPU every op's threads wait for each other (measured here: 300 Adam steps
    of a 256-512-6 MLP, batch 64, took 0.9 s on one thread and 25 s on two busy cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def train_head(
    head: nn.Module,
    batch_loss: Callable[[torch.Generator], torch.Tensor],
    steps: int,
    lr: float,
    seed: int,
    weight_decay: float = 0.0,
) -> None:
    """Train a small head on frozen embeddings: ``steps`` Adam steps at ``lr`` (and ``weight_decay``) on the loss
    ``batch_loss(generator)`` of a batch it draws with ``generator``, seeded with ``seed``, on one thread."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(head.parameters(), lr=lr, weight_decay=weight_decay)
    head.train()
    with one_thread():
        for _ in range(steps):
            loss = batch_loss(generator)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def holdout_split(train: list[torch.Tensor], holdout: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """(fitting, calibration) videos: every ``holdout``-th video is left out of a learnt head's training and
    calibrates its scores, so that they are standardised as unseen normal video scores; with fewer than
    ``holdout`` videos all of them do both."""
    if holdout < 2:
        raise ValueError(f"holdout must be >= 2 (every holdout-th video calibrates), got {holdout}")
    if len(train) < holdout:
        return train, train
    return [f for i, f in enumerate(train) if i % holdout], train[::holdout]


def doubt_log_odds(logits: torch.Tensor, normal_class: int) -> torch.Tensor:
    """log((1 - p) / p) of ``normal_class``'s softmax probability p, from the logits without forming p:
    (B, K) -> (B,) float64. Monotone in 1 - p."""
    logits = logits.double()
    others = torch.cat([logits[:, :normal_class], logits[:, normal_class + 1 :]], dim=1)
    return torch.logsumexp(others, dim=1) - logits[:, normal_class]


def residual_views_of(scorers: Iterable[AnomalyScorer], encoder: nn.Module) -> list[ResidualView]:
    """Every residual view that any of ``scorers`` needs to fit on ``encoder``'s features, once each, sorted."""
    return sorted({view for scorer in scorers for view in scorer.residual_views(encoder)})


def video_labels(train: list[torch.Tensor], anomalous: Sequence[bool | None]) -> list[bool]:
    """One video-level label per training video, unknown (``None``) taken as normal."""
    if len(anomalous) != len(train):
        raise ValueError(f"{len(train)} training videos but {len(anomalous)} video-level labels")
    return [bool(a) for a in anomalous]


class AnomalyScorer(nn.Module, ABC):
    """Base: ``setup`` builds what depends on the encoder, ``fit`` learns from normal videos, ``score`` scores."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("train_reference", torch.tensor(1.0, dtype=torch.float64))
        self.register_buffer("train_median", torch.tensor(0.0, dtype=torch.float64))
        self.register_buffer("train_scale", torch.tensor(1.0, dtype=torch.float64))

    magnitude_scores: ClassVar[bool] = False
    """Whether scores are non-negative magnitudes (distances, errors) with a long upper tail, which :meth:`normalise`
    puts on a log scale first."""

    @property
    def min_frames(self) -> int:
        """The fewest frames a video needs to be fitted on or scored; by default 1."""
        return 1

    @property
    def lookahead(self) -> int:
        """How many frames after a frame its score reads (a stream knows the score that much later); by default 0."""
        return 0

    def setup(self, encoder: nn.Module) -> None:
        """Build the parts sized by ``encoder`` (heads); by default nothing."""
        check_encoder(encoder)

    def residual_views(self, encoder: nn.Module) -> list[ResidualView]:
        """The residual views of the training videos that :meth:`fit` needs besides their features, when
        ``encoder`` reads frame pairs (residual or normal-flow input); by default none."""
        return []

    @abstractmethod
    def fit(
        self,
        encoder: nn.Module,
        train: list[torch.Tensor],
        checkpoint: str | None = None,
        views: TrainingViews | None = None,
    ) -> None:
        """Learn from the per-frame features (N_v, C) of normal training videos and calibrate
        (:meth:`calibrate`). ``checkpoint`` is the encoder's checkpoint, for scorers that reuse a head in it;
        ``views`` holds the videos' features under the views :meth:`residual_views` asks for."""

    def fit_videos(
        self,
        encoder: nn.Module,
        train: list[torch.Tensor],
        anomalous: Sequence[bool | None],
        checkpoint: str | None = None,
        views: TrainingViews | None = None,
    ) -> None:
        """Fit from training videos with their video-level labels (``True`` = weakly labelled anomalous, ``False`` or
        ``None`` = normal). One-class scorers fit on the normal videos only; weakly supervised ones override this."""
        labels = video_labels(train, anomalous)
        normal = [i for i, a in enumerate(labels) if not a]
        if not train:
            raise ValueError(f"{type(self).__name__}: no training videos to fit on")
        if not normal:
            raise ValueError(
                f"{type(self).__name__} fits on normal training videos, and all {len(train)} are labelled anomalous"
            )
        if len(normal) < len(train):
            log.info(
                "%s: fitting on the %d normal training videos, not the %d weakly labelled anomalous ones",
                type(self).__name__,
                len(normal),
                len(train) - len(normal),
            )
        long_enough = [i for i in normal if len(train[i]) >= self.min_frames]
        if not long_enough:
            raise ValueError(
                f"{type(self).__name__} needs videos of at least {self.min_frames} frames, and all {len(normal)} "
                "normal training videos are shorter"
            )
        if len(long_enough) < len(normal):
            log.warning(
                "%s: skipped %d normal training videos of fewer than the %d frames it needs",
                type(self).__name__,
                len(normal) - len(long_enough),
                self.min_frames,
            )
        kept_views = {view: [videos[i] for i in long_enough] for view, videos in (views or {}).items()}
        self.fit(encoder, [train[i] for i in long_enough], checkpoint, kept_views)

    @abstractmethod
    def score(self, encoder: nn.Module, features: torch.Tensor) -> np.ndarray:
        """Raw anomaly score of every frame: per-frame features (N, C) -> (N,) float64."""

    def calibrate(self, train_scores: list[np.ndarray]) -> None:
        """Keep the median of the frame scores of normal training videos and their robust scale, 1.4826 x the
        median absolute deviation (the standard deviation for normal scores, blind to a long tail); where more than
        half the scores are equal that is 0, and the standard deviation stands in. Magnitude scores first keep their
        median as the reference of the log scale (:meth:`_log_scale`; their mean where the median is 0, 1 where
        all are 0). A NaN or infinite training score raises, naming the scorer."""
        pooled = np.concatenate(train_scores).astype(np.float64)
        if not np.isfinite(pooled).all():
            raise ValueError(
                f"{type(self).__name__}: {int((~np.isfinite(pooled)).sum())} of {len(pooled)} training frame scores "
                "are NaN or infinite (the encoder's features or the training videos hold NaN or inf)"
            )
        if self.magnitude_scores:
            self.train_reference.fill_(float(np.median(pooled)) or float(pooled.mean()) or 1.0)
            pooled = self._log_scale(pooled)
        median = float(np.median(pooled))
        scale = MAD_TO_STD * float(np.median(np.abs(pooled - median))) or float(pooled.std())
        self.train_median.fill_(median)
        self.train_scale.fill_(max(scale, 1e-12))

    def _log_scale(self, scores: np.ndarray) -> np.ndarray:
        """log(1 + score / training reference) of magnitude scores, negatives (rounding) taken as 0."""
        return np.log1p(np.maximum(scores, 0.0) / float(self.train_reference))

    def normalise(self, scores: np.ndarray) -> np.ndarray:
        """Raw scores standardised with the training statistics (magnitudes on their log scale): (N,) -> (N,)."""
        scores = np.asarray(scores, dtype=np.float64)
        if self.magnitude_scores:
            scores = self._log_scale(scores)
        return (scores - float(self.train_median)) / float(self.train_scale)

    def normalised(self, encoder: nn.Module, features: torch.Tensor) -> np.ndarray:
        """:meth:`score` standardised with the training statistics: (N, C) -> (N,)."""
        return self.normalise(self.score(encoder, features))

    def load_fitted(self, encoder: nn.Module, state: dict[str, torch.Tensor]) -> None:
        """Restore a fitted scorer from its ``state_dict``; buffers sized by the data (a memory bank) take the
        saved shape. One whose entries are not this scorer's is refused, naming them: one saved by an older
        version (with a mean and standard deviation, before scores were on a log scale and standardised robustly,
        or without the next-step scorer's error variance) or with another scorer config."""
        self.setup(encoder)
        expected = set(self.state_dict())
        missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
        problems = [f"lacks {', '.join(missing)}"] if missing else []
        problems += [f"has no place for {', '.join(unexpected)}"] if unexpected else []
        if problems:
            raise ValueError(
                f"{type(self).__name__}: this fitted scorer {' and '.join(problems)}: it was saved by an older "
                "VideoVision or for another scorer config; run `anomaly fit` again"
            )
        for name, _ in list(self.named_buffers()):
            if name in state:
                module_name, _, attr = name.rpartition(".")
                module = self.get_submodule(module_name) if module_name else self
                setattr(module, attr, state[name].clone())
        self.load_state_dict(state)
