"""Exports of the step and clip models: ONNX Runtime and torch.export programs agree with eager PyTorch."""

from __future__ import annotations

from functools import partial

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from tests.test_streaming import streaming_encoder
from videovision.models import RecurrentTemporal, TransformerTemporal
from videovision.serving.export import CLIP_ONNX, CLIP_PT2, STEP_ONNX, STEP_PT2, export_classifier, load_meta
from videovision.serving.model import Preprocess, ServedClassifier
from videovision.serving.runtime import EagerStep, OrtStep, make_step


def served_classifier(temporal=None, frame_input: str = "rgb") -> ServedClassifier:
    temporal = temporal or partial(RecurrentTemporal, cell="lstm", hidden_size=16)
    encoder = streaming_encoder(temporal, refiner_layers=1, frame_input=frame_input)
    head = nn.Sequential(nn.BatchNorm1d(encoder.out_dim, affine=False), nn.Linear(encoder.out_dim, 3)).eval()
    head[0].running_mean.uniform_(-0.1, 0.1)
    preprocess = Preprocess(32, 32, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    return ServedClassifier(encoder, head, ["a", "b", "c"], preprocess, 4, 1, 2, "none.ckpt", target_fps=8)


@pytest.mark.parametrize("frame_input", ["rgb", "residual", "normal_flow"])
def test_step_and_clip_exports_match_eager(tmp_path, frame_input):
    """With residual or normal-flow input the state also carries the previous frame and whether there was one."""
    served = served_classifier(frame_input=frame_input)
    written = export_classifier(served, tmp_path, clip_len=4)
    meta = load_meta(tmp_path)
    previous = [[1, 3, 32, 32], [1, 1, 1, 1]] if frame_input != "rgb" else []
    assert meta["classes"] == ["a", "b", "c"] and (meta["stride"], meta["target_fps"]) == (1, 8)
    assert meta["state_shapes"] == [*previous, [1, 32, 2], [1, 1, 16], [1, 1, 16]]
    frames = torch.randn(4, 1, 3, 32, 32)
    eager, onnx_step = EagerStep(served.step_model()), OrtStep(tmp_path)
    program = torch.export.load(str(written[STEP_PT2])).module()
    state = served.step_model().initial_state(frames[0])
    for frame in frames:  # state carried over four frames in all three runtimes
        expected = eager(frame.numpy())
        np.testing.assert_allclose(onnx_step(frame.numpy()), expected, atol=1e-4)
        probs, *state = program(frame, *state)
        np.testing.assert_allclose(probs[0].detach().numpy(), expected, atol=1e-4)
    with torch.no_grad():
        clip_probs = served.clip_model()(frames[:, 0][None]).numpy()
    np.testing.assert_allclose(expected, clip_probs[0], atol=1e-5)  # pooling='last': the stream is the clip
    clip = frames[:, 0][None]
    session = ort.InferenceSession(str(written[CLIP_ONNX]), providers=["CPUExecutionProvider"])
    (onnx_probs,) = session.run(None, {"clips": clip.numpy()})
    np.testing.assert_allclose(onnx_probs, clip_probs, atol=1e-4)
    pt2_probs = torch.export.load(str(written[CLIP_PT2])).module()(clip)
    np.testing.assert_allclose(pt2_probs.detach().numpy(), clip_probs, atol=1e-4)
    made = written[STEP_ONNX].stat().st_mtime_ns
    assert isinstance(make_step(served, "onnx", tmp_path)[0], OrtStep)  # a fresh export is reused, not redone
    assert written[STEP_ONNX].stat().st_mtime_ns == made


@pytest.mark.parametrize(
    "temporal,reason",
    [
        (partial(RecurrentTemporal, bidirectional=True, hidden_size=8), "bidirectional RNN cannot stream"),
        (partial(TransformerTemporal, d_model=8, nhead=2, num_layers=1), "grows every step"),
    ],
)
def test_step_export_is_refused_with_the_reason(tmp_path, temporal, reason):
    with pytest.raises(RuntimeError, match=reason):
        export_classifier(served_classifier(temporal), tmp_path)
    assert not (tmp_path / "step.onnx").exists()
