"""Single-object box tracking on features with a known motion."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from videovision.tracking.boxes import BoxTrackerConfig, track_box
from videovision.tracking.metrics import success_auc


def _moving_pattern(steps: list[tuple[int, int]]) -> torch.Tensor:
    """(T, 16, 12, 12) maps: a random background and a 2x2-cell random pattern at cell (row, col) = steps[t]."""
    gen = torch.Generator().manual_seed(0)
    background = torch.randn(16, 12, 12, generator=gen)
    pattern = torch.randn(16, 2, 2, generator=gen) * 3
    frames = []
    for row, col in steps:
        frame = background.clone()
        frame[:, row : row + 2, col : col + 2] = pattern
        frames.append(frame)
    return torch.nn.functional.normalize(torch.stack(frames), dim=1)


def test_follows_a_shift_of_one_cell_per_frame() -> None:
    steps = [(3, 2), (3, 3), (4, 4), (4, 5), (3, 6)]
    feats = _moving_pattern(steps)
    config = BoxTrackerConfig(scales=(1.0,), window=0.0)
    boxes = track_box(feats, np.array([16.0, 24.0, 16.0, 16.0]), stride=8, image_size=(96, 96), config=config)
    expected = np.array([[8.0 * col, 8.0 * row, 16, 16] for row, col in steps])
    np.testing.assert_allclose(boxes, expected, atol=1e-6)
    assert success_auc(boxes, expected) == pytest.approx(20 / 21)  # IoU 1 passes every threshold but 1


def test_scale_search_keeps_size_on_a_rigid_object() -> None:
    feats = _moving_pattern([(3, 2), (3, 3), (3, 4)])
    boxes = track_box(feats, np.array([16.0, 24.0, 16.0, 16.0]), stride=8, image_size=(96, 96))
    np.testing.assert_allclose(boxes[:, 2:], 16.0, atol=1.0)
    np.testing.assert_allclose(boxes[-1, :2], [32.0, 24.0], atol=2.0)
    with pytest.raises(ValueError, match="odd"):
        BoxTrackerConfig(search=2)
