"""Tracking benchmarks as they lie on disk: DAVIS-2017, OTB and MOTChallenge.

Each reader lists a benchmark's sequences and reads one sequence's annotations, checked against its frame
folder (frames decode through :func:`data_modules.video_io.read_frames`, any numbering). Every error names the
file at fault:

- DAVIS-2017 (Pont-Tuset et al. 2017; davisvideochallenge/davis2017-evaluation ``davis2017/davis.py``):
  ``JPEGImages/480p/<seq>/00000.jpg``, ``Annotations/480p/<seq>/00000.png`` palette PNGs read as index arrays
  (0 background, k object k, 255 void), ``ImageSets/2017/{train,val}.txt``.
- OTB (Wu et al., TPAMI 2015): ``<Seq>/img/0001.jpg``, ``<Seq>/groundtruth_rect.txt`` one x,y,w,h box a line
  (1-based pixels), separated by commas, tabs or spaces.
- MOTChallenge (Milan et al. 2016): ``<split>/<SEQ>/{img1/000001.jpg, gt/gt.txt, det/det.txt, seqinfo.ini}``;
  rows ``frame, id, x, y, w, h, conf, class, visibility`` (gt; conf 0 = ignore) and ``frame, -1, x, y, w, h, score``
  (det), frames 1-based. Boxes lying wholly outside the image are kept (logged), as TrackEval scores them.
"""

from __future__ import annotations

import configparser
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .frame_folders import FRAME_NUMBER, frame_files

log = logging.getLogger(__name__)

DAVIS_VOID = 255
# The first colours of the DAVIS palette (background black, then the objects), the rest white.
DAVIS_PALETTE = [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0, 0, 0, 128, 128, 0, 128, 0, 128, 128, 128, 128, 128]


class TrackingDataError(ValueError):
    """An annotation that does not fit its sequence; the message names the file."""


@dataclass(frozen=True)
class DavisSequence:
    """One DAVIS sequence: ``masks`` (T, H, W) uint8 labels (0 background, 1..K objects; void set to 0 as the
    DAVIS code does) and ``void`` (T, H, W) bool, the pixels labelled 255."""

    name: str
    frames: Path
    masks: np.ndarray
    void: np.ndarray

    @property
    def num_objects(self) -> int:
        """Objects of the first frame's annotation, as the DAVIS evaluation counts them."""
        return int(self.masks[0].max())


def read_index_png(path: str | Path) -> np.ndarray:
    """A palette (or greyscale) PNG as its (H, W) uint8 index array, never converted to colours."""
    with Image.open(path) as image:
        if image.mode not in ("P", "L"):
            raise TrackingDataError(f"{path}: mode {image.mode}, expected a palette ('P') or greyscale ('L') PNG")
        return np.array(image, dtype=np.uint8)


