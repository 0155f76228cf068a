"""Collapse monitors for self-supervised embeddings, as lightly and solo-learn log them.

A representation that collapses maps every video to (nearly) one direction: the pretext loss may
still fall while nothing about the videos survives. Two numbers show it without labels:

- :func:`std_of_l2_normalized` (lightly's ``std_of_l2_normalized``, after the SimSiam paper,
  Chen & He, CVPR 2021, section 4.1): the per-dimension standard deviation of the L2-normalised
  embeddings, averaged over dimensions. About ``1/sqrt(D)`` for embeddings spread over the
  sphere, 0 when they all point the same way (or lie on a few dimensions only).
- :func:`mean_pairwise_cosine`: the mean cosine similarity between the embeddings of different
  videos; near 1 when collapsed.

They are tied: for unit vectors the per-dimension variances sum to ``1 - |mean|^2``, about
``1 - cosine``, so ``std * sqrt(D) <= sqrt(1 - cosine)`` (nearly). :data:`COLLAPSE_THRESHOLD`
(0.1) on ``std * sqrt(D)`` is therefore met by any set whose mean cosine is above 0.99, and by a
set spread over fewer than 1 % of the dimensions.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

COLLAPSE_THRESHOLD = 0.1
"""Collapse is reported when ``std_of_l2_normalized * sqrt(D)`` is below this (healthy: about 1)."""


def std_of_l2_normalized(z: torch.Tensor) -> torch.Tensor:
    """Mean over dimensions of the (unbiased) standard deviation over rows of ``z / |z|``; z (N, D), N >= 2."""
    return F.normalize(z.float(), dim=1).std(dim=0).mean()


def mean_pairwise_cosine(z: torch.Tensor) -> torch.Tensor:
    """Mean cosine similarity over the ``N (N - 1)`` ordered pairs of different rows of z (N, D), N >= 2.

    Computed as ``(|sum u|^2 - sum |u|^2) / (N (N - 1))`` with ``u`` the normalised rows: O(N D), no N x N matrix.
    """
    u = F.normalize(z.float(), dim=1)
    n = len(u)
    return (u.sum(0).square().sum() - u.square().sum()) / (n * (n - 1))


def collapse_stats(z: torch.Tensor) -> dict[str, torch.Tensor]:
    """``embedding_std`` and ``embedding_cosine`` of the rows of z (N, D), one row per video; N >= 2."""
    if len(z) < 2:
        raise ValueError(f"collapse monitors need at least 2 embeddings, got {len(z)}")
    return {"embedding_std": std_of_l2_normalized(z), "embedding_cosine": mean_pairwise_cosine(z)}


def is_collapsed(std: float, dim: int, threshold: float = COLLAPSE_THRESHOLD) -> bool:
    """Whether ``std`` (of :func:`std_of_l2_normalized` for D = ``dim``) is below ``threshold / sqrt(dim)``."""
    return std * math.sqrt(dim) < threshold
