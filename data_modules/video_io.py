"""Video decoding: probe a file's real length once, then read only the frames a clip needs.

Three backends:

- ``decord``: fast random access (seeks to the keyframe before each request).
- ``pyav``: sequential decode up to the last wanted frame. Slower, but right on the files where
  decord returns wrong frames or claims more frames than decode (dmlc/decord #373, #195).
- ``frames``: a folder of JPEG frames (:mod:`data_modules.frame_folders`) instead of a file.

:func:`probe_video` decodes every frame once with PyAV (the truth), keeps a few frames (after
keyframes, and spread over the video), and asks decord for the same frames by random access; a
different frame count or any differing pixel routes the file to ``pyav``. The result is cached per dataset
(:mod:`data_modules.metadata`) so that later epochs open only what they read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

import av
import numpy as np

from .frame_folders import count_frames, folder_fps, read_frame_files

Backend = Literal["decord", "pyav", "frames"]
# Containers where decord's random access was measured wrong (field notes: MPEG-TS).
_PYAV_ONLY_SUFFIXES = (".ts", ".m2ts", ".mts")


class VideoDecodeError(RuntimeError):
    """A video that cannot be decoded; the message names the file and the reason."""


@dataclass(frozen=True)
class VideoMeta:
    """What a dataset needs to know of one video, found by :func:`probe_video`."""

    num_frames: int
    fps: float
    width: int
    height: int
    backend: Backend


def probe_video(path: str) -> VideoMeta:
    """Decode ``path`` once with PyAV to learn its real length; choose the backend that reads it right."""
    if not os.path.exists(path):
        raise VideoDecodeError(f"{path}: missing file")
    if os.path.isdir(path):
        return _probe_frame_folder(path)
    if os.path.getsize(path) == 0:
        raise VideoDecodeError(f"{path}: empty file (0 bytes)")
    reference: dict[int, np.ndarray] = {}
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise VideoDecodeError(f"{path}: no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            num_frames, last, keyframes, after_keyframe = 0, None, 0, False
            for num_frames, frame in enumerate(container.decode(stream), start=1):
                index = num_frames - 1
                if len(reference) < _MAX_SPOT_CHECKS and ((after_keyframe and keyframes <= 8) or index % 50 == 25):
                    reference[index] = frame.to_ndarray(format="rgb24")
                keyframes += bool(frame.key_frame)
                after_keyframe = bool(frame.key_frame)
                last = frame
            if last is not None:
                reference[num_frames - 1] = last.to_ndarray(format="rgb24")
            fps = float(stream.average_rate or stream.guessed_rate or 0.0)
            width, height = stream.codec_context.width, stream.codec_context.height
    except VideoDecodeError:
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise VideoDecodeError(f"{path}: {exc}") from exc
    if num_frames == 0:
        raise VideoDecodeError(f"{path}: no frame decodes")
    backend: Backend = "decord" if _decord_agrees(path, num_frames, reference) else "pyav"
    return VideoMeta(num_frames, fps, width, height, backend)


def _probe_frame_folder(path: str) -> VideoMeta:
    """Count the frames of a JPEG folder and open its first and last frame."""
    try:
        num_frames = count_frames(path)
        if num_frames == 0:
            raise VideoDecodeError(f"{path}: no img_00001.jpg (not a frame folder)")
        first, _ = read_frame_files(path, np.array([0, num_frames - 1]), None)
    except VideoDecodeError:
        raise
    except OSError as exc:
        raise VideoDecodeError(f"{path}: {exc}") from exc
    return VideoMeta(num_frames, folder_fps(path), first.shape[1], first.shape[0], "frames")


# Frames kept to check decord against: the one after each of the first 8 keyframes (where open
# GOPs and mid-GOP cuts go wrong), every 50th frame, and the last; at most this many.
_MAX_SPOT_CHECKS = 24


def _decord_agrees(path: str, num_frames: int, reference: dict[int, np.ndarray]) -> bool:
    """Whether decord, seeking as a training loader does, returns the frames of a sequential decode."""
    if path.lower().endswith(_PYAV_ONLY_SUFFIXES):
        return False
    try:
        import decord

        reader = decord.VideoReader(path, num_threads=1)
        if len(reader) != num_frames:
            return False
        # one seek per frame, as random clips do
        return all(np.array_equal(reader[i].asnumpy(), expected) for i, expected in sorted(reference.items()))
    except Exception:  # decord raises its own DECORDError and plain RuntimeErrors
        return False


def read_frames(
    path: str, indices: np.ndarray, meta: VideoMeta, size: tuple[int, int] | None = None
) -> np.ndarray:
    """Frames ``indices`` (any shape, values in ``[0, meta.num_frames)``) as uint8 ``(*indices.shape, H, W, 3)``.

    ``size`` = (height, width) resizes at decode time. Raises :class:`VideoDecodeError`.
    """
    wanted = np.unique(indices)
    if wanted[0] < 0 or wanted[-1] >= meta.num_frames:
        raise VideoDecodeError(f"{path}: frame {int(wanted[-1])} out of range (0..{meta.num_frames - 1})")
    decode = {"decord": _read_decord, "pyav": _read_pyav, "frames": read_frame_files}[meta.backend]
    try:
        frames = decode(path, wanted, size)
    except VideoDecodeError:
        raise
    except Exception as exc:  # decord and PyAV raise many types for broken files
        if meta.backend == "decord":
            try:
                frames = _read_pyav(path, wanted, size)
            except Exception as exc2:
                raise VideoDecodeError(f"{path}: {exc2}") from exc2
        else:
            raise VideoDecodeError(f"{path}: {exc}") from exc
    return frames[np.searchsorted(wanted, indices)]


def _read_decord(path: str, wanted: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    import decord

    height, width = size or (-1, -1)
    reader = decord.VideoReader(path, num_threads=1, width=width, height=height)
    try:
        return reader.get_batch(wanted.tolist()).asnumpy()
    finally:
        del reader


def _read_pyav(path: str, wanted: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    out: list[np.ndarray] = []
    targets = iter(wanted.tolist())
    target = next(targets)
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for position, frame in enumerate(container.decode(stream)):
            if position < target:
                continue
            if size is not None:
                frame = frame.reformat(width=size[1], height=size[0])
            out.append(frame.to_ndarray(format="rgb24"))
            target = next(targets, None)
            if target is None:
                break
    if len(out) != len(wanted):
        raise VideoDecodeError(f"{path}: only {len(out)} of {len(wanted)} frames decode")
    return np.stack(out)
