"""The embedded tracking benchmark: generated sequences written in the DAVIS-2017, OTB and MOTChallenge layouts.

The DAVIS and OTB layouts hold the same sequences (OTB follows object 1): a few textured objects (ellipses and
rectangles, each with its own colours and stripe or check pattern) moving at constant speed and bouncing off the
borders over a textured background that the camera pans across. Objects are drawn in a fixed depth order, so they
cross and occlude one another; masks (visible pixels) and boxes (the whole object, as OTB annotates) are exact by
construction. The MOTChallenge layout holds crowd scenes made for association (:mod:`.tracking_crowd`: similar
objects crossing, a pillar, exits and re-entries, missed and false detections), from a generator of their own.

Written under ``root`` on first use (a marker file holds the spec)::

    davis/JPEGImages/480p/<seq>/00000.jpg, davis/Annotations/480p/<seq>/00000.png, davis/ImageSets/2017/val.txt
    otb/<Seq>/img/0001.jpg, otb/<Seq>/groundtruth_rect.txt           (object 1, 1-based x,y,w,h)
    mot/train/crowd<NN>/img1/000001.jpg, gt/gt.txt, det/det.txt, seqinfo.ini
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .tracking_crowd import CrowdSpec, crowd_detections, in_view, render_crowd
from .tracking_objects import make_texture, shape_mask
from .tracking_readers import write_index_png

_MARKER = "tracking_synthetic.json"


@dataclass(frozen=True)
class TrackingSpec:
    """Everything that determines the generated files (the cache key)."""

    num_sequences: int = 4
    num_frames: int = 24
    size: int = 128
    num_objects: int = 4
    seed: int = 0
    crowd: CrowdSpec = field(default_factory=CrowdSpec)

    def __post_init__(self) -> None:
        if isinstance(self.crowd, dict):  # from a config's data.spec or the marker file
            object.__setattr__(self, "crowd", CrowdSpec(**self.crowd))


@dataclass
class _Object:
    texture: np.ndarray  # (h, w, 3) uint8
    mask: np.ndarray  # (h, w) bool
    position: np.ndarray  # top-left x, y
    velocity: np.ndarray


def _make_object(rng: np.random.Generator, size: int, start: np.ndarray) -> _Object:
    height, width = (int(v) for v in rng.integers(size // 5, size // 3, size=2))
    mask = shape_mask(rng, height, width)
    speed = rng.uniform(2.0, 4.0)
    angle = rng.uniform(0, 2 * np.pi)
    position = np.clip(start - [width / 2, height / 2], 0, [size - width, size - height])
    return _Object(make_texture(rng, height, width), mask, position, speed * np.array([np.cos(angle), np.sin(angle)]))


def _step(obj: _Object, size: int) -> None:
    obj.position = obj.position + obj.velocity
    height, width = obj.mask.shape
    for axis, extent in ((0, width), (1, height)):
        if obj.position[axis] < 0 or obj.position[axis] > size - extent:
            obj.velocity[axis] *= -1
            obj.position[axis] = np.clip(obj.position[axis], 0, size - extent)


def render_sequence(rng: np.random.Generator, spec: TrackingSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One sequence: frames (T, S, S, 3) uint8, masks (T, S, S) uint8 (object k = k on its visible pixels) and
    boxes (T, K, 4) float x, y, w, h (0-based, the whole object)."""
    size, num = spec.size, spec.num_objects
    canvas = make_texture(rng, 2 * size, 2 * size)
    pan = rng.uniform(-1.5, 1.5, size=2)
    offset = np.array([size / 2, size / 2])
    starts = [np.array([size * (i + 0.5) / num, rng.uniform(0.3, 0.7) * size]) for i in range(num)]
    objects = [_make_object(rng, size, start) for start in rng.permutation(starts)]
    frames, masks, boxes = [], [], []
    for _ in range(spec.num_frames):
        x0, y0 = (int(round(v)) for v in np.clip(offset, 0, size))
        frame = canvas[y0 : y0 + size, x0 : x0 + size].copy()
        labels = np.zeros((size, size), np.uint8)
        frame_boxes = []
        for k, obj in enumerate(objects, start=1):
            x, y = (int(round(v)) for v in obj.position)
            height, width = obj.mask.shape
            frame[y : y + height, x : x + width][obj.mask] = obj.texture[obj.mask]
            labels[y : y + height, x : x + width][obj.mask] = k
            frame_boxes.append([x, y, width, height])
        frames.append(frame)
        masks.append(labels)
        boxes.append(frame_boxes)
        for obj in objects:
            _step(obj, size)
        offset = offset + pan
        pan[(offset < 0) | (offset > size)] *= -1
    return np.stack(frames), np.stack(masks), np.array(boxes, dtype=np.float64)


