"""Textured shapes shared by the generated tracking sequences (:mod:`.tracking_synthetic`, :mod:`.tracking_crowd`)."""

from __future__ import annotations

import numpy as np


def make_texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """(height, width, 3) uint8: two random colours in stripes (random angle and period) or checks, plus noise."""
    colours = rng.integers(0, 256, size=(2, 3))
    ys, xs = np.mgrid[:height, :width]
    period = rng.uniform(3, 7)
    if rng.random() < 0.5:
        angle = rng.uniform(0, np.pi)
        pick = (np.cos(angle) * xs + np.sin(angle) * ys) // period % 2
    else:
        pick = (xs // period + ys // period) % 2
    image = colours[pick.astype(int)] + rng.normal(0, 8, size=(height, width, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def shape_mask(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """(height, width) bool: an ellipse filling the box, or the whole box (a rectangle), at even odds."""
    if rng.random() >= 0.5:
        return np.ones((height, width), bool)
    ys, xs = np.mgrid[:height, :width]
    return ((ys + 0.5 - height / 2) / (height / 2)) ** 2 + ((xs + 0.5 - width / 2) / (width / 2)) ** 2 <= 1
