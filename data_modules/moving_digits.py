"""Moving digits: the embedded action dataset, generated on first use.

Each class is a motion that no single frame tells apart (direction of travel, sense of
rotation, zoom in or out). Digit identity (scikit-learn's bundled 8x8 digits), speed,
start, scale, colours and background clutter vary as nuisances. The videos are real
MPEG-4 part 2 files in the exact UCF101 layout::

    <root>/UCF-101/<Class>/v_<Class>_gXX_cYY.avi
    <root>/ucfTrainTestlist/{classInd.txt, trainlist01.txt, testlist01.txt}

so the UCF101 reader serves it unchanged. As in UCF101, the clips of one group share
their source (digit, colours, clutter); groups ``1..test_groups`` form the test split, so no
source is seen in both. Group g renders one source with every motion, so appearance tells
nothing of the class: only motion does.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F

from .readers import UCF101

CLASSES = (
    "MoveLeft",
    "MoveRight",
    "MoveUp",
    "MoveDown",
    "RotateClockwise",
    "RotateCounterclockwise",
    "ZoomIn",
    "ZoomOut",
)
_MARKER = "moving_digits.json"


@dataclass(frozen=True)
class MovingDigitsSpec:
    """Everything that determines the generated files (the cache key)."""

    num_groups: int = 25
    clips_per_group: int = 4
    test_groups: int = 7
    num_frames: int = 48
    size: int = 64
    fps: int = 25
    seed: int = 0


@dataclass(frozen=True)
class _Source:
    """What the clips of one group share."""

    sprite: torch.Tensor  # (S, S) float in [0, 1]
    digit_rgb: torch.Tensor  # (3,)
    background: torch.Tensor  # (3, H, W)


def _load_digit_images() -> np.ndarray:
    from sklearn.datasets import load_digits

    return load_digits().images.astype(np.float32) / 16.0  # (1797, 8, 8)


def _make_source(rng: np.random.Generator, digits: np.ndarray, size: int) -> _Source:
    sprite_px = int(round(size * rng.uniform(0.28, 0.38)))
    img = torch.from_numpy(digits[rng.integers(len(digits))])[None, None]
    sprite = F.interpolate(img, size=(sprite_px, sprite_px), mode="bilinear", align_corners=False)[0, 0]
    base = torch.from_numpy(rng.uniform(0.0, 0.35, size=3).astype(np.float32))
    background = base[:, None, None].expand(3, size, size).clone()
    for _ in range(int(rng.integers(2, 6))):
        w, h = (int(v) for v in rng.integers(size // 10, size // 3, size=2))
        x, y = (int(v) for v in rng.integers(0, size - min(w, h), size=2))
        background[:, y : y + h, x : x + w] = torch.from_numpy(rng.uniform(0.0, 0.6, size=3).astype(np.float32))[
            :, None, None
        ]
    background += torch.from_numpy(rng.normal(0, 0.03, size=(3, size, size)).astype(np.float32))
    digit_rgb = torch.from_numpy(rng.uniform(0.7, 1.0, size=3).astype(np.float32))
    return _Source(sprite=sprite, digit_rgb=digit_rgb, background=background.clamp(0, 1))


def _trajectory(
    cls: str, rng: np.random.Generator, t: int, size: int, sprite_px: int, pace: int | None = None
) -> np.ndarray:
    """Per-frame (cx, cy, angle_rad, scale), shape (t, 4); centres in pixels.

    The per-frame speed is drawn as for a video of ``pace`` frames (default ``t``); a longer ``t`` goes on at
    that speed, drawn only as fast as keeps the digit in the frame and its scale in the usual range.
    """
    pace = t if pace is None else pace
    steps = np.arange(t, dtype=np.float32)
    margin = sprite_px * 0.5
    centre = rng.uniform(margin, size - margin, size=2)
    angle = np.full(t, rng.uniform(-0.3, 0.3), dtype=np.float32)
    scale = np.full(t, rng.uniform(0.85, 1.15), dtype=np.float32)
    cx, cy = np.full(t, centre[0], dtype=np.float32), np.full(t, centre[1], dtype=np.float32)
    if cls.startswith("Move"):
        travel = size - 2 * margin
        speed = min(rng.uniform(0.5, 1.0) * travel / max(pace - 1, 1), travel / max(t - 1, 1))
        start = rng.uniform(margin, max(margin, size - margin - speed * (t - 1)))  # equal but for rounding at top speed
        path = start + speed * steps
        sign_path = {"MoveRight": path, "MoveDown": path, "MoveLeft": size - path, "MoveUp": size - path}[cls]
        if cls in ("MoveLeft", "MoveRight"):
            cx = sign_path
        else:
            cy = sign_path
    elif cls.startswith("Rotate"):
        turn = rng.uniform(math.pi / 2, 1.5 * math.pi)
        omega = min(turn / max(pace - 1, 1), 1.5 * math.pi / max(t - 1, 1))  # never past the usual 1.5 pi in all
        angle = angle + (omega if cls == "RotateClockwise" else -omega) * steps
    else:
        growth, low = rng.uniform(1.8, 2.6), rng.uniform(0.55, 0.75)
        ratio = min(growth ** (1.0 / max(pace - 1, 1)), (2.6 * 0.75 / low) ** (1.0 / max(t - 1, 1)))
        scale = low * ratio**steps if cls == "ZoomIn" else low * ratio ** (t - 1 - steps)
    return np.stack([cx, cy, angle, scale], axis=1)


def _render(source: _Source, traj: np.ndarray, size: int) -> np.ndarray:
    """Composite the sprite over the background along ``traj``: uint8 (T, H, W, 3)."""
    t = len(traj)
    p = torch.from_numpy(traj)
    sprite_px = source.sprite.shape[-1]
    rel = sprite_px / size
    cos, sin = torch.cos(p[:, 2]), torch.sin(p[:, 2])
    # Output grid -> sprite coordinates: inverse of rotate(angle) * scale around the centre.
    inv = 1.0 / (p[:, 3] * rel)
    theta = torch.zeros(t, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos * inv, sin * inv
    theta[:, 1, 0], theta[:, 1, 1] = -sin * inv, cos * inv
    offset = torch.stack([p[:, 0], p[:, 1]], dim=1) / size * 2 - 1
    theta[:, :, 2] = -(theta[:, :, :2] @ offset[:, :, None])[:, :, 0]
    grid = F.affine_grid(theta, [t, 1, size, size], align_corners=False)
    alpha = F.grid_sample(source.sprite.expand(t, 1, -1, -1), grid, align_corners=False, padding_mode="zeros")
    frames = source.background[None] * (1 - alpha) + source.digit_rgb[None, :, None, None] * alpha
    return (frames.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def write_video(path: Path, frames: np.ndarray, fps: int | Fraction) -> None:
    """Encode uint8 (T, H, W, 3) RGB frames as MPEG-4 part 2 in ``path`` (.avi)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"qscale": "3"}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def is_generated(root: Path, marker: str, spec: dict, what: str, reader: str) -> bool:
    """True when ``root`` already holds the set ``spec`` describes (its ``marker`` file says so).

    Raises when ``root`` is a non-empty folder without the marker: someone's own data, never written to.
    """
    path = root / marker
    if path.exists() and json.loads(path.read_text()) == spec:
        return True
    if root.is_dir() and not path.exists() and any(root.iterdir()):
        raise FileExistsError(
            f"{root} is not empty and holds no {marker}: refusing to write generated {what} into it. "
            f"To read your own videos there, name their reader instead of {reader}, e.g. "
            '--data.init_args.reader \'{"class_path": "data_modules.VideoFolder", "init_args": {"root": "%s"}}\'' % root
        )
    return False


