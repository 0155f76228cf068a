"""Generated crowd scenes for the embedded MOTChallenge layout: the cases that decide identity association.

Compared with the DAVIS/OTB sequences (:mod:`data_modules.tracking_synthetic`), these are built so that box
overlap alone is not enough to keep identities, as in pedestrian footage:

- several objects of similar size walk along horizontal lanes in a narrow band, in both directions, so their
  paths cross and the nearer one hides the farther for several frames (a fixed depth order);
- a static foreground pillar hides whatever passes behind it;
- objects walk out of the image and come back in after a few frames (they turn around out of view);
- detections are missed at random and whenever less than ``min_visible`` of the object shows, jittered, and
  false boxes of the objects' own sizes appear; scores of true and false boxes overlap.

Ground truth: one row per frame in which the object's whole box overlaps the image (MOTChallenge boxes may reach
past the border), with its visible fraction. Everything is drawn from one ``numpy`` generator: deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .tracking_objects import make_texture, shape_mask


@dataclass(frozen=True)
class CrowdSpec:
    """What determines the crowd sequences (part of the benchmark's cache key). ``speed``: range of walking speeds
    in image sides per frame (2.6 to 4.5 px at 128 px); ``det_jitter``: detection noise in px; ``det_false``: mean
    false boxes a frame."""

    num_sequences: int = 4
    num_frames: int = 48
    size: int = 128
    num_objects: int = 6
    speed: tuple[float, float] = (0.02, 0.035)
    det_jitter: float = 2.0
    det_miss: float = 0.1
    min_visible: float = 0.4
    det_false: float = 0.3


@dataclass
class _Walker:
    texture: np.ndarray  # (h, w, 3) uint8
    mask: np.ndarray  # (h, w) bool
    position: np.ndarray  # top-left x, y (float)
    velocity: np.ndarray
    turn: tuple[float, float]  # x range of the top-left corner: it turns around there, out of view


def _walkers(rng: np.random.Generator, spec: CrowdSpec) -> list[_Walker]:
    size, walkers = spec.size, []
    for _ in range(spec.num_objects):
        height = int(rng.integers(round(0.2 * size), round(0.26 * size)))
        width = int(rng.integers(round(0.6 * height), round(0.8 * height)))
        margin = rng.uniform(2, 14)  # how far past the border it walks before turning: frames out of view
        turn = (-width - margin, size + margin)
        x = rng.uniform(-0.5 * width, size - 0.5 * width)
        y = rng.uniform(0.3 * size, 0.7 * size - height)
        speed = rng.uniform(*spec.speed) * size * rng.choice([-1, 1])
        walkers.append(
            _Walker(
                make_texture(rng, height, width),
                shape_mask(rng, height, width),
                np.array([x, y]),
                np.array([speed, rng.uniform(-0.3, 0.3)]),
                turn,
            )
        )
    return walkers


def _walk(walker: _Walker, size: int) -> None:
    walker.position = walker.position + walker.velocity
    low, high = walker.turn
    if not low <= walker.position[0] <= high:
        walker.velocity[0] *= -1
        walker.position[0] = np.clip(walker.position[0], low, high)
    top, bottom = 0.2 * size, 0.8 * size - walker.mask.shape[0]
    if not top <= walker.position[1] <= bottom:
        walker.velocity[1] *= -1
        walker.position[1] = np.clip(walker.position[1], top, bottom)


def _paste(canvas: np.ndarray, labels: np.ndarray, walker: _Walker, label: int) -> None:
    """Draw the walker's visible part (clipped to the image) onto ``canvas`` and ``labels``."""
    size = canvas.shape[0]
    x, y = (int(round(v)) for v in walker.position)
    height, width = walker.mask.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + width, size), min(y + height, size)
    if x0 >= x1 or y0 >= y1:
        return
    mask = walker.mask[y0 - y : y1 - y, x0 - x : x1 - x]
    canvas[y0:y1, x0:x1][mask] = walker.texture[y0 - y : y1 - y, x0 - x : x1 - x][mask]
    labels[y0:y1, x0:x1][mask] = label


def render_crowd(rng: np.random.Generator, spec: CrowdSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One sequence: frames (T, S, S, 3) uint8, boxes (T, K, 4) float x, y, w, h (0-based, whole objects, possibly
    past the border) and visible (T, K) fraction of each object's pixels in view (0 when hidden or outside)."""
    size = spec.size
    background = make_texture(rng, 2 * size, 2 * size)
    pan = rng.uniform(-1.0, 1.0, size=2)
    offset = np.array([size / 2, size / 2])
    pillar_width = size // 8
    pillar_x = int(rng.integers(size // 4, 3 * size // 4 - pillar_width))
    pillar = make_texture(rng, size, pillar_width)
    walkers = _walkers(rng, spec)
    frames, boxes, visible = [], [], []
    for _ in range(spec.num_frames):
        x0, y0 = (int(round(v)) for v in np.clip(offset, 0, size))
        frame = background[y0 : y0 + size, x0 : x0 + size].copy()
        labels = np.zeros((size, size), np.uint8)
        for k, walker in enumerate(walkers, start=1):
            _paste(frame, labels, walker, k)
        frame[:, pillar_x : pillar_x + pillar_width] = pillar
        labels[:, pillar_x : pillar_x + pillar_width] = 0
        counts = np.bincount(labels.ravel(), minlength=len(walkers) + 1)[1:]
        frames.append(frame)
        boxes.append([[*np.round(w.position), w.mask.shape[1], w.mask.shape[0]] for w in walkers])
        visible.append(counts / np.array([w.mask.sum() for w in walkers]))
        for walker in walkers:
            _walk(walker, size)
        offset = offset + pan
        pan[(offset < 0) | (offset > size)] *= -1
    return np.stack(frames), np.array(boxes, dtype=np.float64), np.array(visible)


def in_view(boxes: np.ndarray, size: int) -> np.ndarray:
    """(..., 4) x, y, w, h boxes -> (...) bool: the box overlaps the (size x size) image."""
    x, y, w, h = np.moveaxis(boxes, -1, 0)
    return (x < size) & (y < size) & (x + w > 0) & (y + h > 0)


def crowd_detections(rng: np.random.Generator, boxes: np.ndarray, visible: np.ndarray, spec: CrowdSpec) -> list[list]:
    """MOTChallenge det rows (1-based): jittered true boxes, missed at random or when under ``min_visible`` in view,
    plus a Poisson number of false boxes a frame, sized like the objects."""
    rows = []
    heights, widths = boxes[0, :, 3], boxes[0, :, 2]
    for t in range(len(boxes)):
        for k, box in enumerate(boxes[t]):
            if visible[t, k] < spec.min_visible or rng.random() < spec.det_miss:
                continue
            noisy = box + rng.normal(0, spec.det_jitter, size=4) * [1, 1, 0.5, 0.5]
            if in_view(noisy, spec.size):
                rows.append([t + 1, -1, *(noisy + [1, 1, 0, 0]), rng.uniform(0.5, 1.0), -1, -1, -1])
        for _ in range(rng.poisson(spec.det_false)):
            k = rng.integers(len(heights))
            w, h = widths[k], heights[k]
            x, y = rng.uniform(0, spec.size - w), rng.uniform(0.2 * spec.size, 0.8 * spec.size - h)
            rows.append([t + 1, -1, x + 1, y + 1, w, h, rng.uniform(0.3, 0.8), -1, -1, -1])
    return rows
