"""Representation monitors used during pretraining and evaluation: weighted kNN, cross-process gathering."""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F


def gather_rows(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` (N_rank, ...) from every process in rank order; N may differ per rank."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    sizes = [torch.zeros((), dtype=torch.long, device=x.device) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, torch.tensor(len(x), device=x.device))
    longest = int(max(sizes))
    padded = torch.zeros((longest, *x.shape[1:]), dtype=x.dtype, device=x.device)
    padded[: len(x)] = x
    parts = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(parts, padded)
    return torch.cat([part[: int(n)] for part, n in zip(parts, sizes)])


def weighted_knn_predict(
    bank: torch.Tensor, bank_labels: torch.Tensor, queries: torch.Tensor, num_classes: int, k: int = 20, temperature: float = 0.07
) -> torch.Tensor:
    """Weighted kNN (Wu et al. 2018, as solo-learn and lightly monitor SSL): each of the ``k`` most
    cosine-similar bank items votes for its class with weight ``exp(sim / temperature)``.

    Shapes: bank (M, D), bank_labels (M,), queries (Q, D) -> class scores (Q, C).
    """
    sims = F.normalize(queries, dim=1) @ F.normalize(bank, dim=1).T
    top_sims, top_idx = sims.topk(min(k, len(bank)), dim=1)
    votes = F.one_hot(bank_labels[top_idx], num_classes).float() * (top_sims / temperature).exp()[..., None]
    return votes.sum(dim=1)


def first_occurrence(index: torch.Tensor) -> torch.Tensor:
    """Positions of the first occurrence of each value of ``index`` (drops a padded sampler's duplicates)."""
    order = torch.argsort(index, stable=True)
    sorted_index = index[order]
    first = torch.ones_like(sorted_index, dtype=torch.bool)
    first[1:] = sorted_index[1:] != sorted_index[:-1]
    return order[first]
