"""LARS and the warm-up + cosine schedule against hand computations."""

from __future__ import annotations

import math

import torch

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
    from videovision.tasks.base import warmup_cosine

    factors = [warmup_cosine(step, warmup=4, total=12) for step in range(13)]
    assert factors[:4] == [0.25, 0.5, 0.75, 1.0]
    assert math.isclose(factors[8], 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert factors[12] == 0.0 and all(a >= b for a, b in zip(factors[3:], factors[4:]))
