"""Video decoding: probe a file's real length once, then read only the frames a clip needs.

Three backends:

- ``decord``: fast random access (seeks to the keyframe before each request).
- ``pyav``: decodes from the keyframe before the first wanted frame (or, where the probe found
  seeking unreliable, from the start), counting frames exactly. Slower, but right on the files
  where decord returns wrong frames or claims more frames than decode (dmlc/decord #373, #195).
- ``frames``: a folder of JPEG frames (:mod:`data_modules.frame_folders`) instead of a file.

:func:`probe_video` decodes every frame once with PyAV (the truth), keeps a few frames (after
keyframes, and spread over the video), and asks decord for the same frames by random access; a
different frame count or any differing pixel routes the file to ``pyav``, whose keyframe seeks are
checked against the same frames (and kept only if they agree). The result is cached per dataset
(:mod:`data_modules.metadata`) so that later epochs open only what they read.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import av
import numpy as np
import torch
from torchvision.transforms.v2 import functional as F

from .frame_folders import FrameFolderError, count_frames, folder_fps, read_frame_files

log = logging.getLogger(__name__)
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
    keyframes: tuple[tuple[int, int], ...] = ()  # (frame index, pts) the pyav backend may seek to
    truncated: bool = False  # fewer frames decode than the container declares: used up to the last good one

    def __post_init__(self) -> None:  # the metadata cache (JSON) gives lists
        object.__setattr__(self, "keyframes", tuple(map(tuple, self.keyframes)))


def probe_video(path: str) -> VideoMeta:
    """Decode ``path`` once with PyAV to learn its real length; choose the backend that reads it right."""
    if not os.path.exists(path):
        raise VideoDecodeError(f"{path}: missing file")
    if os.path.isdir(path):
        return _probe_frame_folder(path)
    if os.path.getsize(path) == 0:
        raise VideoDecodeError(f"{path}: empty file (0 bytes)")
    reference: dict[int, np.ndarray] = {}
    broken: Exception | None = None  # an error after some frames decoded: the file is cut or damaged there
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise VideoDecodeError(f"{path}: no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            fps = float(stream.average_rate or stream.guessed_rate or 0.0)
            width, height = stream.codec_context.width, stream.codec_context.height
            declared = _declared_frames(container, stream, fps)
            num_frames, last, keyframes, after_keyframe = 0, None, [], False
            try:
                for num_frames, frame in enumerate(container.decode(stream), start=1):
                    index = num_frames - 1
                    if len(reference) < _MAX_SPOT_CHECKS and (
                        (after_keyframe and len(keyframes) <= 8) or index % 50 == 25
                    ):
                        reference[index] = frame.to_ndarray(format="rgb24")
                    if frame.key_frame:
                        keyframes.append((index, frame.pts))
                    after_keyframe = bool(frame.key_frame)
                    last = frame
            except (av.FFmpegError, ValueError) as exc:
                broken = exc
            if last is not None:
                reference[num_frames - 1] = last.to_ndarray(format="rgb24")
    except VideoDecodeError:
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise VideoDecodeError(f"{path}: {exc}") from exc
    if num_frames == 0:
        raise VideoDecodeError(f"{path}: no frame decodes" + (f" ({broken})" if broken else ""))
    # a container's declared length is approximate (mid-GOP cuts, VFR): only a clear shortfall is a cut file
    truncated = broken is not None or declared > 1.05 * num_frames + 2
    if truncated:
        log.warning("%s: truncated: %d of %s frames decode; using those", path, num_frames, declared or "?")
    if not truncated and _decord_agrees(path, num_frames, reference):
        return VideoMeta(num_frames, fps, width, height, "decord")
    seekable = tuple((i, pts) for i, pts in keyframes if i > 0 and pts is not None)
    if seekable and not _seeks_agree(path, seekable, reference):
        seekable = ()
    return VideoMeta(num_frames, fps, width, height, "pyav", seekable, truncated)


def _declared_frames(container: av.container.InputContainer, stream: av.VideoStream, fps: float) -> int:
    """The length a file's header claims (0 if none): AVI headers count frames; elsewhere the duration
    times the frame rate (an MP4's sample count includes pre-roll frames a mid-GOP cut never shows)."""
    if container.format.name == "avi" and stream.frames:
        return stream.frames
    return round((container.duration or 0) / av.time_base * fps) or stream.frames


def _probe_frame_folder(path: str) -> VideoMeta:
    """Count the frames of a JPEG folder and open its first and last frame."""
    try:
        num_frames = count_frames(path)
        if num_frames == 0:
            raise VideoDecodeError(f"{path}: no numbered image files (not a frame folder)")
        first, _ = read_frame_files(path, np.array([0, num_frames - 1]))
    except OSError as exc:
        raise _decode_error(path, exc) from exc
    return VideoMeta(num_frames, folder_fps(path), first.shape[1], first.shape[0], "frames")


def _decode_error(path: str, exc: Exception) -> VideoDecodeError:
    """``exc`` as a :class:`VideoDecodeError` naming ``path``; a frame folder's error names the folder or the image
    file already."""
    return VideoDecodeError(str(exc) if isinstance(exc, FrameFolderError) else f"{path}: {exc}")


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


def _seeks_agree(path: str, keyframes: tuple[tuple[int, int], ...], reference: dict[int, np.ndarray]) -> bool:
    """Whether reading each reference frame through a keyframe seek gives the sequential decode's frame."""
    try:
        return all(
            np.array_equal(_read_pyav(path, np.array([i]), keyframes)[0], expected)
            for i, expected in sorted(reference.items())
        )
    except Exception:  # a seek PyAV cannot do is a seek we do not use
        return False


def read_frames(path: str, indices: np.ndarray, meta: VideoMeta, size: tuple[int, int] | None = None) -> np.ndarray:
    """Frames ``indices`` (any shape, values in ``[0, meta.num_frames)``) as uint8 ``(*indices.shape, H, W, 3)``.

    ``size`` = (height, width) resizes every frame with :func:`resize_frames`, the same resize whichever
    backend decoded them. Raises :class:`VideoDecodeError`.
    """
    wanted = np.unique(indices)
    if wanted[0] < 0 or wanted[-1] >= meta.num_frames:
        raise VideoDecodeError(f"{path}: frame {int(wanted[-1])} out of range (0..{meta.num_frames - 1})")
    try:
        if meta.backend == "decord":
            frames = _read_decord(path, wanted)
        elif meta.backend == "pyav":
            frames = _read_pyav(path, wanted, meta.keyframes)
        else:
            frames = read_frame_files(path, wanted)
    except Exception as exc:  # decord and PyAV raise many types for broken files
        if meta.backend == "frames" or (meta.backend == "pyav" and not meta.keyframes):
            if isinstance(exc, VideoDecodeError):
                raise
            raise _decode_error(path, exc) from exc
        try:  # the slow path that is right wherever the file decodes at all: sequential from the start
            frames = _read_pyav(path, wanted)
        except Exception as exc2:
            raise VideoDecodeError(f"{path}: {exc2}") from exc2
    if size is not None:
        frames = resize_frames(frames, size)
    return frames[np.searchsorted(wanted, indices)]


def iter_frame_chunks(path: str, meta: VideoMeta, chunk_frames: int = 1024) -> Iterator[np.ndarray]:
    """Every frame of a video in order, as uint8 ``(<= chunk_frames, H, W, 3)`` chunks, each frame decoded once.

    For a video too long to hold whole (a surveillance video of many minutes). ``decord`` and frame folders read
    each chunk by random access; ``pyav`` decodes the file once from the start, so a file without checked
    keyframes is not decoded again from its start for every chunk. A decord failure part-way through continues
    with that sequential decode from the first frame not yet given. Raises :class:`VideoDecodeError`.
    """
    done = 0
    if meta.backend != "pyav":
        reader = _read_decord if meta.backend == "decord" else read_frame_files
        try:
            for done in range(0, meta.num_frames, chunk_frames):
                yield reader(path, np.arange(done, min(done + chunk_frames, meta.num_frames)))
            return
        except Exception as exc:  # decord raises its own DECORDError and plain RuntimeErrors
            if meta.backend == "frames":
                if isinstance(exc, VideoDecodeError):
                    raise
                raise _decode_error(path, exc) from exc
            log.warning("%s: decord failed at frame %d (%s); decoding the rest with PyAV", path, done, exc)
    yield from _pyav_sequential_chunks(path, meta.num_frames, done, chunk_frames)


def _pyav_sequential_chunks(path: str, num_frames: int, first: int, chunk_frames: int) -> Iterator[np.ndarray]:
    """Frames ``first .. num_frames - 1`` of one sequential PyAV decode, ``chunk_frames`` at a time."""
    chunk: list[np.ndarray] = []
    position = 0
    try:
        with av.open(path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for position, frame in enumerate(container.decode(stream), start=1):
                if position > first:
                    chunk.append(frame.to_ndarray(format="rgb24"))
                if len(chunk) == chunk_frames or (chunk and position == num_frames):
                    yield np.stack(chunk)
                    chunk = []
                if position == num_frames:
                    return
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise VideoDecodeError(f"{path}: {exc}") from exc
    raise VideoDecodeError(f"{path}: only {position} of {num_frames} frames decode")


def resize_frames(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 (N, H, W, 3) -> uint8 (N, height, width, 3): bilinear with antialiasing (torchvision), the one
    resize of the data layer, so a file's pixels do not depend on which backend decoded it."""
    if frames.shape[1:3] == tuple(size):
        return frames
    video = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    return F.resize(video, list(size), antialias=True).permute(0, 2, 3, 1).contiguous().numpy()


def _read_decord(path: str, wanted: np.ndarray) -> np.ndarray:
    import decord

    reader = decord.VideoReader(path, num_threads=1)
    try:
        return reader.get_batch(wanted.tolist()).asnumpy()
    finally:
        del reader


def _read_pyav(path: str, wanted: np.ndarray, keyframes: tuple[tuple[int, int], ...] = ()) -> np.ndarray:
    """Decode from the last of ``keyframes`` (frame index, pts) at or before the first wanted frame,
    or from the start; frames are counted from there, so index i is the i-th frame a sequential
    decode gives. Leading frames that precede the keyframe in time (open GOPs) are skipped."""
    first = int(wanted[0])
    start_index, start_pts = max(((i, pts) for i, pts in keyframes if i <= first), default=(0, None))
    out: list[np.ndarray] = []
    targets = iter(wanted.tolist())
    target = next(targets)
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if start_pts is not None:
            container.seek(start_pts, stream=stream, backward=True, any_frame=False)
        position = start_index
        for frame in container.decode(stream):
            if start_pts is not None:
                if frame.pts is None or frame.pts < start_pts:
                    continue
                if frame.pts != start_pts:
                    raise VideoDecodeError(
                        f"{path}: seek to frame {start_index} landed on pts {frame.pts}, not {start_pts}"
                    )
                start_pts = None  # found the keyframe: count from here
            if position == target:
                out.append(frame.to_ndarray(format="rgb24"))
                target = next(targets, None)
                if target is None:
                    break
            position += 1
    if len(out) != len(wanted):
        raise VideoDecodeError(f"{path}: only {len(out)} of {len(wanted)} frames decode")
    return np.stack(out)