def write_ucf101_lists(root: Path, classes: tuple[str, ...], train: list[str], test: list[str]) -> None:
    """``root/ucfTrainTestlist/{classInd,trainlist01,testlist01}.txt`` for videos named ``<Class>/<file>``."""
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True, exist_ok=True)
    (lists / "classInd.txt").write_text("".join(f"{i} {c}\n" for i, c in enumerate(classes, 1)))
    label = {c: i for i, c in enumerate(classes, 1)}
    (lists / "trainlist01.txt").write_text("".join(f"{n} {label[n.split('/')[0]]}\n" for n in sorted(train)))
    (lists / "testlist01.txt").write_text("".join(f"{n}\n" for n in sorted(test)))


def generate(root: str | Path, spec: MovingDigitsSpec = MovingDigitsSpec()) -> Path:
    """Write the dataset under ``root`` unless an identical one is there; returns ``root``.

    Only an empty (or missing) folder, or one holding an earlier moving-digits set (its marker
    file), is written to: anything else is someone's data, and generating is refused.
    """
    root = Path(root)
    if is_generated(root, _MARKER, asdict(spec), "moving digits", "MovingDigits"):
        return root
    if spec.test_groups >= spec.num_groups:
        raise ValueError(f"test_groups ({spec.test_groups}) must be below num_groups ({spec.num_groups})")
    digits = _load_digit_images()
    rng = np.random.default_rng(spec.seed)
    train, test = [], []
    for group in range(1, spec.num_groups + 1):
        source = _make_source(rng, digits, spec.size)
        for cls in CLASSES:
            for clip in range(1, spec.clips_per_group + 1):
                name = f"{cls}/v_{cls}_g{group:02d}_c{clip:02d}.avi"
                traj = _trajectory(cls, rng, spec.num_frames, spec.size, source.sprite.shape[-1])
                write_video(root / "UCF-101" / name, _render(source, traj, spec.size), spec.fps)
                (test if group <= spec.test_groups else train).append(name)
    write_ucf101_lists(root, CLASSES, train, test)
    (root / _MARKER).write_text(json.dumps(asdict(spec)))
    return root


class MovingDigits(UCF101):
    """The UCF101 reader over a moving-digits folder, generated there on first use."""

    def __init__(
        self,
        root: str = "data/moving_digits",
        num_groups: int = 25,
        clips_per_group: int = 4,
        test_groups: int = 7,
        num_frames: int = 48,
        size: int = 64,
        fps: int = 25,
        seed: int = 0,
    ) -> None:
        super().__init__(root, split=1)
        self.spec = MovingDigitsSpec(num_groups, clips_per_group, test_groups, num_frames, size, fps, seed)

    def prepare(self) -> None:
        generate(self.root, self.spec)


def main(argv: list[str] | None = None) -> None:
    """``videovision generate-data``: write the moving-digits dataset."""
    parser = argparse.ArgumentParser(prog="videovision generate-data", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default="data/moving_digits", help="output folder (default: %(default)s)")
    for field, default in asdict(MovingDigitsSpec()).items():
        parser.add_argument(f"--{field.replace('_', '-')}", type=int, default=default, help=f"(default: {default})")
    args = vars(parser.parse_args(argv))
    root = generate(args.pop("root"), MovingDigitsSpec(**args))
    print(f"moving digits ready in {root}")
