"""Multi-object association on hand-made detections, scored by TrackEval."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from videovision.tracking.association import AssociationConfig, associate, box_embeddings, pairwise_iou
from videovision.tracking.metrics import mot_metrics

RED, BLUE = np.array([1.0, 0.0]), np.array([0.0, 1.0])


def _crossing() -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """A (red) moves right, B (blue) moves left, 2 px a frame; they meet at x = 20 in frame 4 (0-based 3). After
    that the detector lists B first, so equal overlaps hand IoU-only association the wrong order."""
    dets, embs, gt = [], [], []
    for t in range(7):
        xa, xb = 14 + 2 * t, 26 - 2 * t
        rows = [(xa, RED, 1), (xb, BLUE, 2)]
        if t > 3:
            rows.reverse()
        dets.append(np.array([[x, 10, 10, 10, 0.9] for x, _, _ in rows]))
        embs.append(np.stack([e for _, e, _ in rows]))
        gt += [[t + 1, i, x, 10, 10, 10, 1, 1, 1] for x, _, i in rows]
    return dets, embs, np.array(gt, dtype=float)


def test_appearance_keeps_ids_where_iou_only_swaps() -> None:
    dets, embs, gt = _crossing()
    iou_only = associate(dets, None, AssociationConfig(appearance=0))
    with_appearance = associate(dets, embs, AssociationConfig(appearance=0.5))
    assert iou_only.shape == with_appearance.shape == (14, 10)
    swapped, kept = mot_metrics(gt, iou_only), mot_metrics(gt, with_appearance)
    assert swapped["IDSW"] == 2 and swapped["IDF1"] == pytest.approx(8 / 14)
    assert kept["IDSW"] == 0 and kept["IDF1"] == 1.0 and kept["MOTA"] == 1.0
    np.testing.assert_array_equal(with_appearance[with_appearance[:, 1] == 1, 2], [14, 16, 18, 20, 22, 24, 26])


def test_reidentified_after_occlusion_and_one_off_dropped() -> None:
    """One object, hidden in frames 3-5, back 12 px away (no overlap): appearance re-identifies it within max_age."""
    xs = [10, 12, None, None, None, 40, 42]
    dets = [np.array([[x, 5, 8, 8, 0.9]]) if x is not None else np.empty((0, 5)) for x in xs]
    dets[0] = np.vstack([dets[0], [60, 30, 8, 8, 0.4]])  # a one-off false detection
    embs = [np.tile(RED, (len(d), 1)) for d in dets]
    embs[0][1] = BLUE
    out = associate(dets, embs, AssociationConfig(max_age=3))
    assert out[:, 1].tolist() == [1] * 4 and out[:, 0].tolist() == [1, 2, 6, 7]
    out = associate(dets, embs, AssociationConfig(max_age=2))  # waited too long: a new track
    assert out[:, 1].tolist() == [1, 1, 3, 3]
    with pytest.raises(ValueError, match="needs embeddings"):
        associate(dets, None)


def test_iou_and_embeddings_by_hand() -> None:
    iou = pairwise_iou(np.array([[0, 0, 2, 2]]), np.array([[1, 0, 2, 2], [5, 5, 1, 1]]))
    np.testing.assert_allclose(iou, [[2 / 6, 0]])
    feats = torch.zeros(2, 4, 4)
    feats[0, :, :2], feats[1, :, 2:] = 1, 1
    emb = box_embeddings(feats, np.array([[0, 0, 16, 32], [16, 0, 16, 32]]), stride=8, grid=1)
    np.testing.assert_allclose(emb, [[1, 0], [0, 1]], atol=1e-6)
