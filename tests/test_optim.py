"""LARS and the warm-up + cosine schedule against hand computations."""

from __future__ import annotations

import math

import pytest
import torch
from lightning.pytorch import Trainer
from torch.utils.data import DataLoader, TensorDataset

from videovision.tasks.base import VideoModule, warmup_cosine
from videovision.tasks.lars import LARS


def test_lars_scales_matrix_steps_by_the_trust_ratio_and_leaves_biases_plain():
    w = torch.nn.Parameter(torch.tensor([[3.0, 4.0]]))  # ||w|| = 5
    b = torch.nn.Parameter(torch.tensor([1.0]))
    opt = LARS([w, b], lr=0.1, momentum=0.0, weight_decay=0.0, eta=0.01)
    w.grad = torch.tensor([[0.0, 2.0]])  # ||g|| = 2 -> trust = 0.01 * 5 / 2 = 0.025
    b.grad = torch.tensor([0.5])
    opt.step()
    torch.testing.assert_close(w.data, torch.tensor([[3.0, 4.0 - 0.1 * 0.025 * 2.0]]))
    torch.testing.assert_close(b.data, torch.tensor([1.0 - 0.1 * 0.5]))


def test_warmup_then_cosine():
    factors = [warmup_cosine(step, warmup=4, total=12) for step in range(13)]
    assert factors[:4] == [0.25, 0.5, 0.75, 1.0]
    assert math.isclose(factors[8], 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert factors[12] == 0.0 and all(a >= b for a, b in zip(factors[3:], factors[4:]))


class _TinyModule(VideoModule):
    def __init__(self, **optim) -> None:
        super().__init__(**optim)
        self.layer = torch.nn.Linear(2, 1)
        self.lrs: list[float] = []

    def training_step(self, batch, batch_idx):
        self.lrs.append(self.optimizers().param_groups[0]["lr"])
        return self.layer(batch[0]).pow(2).mean()

    def train_dataloader(self):
        return DataLoader(TensorDataset(torch.randn(8, 2)), batch_size=2)


def _fit(module: _TinyModule, **trainer) -> None:
    Trainer(
        logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, **trainer
    ).fit(module)


def test_warmup_in_steps_for_runs_bounded_by_max_steps():
    module = _TinyModule(lr=1.0, warmup_steps=4)
    _fit(module, max_steps=10, max_epochs=-1)
    expected = [warmup_cosine(step, warmup=4, total=10) for step in range(10)]
    assert module.lrs == pytest.approx(expected)


def test_warmup_in_epochs_needs_max_epochs():
    with pytest.raises(ValueError, match="warmup_steps"):
        _fit(_TinyModule(warmup_epochs=1.0), max_steps=10, max_epochs=-1)
    module = _TinyModule(lr=1.0, warmup_epochs=1.0)
    _fit(module, max_epochs=3)  # 4 steps per epoch: 4 warm-up steps of 12
    assert module.lrs == pytest.approx([warmup_cosine(step, warmup=4, total=12) for step in range(12)])
