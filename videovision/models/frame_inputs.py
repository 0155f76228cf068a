"""What the per-frame backbone reads (``FrameTemporalEncoder(frame_input=...)``): the frames themselves (``rgb``),
each frame minus the one before it (``residual``), or the motion cue of a frame pair that keeps its direction
(``normal_flow``). The last two read a frame and its predecessor, so a stream carries the previous frame."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

FrameInput = Literal["rgb", "residual", "normal_flow"]


def previous_frames(clips: torch.Tensor) -> torch.Tensor:
    """Each frame's predecessor in its clip, the first frame standing in for its own: ``(N, T, C, H, W)`` -> same."""
    return torch.cat([clips[:, :1], clips[:, :-1]], dim=1)


def normal_flow(frames: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
    """The brightness-constancy motion cue of each pixel (Horn and Schunck, "Determining Optical Flow", 1981):
    ``I_x u + I_y v + I_t = 0`` ties the motion (u, v) to the temporal and spatial derivatives of the brightness I.
    Channels ``(-I_t I_x, -I_t I_y, I_t)``: the first two are the right-hand side of Lucas and Kanade's (1981)
    least-squares flow, the flow along the gradient times the squared gradient, left undivided (the division is
    unstable where the image is flat). Where a pattern moves right, ``-I_t I_x >= 0`` whatever its edges' polarity,
    so pooling keeps the direction that a residual frame (``I_t`` alone, about the negative of the reverse motion's)
    loses on scenes never seen in training.

    I is the mean over channels; ``I_t = I - I_previous``; I_x, I_y are central differences of the pair's mean
    image, 0 on the border. ``frames``, ``previous``: ``(..., C, H, W)`` -> ``(..., 3, H, W)``. Swapping the two
    frames (playback backwards) negates every channel; a frame paired with itself gives 0.
    """
    now, before = frames.mean(-3), previous.mean(-3)
    temporal, mean = now - before, (now + before) / 2
    dx = F.pad(mean[..., :, 2:] - mean[..., :, :-2], (1, 1)) / 2
    dy = F.pad(mean[..., 2:, :] - mean[..., :-2, :], (0, 0, 1, 1)) / 2
    return torch.stack([-temporal * dx, -temporal * dy, temporal], dim=-3)


def motion_frames(frames: torch.Tensor, previous: torch.Tensor, frame_input: FrameInput) -> torch.Tensor:
    """What the backbone reads of ``frames`` after ``previous`` (both ``(..., C, H, W)``) for a ``frame_input`` other
    than ``rgb``: their difference, the residual frame (Tao et al., "Rethinking Motion Representation: Residual
    Frames with 3D ConvNets", 2020; the residual clips of their inter-intra contrastive framework, ACM MM 2020), in
    which what does not move cancels; or :func:`normal_flow`. In a clip each frame follows its predecessor
    (:func:`previous_frames`), so the first frame's residual is 0 and a clip keeps its length."""
    if frame_input == "residual":
        return frames - previous
    if frame_input == "normal_flow":
        return normal_flow(frames, previous)
    raise ValueError(f"frame_input: {frame_input!r} reads no previous frame; expected 'residual' or 'normal_flow'")
