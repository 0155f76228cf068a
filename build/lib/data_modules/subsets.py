"""Few labels: stratified, seeded subsets of a labelled split (solo-learn's ``data_fraction``)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from .readers import VideoRecord


def stratified_subset(
    labels: Sequence[int], label_fraction: float = 1.0, samples_per_class: int | None = None, seed: int = 0
) -> list[int]:
    """Sorted positions of a stratified, seeded subset: ``ceil(label_fraction * n_c)`` (at least 1) or
    ``samples_per_class`` items of each class. The same arguments always give the same subset."""
    if not 0 < label_fraction <= 1:
        raise ValueError(f"label_fraction must be in (0, 1], got {label_fraction}")
    if label_fraction == 1 and samples_per_class is None:
        return list(range(len(labels)))
    by_class: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_class[int(label)].append(i)
    rng = np.random.default_rng(seed)
    keep: list[int] = []
    for label in sorted(by_class):
        members = by_class[label]
        n = samples_per_class if samples_per_class is not None else max(1, math.ceil(label_fraction * len(members)))
        keep.extend(members[i] for i in rng.permutation(len(members))[: min(n, len(members))])
    return sorted(keep)


def few_labels(
    records: list[VideoRecord], label_fraction: float = 1.0, samples_per_class: int | None = None, seed: int = 0
) -> list[VideoRecord]:
    """The records of :func:`stratified_subset` over their labels."""
    keep = stratified_subset([r.label for r in records], label_fraction, samples_per_class, seed)
    return [records[i] for i in keep]
