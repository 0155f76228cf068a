"""Step runtimes behind one call, ``step(frame (1, 3, H, W) float32) -> probs (C,)``, each carrying its
own state: eager PyTorch (:class:`EagerStep`) or ONNX Runtime on an exported step (:class:`OrtStep`)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from .export import META, STEP_ONNX, export_classifier, load_meta
from .model import FrameStepModel, Preprocess, ServedClassifier

RUNTIMES = ("eager", "onnx")


class EagerStep:
    """The step model in PyTorch; the state starts at zero and is carried between calls."""

    def __init__(self, model: FrameStepModel) -> None:
        self.model = model.eval()
        self.state: tuple[torch.Tensor, ...] | None = None

    def reset(self) -> None:
        self.state = None

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(frame)
        with torch.inference_mode():
            if self.state is None:
                self.state = self.model.initial_state(x)
            probs, *state = self.model(x, *self.state)
        self.state = tuple(state)
        return probs[0].numpy()


class OrtStep:
    """An exported ``step.onnx`` in ONNX Runtime (CPU), with the state shapes its ``meta.json`` records."""

    def __init__(self, export_dir: str | Path, threads: int = 0) -> None:
        import onnxruntime as ort

        self.meta = load_meta(export_dir)
        if "state_shapes" not in self.meta:
            raise ValueError(f"{export_dir}: holds no step model (exported with the clip model only)")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        path = Path(export_dir) / STEP_ONNX
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.reset()

    def reset(self) -> None:
        self.state = [np.zeros(shape, np.float32) for shape in self.meta["state_shapes"]]

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        probs, *self.state = self.session.run(None, dict(zip(self.inputs, [frame, *self.state])))
        return probs[0]


def make_step(
    served: ServedClassifier, runtime: str, export_dir: str | Path | None = None, size: int | None = None, threads=0
) -> tuple[EagerStep | OrtStep, Preprocess]:
    """The step of ``served`` in ``runtime`` and the preprocessing for it. ``onnx`` uses the export in
    ``export_dir``, exporting there first when it is missing or was made from another checkpoint or size."""
    preprocess = served.preprocess.at(size)
    if runtime == "eager":
        return EagerStep(served.step_model()), preprocess
    if runtime != "onnx":
        raise ValueError(f"unknown runtime {runtime!r}: choose one of {RUNTIMES}")
    if export_dir is None:
        raise ValueError("runtime 'onnx' needs an export folder (--export-dir)")
    meta_path = Path(export_dir) / META
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    made_for = json.loads(json.dumps(asdict(preprocess)))  # as meta.json holds it (lists, not tuples)
    fresh = meta.get("checkpoint") == served.checkpoint and meta.get("preprocess") == made_for
    if not (fresh and (Path(export_dir) / STEP_ONNX).is_file()):
        export_classifier(served, export_dir, size=preprocess.size, parts=(STEP_ONNX,))
    return OrtStep(export_dir, threads), preprocess
