"""Each objective against a hand computation."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from videovision.objectives import NTXentLoss, PaceObjective, VCOPHead, VCOPObjective, pace_views


def _nt_xent_by_hand(z_a: torch.Tensor, z_b: torch.Tensor, tau: float) -> float:
    z = [v / v.norm() for v in torch.cat([z_a, z_b])]
    n2 = len(z)
    n = n2 // 2
    total = 0.0
    for i in range(n2):
        j = (i + n) % n2
        sims = [math.exp(float(z[i] @ z[k]) / tau) for k in range(n2) if k != i]
        total += -math.log(math.exp(float(z[i] @ z[j]) / tau) / sum(sims))
    return total / n2


def test_nt_xent_matches_hand_computation():
    torch.manual_seed(0)
    z_a, z_b = torch.randn(4, 3), torch.randn(4, 3)
    for tau in (0.1, 0.5):
        got = NTXentLoss(tau)(z_a, z_b).item()
        assert math.isclose(got, _nt_xent_by_hand(z_a, z_b, tau), rel_tol=1e-5)


def test_nt_xent_two_identical_pairs_of_orthogonal_vectors():
    # Two pairs, each pair identical, pairs orthogonal: every anchor sees its partner at cosine 1
    # and two negatives at cosine 0, so the loss is -log(e^{1/t} / (e^{1/t} + 2)).
    z = torch.eye(2)
    tau = 0.5
    expected = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + 2))
    assert math.isclose(NTXentLoss(tau)(z, z.clone()).item(), expected, rel_tol=1e-6)


def test_vcop_head_pairs_and_classes():
    head = VCOPHead(in_dim=5, num_clips=4, pair_dim=7)
    assert head.pairs == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert head(torch.randn(2, 4, 5)).shape == (2, 24)


def test_vcop_loss_is_cross_entropy_on_the_drawn_order():
    torch.manual_seed(0)
    objective = VCOPObjective(in_dim=3, num_clips=3, pair_dim=4, dropout=0.0)
    emb = torch.randn(5, 3, 3)
    seen = {}

    def spy(module, inputs, output):
        seen["shuffled"], seen["logits"] = inputs[0], output

    objective.head.register_forward_hook(spy)
    torch.manual_seed(1)
    out = objective(emb)
    torch.manual_seed(1)
    target = torch.randint(6, (5,))
    for b in range(5):
        order = objective.orders[target[b]].tolist()
        torch.testing.assert_close(seen["shuffled"][b], emb[b, order])
    logp = seen["logits"].log_softmax(1)
    by_hand = -sum(logp[b, target[b]].item() for b in range(5)) / 5
    assert math.isclose(out["loss"].item(), by_hand, rel_tol=1e-6)


def _numbered_clips(b: int, k: int, length: int) -> torch.Tensor:
    """(B, K, L, 1, 1, 1) clips whose every frame holds its own index."""
    return torch.arange(length, dtype=torch.float32).view(1, 1, length, 1, 1, 1).expand(b, k, -1, -1, -1, -1).clone()


def test_pace_views_take_every_pace_th_frame_forwards_or_backwards():
    paces = (1, 2, 3)
    views, targets = pace_views(_numbered_clips(64, 2, 10), 4, paces, torch.Generator().manual_seed(0))
    assert views.shape == (64, 2, 4, 1, 1, 1) and targets.shape == (64, 2)
    frames = views.flatten(2).long()
    seen = set()
    for (b, k), target in zip(itertools.product(range(64), range(2)), targets.flatten().tolist()):
        pace, backwards = paces[target % 3], target // 3
        seen.add((pace, backwards))
        expected = [int(frames[b, k].min()) + pace * i for i in range(4)]
        assert frames[b, k].tolist() == (expected[::-1] if backwards else expected)
        assert 0 <= min(expected) and max(expected) <= 9
    assert seen == set(itertools.product(paces, (0, 1)))


def test_pace_views_of_a_clip_with_no_slack_start_at_frame_0():
    views, targets = pace_views(_numbered_clips(8, 1, 7), 4, (2,), torch.Generator().manual_seed(1))
    for view, target in zip(views.flatten(1).tolist(), targets.flatten().tolist()):
        assert view == ([6.0, 4.0, 2.0, 0.0] if target == 1 else [0.0, 2.0, 4.0, 6.0])
    with pytest.raises(ValueError, match="need clips of 10 frames, got 7"):
        pace_views(_numbered_clips(1, 1, 7), 4, (1, 3))


def test_pace_loss_is_cross_entropy_over_pace_and_direction():
    objective = PaceObjective(in_dim=3, clip_len=4, paces=[1, 2], hidden_dim=5)
    assert objective.min_frames == 7 and objective.own_views
    torch.nn.init.zeros_(objective.head.layers[-1].weight)
    torch.nn.init.zeros_(objective.head.layers[-1].bias)
    out = objective(torch.randn(3, 2, 3), torch.tensor([[0, 1], [2, 3], [3, 0]]))
    assert math.isclose(out["loss"].item(), math.log(4), rel_tol=1e-6)  # uniform logits over 2 paces x 2 directions
    objective.head.layers[-1].bias.data = torch.tensor([0.0, 0.0, 2.0, 0.0])
    out = objective(torch.randn(1, 2, 3), torch.tensor([[2, 0]]))
    by_hand = (-(2 - math.log(3 + math.e**2)) - (0 - math.log(3 + math.e**2))) / 2
    assert math.isclose(out["loss"].item(), by_hand, rel_tol=1e-6)
    assert out["acc"].item() == 0.5
    with pytest.raises(ValueError, match="paces must be distinct integers >= 1"):
        PaceObjective(in_dim=3, paces=[0, 1])
