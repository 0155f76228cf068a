"""``videovision export``: a classifier checkpoint as ONNX and ``torch.export`` programs (the per-frame step
model with its carried state, and the fixed-length clip model), each checked against eager PyTorch."""

from __future__ import annotations

import argparse

import numpy as np
import torch

from ..serving.export import CLIP_ONNX, CLIP_PT2, PARTS, STEP_ONNX, STEP_PT2, export_classifier, step_example
from ..serving.model import DEMO_PROBE, load_classifier


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="videovision export", description=__doc__)
    parser.add_argument("--ckpt", default=str(DEMO_PROBE), help="VideoClassifier checkpoint (probe or fine-tune)")
    parser.add_argument("--config", help="the run config the checkpoint was trained with (default: the one it holds)")
    parser.add_argument("--out", default="runs/export", help="folder for step/clip .onnx, .pt2 and meta.json")
    parser.add_argument("--size", type=int, help="input size in pixels (default: the run's crop size)")
    parser.add_argument("--clip-len", type=int, help="frames of the clip model (default: the run's clip length)")
    parser.add_argument("--clip-only", action="store_true", help="skip the step model (encoders that cannot stream)")
    args = parser.parse_args(argv)
    served = load_classifier(args.ckpt, args.config)
    parts = (CLIP_ONNX, CLIP_PT2) if args.clip_only else PARTS
    written = export_classifier(served, args.out, args.size, args.clip_len, parts)
    size = args.size or served.preprocess.size
    errors = {}
    with torch.no_grad():
        clip = torch.randn(1, args.clip_len or served.clip_len, 3, size, size)
        expected = served.clip_model()(clip).numpy()
        errors[CLIP_ONNX] = _max_error(_onnx(written[CLIP_ONNX], [clip]), expected)
        errors[CLIP_PT2] = _max_error(torch.export.load(str(written[CLIP_PT2])).module()(clip), expected)
        if not args.clip_only:
            example = step_example(served, size)
            expected = served.step_model()(*example)[0].numpy()
            errors[STEP_ONNX] = _max_error(_onnx(written[STEP_ONNX], example), expected)
            errors[STEP_PT2] = _max_error(torch.export.load(str(written[STEP_PT2])).module()(*example)[0], expected)
    for name, error in errors.items():
        print(f"{args.out}/{name}: max |export - eager| = {error:.2e}")
    if max(errors.values()) > 1e-4:
        raise SystemExit(f"an export differs from eager PyTorch by more than 1e-4: {errors}")
    return {name: str(path) for name, path in written.items()}


def _onnx(path, inputs: list[torch.Tensor]) -> np.ndarray:
    import onnxruntime as ort  # the `serve` extra

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, {n: x.numpy() for n, x in zip(names, inputs)})[0]


def _max_error(actual, expected: np.ndarray) -> float:
    return float(np.abs(np.asarray(actual) - expected).max())
