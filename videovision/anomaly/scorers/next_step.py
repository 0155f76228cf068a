"""Next-step feature prediction error, streamed through the temporal model frame by frame.

The feature-space form of future-frame prediction (Liu, Luo, Lian and Gao, "Future Frame Prediction for Anomaly
Detection -- A New Baseline", CVPR 2018): a small head on the frozen encoder's temporal model predicts the next
frame's feature from the model's output so far; the squared error of the prediction is the anomaly score. The
head is trained on normal training videos only. Each feature dimension's squared error is divided by its mean
squared error on the normal training transitions, so the score is, up to scale and an additive constant, the
negative log-likelihood of the error under a zero-mean diagonal Gaussian fitted on normal video, after Malhotra,
Vig, Shroff and Agarwal's Gaussian on an LSTM's prediction errors ("Long Short Term Memory Networks for Anomaly
Detection in Time Series", ESANN 2015; they also fit its mean): a dimension that normal motion leaves hard to
predict no longer outweighs one it makes predictable. At test time every video streams
through the temporal model's ``step()`` (one frame in, one state carried), as a live camera would;
:class:`RecurrentTemporal` documents that ``step()`` gives the outputs of its ``forward``, which training uses.

Frames are taken every ``stride`` frames (the pretraining spacing); the video is read as ``stride`` interleaved
sequences (phases), so every frame is scored. A transition from step t to t+1 scores the frames between them.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..features import TrainingViews, check_encoder
from ..metrics import clip_scores_to_frames
from .base import AnomalyScorer, holdout_split, train_head


def temporal_in_dim(encoder: nn.Module) -> int:
    """Width of the frame features the encoder's temporal model takes."""
    temporal = check_encoder(encoder).temporal
    if hasattr(temporal, "rnn"):
        return temporal.rnn.input_size
    if hasattr(temporal, "project"):
        return temporal.project.in_features
    raise TypeError(
        f"{type(temporal).__name__} has no step(): next-step scoring needs RecurrentTemporal or a causal "
        "TransformerTemporal"
    )


class NextStepScorer(AnomalyScorer):
    """Score = error of predicting the next (every ``stride``-th) frame's feature, each dimension's squared error
    divided by its mean squared error on the fitting videos' transitions (``error_var``); a 2-layer MLP head of width
    ``hidden`` trained ``steps`` Adam steps at ``lr``. Every ``holdout``-th training video is left out of head
    training and calibrates the scores (all videos calibrate when there are fewer than ``holdout``)."""

    magnitude_scores = True

    def __init__(
        self, stride: int = 3, hidden: int = 256, steps: int = 2000, lr: float = 1e-3, holdout: int = 5, seed: int = 0
    ) -> None:
        super().__init__()
        self.stride, self.hidden, self.steps, self.lr, self.holdout, self.seed = (
            stride,
            hidden,
            steps,
            lr,
            holdout,
            seed,
        )
        self.head: nn.Module | None = None

    def setup(self, encoder: nn.Module) -> None:
        width = temporal_in_dim(encoder)
        self.head = nn.Sequential(nn.Linear(encoder.out_dim, self.hidden), nn.ReLU(), nn.Linear(self.hidden, width))
        self.register_buffer("feature_mean", torch.zeros(width))
        self.register_buffer("feature_std", torch.ones(width))
        self.register_buffer("error_var", torch.ones(width))

    @property
    def min_frames(self) -> int:
        return self.stride + 1

    @property
    def lookahead(self) -> int:
        return self.stride  # the transition into frame t + stride covers frame t

    def _sequences(self, encoder: nn.Module, features: torch.Tensor) -> list[tuple[int, torch.Tensor]]:
        if len(features) < self.min_frames:
            raise ValueError(
                f"a video of {len(features)} frames has no next step at stride {self.stride} (scorer.init_args.stride)"
            )
        phases = range(min(self.stride, len(features) - self.stride))  # the phases of at least two frames
        with torch.no_grad():
            return [(p, encoder.temporal_refiner(features[p :: self.stride][None])[0]) for p in phases]

    def fit(
        self,
        encoder: nn.Module,
        train: list[torch.Tensor],
        checkpoint: str | None = None,
        views: TrainingViews | None = None,
    ) -> None:
        self.setup(encoder)
        encoder.eval()
        fitting, calibration = holdout_split(train, self.holdout)
        inputs, targets = [], []
        for video in fitting:
            for _, seq in self._sequences(encoder, video):
                with torch.no_grad():
                    outputs = encoder.temporal(seq[None])[1][0]
                inputs.append(outputs[:-1])
                targets.append(seq[1:])
        x, y = torch.cat(inputs), torch.cat(targets)
        self.feature_mean, self.feature_std = y.mean(0), y.std(0).clamp_min(1e-6)
        y = (y - self.feature_mean) / self.feature_std

        def batch_loss(generator: torch.Generator) -> torch.Tensor:
            batch = torch.randint(len(x), (min(256, len(x)),), generator=generator)
            return (self.head(x[batch]) - y[batch]).pow(2).mean()

        train_head(self.head, batch_loss, self.steps, self.lr, self.seed)
        with torch.no_grad():
            self.error_var = (self.head(x) - y).pow(2).mean(0).clamp_min(1e-6)
        self.calibrate([self.score(encoder, video) for video in calibration])

    def prediction_errors(self, predictions: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """The score of each transition: the head's ``predictions`` (L, W) of the standardised next ``features``
        (L, W), each dimension's squared error divided by its mean squared error on normal video, averaged -> (L,)."""
        target = (features - self.feature_mean) / self.feature_std
        return ((predictions - target).pow(2) / self.error_var).mean(-1)

    @torch.no_grad()
    def streamed_errors(self, temporal: nn.Module, sequence: torch.Tensor) -> torch.Tensor:
        """:meth:`prediction_errors` of steps 1..L-1, streaming ``sequence`` (L, W) through ``temporal.step`` one
        frame at a time -> (L - 1,)."""
        state, predictions = None, []
        for t in range(len(sequence) - 1):
            out, state = temporal.step(sequence[t : t + 1], state)
            predictions.append(self.head(out))
        return self.prediction_errors(torch.cat(predictions), sequence[1:])

    @torch.no_grad()
    def score(self, encoder: nn.Module, features: torch.Tensor) -> np.ndarray:
        if self.head is None:
            raise RuntimeError("NextStepScorer.score before fit (or load_fitted)")
        encoder.eval()
        self.head.eval()
        scores, spans = [], []
        for phase, seq in self._sequences(encoder, features):
            errors = self.streamed_errors(encoder.temporal, seq)
            starts = phase + self.stride * np.arange(len(errors))
            scores.append(errors.double().numpy())
            spans.append(starts[:, None] + np.arange(self.stride + 1)[None, :])
        return clip_scores_to_frames(np.concatenate(scores), np.concatenate(spans), len(features))
