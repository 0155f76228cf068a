"""The weighted kNN (monitor and evaluate-features) against a hand computation."""

from __future__ import annotations

import math

import torch

from videovision.evaluation import weighted_knn_predict


def test_weighted_knn_votes_by_exponentiated_similarity():
    bank = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    labels = torch.tensor([0, 1, 1])
    query = torch.tensor([[0.6, 0.8]])
    scores = weighted_knn_predict(bank, labels, query, num_classes=2, k=2, temperature=0.5)
    # cosine sims: 0.6, 0.96, 0.8 -> the two nearest are items 1 (0.96) and 2 (0.8), both class 1.
    assert scores[0, 0] == 0
    assert math.isclose(scores[0, 1].item(), math.exp(0.96 / 0.5) + math.exp(0.8 / 0.5), rel_tol=1e-5)
    scores = weighted_knn_predict(bank, labels, query, num_classes=2, k=3, temperature=0.5)
    assert math.isclose(scores[0, 0].item(), math.exp(0.6 / 0.5), rel_tol=1e-5)