def _write_davis_otb(root: Path, name: str, frames: np.ndarray, masks: np.ndarray, boxes: np.ndarray) -> None:
    davis_img, davis_ann, otb = (
        root / "davis/JPEGImages/480p" / name,
        root / "davis/Annotations/480p" / name,
        root / "otb" / name,
    )
    for folder in (davis_img, davis_ann, otb / "img"):
        folder.mkdir(parents=True, exist_ok=True)
    for t, (frame, labels) in enumerate(zip(frames, masks)):
        image = Image.fromarray(frame)
        image.save(davis_img / f"{t:05d}.jpg", quality=95)
        image.save(otb / "img" / f"{t + 1:04d}.jpg", quality=95)
        write_index_png(davis_ann / f"{t:05d}.png", labels)
    one_based = boxes[:, 0] + [1, 1, 0, 0]
    (otb / "groundtruth_rect.txt").write_text("".join(",".join(f"{v:g}" for v in b) + "\n" for b in one_based))


def _write_mot(root: Path, name: str, frames: np.ndarray, boxes: np.ndarray, visible: np.ndarray, dets: list) -> None:
    mot = root / "mot/train" / name
    for folder in (mot / "img1", mot / "gt", mot / "det"):
        folder.mkdir(parents=True, exist_ok=True)
    for t, frame in enumerate(frames):
        Image.fromarray(frame).save(mot / "img1" / f"{t + 1:06d}.jpg", quality=95)
    size, one_based, shown = frames.shape[1], boxes + [1, 1, 0, 0], in_view(boxes, frames.shape[1])
    gt = [
        f"{t + 1},{k + 1},{','.join(f'{v:g}' for v in one_based[t, k])},1,1,{min(visible[t, k], 1):.3f}\n"
        for k in range(boxes.shape[1])
        for t in range(len(boxes))
        if shown[t, k]
    ]
    (mot / "gt/gt.txt").write_text("".join(gt))
    (mot / "det/det.txt").write_text("".join(",".join(f"{v:.2f}" for v in row) + "\n" for row in dets))
    (mot / "seqinfo.ini").write_text(
        f"[Sequence]\nname={name}\nimDir=img1\nframeRate=10\nseqLength={len(frames)}\n"
        f"imWidth={size}\nimHeight={size}\nimExt=.jpg\n"
    )


def generate_tracking(root: str | Path, spec: TrackingSpec = TrackingSpec()) -> Path:
    """Write the benchmark under ``root`` unless an identical one is there; returns ``root``."""
    root = Path(root)
    marker = root / _MARKER
    if marker.exists() and json.loads(marker.read_text()) == json.loads(json.dumps(asdict(spec))):
        return root
    if spec.num_objects < 1 or spec.num_objects > 254 or spec.num_frames < 3:
        raise ValueError(f"need 1..254 objects and at least 3 frames, got {spec}")
    rng = np.random.default_rng(spec.seed)
    names = [f"seq{i:02d}" for i in range(1, spec.num_sequences + 1)]
    for name in names:
        frames, masks, boxes = render_sequence(rng, spec)
        _write_davis_otb(root, name, frames, masks, boxes)
    crowd_rng = np.random.default_rng([spec.seed, 1])
    for i in range(1, spec.crowd.num_sequences + 1):
        frames, boxes, visible = render_crowd(crowd_rng, spec.crowd)
        dets = crowd_detections(crowd_rng, boxes, visible, spec.crowd)
        _write_mot(root, f"crowd{i:02d}", frames, boxes, visible, dets)
    sets = root / "davis/ImageSets/2017"
    sets.mkdir(parents=True, exist_ok=True)
    (sets / "val.txt").write_text("".join(f"{n}\n" for n in names))
    (sets / "train.txt").write_text("")
    marker.write_text(json.dumps(asdict(spec)))
    return root
