"""Clip samplers: which frames of a video make the clips of one sample.

Every sampler maps a video's length and frame rate to an integer array of frame indices of
shape ``(K, T)``: K clips of T frames, clips in temporal order. Training samplers draw with
the ``rng`` they are given; evaluation samplers are deterministic.

Frame spacing is ``stride`` frames, or ``round(fps / target_fps)`` when ``target_fps`` is set.
A video shorter than what a sample spans (:meth:`ClipSampler.frames_needed`) follows
``short_video``: ``"shrink"`` (the default) lowers the frame step until the sample fits (then a
tuple's gap), and pads with the last frame if even that does not; ``"pad"`` repeats the last frame; ``"loop"`` wraps
around to the first frame (never right for order-based objectives: only when asked); ``"skip"``
leaves the video out of the split (the data module drops it). The data module and ``check-data``
report how many videos do not fit and the frames a sample needs.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Literal, TypeVar

import numpy as np

IntOrArray = TypeVar("IntOrArray")


def frame_step(fps: float, stride: int, target_fps: float | None) -> int:
    """Frames between two sampled frames: ``round(fps / target_fps)`` (at least 1), or ``stride`` without a
    ``target_fps`` or for an unknown rate (``fps`` 0)."""
    if target_fps is None or fps <= 0:
        return stride
    return max(1, round(fps / target_fps))


def clip_span(clip_len: int, step: IntOrArray) -> IntOrArray:
    """Frames a clip of ``clip_len`` frames every ``step`` frames covers, first to last (elementwise for an array or
    tensor of steps)."""
    return (clip_len - 1) * step + 1


class ClipSampler(ABC):
    """Base class: ``sampler(num_frames, fps, rng) -> (K, T)`` frame indices."""

    def __init__(
        self,
        clip_len: int = 16,
        stride: int = 1,
        target_fps: float | None = None,
        short_video: Literal["shrink", "pad", "loop", "skip"] = "shrink",
    ) -> None:
        if clip_len < 1 or stride < 1:
            raise ValueError(f"clip_len and stride must be >= 1, got {clip_len} and {stride}")
        if short_video not in ("shrink", "pad", "loop", "skip"):
            raise ValueError(f"short_video: unknown rule {short_video!r}; choose shrink, pad, loop or skip")
        self.clip_len = clip_len
        self.stride = stride
        self.target_fps = target_fps
        self.short_video = short_video

    @property
    @abstractmethod
    def num_clips(self) -> int:
        """K, the clips per sample."""

    @abstractmethod
    def starts(self, num_frames: int, step: int, rng: np.random.Generator) -> np.ndarray:
        """First frame of each clip, shape (K,); may run past the end for short videos."""

    def step(self, fps: float) -> int:
        """Frames between two sampled frames of a clip."""
        return frame_step(fps, self.stride, self.target_fps)

    def frames_needed(self, step: int) -> int:
        """Frames one sample spans at frame step ``step`` (one clip; tuples and pairs override)."""
        return self.clip_span(step)

    def fits(self, num_frames: int, fps: float) -> bool:
        """Whether a video of ``num_frames`` holds a whole sample at the configured step."""
        return num_frames >= self.frames_needed(self.step(fps))

    def __call__(self, num_frames: int, fps: float, rng: np.random.Generator) -> np.ndarray:
        step = self.step(fps)
        if self.short_video == "shrink":
            while step > 1 and self.frames_needed(step) > num_frames:
                step -= 1
        starts = self.starts(num_frames, step, rng)
        idx = starts[:, None] + step * np.arange(self.clip_len)[None, :]
        if self.short_video == "loop":
            return idx % num_frames
        return np.minimum(idx, num_frames - 1)

    def clip_span(self, step: int) -> int:
        """Frames covered by one clip."""
        return clip_span(self.clip_len, step)


class RandomClipSampler(ClipSampler):
    """One clip at a uniformly random start (training)."""

    num_clips = 1

    def starts(self, num_frames: int, step: int, rng: np.random.Generator) -> np.ndarray:
        room = max(0, num_frames - self.clip_span(step))
        return np.array([rng.integers(room + 1)])


class UniformClipSampler(ClipSampler):
    """``num_clips`` clips with evenly spaced starts over the whole video (multi-view testing)."""

    def __init__(self, num_clips: int = 10, **kwargs) -> None:
        super().__init__(**kwargs)
        self._num_clips = num_clips

    @property
    def num_clips(self) -> int:
        return self._num_clips

    def starts(self, num_frames: int, step: int, rng: np.random.Generator) -> np.ndarray:
        room = max(0, num_frames - self.clip_span(step))
        if self._num_clips == 1:
            return np.array([room // 2])
        return np.round(np.linspace(0, room, self._num_clips)).astype(int)


class TupleClipSampler(ClipSampler):
    """VCOP tuples (Xu et al., CVPR 2019): ``num_clips`` clips separated by ``gap`` frames, in order.

    The default (3 clips of 16 frames, gap 8) is the paper's. The tuple starts at a random frame;
    the objective shuffles the clips, so the data stays in temporal order.
    """

    def __init__(self, num_clips: int = 3, gap: int = 8, **kwargs) -> None:
        super().__init__(**kwargs)
        if num_clips < 2:
            raise ValueError(f"a tuple needs at least 2 clips, got {num_clips}")
        self._num_clips = num_clips
        self.gap = gap

    @property
    def num_clips(self) -> int:
        return self._num_clips

    def frames_needed(self, step: int) -> int:
        return (self.clip_span(step) + self.gap) * (self._num_clips - 1) + self.clip_span(step)

    def _gap(self, num_frames: int, step: int) -> int:
        """``gap``, or under ``short_video="shrink"`` the largest smaller gap that lets the tuple fit."""
        if self.short_video != "shrink":
            return self.gap
        spare = num_frames - self.clip_span(step) * self._num_clips
        return max(0, min(self.gap, spare // (self._num_clips - 1)))

    def starts(self, num_frames: int, step: int, rng: np.random.Generator) -> np.ndarray:
        gap = self._gap(num_frames, step)
        hop = self.clip_span(step) + gap
        room = max(0, num_frames - (hop * (self._num_clips - 1) + self.clip_span(step)))
        return rng.integers(room + 1) + hop * np.arange(self._num_clips)


class PairClipSampler(ClipSampler):
    """Two clips of one video for contrastive learning (CVRL, Qian et al., CVPR 2021).

    The gap between the two starts is drawn from a linearly decreasing density on
    ``[1, max_gap]`` (CVRL's choice, which favours short gaps), then the pair is placed
    uniformly: the two clips never start at the same frame. ``max_gap`` defaults to all the
    room the video has. A video with no room (shorter than :meth:`frames_needed`) follows
    ``short_video`` and may give the same clip twice; the data module reports such videos.
    """

    num_clips = 2

    def __init__(self, max_gap: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if max_gap is not None and max_gap < 1:
            raise ValueError(f"PairClipSampler: max_gap must be >= 1 (the two clips differ), got {max_gap}")
        self.max_gap = max_gap

    def frames_needed(self, step: int) -> int:
        """One clip and one more frame: the two clips can then start apart."""
        return self.clip_span(step) + 1

    def starts(self, num_frames: int, step: int, rng: np.random.Generator) -> np.ndarray:
        room = max(0, num_frames - self.clip_span(step))
        limit = room if self.max_gap is None else min(room, self.max_gap)
        # inverse CDF of 2(1 - x) on [0, 1) scaled to 0..limit-1, shifted to 1..limit; 0 only without room
        gap = min(limit, 1 + int(limit * (1.0 - math.sqrt(1.0 - rng.random()))))
        first = rng.integers(room - gap + 1)
        return np.array([first, first + gap])