def write_index_png(path: str | Path, labels: np.ndarray) -> None:
    """(H, W) labels 0..255 -> a palette PNG in DAVIS's colours (what :func:`read_index_png` reads back)."""
    image = Image.fromarray(np.asarray(labels, dtype=np.uint8), mode="P")
    image.putpalette(DAVIS_PALETTE + [255, 255, 255] * (256 - len(DAVIS_PALETTE) // 3))
    image.save(path)


class Davis2017:
    """DAVIS-2017 (semi-supervised) under ``root``; ``resolution`` is ``480p`` or ``Full-Resolution``."""

    def __init__(self, root: str | Path, resolution: str = "480p") -> None:
        if resolution not in ("480p", "Full-Resolution"):
            raise ValueError(f"DAVIS resolution must be '480p' or 'Full-Resolution', got {resolution!r}")
        self.root = Path(root)
        self.images = self.root / "JPEGImages" / resolution
        self.annotations = self.root / "Annotations" / resolution

    def sequences(self, split: str) -> list[str]:
        """Sequence names of ``ImageSets/2017/<split>.txt``."""
        if split not in ("train", "val"):
            raise ValueError(f"DAVIS-2017 split must be 'train' or 'val', got {split!r}")
        path = self.root / "ImageSets" / "2017" / f"{split}.txt"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: split file not found")
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]

    def frames(self, name: str) -> Path:
        """The frame folder of sequence ``name``."""
        folder = self.images / name
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: frame folder of sequence {name!r} not found")
        return folder

    def sequence(self, name: str) -> DavisSequence:
        """Frames and masks of ``name``; every frame has a PNG of the frame's size, named like it."""
        frames = frame_files(self.frames(name))
        if not frames:
            raise TrackingDataError(f"{self.images / name}: no frames")
        with Image.open(frames[0]) as first:
            width, height = first.size
        masks = []
        for frame in frames:
            png = self.annotations / name / (frame.stem + ".png")
            if not png.is_file():
                raise TrackingDataError(f"{png}: annotation of frame {frame.name} not found")
            mask = read_index_png(png)
            if mask.shape != (height, width):
                size = f"{mask.shape[1]}x{mask.shape[0]}"
                raise TrackingDataError(f"{png}: annotation is {size}, frames {width}x{height}")
            masks.append(mask)
        labels = np.stack(masks)
        void = labels == DAVIS_VOID
        labels[void] = 0
        return DavisSequence(name, self.images / name, labels, void)


@dataclass(frozen=True)
class OTBSequence:
    """One OTB sequence: ``boxes`` (T, 4) float x, y, w, h, 0-based (the file's 1-based values minus 1), one for each
    frame of ``frames`` from index ``start`` on (a box with a width or height <= 0 marks a frame the metrics leave
    out, as the toolkits do)."""

    name: str
    frames: Path
    boxes: np.ndarray
    start: int = 0


_SEPARATORS = re.compile(r"[,\s]+")


def _image_size(frames: list[Path]) -> tuple[int, int]:
    with Image.open(frames[0]) as image:
        return image.size


def _check_boxes_inside(boxes: np.ndarray, width: int, height: int, path: Path, lines: np.ndarray) -> None:
    """A box must have a positive size and overlap the (width x height) image."""
    x, y, w, h = boxes.T
    bad = (w <= 0) | (h <= 0) | (x >= width) | (y >= height) | (x + w <= 0) | (y + h <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TrackingDataError(
            f"{path}: line {int(lines[i])}: box {boxes[i].tolist()} is empty or outside the {width}x{height} image"
        )


OTB_ANNOTATED_FROM = {"David": 300, "Diving": 1, "Football1": 1, "Freeman3": 1, "Freeman4": 1}
"""OTB-100 sequences with fewer boxes than images, and the image number their boxes start at (the toolkit's
``startFrame``); their boxes run on from there, one a frame."""
OTB_INIT_OMIT = {"Tiger1": 5}
"""OTB-100 sequences whose first boxes the toolkit leaves out (its ``initOmit``): tracking starts at the box after
them, on its image (Tiger1: image 6 of 354, one box an image)."""
_TARGET_FILE = re.compile(r"groundtruth_rect\.(\d+)\.txt")


class OTB:
    """OTB-50/100 under ``root`` (one folder a sequence). A folder with several targets
    (``groundtruth_rect.1.txt``, ``.2.txt``: Jogging, Skating2, Human4) is one sequence a target, ``<folder>-<k>``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def sequences(self) -> list[str]:
        """Sequence names, sorted: each folder with a ``groundtruth_rect.txt``, and ``<folder>-<k>`` for each
        ``groundtruth_rect.<k>.txt``."""
        names = [p.parent.name for p in self.root.glob("*/groundtruth_rect.txt")]
        for path in self.root.glob("*/groundtruth_rect.*.txt"):
            if match := _TARGET_FILE.fullmatch(path.name):
                names.append(f"{path.parent.name}-{match.group(1)}")
        return sorted(names)

    def _ground_truth(self, name: str) -> tuple[str, Path]:
        """The folder and the ground-truth file of sequence ``name``."""
        if (self.root / name).is_dir():
            return name, self.root / name / "groundtruth_rect.txt"
        folder, _, target = name.rpartition("-")
        if not folder or not (self.root / folder).is_dir():
            raise FileNotFoundError(f"{self.root / name}: no folder of sequence {name!r}")
        return folder, self.root / folder / f"groundtruth_rect.{target}.txt"

    def sequence(self, name: str) -> OTBSequence:
        """Frames and 0-based boxes of ``name``; one box per frame (from the toolkit's start frame for the sequences
        of :data:`OTB_ANNOTATED_FROM` and after the boxes :data:`OTB_INIT_OMIT` leaves out), the first one valid, each
        valid one overlapping the image."""
        folder_name, path = self._ground_truth(name)
        folder = self.root / folder_name / "img"
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: frame folder of sequence {name!r} not found")
        frames = frame_files(folder)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: ground truth not found")
        rows, numbers = [], []
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            values = _SEPARATORS.split(line.strip())
            try:
                rows.append([float(v) for v in values])
            except ValueError:
                raise TrackingDataError(f"{path}: line {number}: {line!r} is not four numbers x,y,w,h") from None
            if len(values) != 4:
                raise TrackingDataError(f"{path}: line {number}: {len(values)} values, expected x,y,w,h")
            numbers.append(number)
        start, available = 0, len(frames)
        if len(rows) < len(frames) and folder_name in OTB_ANNOTATED_FROM:
            first_number = int(FRAME_NUMBER.search(frames[0].stem).group(1))
            start = OTB_ANNOTATED_FROM[folder_name] - first_number
            available = len(rows)  # their boxes end before their images do
        if len(rows) != min(available, len(frames) - start):
            raise TrackingDataError(f"{path}: {len(rows)} boxes for {len(frames) - start} frames in {folder}")
        omit = OTB_INIT_OMIT.get(folder_name, 0)
        if len(rows) <= omit:
            raise TrackingDataError(f"{path}: {len(rows)} boxes, and the toolkit leaves out the first {omit}")
        start, rows, numbers = start + omit, rows[omit:], numbers[omit:]
        boxes = np.array(rows, dtype=np.float64).reshape(-1, 4)
        boxes[:, :2] -= 1
        valid = np.isfinite(boxes).all(axis=1) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
        if not valid[0]:
            raise TrackingDataError(f"{path}: line {numbers[0]}: the first box starts the tracker and must be valid")
        _check_boxes_inside(boxes[valid], *_image_size(frames), path, np.array(numbers)[valid])
        return OTBSequence(name, folder, boxes, start)


@dataclass(frozen=True)
class MOTSequence:
    """One MOTChallenge sequence. ``gt`` (N, 9) and ``det`` (M, 10) rows as in the files (frames 1-based,
    boxes 1-based x, y, w, h); ``gt`` is empty for a test split."""

    name: str
    frames: Path
    frame_rate: float
    width: int
    height: int
    gt: np.ndarray
    det: np.ndarray

    def detections(self, frame: int) -> np.ndarray:
        """(n, 5) rows x, y, w, h, score of 1-based ``frame``."""
        rows = self.det[self.det[:, 0] == frame]
        return rows[:, [2, 3, 4, 5, 6]]


def _read_mot_rows(path: Path, min_columns: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    rows, numbers = [], []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            values = [float(v) for v in line.strip().rstrip(",").split(",")]
        except ValueError:
            raise TrackingDataError(f"{path}: line {number}: {line!r} is not comma-separated numbers") from None
        if len(values) < min_columns:
            raise TrackingDataError(f"{path}: line {number}: {len(values)} columns, expected at least {min_columns}")
        rows.append((values + [-1.0] * width)[:width])
        numbers.append(number)
    return np.array(rows, dtype=np.float64).reshape(-1, width), np.array(numbers)


class MOTChallenge:
    """MOT15/16/17/20 under ``root``; ``split`` is the folder (``train``, ``test``)."""

    def __init__(self, root: str | Path, split: str = "train") -> None:
        self.folder = Path(root) / split
        if not self.folder.is_dir():
            raise FileNotFoundError(f"{self.folder}: split folder not found")

    def sequences(self) -> list[str]:
        """Folders of the split that hold a ``seqinfo.ini``, sorted."""
        return sorted(p.parent.name for p in self.folder.glob("*/seqinfo.ini"))

    def sequence(self, name: str) -> MOTSequence:
        """Frames, ground truth (when present) and detections of ``name``, checked against ``seqinfo.ini``."""
        root = self.folder / name
        ini = root / "seqinfo.ini"
        if not ini.is_file():
            raise FileNotFoundError(f"{ini}: not found")
        parser = configparser.ConfigParser()
        parser.read(ini)
        try:
            info = parser["Sequence"]
            frames_dir = root / info.get("imDir", "img1")
            length, width, height = int(info["seqLength"]), int(info["imWidth"]), int(info["imHeight"])
            frame_rate = float(info.get("frameRate", "0"))
        except KeyError as err:
            raise TrackingDataError(f"{ini}: missing [Sequence] key {err}") from None
        frames = frame_files(frames_dir)
        if len(frames) != length:
            raise TrackingDataError(f"{frames_dir}: {len(frames)} frames, {ini} says seqLength={length}")
        if _image_size(frames) != (width, height):
            raise TrackingDataError(f"{frames[0]}: image is {_image_size(frames)}, {ini} says {width}x{height}")
        det_path = root / "det" / "det.txt"
        if not det_path.is_file():
            raise FileNotFoundError(f"{det_path}: detections not found")
        det, det_lines = _read_mot_rows(det_path, 7, 10)
        if len(det) == 0:
            raise TrackingDataError(f"{det_path}: no detections (empty file)")
        gt_path = root / "gt" / "gt.txt"
        gt = np.empty((0, 9))
        if gt_path.is_file():
            gt, gt_lines = _read_mot_rows(gt_path, 6, 9)
            self._check(gt, gt_lines, gt_path, length, width, height)
        self._check(det, det_lines, det_path, length, width, height)
        return MOTSequence(name, frames_dir, frame_rate, width, height, gt, det)

    @staticmethod
    def _check(rows: np.ndarray, lines: np.ndarray, path: Path, length: int, width: int, height: int) -> None:
        frame = rows[:, 0]
        outside = (frame < 1) | (frame > length) | (frame != np.round(frame))
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            raise TrackingDataError(f"{path}: line {int(lines[i])}: frame {frame[i]:g} is not in 1..{length}")
        x, y, w, h = rows[:, 2:6].T
        empty = (w <= 0) | (h <= 0)
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise TrackingDataError(f"{path}: line {int(lines[i])}: box {rows[i, 2:6].tolist()} is empty")
        outside = (x - 1 >= width) | (y - 1 >= height) | (x - 1 + w <= 0) | (y - 1 + h <= 0)
        if outside.any():
            log.info(
                "%s: %d boxes lie wholly outside the %dx%d image (first on line %d); kept, as TrackEval scores them",
                path,
                int(outside.sum()),
                width,
                height,
                int(lines[np.flatnonzero(outside)[0]]),
            )
