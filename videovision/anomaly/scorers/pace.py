"""Pace confidence: 1 - p(pace 1, forwards) from a pace-and-direction head, as its log-odds.

A clip of normal video plays at its own pace and forwards. Wang et al. ("Self-supervised Video Representation
Learning by Pace Prediction", ECCV 2020) train a classifier of the pace a clip was sampled at; Wei et al. ("Learning
and Using the Arrow of Time", CVPR 2018) one of forwards against backwards; Georgescu et al. ("Anomaly Detection in
Video via Self-Supervised and Multi-Task Learning", CVPR 2021) score anomalies by such proxy classifiers' doubt
(arrow of time, motion irregularity). Here the classifier is the :class:`PaceHead` of :class:`PaceObjective`: the
temporal model's embedding of ``clip_len`` frames every ``stride`` frames (the pretraining's pace 1) goes in, and
the score is ``1 - softmax(logits)[pace 1, forwards]``, so a sped-up or reversed segment scores high, reported as
its log-odds log((1 - p) / p) (:func:`~.base.doubt_log_odds`; :mod:`.order` says why).

The head comes from the encoder's pretraining checkpoint when it holds a PaceObjective head
(``objectives.<i>.head.layers.*``); otherwise it is trained on frozen per-frame features of the normal training
videos: windows of ``(clip_len - 1) * max(paces) + 1`` frames every ``stride`` frames, from which
:func:`pace_views` draws a pace and a direction as the objective does, through the encoder's temporal part. An
encoder on residual frames (or normal flow) saw, in pretraining, a clip at pace ``k`` as pairs of frames ``k *
stride`` apart, swapped when played backwards (a residual's sign turned); the head then learns from those pairs
(:meth:`residual_views`: the training videos are encoded once more for each pace and direction), not from the
test-time pairs at ``residual_gap`` reordered, which show neither a burst's larger steps nor a reversal's swap.

Shapes: per-frame features (N, C) -> clip embeddings (K, D) -> logits (K, 2 * len(paces)) -> frame scores (N,).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from data_modules.clip_samplers import clip_span

from ...checkpoints import load_objective_head
from ...objectives.pace import PaceHead, pace_views
from ..features import ResidualView, TrainingViews, check_encoder, clip_embeddings, clip_windows
from ..metrics import centre_lookahead, clip_scores_to_frames
from .base import AnomalyScorer, doubt_log_odds, holdout_split, train_head


class PaceScorer(AnomalyScorer):
    """Score = log-odds of 1 - p(pace 1, forwards) of ``clip_len`` frames every ``stride`` frames, one clip every
    ``hop`` frames, given to the middle frame of the frames it covers. Without a head in the checkpoint, one is trained
    ``steps`` Adam steps at ``lr`` on batches of ``batch_size`` from ``num_views`` pace views of normal training
    windows; every ``holdout``-th training video is left out of it and calibrates the scores (:func:`holdout_split`)."""

    def __init__(
        self,
        clip_len: int = 4,
        stride: int = 3,
        hop: int = 2,
        paces: list[int] = (1, 2, 3),
        hidden_dim: int = 512,
        num_views: int = 8192,
        steps: int = 1000,
        lr: float = 1e-3,
        batch_size: int = 256,
        holdout: int = 5,
        seed: int = 0,
    ) -> None:
        super().__init__()
        paces = tuple(int(p) for p in paces)
        if 1 not in paces or len(set(paces)) != len(paces) or min(paces) < 1:
            raise ValueError(f"PaceScorer: paces must be distinct integers >= 1 including 1, got {list(paces)}")
        if batch_size < 2:
            raise ValueError(f"PaceScorer: batch_size must be >= 2 (the head has BatchNorm), got {batch_size}")
        self.clip_len, self.stride, self.hop, self.paces = clip_len, stride, hop, paces
        self.hidden_dim, self.num_views, self.steps, self.lr = hidden_dim, num_views, steps, lr
        self.batch_size, self.holdout, self.seed = batch_size, holdout, seed
        self.normal_class = paces.index(1)  # forwards: pace index + len(paces) * 0
        self.head: PaceHead | None = None
        self.head_source = ""

    @property
    def lookahead(self) -> int:
        return centre_lookahead(clip_span(self.clip_len, self.stride))

    def setup(self, encoder: nn.Module) -> None:
        super().setup(encoder)
        self.head = PaceHead(encoder.out_dim, len(self.paces), self.hidden_dim)

    def residual_views(self, encoder: nn.Module) -> list[ResidualView]:
        """With residual (or normal-flow) input, a view at pace ``k`` showed in pretraining pairs of frames
        ``k * stride`` apart, swapped when played backwards: one residual view per pace and direction."""
        if check_encoder(encoder).frame_input == "rgb":
            return []
        return [ResidualView(self.stride * pace, backwards) for backwards in (False, True) for pace in self.paces]

    def fit(
        self,
        encoder: nn.Module,
        train: list[torch.Tensor],
        checkpoint: str | None = None,
        views: TrainingViews | None = None,
    ) -> None:
        self.setup(encoder)
        fitting, calibration = holdout_split(train, self.holdout)
        owner = f"PaceScorer(paces={list(self.paces)}, hidden_dim={self.hidden_dim})"
        if checkpoint and load_objective_head(checkpoint, self.head, owner):
            self.head_source = f"{checkpoint} (pretraining head)"
        else:
            missing = [view for view in self.residual_views(encoder) if view not in (views or {})]
            if missing:
                raise ValueError(
                    f"PaceScorer trains its head on the frame pairs each pace view shows, and got no features of "
                    f"the training videos under {missing}: encode them with encode_split(..., views="
                    "scorer.residual_views(encoder)) and pass its views to fit_videos (the anomaly tool does)"
                )
            fitting_views = {view: holdout_split(videos, self.holdout)[0] for view, videos in (views or {}).items()}
            self._train_head(encoder, fitting, fitting_views)
            self.head_source = "trained on pace views of frozen features of normal training videos"
        self.calibrate([self.score(encoder, f) for f in calibration])

    def training_windows(self, train: list[torch.Tensor], reach: int = 0) -> torch.Tensor:
        """The frame indices, into the training videos' features concatenated, of every window of
        ``(clip_len - 1) * max(paces) + 1 + reach`` frames every ``stride`` frames, one per frame, (M, that length)."""
        length = clip_span(self.clip_len, max(self.paces)) + reach
        starts = np.cumsum([0] + [len(f) for f in train[:-1]])
        windows = [clip_windows(len(f), length, self.stride, 1)[0] + s for f, s in zip(train, starts)]
        return torch.as_tensor(np.concatenate(windows))

    def training_views(
        self, encoder: nn.Module, train: list[torch.Tensor], views: TrainingViews | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``num_views`` pace views of training windows (drawn with replacement), drawn by :func:`pace_views` and
        embedded once (the encoder is frozen): -> embeddings (num_views, D) and classes (num_views,).

        On RGB frames a view's frames are the window's own. With residual or normal-flow input (``views`` holds
        each pace and direction's :meth:`residual_views`) a view at pace ``k`` reads the features of pairs ``k *
        stride`` frames apart; played backwards, frame ``t`` shows the pair (``x_{t + k * stride}``, ``x_t``), the
        backwards view's feature at frame ``t + k * stride``, so windows reach ``max(paces)`` further for it."""
        paired = bool(self.residual_views(encoder))
        reach = max(self.paces) if paired else 0
        windows = self.training_windows(train, reach)
        generator = torch.Generator().manual_seed(self.seed)
        chosen = windows[torch.randint(len(windows), (self.num_views,), generator=generator)]
        length = windows.shape[1] - reach
        positions = torch.arange(length).expand(self.num_views, 1, length)
        positions, targets = pace_views(positions, self.clip_len, self.paces, generator)  # (V, 1, clip_len)
        positions, targets = positions[:, 0], targets[:, 0]
        pace = torch.tensor(self.paces)[targets % len(self.paces)]
        backwards = targets >= len(self.paces)
        if paired:
            positions = positions + torch.where(backwards, pace, 0)[:, None]
        frames = torch.gather(chosen, 1, positions)  # (V, clip_len) indices into the pooled features
        embeddings = torch.empty(self.num_views, encoder.out_dim)
        rgb_bank = None if paired else torch.cat(train)  # on RGB frames every view reads the features themselves
        for target in targets.unique().tolist():
            picked = targets == target
            bank = rgb_bank
            if paired:
                view = ResidualView(self.stride * int(pace[picked][0]), bool(backwards[picked][0]))
                bank = torch.cat(views[view])
            chunks = frames[picked].split(4096)
            embeddings[picked] = torch.cat([clip_embeddings(encoder, bank, c.numpy()) for c in chunks])
        return embeddings, targets

    def _train_head(self, encoder: nn.Module, train: list[torch.Tensor], views: TrainingViews) -> None:
        embeddings, targets = self.training_views(encoder, train, views)

        def views_loss(generator: torch.Generator) -> torch.Tensor:
            batch = torch.randint(len(targets), (self.batch_size,), generator=generator)
            return F.cross_entropy(self.head(embeddings[batch]), targets[batch])

        train_head(self.head, views_loss, self.steps, self.lr, self.seed)

    @torch.no_grad()
    def score(self, encoder: nn.Module, features: torch.Tensor) -> np.ndarray:
        if self.head is None:
            raise RuntimeError("PaceScorer.score before fit (or load_fitted)")
        self.head.eval()
        clips, covered = clip_windows(len(features), self.clip_len, self.stride, self.hop)
        scores = doubt_log_odds(self.head(clip_embeddings(encoder, features, clips)), self.normal_class)
        return clip_scores_to_frames(scores.numpy(), covered, len(features), reduce="centre")
