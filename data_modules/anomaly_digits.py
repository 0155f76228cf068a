"""Anomalous moving digits: the embedded anomaly benchmark, generated on first use in the generic layout.

A few fixed scenes (background clutter, digit and colours, like fixed surveillance cameras) film the usual
motions: the "forward" half of the moving-digits motions (:mod:`data_modules.moving_digits`), as one-way traffic
(right, down, clockwise, zoom in), so playing a normal video backwards gives a motion that never happens.
Training videos are normal. Each test video is a normal
video with one injected segment of known frames, one kind per video in turn (plus some all-normal videos):

- ``reversed``: the motion runs backwards through the segment;
- ``frozen``: the segment holds the frame before it;
- ``speed``: the segment runs ``speed_factor`` times faster;
- ``unseen_motion``: the digit shakes (a fast zigzag that no normal motion has);
- ``intruder``: a coloured block that no scene holds crosses the frame.

After a timing anomaly (reversed, frozen, speed) the motion goes on from where the segment left it, so no frame
outside the labelled segment jumps (:func:`segment_times`).

Layout (:class:`data_modules.anomaly_readers.GenericAnomaly`): ``<root>/train/*.avi``; ``<root>/test/*.avi`` with
``<name>.npy`` (0/1 per frame) beside each; ``<root>/train_anomalous/*.avi``: weakly labelled training videos, made
like the test videos (the anomalous kinds in turn) but without their masks, for weakly supervised scorers (MIL). They
are drawn from their own random stream after everything else, so the other files do not depend on how many there are.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .anomaly_readers import GenericAnomaly
from .moving_digits import _load_digit_images, _make_source, _render, _trajectory, write_video

NORMAL_MOTIONS = ("MoveRight", "MoveDown", "RotateClockwise", "ZoomIn")
ANOMALIES = ("reversed", "frozen", "speed", "unseen_motion", "intruder")
_MARKER = "anomaly_digits.json"
GENERATOR_VERSION = 4
"""Written into the marker beside the spec: a folder made by an older generator is made again. 2: timing anomalies
resume playback where their segment left it (1 cut back to normal playback, a jump labelled normal). 3: test videos
come from their own random stream, so the training videos do not depend on how many test videos there are. 4: a
rotating digit's speed burst turns no further in all than a normal video (3 turned it on to orientations that no
training video shows, in frames labelled normal); normal and other videos are unchanged."""
TIMING_STEPS = {"reversed": -1, "frozen": 0}
"""Source frames advanced per frame in a timing anomaly's segment (``speed``: the spec's ``speed_factor``)."""


@dataclass(frozen=True)
class AnomalyDigitsSpec:
    """Everything that determines the generated files (the cache key)."""

    num_scenes: int = 8
    train_per_scene: int = 8
    test_per_scene: int = 12
    num_frames: int = 64
    size: int = 64
    fps: int = 25
    min_segment: int = 16
    max_segment: int = 24
    speed_factor: int = 3
    weak_per_scene: int = 4
    seed: int = 0


def segment_times(steps: int, num_frames: int, start: int, stop: int) -> np.ndarray:
    """The source time each frame of a video shows when frames ``start..stop-1`` each advance ``steps`` source frames
    (3: three times as fast, 0: frozen, -1: backwards) and every other frame advances one, shifted to start at 0:
    (num_frames,) int. Playback goes on from where the segment left it, so only the segment's frames are irregular."""
    advance = np.ones(num_frames, dtype=np.int64)
    advance[0] = 0
    advance[start:stop] = steps
    times = np.cumsum(advance)
    return times - times.min()


def _add_intruder(frames: np.ndarray, start: int, stop: int, rng: np.random.Generator) -> np.ndarray:
    """``frames`` (T, H, W, 3) with a coloured block crossing frames ``start..stop-1``."""
    out = frames.copy()
    size = frames.shape[1]
    side = size // 5
    colour = np.array([255, 40, 40], dtype=np.uint8)[rng.permutation(3)]
    y = int(rng.integers(0, size - side))
    xs = np.linspace(0, size - side, stop - start).round().astype(int)
    for i, x in zip(range(start, stop), xs[:: 1 if rng.random() < 0.5 else -1]):
        out[i, y : y + side, x : x + side] = colour
    return out


