"""Gathering across processes: the one place every task, objective and callback gathers from.

Each function is the identity in a single process, so callers never branch on DDP themselves.
Row gathers keep rank order; :func:`gather_unique` also removes the rows that a distributed
sampler repeats to give every rank the same number of samples.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist


def world_size() -> int:
    """Processes in the default group (1 without ``torch.distributed``)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    """This process's rank (0 without ``torch.distributed``)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """``x`` (B, ...) of every process concatenated in rank order, gradients flowing back to each
    process's own rows (``torch.distributed.nn.functional.all_gather``). B must agree across ranks."""
    if world_size() == 1:
        return x
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(x), dim=0)


def gather_rows(x: torch.Tensor) -> torch.Tensor:
    """``x`` (N_rank, ...) of every process concatenated in rank order; N may differ per rank. No gradient."""
    if world_size() == 1:
        return x
    sizes = [torch.zeros((), dtype=torch.long, device=x.device) for _ in range(world_size())]
    dist.all_gather(sizes, torch.tensor(len(x), device=x.device))
    longest = int(max(sizes))
    padded = torch.zeros((longest, *x.shape[1:]), dtype=x.dtype, device=x.device)
    padded[: len(x)] = x
    parts = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(parts, padded)
    return torch.cat([part[: int(n)] for part, n in zip(parts, sizes)])


def gather_objects(obj: Any) -> list[Any]:
    """A picklable ``obj`` from every process, in rank order (``[obj]`` in one process)."""
    if world_size() == 1:
        return [obj]
    out: list[Any] = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out


def first_occurrence(index: torch.Tensor) -> torch.Tensor:
    """Positions of the first occurrence of each value of ``index`` (N,), in increasing order of the value."""
    order = torch.argsort(index, stable=True)
    sorted_index = index[order]
    first = torch.ones_like(sorted_index, dtype=torch.bool)
    first[1:] = sorted_index[1:] != sorted_index[:-1]
    return order[first]


def gather_unique(index: torch.Tensor, *values: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Per-sample outputs of every process, each sample once, sorted by ``index``.

    ``index`` (N_rank,) names the sample of each row of ``values`` (N_rank, ...); rows a padded
    sampler repeats (same index) are kept once. Returns ``(index, *values)`` gathered.
    """
    gathered = [gather_rows(t) for t in (index, *values)]
    keep = first_occurrence(gathered[0])
    return tuple(t[keep] for t in gathered)
