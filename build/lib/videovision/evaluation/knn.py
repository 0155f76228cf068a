"""The weighted kNN classifier, used by the pretraining monitor and by ``evaluate-features``."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def weighted_knn_predict(
    bank: torch.Tensor,
    bank_labels: torch.Tensor,
    queries: torch.Tensor,
    num_classes: int,
    k: int = 20,
    temperature: float = 0.07,
) -> torch.Tensor:
    """Weighted kNN (Wu et al., "Unsupervised Feature Learning via Non-Parametric Instance
    Discrimination", CVPR 2018, as solo-learn and lightly monitor SSL): each of the ``k`` most
    cosine-similar bank items votes for its class with weight ``exp(sim / temperature)``.

    Shapes: bank (M, D), bank_labels (M,), queries (Q, D) -> class scores (Q, C). A ``k`` above M uses the whole bank.
    """
    sims = F.normalize(queries.float(), dim=1) @ F.normalize(bank.float(), dim=1).T
    top_sims, top_idx = sims.topk(min(k, len(bank)), dim=1)
    votes = F.one_hot(bank_labels[top_idx], num_classes).float() * (top_sims / temperature).exp()[..., None]
    return votes.sum(dim=1)
