"""Loading weights: the one module that opens checkpoint files.

Every load uses ``torch.load(..., weights_only=True)``: tensors are read, pickled code is refused.
A file that is no checkpoint at all (a ``.npy``, a README) is named as such, not with torch's
unpickling error.
"""

from __future__ import annotations

import itertools
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

STATE_PREFIX_ENCODER = "encoder."
RUN_CONFIG_KEY = "run_config"  # the composed config of the run that saved a checkpoint (videovision.cli.LoggedConfig)


class CheckpointError(ValueError):
    """A checkpoint path that names no file, or a file that is no checkpoint; the message names it."""


def check_checkpoint_file(path: str | Path) -> Path:
    """``path`` if it is a file ``torch.save`` wrote (a zip archive); else a message naming it."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"not a checkpoint: {path} (torch.save writes a zip archive; this file is not one)")
    return path


def load_checkpoint_file(path: str | Path) -> object:
    """Everything ``torch.save`` wrote to ``path`` (a Lightning checkpoint: ``state_dict``, ``classes``, ...),
    loaded with ``weights_only=True`` (no pickled code runs)."""
    path = check_checkpoint_file(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(
            f"{path}: refused to load: it is not a plain tensor checkpoint ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0]}). Only weights are accepted, never pickled code."
        ) from exc


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from ``path``, loaded with ``weights_only=True`` (no pickled code runs).

    Accepts a plain state dict or a Lightning checkpoint (its ``state_dict`` entry).
    """
    return _state_dict_of(load_checkpoint_file(path), path)


def _state_dict_of(obj: object, path: str | Path) -> dict[str, torch.Tensor]:
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: holds no state dict")
    return state


def objective_head_state(path: str | Path, head: nn.Module) -> dict[str, torch.Tensor] | None:
    """The weights of the first pretraining objective head (``objectives.<i>.head.*``) in ``path`` whose names are
    those of ``head`` (a VCOP head, a pace head, ...), or None when the checkpoint holds no such head. Shapes are
    not checked here: ``head.load_state_dict`` names a mismatch."""
    state, names = load_state_dict_file(path), set(head.state_dict())
    for i in itertools.count():
        prefix = f"objectives.{i}."
        if not any(k.startswith(prefix) for k in state):
            return None
        found = {k.removeprefix(prefix + "head."): v for k, v in state.items() if k.startswith(prefix + "head.")}
        if set(found) == names:
            return found


def load_objective_head(path: str | Path, head: nn.Module, owner: str) -> bool:
    """Load ``head`` from the pretraining objective head of the same kind in ``path`` (:func:`objective_head_state`);
    False when the checkpoint has none. A head of that kind but another size raises, naming ``path`` and ``owner``
    (what needs the head, e.g. ``OrderScorer(3 clips)``)."""
    state = objective_head_state(path, head)
    if state is None:
        return False
    try:
        head.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"{path}: its {type(head).__name__} does not fit {owner}: {exc}") from exc
    return True


def load_checkpoint_entry(path: str | Path, key: str) -> Any:
    """One top-level entry (``classes``, ``run_config``, ...) of a checkpoint, ``weights_only=True``;
    a checkpoint without it is named."""
    checkpoint = torch.load(check_checkpoint_file(path), map_location="cpu", weights_only=True)
    if not isinstance(checkpoint, dict) or key not in checkpoint:
        raise CheckpointError(f"{path}: holds no {key!r}; was it saved by a VideoVision run (0.2 or later)?")
    return checkpoint[key]


def is_weights_file(weights: str | None) -> bool:
    """Whether ``weights`` names a local file rather than a torchvision weights enum (``IMAGENET1K_V1``)."""
    return weights is not None and (
        Path(weights).suffix in (".pt", ".pth", ".ckpt") or "/" in weights or Path(weights).exists()
    )


def load_classifier_weights(net: nn.Module, path: str, arch: str, head: str = "fc.") -> None:
    """Load a torchvision classifier's weights from ``path`` into ``net``, ignoring its classifier (the keys
    starting with ``head``: ``fc.`` for ResNets, ``heads.`` for Vision Transformers)."""
    state = {k: v for k, v in load_state_dict_file(path).items() if not k.startswith(head)}
    try:
        missing, unexpected = net.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise ValueError(f"{path}: does not fit {arch}: {str(exc).splitlines()[1].strip()}") from exc
    if [k for k in missing if not k.startswith(head)] or unexpected:
        raise ValueError(f"{path}: does not fit {arch}: missing {missing[:5]}, unexpected {unexpected[:5]}")


def run_config_entry(checkpoint: object, key: str) -> dict | None:
    """The ``class_path`` + ``init_args`` at the dotted ``key`` (``model.init_args.encoder``) of a loaded checkpoint's
    run config, or None where it has none (a plain state dict, a checkpoint from before run configs were kept)."""
    entry = checkpoint.get(RUN_CONFIG_KEY, {}) if isinstance(checkpoint, dict) else {}
    for part in key.split("."):
        entry = entry.get(part, {}) if isinstance(entry, dict) else {}
    return entry if isinstance(entry, dict) and entry else None


def run_encoder_config(checkpoint: object) -> dict | None:
    """The encoder's ``class_path`` + ``init_args`` in a loaded checkpoint's run config (``model.init_args.encoder``),
    or None where it has none."""
    return run_config_entry(checkpoint, "model.init_args.encoder")


def checkpoint_frame_input(checkpoint: object) -> str:
    """What the encoder of a loaded VideoVision checkpoint read: ``rgb``, ``residual`` or ``normal_flow`` (``rgb`` for
    checkpoints saved before the option, and for plain state dicts)."""
    return (run_encoder_config(checkpoint) or {}).get("init_args", {}).get("frame_input") or "rgb"


def load_encoder_weights(encoder: nn.Module, checkpoint: str | Path) -> None:
    """Load the ``encoder.*`` weights of a VideoVision checkpoint (pretraining, probe, fine-tune) into ``encoder``.

    Weights learnt on one kind of frame input (RGB, residual frames, normal flow) are refused by an encoder that
    reads another: they would load (same shapes) and silently compute something else."""
    loaded = load_checkpoint_file(checkpoint)
    trained_on = checkpoint_frame_input(loaded)
    reads = getattr(encoder, "frame_input", trained_on)
    if reads != trained_on:
        raise ValueError(
            f"{checkpoint}: its encoder was trained on {trained_on} frames, this one reads {reads} frames: set "
            f"encoder.init_args.frame_input: {trained_on}, or use a checkpoint pretrained on {reads} frames"
        )
    state = _state_dict_of(loaded, checkpoint)
    weights = {k.removeprefix(STATE_PREFIX_ENCODER): v for k, v in state.items() if k.startswith(STATE_PREFIX_ENCODER)}
    if not weights:
        raise ValueError(f"{checkpoint}: no 'encoder.*' weights; is it a VideoVision pretraining checkpoint?")
    try:
        encoder.load_state_dict(weights)
    except RuntimeError as exc:
        raise ValueError(f"{checkpoint}: its encoder does not match model.encoder: {exc}") from exc
