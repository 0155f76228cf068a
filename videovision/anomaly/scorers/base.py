"""The interface of every anomaly scorer: fit on normal training videos, score each frame of a test video.

A scorer works on per-frame encoder features (:func:`videovision.anomaly.features.frame_features`), so a video
is encoded once whatever the scorers. Scores are per frame, higher = more anomalous. Every scorer keeps the mean
and standard deviation of its scores on normal training frames (never test frames), so scores of different
scorers can be compared and combined (:class:`CombinedScorer`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..features import check_encoder


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one intra-op thread inside the block (then restore the count): a small head's training steps
    gain nothing from more, and on a shared CPU every op's threads wait for each other (measured here: 300 Adam steps
    of a 256-512-6 MLP, batch 64, took 0.9 s on one thread and 25 s on two busy cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def train_head(
    head: nn.Module,
    draw_batch: Callable[[torch.Generator], tuple[torch.Tensor, torch.Tensor]],
    steps: int,
    lr: float,
    seed: int,
) -> None:
    """Train a small classifier head on frozen embeddings: ``steps`` Adam steps at ``lr`` of cross entropy on
    ``draw_batch(generator) -> (inputs, targets)``, the generator seeded with ``seed``, on one thread."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    head.train()
    with one_thread():
        for _ in range(steps):
            inputs, targets = draw_batch(generator)
            loss = F.cross_entropy(head(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


class AnomalyScorer(nn.Module, ABC):
    """Base: ``setup`` builds what depends on the encoder, ``fit`` learns from normal videos, ``score`` scores."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("train_mean", torch.tensor(0.0, dtype=torch.float64))
        self.register_buffer("train_std", torch.tensor(1.0, dtype=torch.float64))

    def setup(self, encoder: nn.Module) -> None:
        """Build the parts sized by ``encoder`` (heads); by default nothing."""
        check_encoder(encoder)

    @abstractmethod
    def fit(self, encoder: nn.Module, train: list[torch.Tensor], checkpoint: str | None = None) -> None:
        """Learn from the per-frame features (N_v, C) of normal training videos and calibrate
        (:meth:`calibrate`). ``checkpoint`` is the encoder's checkpoint, for scorers that reuse a head in it."""

    @abstractmethod
    def score(self, encoder: nn.Module, features: torch.Tensor) -> np.ndarray:
        """Raw anomaly score of every frame: per-frame features (N, C) -> (N,) float64."""

    def calibrate(self, train_scores: list[np.ndarray]) -> None:
        """Keep the mean and standard deviation of frame scores of normal training videos."""
        pooled = np.concatenate(train_scores)
        self.train_mean.fill_(float(pooled.mean()))
        self.train_std.fill_(max(float(pooled.std()), 1e-12))

    def normalised(self, encoder: nn.Module, features: torch.Tensor) -> np.ndarray:
        """:meth:`score` standardised with the training statistics: (N, C) -> (N,)."""
        return (self.score(encoder, features) - float(self.train_mean)) / float(self.train_std)

    def load_fitted(self, encoder: nn.Module, state: dict[str, torch.Tensor]) -> None:
        """Restore a fitted scorer from its ``state_dict``; buffers sized by the data (a memory bank) take the
        saved shape."""
        self.setup(encoder)
        for name, _ in list(self.named_buffers()):
            if name in state:
                module_name, _, attr = name.rpartition(".")
                module = self.get_submodule(module_name) if module_name else self
                setattr(module, attr, state[name].clone())
        self.load_state_dict(state)
