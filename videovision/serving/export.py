"""Exports of a served classifier: ONNX (``torch.onnx.export(..., dynamo=True)``) and ``torch.export``
programs (``.pt2``) of the per-frame step model and of the fixed-length clip model; no TorchScript
(deprecated upstream).

The step model takes ``frame`` and the carried state tensors (``state0``, ``state1``, ...) and returns
``probs`` and the new state (``next_state0``, ...); ``meta.json`` beside the files records the state
shapes at batch 1, the input size, the normalisation and the class names, which is all a runtime needs.
The export needs a fixed-size state: an encoder that cannot stream (bidirectional RNN, non-causal
Transformer, 3D CNN) and the causal Transformer (whose kept frames grow every step) are refused.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch

from ..models.temporal import TransformerTemporal
from .model import ServedClassifier

META = "meta.json"
STEP_ONNX, CLIP_ONNX, STEP_PT2, CLIP_PT2 = "step.onnx", "clip.onnx", "step.pt2", "clip.pt2"
PARTS = (STEP_ONNX, STEP_PT2, CLIP_ONNX, CLIP_PT2)


def check_step_exportable(served: ServedClassifier) -> None:
    """Raise with the reason when the step model cannot be exported."""
    served.encoder.check_streamable()
    if isinstance(getattr(served.encoder, "temporal", None), TransformerTemporal):
        raise RuntimeError(
            "the causal Transformer's streaming state (the frames kept so far) grows every step, so its step has "
            "no fixed-shape export; export the clip model (--clip-only) or use an RNN temporal model"
        )


def step_example(served: ServedClassifier, size: int) -> tuple[torch.Tensor, ...]:
    """A random frame at batch 1 and the zero state that goes with it."""
    frame = torch.randn(1, 3, size, size)
    return (frame, *served.step_model().initial_state(frame))


def export_classifier(
    served: ServedClassifier,
    out_dir: str | Path,
    size: int | None = None,
    clip_len: int | None = None,
    parts: tuple[str, ...] = PARTS,
) -> dict[str, Path]:
    """Write ``parts`` (of ``step.onnx``, ``step.pt2``, ``clip.onnx``, ``clip.pt2``) and ``meta.json`` to
    ``out_dir`` for frames of ``size`` pixels (default: the run's crop) and clips of ``clip_len`` frames."""
    if unknown := set(parts) - set(PARTS):
        raise ValueError(f"unknown export parts {sorted(unknown)}: choose from {PARTS}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    size = size or served.preprocess.size
    clip_len = clip_len or served.clip_len
    written: dict[str, Path] = {}
    meta = {
        "checkpoint": served.checkpoint,
        "classes": served.classes,
        "preprocess": asdict(served.preprocess.at(size)),
        "clip_len": clip_len,
        "stride": served.stride,  # frames between classified frames when the rate is unknown
        "target_fps": served.target_fps,  # else about this many a second (ServedClassifier.stride_at)
    }
    with torch.no_grad():
        if STEP_ONNX in parts or STEP_PT2 in parts:
            check_step_exportable(served)
            example = step_example(served, size)
            model = served.step_model()
            names = [f"state{i}" for i in range(len(example) - 1)]
            meta["state_shapes"] = [list(s.shape) for s in example[1:]]
            if STEP_ONNX in parts:
                written[STEP_ONNX] = _onnx(model, example, out_dir / STEP_ONNX, ["frame", *names], ["probs"], names)
            if STEP_PT2 in parts:
                written[STEP_PT2] = _program(model, example, out_dir / STEP_PT2)
        clip = (torch.randn(1, clip_len, 3, size, size),)
        model = served.clip_model()
        if CLIP_ONNX in parts:
            written[CLIP_ONNX] = _onnx(model, clip, out_dir / CLIP_ONNX, ["clips"], ["probs"], [])
        if CLIP_PT2 in parts:
            written[CLIP_PT2] = _program(model, clip, out_dir / CLIP_PT2)
    (out_dir / META).write_text(json.dumps(meta, indent=2))
    written[META] = out_dir / META
    return written


def _onnx(
    model: torch.nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str], state: list[str]
) -> Path:
    onnx_program = torch.onnx.export(
        model,
        args,
        input_names=inputs,
        output_names=[*outputs, *(f"next_{name}" for name in state)],
        dynamo=True,
        external_data=False,
        verbose=False,
    )
    onnx_program.save(str(path))
    return path


def _program(model: torch.nn.Module, args: tuple, path: Path) -> Path:
    torch.export.save(torch.export.export(model, args), str(path))
    return path


def load_meta(export_dir: str | Path) -> dict:
    path = Path(export_dir) / META
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: export the model first (python -m videovision export --ckpt ...)")
    return json.loads(path.read_text())
