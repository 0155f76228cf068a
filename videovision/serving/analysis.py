"""One uploaded video analysed by a :class:`~videovision.serving.session.Session`: per-frame class probabilities
from the streaming step, the video's top classes by the run's test protocol (the softmax of ``num_clips`` evenly
spaced clips, averaged), and with a scorer / a first-frame box every frame's anomaly score / box."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

from .session import Analysers, Box
from .stream import decode_frames

log = logging.getLogger(__name__)

PREVIEW_SHORT_SIDE = 240


def analyse_video(
    path: str | Path,
    analysers: Analysers,
    total_frames: int,
    source_size: tuple[int, int],
    box: Box | None = None,
    progress: Callable[[float], None] | None = None,
    fps: float = 0.0,
) -> dict:
    """``{"top": [{"label", "prob"}...], "frames": [{"frame", "probs"}...], "classes", "stride", "anomaly",
    "boxes"}`` for the video at ``path`` (``total_frames`` long, ``source_size`` (W, H)): the classifier streams
    every ``stride``-th frame (the run's spacing at the video's ``fps``); ``anomaly`` (one score per frame) is None
    without a scorer, ``boxes`` (``[x, y, w, h]`` per frame, source pixels) None without a first-frame ``box``."""
    served = analysers.served
    stride = analysers.stride_at(fps)
    every = 1 if analysers.every_frame(box) else stride
    session = analysers.session(box, source_size, keep=True, fps=fps)
    frames, boxes = [], []
    short_side = None if analysers.anomaly else analysers.short_side(box)  # native, as `anomaly score` decodes
    for n, (index, frame) in enumerate(decode_frames(str(path), short_side, every), start=1):
        out = session(index, frame)
        if "probs" in out:
            frames.append({"frame": index, "probs": out["probs"]})
        if "box" in out:
            boxes.append(out["box"])
        if progress is not None and n % 4 == 0:
            progress(min(0.99, n * every / max(1, total_frames)))
    if not frames:
        raise ValueError(f"{path}: no frame decodes")
    whole = session.finish()
    probs = whole["clip_probs"]
    top = [{"label": served.classes[i], "prob": round(float(probs[i]), 5)} for i in np.argsort(probs)[::-1]]
    return {
        "top": top[: analysers.top_k],
        "frames": frames,
        "classes": served.classes,
        "stride": stride,
        "anomaly": whole.get("anomaly"),
        "boxes": boxes if box is not None else None,
    }


def write_preview(source: str | Path, target: str | Path, short_side: int = PREVIEW_SHORT_SIDE) -> Path | None:
    """A VP9 WebM copy of ``source`` that any browser plays, no larger than ``short_side`` pixels (libvpx-vp9 in
    real-time mode: about 4x faster than VP8's libvpx here). A file that stops decoding part way (truncated) gives
    the frames before that; one that PyAV cannot open gives none (None). Either is logged, naming the file: a
    preview never fails the analysis it shows."""
    try:
        src = av.open(str(source))
    except (av.FFmpegError, EOFError) as exc:
        log.warning("%s: no preview, PyAV cannot open it (%s)", source, exc)
        return None
    if not src.streams.video:
        src.close()
        log.warning("%s: no preview, PyAV finds no video stream in it", source)
        return None
    with src, av.open(str(target), "w", format="webm") as out:
        stream = src.streams.video[0]
        video, frames = None, src.decode(stream)
        while True:
            try:
                frame = next(frames)
            except StopIteration:
                break
            except (av.FFmpegError, EOFError) as exc:
                log.warning("%s: the preview stops where PyAV cannot decode on (%s)", source, exc)
                break
            if video is None:
                scale = min(1.0, short_side / min(frame.width, frame.height))
                video = out.add_stream("libvpx-vp9", rate=stream.average_rate or 25)
                video.width, video.height = 2 * round(frame.width * scale / 2), 2 * round(frame.height * scale / 2)
                video.pix_fmt = "yuv420p"
                video.options = {"deadline": "realtime", "cpu-used": "8", "row-mt": "1", "crf": "20", "b": "0"}
            image = frame.reformat(video.width, video.height, "yuv420p")
            image.pts = None
            out.mux(video.encode(image))
        if video is not None:
            out.mux(video.encode())
    if video is None:  # not one frame decoded
        Path(target).unlink(missing_ok=True)
        return None
    return Path(target)
