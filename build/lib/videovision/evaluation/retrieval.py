"""Nearest-neighbour video retrieval, scored as VCOP's code scores it (Xu et al., CVPR 2019)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def retrieval_recall(
    queries: torch.Tensor,
    query_labels: torch.Tensor,
    gallery: torch.Tensor,
    gallery_labels: torch.Tensor,
    ks: Sequence[int] = (1, 5, 10, 20, 50),
) -> dict[int, float]:
    """R@k: the fraction of queries with at least one video of their class among their ``k`` most
    cosine-similar gallery videos.

    VCOP's protocol: queries are the test split, the gallery is the train split, and each video's
    feature is the mean of its embeddings over 10 uniformly spaced clips.

    Shapes: queries (Q, D), query_labels (Q,), gallery (G, D), gallery_labels (G,) -> {k: R@k in [0, 1]}.
    A k above G counts the whole gallery.
    """
    sims = F.normalize(queries.float(), dim=1) @ F.normalize(gallery.float(), dim=1).T
    nearest = sims.topk(min(max(ks), len(gallery)), dim=1).indices
    hits = gallery_labels[nearest] == query_labels[:, None]
    return {k: hits[:, :k].any(dim=1).float().mean().item() for k in ks}
