"""One uploaded video analysed: per-frame class probabilities from the streaming step, and the video's
top classes by the run's test protocol (the softmax of ``num_clips`` evenly spaced clips, averaged)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import torch

from .model import ServedClassifier
from .runtime import EagerStep, OrtStep
from .stream import decode_frames

PREVIEW_SHORT_SIDE = 240


def analyse_video(
    path: str | Path,
    served: ServedClassifier,
    step: EagerStep | OrtStep,
    total_frames: int,
    top_k: int = 5,
    progress: Callable[[float], None] | None = None,
) -> dict:
    """``{"top": [{"label", "prob"}...], "frames": [{"frame", "probs"}...], "classes", "stride"}`` for the video
    at ``path`` (``total_frames`` long), streaming every ``served.stride``-th frame through ``step``."""
    stride = served.stride
    expected = max(1, -(-total_frames // stride))
    step.reset()
    frames, inputs = [], []
    for n, (index, frame) in enumerate(decode_frames(str(path), served.preprocess.resize, stride), start=1):
        x = served.preprocess(frame[None])
        inputs.append(x[0])
        frames.append({"frame": index, "probs": [round(float(p), 5) for p in step(x.numpy())]})
        if progress is not None and n % 4 == 0:
            progress(min(0.99, n / expected))
    if not frames:
        raise ValueError(f"{path}: no frame decodes")
    probs = _clip_protocol(served, torch.stack(inputs))
    order = np.argsort(probs)[::-1][:top_k]
    top = [{"label": served.classes[i], "prob": round(float(probs[i]), 5)} for i in order]
    return {"top": top, "frames": frames, "classes": served.classes, "stride": stride}


def _clip_protocol(served: ServedClassifier, inputs: torch.Tensor) -> np.ndarray:
    """Mean softmax over ``num_clips`` clips of ``clip_len`` consecutive inputs, evenly spaced (looping a short
    video), as :class:`~data_modules.UniformClipSampler` at the run's stride."""
    n, t = len(inputs), served.clip_len
    starts = np.round(np.linspace(0, max(0, n - t), served.num_clips)).astype(int)
    index = (starts[:, None] + np.arange(t)[None]) % n
    with torch.inference_mode():
        return served.clip_model()(inputs[torch.from_numpy(index)]).mean(0).numpy()


def write_preview(source: str | Path, target: str | Path, short_side: int = PREVIEW_SHORT_SIDE) -> Path:
    """A VP9 WebM copy of ``source`` that any browser plays, no larger than ``short_side`` pixels (libvpx-vp9 in
    real-time mode: about 4x faster than VP8's libvpx here)."""
    with av.open(str(source)) as src:
        stream = src.streams.video[0]
        fps = stream.average_rate or 25
        with av.open(str(target), "w", format="webm") as out:
            video = None
            for frame in src.decode(stream):
                if video is None:
                    scale = min(1.0, short_side / min(frame.width, frame.height))
                    video = out.add_stream("libvpx-vp9", rate=fps)
                    video.width, video.height = 2 * round(frame.width * scale / 2), 2 * round(frame.height * scale / 2)
                    video.pix_fmt = "yuv420p"
                    video.options = {"deadline": "realtime", "cpu-used": "8", "row-mt": "1", "crf": "20", "b": "0"}
                image = frame.reformat(video.width, video.height, "yuv420p")
                image.pts = None
                out.mux(video.encode(image))
            if video is not None:
                out.mux(video.encode())
    return Path(target)
