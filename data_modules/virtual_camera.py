"""A virtual camera over real images or footage: pan, tilt, zoom and roll of a window, filmed frame by frame.

A camera path is one window per frame, ``(cx, cy, width, angle)``: its centre and width in source
pixels and its roll in radians; the window keeps the output's aspect ratio. :func:`film` samples the
source inside each window (bilinear, ``grid_sample``) at the output size.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

MOTIONS = ("PanLeft", "PanRight", "TiltUp", "TiltDown", "ZoomIn", "ZoomOut", "RollClockwise", "RollCounterclockwise")


def camera_path(
    motion: str, rng: np.random.Generator, t: int, source_hw: tuple[int, int], aspect: float, width_range: tuple
) -> np.ndarray:
    """Per-frame windows ``(cx, cy, width, angle)``, shape (t, 4), that stay inside the source.

    ``motion`` is one of :data:`MOTIONS` (the camera's motion: panning left moves the content
    right) or ``"Static"``; ``aspect`` is the output's width / height; ``width_range`` the window's
    starting width as fractions of the widest window that fits.
    """
    if motion not in (*MOTIONS, "Static"):
        raise ValueError(f"unknown camera motion {motion!r}: expected one of {(*MOTIONS, 'Static')}")
    height, width = source_hw
    fit = min(width, height * aspect)  # widest window of this aspect inside the source
    s = np.linspace(0.0, 1.0, t, dtype=np.float64)
    win = np.full(t, rng.uniform(*width_range) * fit)
    angle = np.full(t, rng.uniform(-0.05, 0.05))
    if motion.startswith("Zoom"):
        ratio = rng.uniform(1.5, 2.0)
        win = win * ratio ** (-s if motion == "ZoomIn" else s - 1.0)
    elif motion.startswith("Roll"):
        win = np.minimum(win, 0.95 * min(height, width) / math.hypot(1.0, 1.0 / aspect))  # room to turn
        turn = rng.uniform(math.pi / 6, math.pi / 3) * (1 if motion == "RollClockwise" else -1)
        angle = angle + turn * s
    # Room left for the centre: half the window's rotated extent from every edge.
    extent_x = np.abs(np.cos(angle)) * win / 2 + np.abs(np.sin(angle)) * win / aspect / 2
    extent_y = np.abs(np.sin(angle)) * win / 2 + np.abs(np.cos(angle)) * win / aspect / 2
    lo_x, hi_x = extent_x.max(), width - extent_x.max()
    lo_y, hi_y = extent_y.max(), height - extent_y.max()
    cx = np.full(t, rng.uniform(lo_x, max(lo_x, hi_x)))
    cy = np.full(t, rng.uniform(lo_y, max(lo_y, hi_y)))
    if motion.startswith(("Pan", "Tilt")):
        lo, hi = (lo_x, hi_x) if motion.startswith("Pan") else (lo_y, hi_y)
        travel = rng.uniform(0.5, 1.0) * max(hi - lo, 0.0)
        start = rng.uniform(lo, hi - travel)
        path = start + travel * s
        forward = motion in ("PanRight", "TiltDown")
        if motion.startswith("Pan"):
            cx = path if forward else path[::-1].copy()
        else:
            cy = path if forward else path[::-1].copy()
    return np.stack([cx, cy, win, angle], axis=1)


def film(source: np.ndarray, path: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """Film ``source`` through the windows of ``path``: uint8 (T, h, w, 3).

    ``source``: uint8 (H, W, 3), one image for every frame, or (T, H, W, 3), frame ``i`` through window ``i``.
    """
    out_h, out_w = out_hw
    frames = torch.from_numpy(source).permute(*range(source.ndim - 3), -1, -3, -2).float() / 255
    height, width = frames.shape[-2:]
    p = torch.from_numpy(path).float()
    cos, sin = torch.cos(p[:, 3]), torch.sin(p[:, 3])
    win_w, win_h = p[:, 2], p[:, 2] * out_h / out_w
    theta = torch.stack(
        [
            torch.stack([cos * win_w / width, -sin * win_h / width, 2 * p[:, 0] / width - 1], dim=1),
            torch.stack([sin * win_w / height, cos * win_h / height, 2 * p[:, 1] / height - 1], dim=1),
        ],
        dim=1,
    )  # (T, 2, 3): output [-1, 1] coordinates -> source [-1, 1] coordinates
    out = []
    for i in range(len(path)):
        image = frames[i] if frames.ndim == 4 else frames
        grid = F.affine_grid(theta[i : i + 1], [1, 3, out_h, out_w], align_corners=False)
        out.append(F.grid_sample(image[None], grid, align_corners=False, padding_mode="reflection")[0])
    return (torch.stack(out).clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
