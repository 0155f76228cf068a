"""Temporal-order confidence: 1 - p(natural order) from a VCOP clip-order head, as its log-odds.

Georgescu et al. ("Anomaly Detection in Video via Self-Supervised and Multi-Task Learning", CVPR 2021) score
motion irregularity by how unsure an arrow-of-time classifier is that a normal-looking sequence runs forward.
Here the classifier is the VCOP order head (Xu et al., CVPR 2019; :class:`VCOPHead`): ``n`` clips in their natural
order go in, and the score is 1 - softmax(logits)[identity order], reported as its log-odds log((1 - p) / p)
(:func:`~.base.doubt_log_odds`). The ranking of tuples is the same, but the log-odds come from the logits: they keep
their precision where p is within 1e-16 of 1 (1 - p is 0 there in float64), and they grow as log(1 - p) does. On
real video with an untrained encoder the head was sure of normal training tuples (1 - p near 1e-6), and 1 - p
standardised on them put doubtful test tuples 1e11 training standard deviations out, drowning the other scorers of
a :class:`CombinedScorer`.
The head comes from the encoder's pretraining checkpoint when it holds one (``objectives.<i>.head.*``); otherwise it
is trained on the frozen embeddings of normal training tuples, as the VCOP objective would train it.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from data_modules.clip_samplers import clip_span

from ...checkpoints import load_objective_head
from ...objectives.vcop import VCOPHead
from ..features import TrainingViews, clip_embeddings
from ..metrics import centre_lookahead, clip_scores_to_frames, sliding_windows
from .base import AnomalyScorer, doubt_log_odds, holdout_split, train_head

IDENTITY = 0
"""Index of the natural order among ``itertools.permutations(range(n))`` (the first one)."""


def order_doubt_log_odds(head: nn.Module, tuples: torch.Tensor) -> torch.Tensor:
    """Log-odds that tuples of clip embeddings in natural order are not: (B, n, D) -> (B,)."""
    return doubt_log_odds(head(tuples), IDENTITY)


class OrderScorer(AnomalyScorer):
    """Score = log-odds of 1 - p(natural order) of ``num_clips`` clips of ``clip_len`` frames every ``stride``
    frames, ``gap`` frames apart (the pretraining tuple), one tuple every ``hop`` frames, given to the middle frame
    of the frames it covers. Without a head in the checkpoint, one is trained ``steps`` Adam steps at ``lr`` on
    training tuples; every ``holdout``-th training video is left out of it and calibrates the scores
    (:func:`holdout_split`)."""

    def __init__(
        self,
        num_clips: int = 3,
        clip_len: int = 4,
        stride: int = 3,
        gap: int = 3,
        hop: int = 2,
        pair_dim: int = 512,
        steps: int = 300,
        lr: float = 1e-3,
        holdout: int = 5,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.num_clips, self.clip_len, self.stride, self.gap, self.hop = num_clips, clip_len, stride, gap, hop
        self.pair_dim, self.steps, self.lr, self.holdout, self.seed = pair_dim, steps, lr, holdout, seed
        self.head: VCOPHead | None = None
        self.head_source = ""

    def setup(self, encoder: nn.Module) -> None:
        super().setup(encoder)
        self.head = VCOPHead(encoder.out_dim, self.num_clips, self.pair_dim)

    @property
    def tuple_span(self) -> int:
        """The frames a tuple covers, first to last."""
        return self.num_clips * clip_span(self.clip_len, self.stride) + (self.num_clips - 1) * self.gap

    @property
    def lookahead(self) -> int:
        return centre_lookahead(self.tuple_span)

    def tuples(self, encoder: nn.Module, features: torch.Tensor) -> tuple[torch.Tensor, np.ndarray]:
        """Clip embeddings of every tuple, (B, n, D), and the frames each tuple covers, (B, tuple span)."""
        span, total = clip_span(self.clip_len, self.stride), self.tuple_span
        covered = sliding_windows(len(features), total, min(self.hop, total))
        offsets = np.arange(self.num_clips)[:, None] * (span + self.gap) + np.arange(self.clip_len) * self.stride
        clips = np.minimum(covered[:, :1, None] + offsets[None], len(features) - 1)  # (B, n, T)
        embeddings = clip_embeddings(encoder, features, clips.reshape(-1, self.clip_len))
        return embeddings.unflatten(0, clips.shape[:2]), covered

    def fit(
        self,
        encoder: nn.Module,
        train: list[torch.Tensor],
        checkpoint: str | None = None,
        views: TrainingViews | None = None,
    ) -> None:
        self.setup(encoder)
        fitting, calibration = holdout_split(train, self.holdout)
        if checkpoint and load_objective_head(checkpoint, self.head, f"OrderScorer({self.num_clips} clips)"):
            self.head_source = f"{checkpoint} (pretraining head)"
        else:
            self._train_head(torch.cat([self.tuples(encoder, f)[0] for f in fitting]))
            self.head_source = "trained on frozen embeddings of normal training tuples"
        self.calibrate([self.score(encoder, f) for f in calibration])

    def _train_head(self, tuples: torch.Tensor) -> None:
        orders = torch.tensor(list(itertools.permutations(range(self.num_clips))))

        def shuffled_tuples_loss(generator: torch.Generator) -> torch.Tensor:
            batch = tuples[torch.randint(len(tuples), (min(64, len(tuples)),), generator=generator)]
            target = torch.randint(math.factorial(self.num_clips), (len(batch),), generator=generator)
            shuffled = torch.gather(batch, 1, orders[target][:, :, None].expand(-1, -1, batch.shape[-1]))
            return F.cross_entropy(self.head(shuffled), target)

        train_head(self.head, shuffled_tuples_loss, self.steps, self.lr, self.seed)

    @torch.no_grad()
    def score(self, encoder: nn.Module, features: torch.Tensor) -> np.ndarray:
        if self.head is None:
            raise RuntimeError("OrderScorer.score before fit (or load_fitted)")
        self.head.eval()
        tuples, covered = self.tuples(encoder, features)
        doubts = order_doubt_log_odds(self.head, tuples).numpy()
        return clip_scores_to_frames(doubts, covered, len(features), reduce="centre")
