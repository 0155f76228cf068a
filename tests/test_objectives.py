"""Each objective against a hand computation."""

from __future__ import annotations

import math

import torch

from videovision.objectives import NTXentLoss, VCOPHead, VCOPObjective


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
