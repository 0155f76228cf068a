"""Fixtures for the serving tests: a classifier checkpoint of the demo model (random weights, 8 named
classes, no training) and small videos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from data_modules.moving_digits import write_video
from videovision.serving.model import save_untrained_classifier

CLASSES = [f"class_{i}" for i in range(8)]


def classifier_checkpoint(path: Path) -> Path:
    """What a probe run saves (``state_dict`` and ``classes``), for the demo's probe config."""
    torch.manual_seed(0)
    return save_untrained_classifier(path, CLASSES)


def small_video(path: Path, num_frames: int = 12, height: int = 48, width: int = 64, seed: int = 0) -> Path:
    """An MPEG-4 ``.avi`` of a bright square moving over noise."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 80, (num_frames, height, width, 3), dtype=np.uint8)
    for t in range(num_frames):
        frames[t, 10:26, 2 + 3 * t : 18 + 3 * t] = 230
    write_video(path, frames, fps=25)
    return path
