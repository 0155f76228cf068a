"""Streaming a SOURCE (video file, frame folder, camera device, RTSP/HTTP URL) through a step model.

A :class:`FrameReader` thread decodes beside inference into a small queue. With ``drop`` (live
sources, or a file played in real time), a frame that finds the queue full pushes out the oldest
waiting one, which is counted as dropped, so inference never falls behind the source; without it
the reader waits and every frame is processed. :func:`run_stream` hands each frame to a session (which
carries every state) and reports per-frame outputs and latencies.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import av
import numpy as np
from PIL import Image

from data_modules.frame_folders import folder_fps, frame_files

LIVE_PREFIXES = ("rtsp://", "rtmp://", "http://", "https://", "udp://", "tcp://", "/dev/video")


def is_live(source: str) -> bool:
    """A camera (``0``, ``/dev/video0``) or a network stream, whose frames come at their own pace."""
    return source.isdigit() or source.startswith(LIVE_PREFIXES)


def check_source(source: str) -> None:
    """Raise :class:`FileNotFoundError` for a local source that does not exist."""
    if not (is_live(source) or "://" in source or os.path.exists(source)):
        raise FileNotFoundError(f"stream source not found: {source} (a video file, frame folder, camera or URL)")


def _open_container(source: str) -> av.container.InputContainer:
    check_source(source)
    if source.isdigit() or source.startswith("/dev/video"):
        return av.open(f"/dev/video{source}" if source.isdigit() else source, format="v4l2")
    if source.startswith("rtsp://"):
        return av.open(source, options={"rtsp_transport": "tcp"}, timeout=10)
    return av.open(source, timeout=10 if "://" in source else None)


def scaled_size(width: int, height: int, short_side: int | None) -> tuple[int, int]:
    if short_side is None:
        return width, height
    scale = short_side / min(width, height)
    return max(short_side, round(width * scale)), max(short_side, round(height * scale))


def source_size(source: str) -> tuple[int, int]:
    """(width, height) of the source's frames."""
    if os.path.isdir(source):
        with Image.open(frame_files(source)[0]) as image:
            return image.size
    with _open_container(source) as container:
        context = container.streams.video[0].codec_context
        if context.width and context.height:
            return context.width, context.height
        frame = next(container.decode(video=0))
        return frame.width, frame.height


def source_fps(source: str) -> float:
    """Frames per second the source declares (0.0 when unknown)."""
    if os.path.isdir(source):
        return folder_fps(source)
    with _open_container(source) as container:
        stream = container.streams.video[0]
        return float(stream.average_rate or stream.guessed_rate or 0.0)


def decode_frames(source: str, short_side: int | None = None, every: int = 1) -> Iterator[tuple[int, np.ndarray]]:
    """``(index, uint8 (H, W, 3))`` of every ``every``-th frame of ``source``, the short side scaled to
    ``short_side`` while converting to RGB (skipped frames are decoded but never converted)."""
    if os.path.isdir(source):
        for index, path in enumerate(frame_files(source)):
            if index % every == 0:
                with Image.open(path) as image:
                    image = image.convert("RGB")
                    yield index, np.array(image.resize(scaled_size(*image.size, short_side), Image.BILINEAR))
        return
    with _open_container(source) as container:
        if not container.streams.video:
            raise ValueError(f"{source}: no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for index, frame in enumerate(container.decode(stream)):
            if index % every == 0:
                width, height = scaled_size(frame.width, frame.height, short_side)
                yield index, frame.to_ndarray(format="rgb24", width=width, height=height)


class FrameReader(threading.Thread):
    """Decodes ``source`` in a thread; iterate it for ``(index, decoded_at, frame)``.

    ``drop``: keep at most ``queue_size`` frames waiting and drop the oldest when full (counted in
    :attr:`dropped`); ``pace_fps``: release frames no faster than this rate (a file played as live).
    """

    def __init__(
        self,
        source: str,
        short_side: int | None = None,
        every: int = 1,
        drop: bool = False,
        pace_fps: float = 0.0,
        queue_size: int = 2,
    ) -> None:
        super().__init__(daemon=True, name=f"decode {source}")
        self.source, self.short_side, self.every = source, short_side, every
        self.drop, self.pace_fps = drop, pace_fps
        self.frames: queue.Queue = queue.Queue(queue_size)
        self.dropped = 0
        self.error: BaseException | None = None
        self._halt = threading.Event()

    def run(self) -> None:
        start = time.perf_counter()
        try:
            for index, frame in decode_frames(self.source, self.short_side, self.every):
                if self._halt.is_set():
                    break
                if self.pace_fps:
                    time.sleep(max(0.0, start + index / self.pace_fps - time.perf_counter()))
                self._put((index, time.perf_counter(), frame))
        except BaseException as exc:  # handed to the consumer, which raises it
            self.error = exc
        finally:
            self._put(None)

    def _put(self, item: tuple | None) -> None:
        if not self.drop or item is None:
            while not self._halt.is_set():
                try:
                    self.frames.put(item, timeout=0.1)
                    return
                except queue.Full:
                    continue
            return
        while True:
            try:
                self.frames.put_nowait(item)
                return
            except queue.Full:
                try:
                    self.frames.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def stop(self) -> None:
        self._halt.set()

    def __iter__(self) -> Iterator[tuple[int, float, np.ndarray]]:
        if not self.is_alive() and self.ident is None:
            self.start()
        while (item := self.frames.get()) is not None:
            yield item
        if self.error is not None:
            raise self.error


@dataclass
class FrameOutput:
    """One streamed frame: its index in the source, what ``process`` gave for it, and how long it took."""

    index: int
    outputs: dict
    latency_ms: float  # from decoded to output ready (waiting in the queue included)
    compute_ms: float  # ``process``: preprocessing + the models


@dataclass
class StreamStats:
    processed: int = 0
    dropped: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    compute_ms: list[float] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.processed / self.seconds if self.seconds else 0.0

    def percentiles(self, values: list[float] | None = None) -> dict[str, float]:
        values = self.latencies_ms if values is None else values
        if not values:
            return {}
        p50, p90, p99 = np.percentile(values, [50, 90, 99])
        return {"p50": float(p50), "p90": float(p90), "p99": float(p99)}

    def summary(self) -> dict:
        return {
            "frames": self.processed,
            "dropped": self.dropped,
            "seconds": round(self.seconds, 3),
            "fps": round(self.fps, 2),
            "latency_ms": {k: round(v, 2) for k, v in self.percentiles().items()},
            "compute_ms": {k: round(v, 2) for k, v in self.percentiles(self.compute_ms).items()},
        }


def run_stream(
    reader: FrameReader,
    process: Callable[[int, np.ndarray], dict],
    on_output: Callable[[FrameOutput], None] | None = None,
    max_frames: int | None = None,
) -> StreamStats:
    """Feed every ``(index, frame)`` ``reader`` yields to ``process`` (a
    :class:`~videovision.serving.session.Session`, or any callable that carries its own state)."""
    stats = StreamStats()
    start = time.perf_counter()
    try:
        for index, decoded_at, frame in reader:
            begin = time.perf_counter()
            outputs = process(index, frame)
            done = time.perf_counter()
            stats.processed += 1
            stats.latencies_ms.append(1000 * (done - decoded_at))
            stats.compute_ms.append(1000 * (done - begin))
            if on_output is not None:
                on_output(FrameOutput(index, outputs, stats.latencies_ms[-1], stats.compute_ms[-1]))
            if max_frames is not None and stats.processed >= max_frames:
                break
    finally:
        reader.stop()
    stats.seconds = time.perf_counter() - start
    stats.dropped = reader.dropped
    return stats
