"""Videos as folders of image frames (MMAction2's "rawframes", and the frame folders benchmarks ship).

A frame folder holds image files whose names end in a frame number, numbered consecutively from any
start: ``img_00001.jpg ...`` (what :func:`extract_frames` writes), ``00000.jpg ...`` (DAVIS),
``0001.jpg`` (OTB), ``001.tif`` (UCSD Ped). A gap in the numbering is an error naming the missing
file. :func:`extract_frames` also writes ``frames.json`` with the frame rate and the source video,
last, so a folder without it is unfinished (or made by another tool, when its frame rate is unknown
and samplers fall back to their ``stride``).
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageFile

log = logging.getLogger(__name__)

FRAME_PATTERN = "img_{:05d}.jpg"
MARKER = "frames.json"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")
FRAME_NUMBER = re.compile(r"(\d+)$")


class FrameFolderError(OSError):
    """A frame folder that cannot be read as a video; the message names the folder or file."""


def frame_path(folder: str | Path, index: int) -> Path:
    """The file :func:`extract_frames` writes for 0-based frame ``index``."""
    return Path(folder) / FRAME_PATTERN.format(index + 1)


def frame_files(folder: str | Path) -> list[Path]:
    """The frames of ``folder`` in order: its image files whose name (before the suffix) ends in a
    number, sorted by that number. Raises :class:`FrameFolderError` at the first gap in the numbering, or at two
    images with one number."""
    numbered = []
    for name in os.listdir(folder):
        stem, suffix = os.path.splitext(name)
        match = FRAME_NUMBER.search(stem)
        if suffix.lower() in IMAGE_SUFFIXES and match and not name.startswith("."):
            numbered.append((int(match.group(1)), name))
    numbered.sort()
    for (number, name), (following, other) in zip(numbered, numbered[1:]):
        if following == number:
            raise FrameFolderError(f"{folder}: {name} and {other} are both frame {number}; keep one")
        if following != number + 1:
            raise FrameFolderError(f"{folder}: frame {number + 1} is missing (a gap after {name})")
    return [Path(folder) / name for _, name in numbered]


def count_frames(folder: str | Path) -> int:
    """Number of frames in ``folder`` (see :func:`frame_files`)."""
    return len(frame_files(folder))


def folder_fps(folder: str | Path) -> float:
    """The frame rate recorded by :func:`extract_frames`, or 0.0 when unknown."""
    marker = Path(folder) / MARKER
    return float(json.loads(marker.read_text())["fps"]) if marker.is_file() else 0.0


def read_frame_files(folder: str | Path, wanted: np.ndarray) -> np.ndarray:
    """uint8 (len(wanted), H, W, 3) of 0-based frames ``wanted``. An image that does not decode raises
    :class:`FrameFolderError` naming its file."""
    files = frame_files(folder)
    frames = []
    for index in wanted.tolist():
        try:
            frames.append(_read_image(files[index]))
        except (OSError, ValueError) as exc:
            raise FrameFolderError(f"{files[index]}: {exc}") from exc
    return np.stack(frames)


def _read_image(path: Path) -> np.ndarray:
    """uint8 (H, W, 3) of one frame. A file cut short is read as far as it decodes, the rest filled in, with a
    warning naming it, as a video decoder shows a damaged frame: the frame keeps its place (and its label)."""
    try:
        return _decode_image(path)
    except OSError as exc:
        if not str(exc).startswith("image file is truncated"):
            raise
    log.warning("%s: image file is cut short; read as far as it decodes", path)
    previous, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, True
    try:
        return _decode_image(path)
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _decode_image(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _scaled(width: int, height: int, short_side: int | None) -> tuple[int, int]:
    if short_side is None:
        return width, height
    scale = short_side / min(width, height)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def extract_frames(
    video: str | Path, folder: str | Path, fps: float | None = None, short_side: int | None = None, quality: int = 90
) -> int:
    """Decode ``video`` once (PyAV, sequentially) and write its frames as JPEGs into ``folder``.

    ``fps``: keep, for each time ``k / fps``, the last frame shown at that time (ffmpeg's ``fps``
    filter); None keeps every frame. ``short_side``: resize so the shorter side has this length.
    Returns the number of frames written; raises ``av.FFmpegError`` / ``OSError`` on a broken file.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).unlink(missing_ok=True)
    written, source_fps = 0, 0.0
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        source_fps = float(stream.average_rate or stream.guessed_rate or 0.0)
        pending, start = None, None
        for position, frame in enumerate(container.decode(stream)):
            if fps is None:
                written = _save(frame, folder, written, short_side, quality)
                continue
            time = float(frame.time) if frame.time is not None else position / (source_fps or fps)
            start = time if start is None else start
            while pending is not None and time - start > written / fps + 1e-9:
                written = _save(
                    pending, folder, written, short_side, quality
                )  # ``pending`` is on screen at written / fps
            pending = frame
        if pending is not None:
            written = _save(pending, folder, written, short_side, quality)
    if written == 0:
        raise OSError(f"{video}: no frame decodes")
    marker = {"fps": fps or source_fps, "source": str(video), "num_frames": written}
    (folder / MARKER).write_text(json.dumps(marker))
    return written


def _save(frame: av.VideoFrame, folder: Path, index: int, short_side: int | None, quality: int) -> int:
    width, height = _scaled(frame.width, frame.height, short_side)
    image = (
        frame.to_image() if (width, height) == (frame.width, frame.height) else frame.reformat(width, height).to_image()
    )
    image.save(frame_path(folder, index), quality=quality)
    return index + 1
