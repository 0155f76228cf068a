"""MIL ranking: a segment scorer trained from video-level labels only (weak supervision).

Sultani, Chen and Shah, "Real-world Anomaly Detection in Surveillance Videos" (CVPR 2018), the UCF-Crime baseline.
Each training video is a bag of ``num_segments`` temporal segments, each segment the L2-normalised mean of the
(frozen) clip embeddings in it. A small MLP scores every segment in [0, 1]; the ranking loss asks the highest
segment of an anomalous bag to outscore the highest of a normal bag by a margin of 1, with a smoothness term over
consecutive segments and a sparsity term on the anomalous bag's scores. A test frame takes its segment's score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..features import TrainingViews, clip_embeddings, clip_windows
from ..metrics import clip_scores_to_frames
from .base import AnomalyScorer, train_head, video_labels


class MILRankingLoss(nn.Module):
    """Sultani et al.'s MIL ranking loss (their Eq. 7, without the weight decay that the optimiser adds).

    ``anomalous`` (B, S) and ``normal`` (B, S) segment scores in [0, 1], bag i of one paired with bag i of the other:
    mean over pairs of ``max(0, 1 - max_s anomalous[i] + max_s normal[i]) + smoothness * sum_s (anomalous[i, s] -
    anomalous[i, s + 1])^2 + sparsity * sum_s anomalous[i, s]`` -> a scalar.
    """

    def __init__(self, smoothness: float = 8e-5, sparsity: float = 8e-5) -> None:
        super().__init__()
        self.smoothness, self.sparsity = smoothness, sparsity

    def forward(self, anomalous: torch.Tensor, normal: torch.Tensor) -> torch.Tensor:
        if anomalous.shape != normal.shape or anomalous.dim() != 2:
            shapes = f"{tuple(anomalous.shape)} and {tuple(normal.shape)}"
            raise ValueError(f"MILRankingLoss expects two (B, S) score tensors of one shape, got {shapes}")
        hinge = F.relu(1 - anomalous.max(1).values + normal.max(1).values)
        smooth = (anomalous[:, 1:] - anomalous[:, :-1]).pow(2).sum(1)
        sparse = anomalous.sum(1)
        return (hinge + self.smoothness * smooth + self.sparsity * sparse).mean()


def segment_bounds(num_frames: int, num_segments: int) -> np.ndarray:
    """Frame indices of ``num_segments`` equal temporal segments, (S, L) int64, each row padded with its last frame
    (a video shorter than ``num_segments`` repeats frames, so every video is a bag of the same size)."""
    if num_frames < 1 or num_segments < 1:
        raise ValueError(f"need at least 1 frame and 1 segment, got {num_frames} and {num_segments}")
    starts = np.arange(num_segments) * num_frames // num_segments
    stops = np.maximum(np.arange(1, num_segments + 1) * num_frames // num_segments, starts + 1)
    width = int((stops - starts).max())
    return np.minimum(starts[:, None] + np.arange(width), stops[:, None] - 1)


class MILScorer(AnomalyScorer):
    """Score = the MIL ranking MLP's output for the segment a frame lies in (Sultani et al. 2018).

    Clips: ``clip_len`` frames every ``stride`` frames, one every ``hop`` frames; a segment averages the embeddings
    of the clips centred in it (when none is, of the nearest ones). Training: ``steps`` Adam steps at ``lr`` with
    ``weight_decay``, each on ``batch_size`` anomalous bags paired with as many normal bags, drawn with replacement.
    Needs video-level labels (:meth:`fit_videos`): a reader whose training videos carry them (UCF-Crime, or the
    generic layout's ``train_anomalous/``).
    """

    def __init__(
        self,
        num_segments: int = 32,
        clip_len: int = 4,
        stride: int = 3,
        hop: int = 2,
        hidden: Sequence[int] = (512, 32),
        dropout: float = 0.6,
        smoothness: float = 8e-5,
        sparsity: float = 8e-5,
        steps: int = 1000,
        batch_size: int = 30,
        lr: float = 1e-3,
        weight_decay: float = 1e-3,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.num_segments, self.clip_len, self.stride, self.hop = num_segments, clip_len, stride, hop
        self.hidden, self.dropout, self.steps, self.batch_size = tuple(hidden), dropout, steps, batch_size
        self.lr, self.weight_decay, self.seed = lr, weight_decay, seed
        self.loss = MILRankingLoss(smoothness, sparsity)
        self.head: nn.Sequential | None = None

    def setup(self, encoder: nn.Module) -> None:
        super().setup(encoder)
        widths = (encoder.out_dim, *self.hidden)
        layers: list[nn.Module] = []
        for width_in, width_out in zip(widths, widths[1:]):
            layers += [nn.Linear(width_in, width_out), nn.ReLU(), nn.Dropout(self.dropout)]
        self.head = nn.Sequential(*layers, nn.Linear(widths[-1], 1))

    def segments(self, encoder: nn.Module, features: torch.Tensor) -> tuple[torch.Tensor, np.ndarray]:
        """Segment features of one video, (S, D) L2-normalised, and the frames of each segment, (S, L)."""
        clips, covered = clip_windows(len(features), self.clip_len, self.stride, self.hop)
        embeddings = clip_embeddings(encoder, features, clips)
        centres = covered[:, covered.shape[1] // 2]
        frames = segment_bounds(len(features), self.num_segments)
        member = (centres[None] >= frames[:, :1]) & (centres[None] <= frames[:, -1:])  # (S, K)
        distance = np.abs(centres[None] - frames.mean(1, keepdims=True))
        member |= ~member.any(1, keepdims=True) & (distance == distance.min(1, keepdims=True))
        weights = torch.as_tensor(member / member.sum(1, keepdims=True), dtype=embeddings.dtype)
        return F.normalize(weights @ embeddings, dim=1), frames

    def segment_scores(self, bags: torch.Tensor) -> torch.Tensor:
        """Scores in [0, 1] of bags of segment features: (..., S, D) -> (..., S)."""
        return torch.sigmoid(self.head(bags)[..., 0])

    @torch.no_grad()
    def _frame_scores(self, bag: torch.Tensor, frames: np.ndarray, num_frames: int) -> np.ndarray:
        """One video's bag (S, D) and segment frames (S, L) -> the score of each of its frames, (num_frames,)."""
        self.head.eval()
        return clip_scores_to_frames(self.segment_scores(bag).double().numpy(), frames, num_frames)

    def fit(
        self,
        encoder: nn.Module,
        train: list[torch.Tensor],
        checkpoint: str | None = None,
        views: TrainingViews | None = None,
    ) -> None:
        raise ValueError(
            "MILScorer learns from video-level labels and got none: fit it with fit_videos (the anomaly fit command "
            "does) on a reader whose training videos are labelled, e.g. UCFCrime or a generic layout's train_anomalous/"
        )

    def fit_videos(
        self,
        encoder: nn.Module,
        train: list[torch.Tensor],
        anomalous: Sequence[bool | None],
        checkpoint: str | None = None,
        views: TrainingViews | None = None,
    ) -> None:
        labels = video_labels(train, anomalous)
        if all(labels) or not any(labels):
            raise ValueError(
                f"MILScorer needs anomalous and normal training videos (video-level labels), got {sum(labels)} "
                f"anomalous of {len(labels)}: point the reader at a set with both (UCF-Crime's class folders, or "
                "train/ and train_anomalous/ in the generic layout)"
            )
        self.setup(encoder)
        segmented = [self.segments(encoder, f) for f in train]
        bags, is_anomalous = torch.stack([bag for bag, _ in segmented]), torch.tensor(labels)  # (V, S, D), (V,)
        positive, negative = bags[is_anomalous], bags[~is_anomalous]

        def ranking_loss(generator: torch.Generator) -> torch.Tensor:
            a = torch.randint(len(positive), (self.batch_size,), generator=generator)
            n = torch.randint(len(negative), (self.batch_size,), generator=generator)
            return self.loss(self.segment_scores(positive[a]), self.segment_scores(negative[n]))

        train_head(self.head, ranking_loss, self.steps, self.lr, self.seed, self.weight_decay)
        normal = [(bag, frames, len(f)) for (bag, frames), f, a in zip(segmented, train, labels) if not a]
        self.calibrate([self._frame_scores(*video) for video in normal])

    def score(self, encoder: nn.Module, features: torch.Tensor) -> np.ndarray:
        if self.head is None:
            raise RuntimeError("MILScorer.score before fit_videos (or load_fitted)")
        return self._frame_scores(*self.segments(encoder, features), len(features))