def _test_video(kind: str, source, cls: str, spec: AnomalyDigitsSpec, rng: np.random.Generator):
    """uint8 frames (T, H, W, 3) and the 0/1 mask (T,) of one test video with anomaly ``kind`` (or ``normal``)."""
    t, sprite_px = spec.num_frames, source.sprite.shape[-1]
    length = int(rng.integers(spec.min_segment, spec.max_segment + 1))
    start = int(rng.integers(8, t - length - 8))
    stop = start + length
    mask = np.zeros(t, dtype=np.int64)
    if kind == "normal":
        return _render(source, _trajectory(cls, rng, t, spec.size, sprite_px), spec.size), mask
    mask[start:stop] = 1
    if kind in ("speed", *TIMING_STEPS):
        times = segment_times(TIMING_STEPS.get(kind, spec.speed_factor), t, start, stop)
        traj = _trajectory(cls, rng, int(times.max()) + 1, spec.size, sprite_px, pace=t)  # normal speed elsewhere
        return _render(source, traj[times], spec.size), mask
    traj = _trajectory(cls, rng, t, spec.size, sprite_px)
    if kind == "unseen_motion":
        zigzag = np.where(np.arange(length) % 4 < 2, 1.0, -1.0) * spec.size / 10
        traj[start:stop, 0] += zigzag
        traj[start:stop, 1] -= zigzag
        return _render(source, traj, spec.size), mask
    if kind != "intruder":
        raise ValueError(f"unknown injected anomaly {kind!r}; expected one of {ANOMALIES}")
    return _add_intruder(_render(source, traj, spec.size), start, stop, rng), mask


def generate(root: str | Path, spec: AnomalyDigitsSpec = AnomalyDigitsSpec()) -> Path:
    """Write the benchmark under ``root`` unless an identical one is there; returns ``root``."""
    root = Path(root)
    marker = root / _MARKER
    key = {**asdict(spec), "generator": GENERATOR_VERSION}
    if generated_with(root) == key:
        return root
    if spec.num_frames < spec.max_segment + 16:
        raise ValueError(f"num_frames {spec.num_frames} leaves no room for a segment of {spec.max_segment} frames")
    for split in ("train", "test", GenericAnomaly.WEAK):  # an older spec's files must not mix in
        shutil.rmtree(root / split, ignore_errors=True)
    digits = _load_digit_images()
    rng = np.random.default_rng(spec.seed)
    kinds = ("normal", *ANOMALIES)
    sources = []
    for scene in range(spec.num_scenes):
        source = _make_source(rng, digits, spec.size)
        sources.append(source)
        for i in range(spec.train_per_scene):
            cls = NORMAL_MOTIONS[(scene + i) % len(NORMAL_MOTIONS)]
            traj = _trajectory(cls, rng, spec.num_frames, spec.size, source.sprite.shape[-1])
            write_video(root / "train" / f"s{scene:02d}_{i:02d}_{cls}.avi", _render(source, traj, spec.size), spec.fps)
    test_rng = np.random.default_rng([spec.seed, 2])
    for scene, source in enumerate(sources):
        for i in range(spec.test_per_scene):
            kind = kinds[(scene * spec.test_per_scene + i) % len(kinds)]
            cls = NORMAL_MOTIONS[int(test_rng.integers(len(NORMAL_MOTIONS)))]
            frames, mask = _test_video(kind, source, cls, spec, test_rng)
            name = f"s{scene:02d}_{i:02d}_{kind}"
            write_video(root / "test" / f"{name}.avi", frames, spec.fps)
            np.save(root / "test" / f"{name}.npy", mask)
    weak_rng = np.random.default_rng([spec.seed, 1])
    for scene, source in enumerate(sources):
        for i in range(spec.weak_per_scene):
            kind = ANOMALIES[(scene * spec.weak_per_scene + i) % len(ANOMALIES)]
            cls = NORMAL_MOTIONS[int(weak_rng.integers(len(NORMAL_MOTIONS)))]
            frames, _ = _test_video(kind, source, cls, spec, weak_rng)
            write_video(root / GenericAnomaly.WEAK / f"s{scene:02d}_w{i:02d}_{kind}.avi", frames, spec.fps)
    marker.write_text(json.dumps(key))
    return root


def generated_with(root: str | Path) -> dict | None:
    """The spec values and generator version the benchmark under ``root`` was generated with; ``None`` where none
    was generated."""
    marker = Path(root) / _MARKER
    return json.loads(marker.read_text()) if marker.exists() else None


def kind_of(name: str) -> str:
    """The injected kind (or ``normal``) of a generated test video, from its name ``s<scene>_<i>_<kind>``."""
    kind = name.split("_", 2)[-1]
    if kind not in ("normal", *ANOMALIES):
        raise ValueError(f"{name!r} is not a generated anomalous-digits test video name (s<scene>_<i>_<kind>)")
    return kind


class AnomalyDigits(GenericAnomaly):
    """The generic-layout reader over an anomalous-moving-digits folder, generated there on first use."""

    def __init__(self, root: str = "data/anomaly_digits", **spec) -> None:
        super().__init__(root)
        self.spec = AnomalyDigitsSpec(**spec)

    def prepare(self) -> None:
        generate(self.root, self.spec)
