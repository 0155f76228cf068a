"""Frame-by-frame streaming of encoders: the carried state gives the whole-clip outputs."""

from __future__ import annotations

from functools import partial

import pytest
import torch

from videovision.models import (
    FrameTemporalEncoder,
    RecurrentTemporal,
    ResNetFrames,
    SpatialConvRefiner,
    TemporalConvRefiner,
    TransformerTemporal,
    Video3DCNN,
)


def streaming_encoder(
    temporal, refiner_layers: int = 2, seed: int = 0, frame_input: str = "rgb"
) -> FrameTemporalEncoder:
    """A small encoder in eval mode with random BatchNorm statistics (so buffers that are wrong show)."""
    torch.manual_seed(seed)
    encoder = FrameTemporalEncoder(
        backbone=ResNetFrames("resnet18", num_stages=1),
        temporal=temporal,
        spatial_refiner=partial(SpatialConvRefiner, out_channels=8),
        temporal_refiner=partial(TemporalConvRefiner, kernel_size=3, num_layers=refiner_layers)
        if refiner_layers
        else None,
        pool_grid=2,
        frame_input=frame_input,
    )
    for m in encoder.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    return encoder.eval()


def stream(encoder: FrameTemporalEncoder, clips: torch.Tensor) -> tuple[torch.Tensor, tuple]:
    state = encoder.initial_state(clips[:, 0])
    outputs = []
    for t in range(clips.shape[1]):
        out, state = encoder.step(clips[:, t], state)
        outputs.append(out)
    return torch.stack(outputs, dim=1), state


@pytest.mark.parametrize(
    "temporal,refiner_layers",
    [
        (partial(RecurrentTemporal, cell="gru", hidden_size=16), 2),
        (partial(RecurrentTemporal, cell="lstm", hidden_size=16, num_layers=2), 1),
        (partial(RecurrentTemporal, cell="gru", hidden_size=16), 0),
        (partial(TransformerTemporal, d_model=16, nhead=2, num_layers=1, dim_feedforward=32, max_len=8), 1),
    ],
)
def test_streaming_equals_the_whole_clip(temporal, refiner_layers):
    encoder = streaming_encoder(temporal, refiner_layers)
    clips = torch.randn(2, 7, 3, 32, 32)
    with torch.no_grad():
        whole = encoder.features(clips)
        streamed, state = stream(encoder, clips)
    torch.testing.assert_close(streamed, whole["frames"], atol=1e-5, rtol=0)
    torch.testing.assert_close(streamed[:, -1], whole["clip"], atol=1e-5, rtol=0)  # pooling='last'
    if refiner_layers:  # each refiner buffer holds the last kernel_size - 1 = 2 inputs of its layer
        assert [tuple(s.shape) for s in state[:refiner_layers]] == [(2, 32, 2)] * refiner_layers


def test_refiner_buffers_are_carried():
    """Dropping the temporal refiner's buffers changes the outputs: the state is not decorative."""
    encoder = streaming_encoder(partial(RecurrentTemporal, cell="gru", hidden_size=16), refiner_layers=1)
    clips = torch.randn(1, 4, 3, 32, 32)
    with torch.no_grad():
        whole = encoder.features(clips)["frames"]
        state = encoder.initial_state(clips[:, 0])
        for t in range(4):
            out, state = encoder.step(clips[:, t], state)
            state = (torch.zeros_like(state[0]), *state[1:])
    assert not torch.allclose(out, whole[:, -1], atol=1e-4)


@pytest.mark.parametrize(
    "encoder,reason",
    [
        (lambda: streaming_encoder(partial(RecurrentTemporal, bidirectional=True, hidden_size=8)), "bidirectional"),
        (lambda: streaming_encoder(partial(TransformerTemporal, d_model=8, nhead=2, causal=False)), "non-causal"),
        (lambda: Video3DCNN("r3d_18"), "Video3DCNN encodes whole clips"),
    ],
)
def test_encoders_that_cannot_stream_say_why(encoder, reason):
    model = encoder()
    frame = torch.randn(1, 3, 32, 32)
    with pytest.raises(RuntimeError, match=reason):
        model.initial_state(frame)
    with pytest.raises(RuntimeError, match="streaming needs a FrameTemporalEncoder"):
        model.step(frame, ())
