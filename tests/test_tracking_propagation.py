"""Label propagation (CRW's protocol) and dense features against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from videovision.models import ResNetFrames
from videovision.tracking.features import DenseFeatures
from videovision.tracking.propagation import (
    PropagationConfig,
    affinity_topk,
    context_indices,
    propagate_labels,
    propagate_masks,
    radius_mask,
)


def _frames_3x3() -> tuple[torch.Tensor, torch.Tensor]:
    """Frame 0: left column [1, 0], the rest [0, 1], left column labelled object 1. Frame 1: all [0.8, 0.6]."""
    f0 = torch.zeros(2, 3, 3)
    f0[0, :, 0], f0[1, :, 1:] = 1.0, 1.0
    f1 = torch.tensor([0.8, 0.6]).view(2, 1, 1).expand(2, 3, 3)
    labels = torch.zeros(2, 3, 3)
    labels[1, :, 0], labels[0, :, 1:] = 1.0, 1.0
    return torch.stack([f0, f1]), labels


def test_two_frames_by_hand() -> None:
    feats, labels = _frames_3x3()
    # Every query scores 0.8 against the 3 left cells and 0.6 against the other 6. The context is frame 0 twice (the
    # long-term memory and, CRW's padding, the one recent frame): 6 keys at 0.8, 12 at 0.6; top-8 keeps 6 + 2.
    out = propagate_labels(feats, labels, PropagationConfig(context=1, radius=12, topk=8, temperature=0.5))
    p_object = 6 * math.exp(1.6) / (6 * math.exp(1.6) + 2 * math.exp(1.2))
    torch.testing.assert_close(out[0], labels)
    torch.testing.assert_close(out[1, 1], torch.full((3, 3), p_object))
    torch.testing.assert_close(out[1, 0], torch.full((3, 3), 1 - p_object))
    # Without the padding (no recent frame) top-8 would reach 3 + 5: the copies of frame 0 do change the result.
    alone = propagate_labels(feats, labels, PropagationConfig(context=0, radius=12, topk=8, temperature=0.5))
    torch.testing.assert_close(
        alone[1, 1], torch.full((3, 3), 3 * math.exp(1.6) / (3 * math.exp(1.6) + 5 * math.exp(1.2)))
    )


def test_context_pads_with_the_first_frame() -> None:
    # As CRW's context_index_bank over a video padded with copies of frame 0: first frame, then the 3 frames before t.
    assert context_indices(5, 3).tolist() == [[0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 2], [0, 1, 2, 3]]
    assert context_indices(3, 0).tolist() == [[0], [0]]


def test_query_blocks_do_not_change_the_result() -> None:
    torch.manual_seed(0)
    feats = torch.nn.functional.normalize(torch.randn(6, 8, 5, 4), dim=1)
    config = PropagationConfig(context=3, radius=2.0, topk=5)
    whole, small = affinity_topk(feats, config), affinity_topk(feats, config, max_elements=7 * 4 * 20)
    for a, b in zip(whole, small):
        torch.testing.assert_close(a, b)


def test_radius_restricts_recent_frames_not_the_first() -> None:
    feats, labels = _frames_3x3()
    assert radius_mask(3, 3, 1.0).equal(torch.eye(9, dtype=torch.bool))
    assert radius_mask(3, 3, 1.5).sum(1).tolist() == [4, 6, 4, 6, 9, 6, 4, 6, 4]
    # Frame 2 = frame 1: the best key (score 1) is frame 1's cell at the same place, within radius 1.
    three = torch.cat([feats, feats[1:]])
    config = PropagationConfig(context=1, radius=1.0, topk=1, temperature=0.5)
    out = propagate_labels(three, labels, config)
    torch.testing.assert_close(out[2], out[1])
    # With context 0 only the first frame is searched (the whole frame): top-1 = a left cell -> object 1.
    out = propagate_labels(three, labels, PropagationConfig(context=0, radius=1.0, topk=1, temperature=0.5))
    assert (out[2, 1] == 1).all()


def test_masks_copied_through_identical_frames() -> None:
    torch.manual_seed(0)
    feats = torch.nn.functional.normalize(torch.randn(1, 8, 4, 4), dim=1).expand(3, -1, -1, -1)
    mask = np.zeros((32, 32), np.int64)
    mask[8:24, 0:16], mask[0:8, 24:32] = 1, 2
    out = propagate_masks(feats, mask, 2, PropagationConfig(topk=1))
    assert out.shape == (3, 32, 32) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[2], out[1])
    np.testing.assert_array_equal(out[2, 4::8, 4::8], mask[4::8, 4::8])  # cell centres; edges blur bilinearly


def test_dense_features_stride_and_norm() -> None:
    backbone = ResNetFrames(num_stages=2).eval()
    feats = DenseFeatures(backbone, stride=8)(np.zeros((3, 32, 48, 3), np.uint8))
    assert feats.shape == (3, 128, 4, 6)
    torch.testing.assert_close(feats.norm(dim=1), torch.ones(3, 4, 6))
    with pytest.raises(ValueError, match="stride 16 needs 3 ResNet stages"):
        DenseFeatures(backbone, stride=16)
    with pytest.raises(ValueError, match="stride must be one of"):
        DenseFeatures(backbone, stride=6)
