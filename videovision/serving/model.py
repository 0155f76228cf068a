"""A trained :class:`~videovision.tasks.VideoClassifier` made ready to serve.

:func:`load_classifier` rebuilds the model from its run config and checkpoint (``classes`` included);
:class:`FrameStepModel` (one frame + carried state -> class probabilities + state) and :class:`ClipModel`
(a fixed-length clip -> class probabilities) are the two models that streaming, export and the server run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torchvision.transforms.v2.functional as TF
from torch import nn

from data_modules.clip_samplers import frame_step

from .. import runs
from ..checkpoints import RUN_CONFIG_KEY, load_checkpoint_file
from ..config import compose
from ..models.encoder import ClipEncoder, State

DEMO_PRETRAIN = Path("runs/demo/pretrain/checkpoints/last.ckpt")
DEMO_PROBE = Path("runs/demo/probe/checkpoints/last.ckpt")


class FrameStepModel(nn.Module):
    """``forward(frame (N, 3, H, W), *state) -> (probs (N, C), *state)``: the streaming step of an encoder
    plus its linear head (what ``stream`` runs and what the step exports hold)."""

    def __init__(self, encoder: ClipEncoder, head: nn.Module) -> None:
        super().__init__()
        encoder.check_streamable()
        self.encoder, self.head = encoder, head

    def initial_state(self, frame: torch.Tensor) -> State:
        return self.encoder.initial_state(frame)

    def forward(self, frame: torch.Tensor, *state: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out, state = self.encoder.step(frame, state)
        return (self.head(out).softmax(-1), *state)


class ClipModel(nn.Module):
    """``forward(clips (N, T, 3, H, W)) -> probs (N, C)``: one clip's class probabilities."""

    def __init__(self, encoder: ClipEncoder, head: nn.Module) -> None:
        super().__init__()
        self.encoder, self.head = encoder, head

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(clips)).softmax(-1)


@dataclass
class Preprocess:
    """Decoded frames -> model input, as the run's ``EvalTransform``: short side resized to ``resize``, centre crop
    ``size``, normalised. ``__call__``: uint8 ``(T, H, W, 3)`` -> float ``(T, 3, size, size)``."""

    resize: int
    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def __call__(self, frames: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
        if min(x.shape[-2:]) != self.resize:
            x = TF.resize(x, [self.resize], antialias=True)
        h, w, c = x.shape[-2], x.shape[-1], self.size
        top, left = (h - c) // 2, (w - c) // 2  # EvalTransform's offsets
        x = x[..., top : top + c, left : left + c].float().div_(255)
        mean, std = torch.tensor(self.mean).view(1, 3, 1, 1), torch.tensor(self.std).view(1, 3, 1, 1)
        return x.sub_(mean).div_(std)

    def at(self, size: int | None) -> Preprocess:
        """The same normalisation for frames of another size (the encoder is fully convolutional); itself for
        its own size or None."""
        return self if size in (None, self.size) else Preprocess(size, size, self.mean, self.std)


@dataclass
class ServedClassifier:
    """Encoder + head in eval mode, the class names, the input preprocessing and the clip sampling of the run."""

    encoder: ClipEncoder
    head: nn.Module
    classes: list[str]
    preprocess: Preprocess
    clip_len: int
    stride: int
    num_clips: int
    checkpoint: str
    target_fps: float | None = None

    def stride_at(self, fps: float) -> int:
        """Frames between two classified frames of a video at ``fps``: about the run's ``target_fps`` (its samplers'
        rule), else, or when the rate is unknown (0), its ``stride``."""
        return frame_step(fps, self.stride, self.target_fps)

    def step_model(self) -> FrameStepModel:
        return FrameStepModel(self.encoder, self.head).eval()

    def clip_model(self) -> ClipModel:
        return ClipModel(self.encoder, self.head).eval()


def load_classifier(checkpoint: str | Path, config: str | Path | None = None) -> ServedClassifier:
    """The classifier of ``checkpoint`` (a probe or fine-tune checkpoint, which names its ``classes``), built from
    the run config it was trained with: the one saved in it (its encoder, frame input and views, whatever the run's
    overrides were), or ``config``."""
    entries = load_checkpoint_file(checkpoint)
    classes = list(entries.get("classes") or []) if isinstance(entries, dict) else []
    if not classes:
        raise ValueError(
            f"{checkpoint}: names no classes; serve a VideoClassifier checkpoint (a probe or fine-tune run's)"
        )
    if config is None:
        config = entries.get(RUN_CONFIG_KEY)
        if config is None:
            raise ValueError(f"{checkpoint}: holds no run config; pass --config, the run config it was trained with")
    unread = {"class_path": "data_modules.VideoFolder", "init_args": {"root": str(Path(checkpoint).parent)}}
    overrides = {"model.init_args.num_classes": len(classes), "model.init_args.pretrained": None}
    # The training videos need not be here: only the data module's test-time views and sizes are used.
    cli = runs.build(config, {**runs.QUIET, **overrides, "data.init_args.reader": unread})
    model = cli.model
    try:
        model.load_state_dict(entries["state_dict"])
    except (KeyError, RuntimeError) as exc:
        source = "its saved run config" if isinstance(config, dict) else config
        raise ValueError(
            f"{checkpoint}: does not fit the model of {source} (pass --config, the run config it was trained with): "
            f"{' '.join(str(exc).split())[:500]}"
        ) from exc
    model.eval()
    data = cli.datamodule
    data.load_state_dict(entries.get(type(data).__qualname__) or {})  # the frame size 'auto' resolved to
    transform, sampler = data.eval_transform, data.eval_sampler
    if transform.resize is None or transform.crop_size == "auto":
        raise ValueError(
            f"{checkpoint}: records no frame size, and its run config sizes frames 'auto' from the training data. "
            "Train it again (checkpoints now record the size) or set data.init_args.eval_transform's resize/crop_size"
        )
    preprocess = Preprocess(
        transform.resize.size[0],
        transform.crop_size,
        tuple(transform.mean.flatten().tolist()),
        tuple(transform.std.flatten().tolist()),
    )
    return ServedClassifier(
        model.encoder,
        model.head,
        classes,
        preprocess,
        sampler.clip_len,
        sampler.stride,
        sampler.num_clips,
        str(checkpoint),
        sampler.target_fps,
    )


def save_untrained_classifier(
    path: str | Path, classes: list[str], config: str | Path = "demo/probe.yaml", frame_size: int = 32
) -> Path:
    """A checkpoint of ``config``'s classifier with its initial weights, ``classes`` and, for sizes the config
    leaves ``auto``, ``frame_size`` (the demo's on moving digits), as a run records them (for timing and tests)."""
    cli = runs.build(config, {**runs.QUIET, "model.init_args.num_classes": len(classes)})
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    entries = {"state_dict": cli.model.state_dict(), "classes": list(classes), RUN_CONFIG_KEY: compose(config)}
    torch.save({**entries, type(cli.datamodule).__qualname__: {"frame_size": frame_size}}, path)
    return Path(path)


def ensure_demo_classifier() -> Path:
    """The demo's probe checkpoint (``make demo`` writes it), trained here first when absent: VCOP pretraining
    (``demo/pretrain.yaml``, unless its checkpoint exists) then the linear probe (``demo/probe.yaml``)."""
    if DEMO_PROBE.is_file():
        return DEMO_PROBE
    if not DEMO_PRETRAIN.is_file():
        runs.fit("demo/pretrain.yaml", runs.QUIET)
    runs.fit("demo/probe.yaml", {**runs.QUIET, "model.init_args.pretrained": str(DEMO_PRETRAIN)})
    return DEMO_PROBE
