"""kNN distance to a memory bank of normal training clip embeddings.

The density baseline of deep-feature anomaly detection: the mean distance of a test embedding to its k nearest
normal training embeddings (Bergman, Cohen and Hoshen, "Deep Nearest Neighbor Anomaly Detection", 2020; for video,
Reiss and Hoshen, "Attribute-based representations for accurate and interpretable video anomaly detection", 2022).
Embeddings are L2-normalised, so the Euclidean distance ranks as the cosine distance. Calibration scores the
bank's own clips leave-one-video-out: a clip's neighbours come from the other training videos only, so normal
training scores are not deflated by the clip itself and its overlapping neighbours.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from data_modules.clip_samplers import clip_span

from ..features import TrainingViews, clip_embeddings, clip_windows
from ..metrics import centre_lookahead, clip_scores_to_frames
from .base import AnomalyScorer


def knn_distances(
    queries: torch.Tensor,
    bank: torch.Tensor,
    k: int,
    query_groups: torch.Tensor | None = None,
    bank_groups: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean Euclidean distance of each query to its ``k`` nearest bank entries: (Q, D), (M, D) -> (Q,).

    With groups, entries of a query's own group are excluded (leave-one-video-out).
    """
    distances = torch.cdist(queries.double(), bank.double())
    if query_groups is not None and bank_groups is not None:
        distances = distances.masked_fill(query_groups[:, None] == bank_groups[None, :], float("inf"))
    available = int(torch.isfinite(distances).sum(1).min()) if len(distances) else 0
    if available < k:
        raise ValueError(f"kNN with k={k} but a query has only {available} bank entries to compare with")
    return distances.topk(k, dim=1, largest=False).values.mean(1)


class KNNScorer(AnomalyScorer):
    """Score = mean distance of a clip's embedding to its ``k`` nearest normal training clips, given to the clip's
    middle frame (frames between middles interpolated: :func:`clip_scores_to_frames`, ``"centre"``). Clips:
    ``clip_len`` frames every ``stride`` frames, one every ``hop`` frames (test) or ``bank_hop`` frames (bank)."""

    magnitude_scores = True

    def __init__(self, k: int = 5, clip_len: int = 4, stride: int = 3, hop: int = 2, bank_hop: int = 4) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f"KNNScorer: k must be >= 1, got {k}")
        self.k, self.clip_len, self.stride, self.hop, self.bank_hop = k, clip_len, stride, hop, bank_hop
        self.register_buffer("bank", torch.zeros(0, 0))
        self.register_buffer("bank_video", torch.zeros(0, dtype=torch.long))

    @property
    def lookahead(self) -> int:
        return centre_lookahead(clip_span(self.clip_len, self.stride))

    def _embed(self, encoder: nn.Module, features: torch.Tensor, hop: int) -> tuple[torch.Tensor, np.ndarray]:
        clips, covered = clip_windows(len(features), self.clip_len, self.stride, hop)
        return F.normalize(clip_embeddings(encoder, features, clips), dim=1), covered

    def fit(
        self,
        encoder: nn.Module,
        train: list[torch.Tensor],
        checkpoint: str | None = None,
        views: TrainingViews | None = None,
    ) -> None:
        self.setup(encoder)
        if len(train) < 2:
            raise ValueError("KNNScorer needs at least 2 training videos (its calibration is leave-one-video-out)")
        embedded = [self._embed(encoder, f, self.bank_hop) for f in train]
        self.bank = torch.cat([e for e, _ in embedded])
        self.bank_video = torch.cat([torch.full((len(e),), i) for i, (e, _) in enumerate(embedded)])
        own = knn_distances(self.bank, self.bank, self.k, self.bank_video, self.bank_video).numpy()
        bounds = np.cumsum([0] + [len(e) for e, _ in embedded])
        self.calibrate(
            [
                clip_scores_to_frames(own[a:b], covered, len(f), reduce="centre")
                for a, b, (_, covered), f in zip(bounds[:-1], bounds[1:], embedded, train)
            ]
        )

    def score(self, encoder: nn.Module, features: torch.Tensor) -> np.ndarray:
        if len(self.bank) == 0:
            raise RuntimeError("KNNScorer.score before fit (or load_fitted): the memory bank is empty")
        embeddings, covered = self._embed(encoder, features, self.hop)
        distances = knn_distances(embeddings, self.bank, self.k).numpy()
        return clip_scores_to_frames(distances, covered, len(features), reduce="centre")
