"""Encoder parts: shapes for any clip length, streaming equals the whole-sequence pass."""

from __future__ import annotations

from functools import partial

import pytest
import torch

from data_modules import RandomClipSampler
from videovision.models import (
    FrameTemporalEncoder,
    RecurrentTemporal,
    ResNetFrames,
    SpatialConvRefiner,
    TemporalConvRefiner,
)
from videovision.tasks.base import VideoModule


def _encoder(**temporal) -> FrameTemporalEncoder:
    return FrameTemporalEncoder(
        backbone=ResNetFrames("resnet18", num_stages=2),
        temporal=partial(RecurrentTemporal, hidden_size=12, **temporal),
        spatial_refiner=SpatialConvRefiner,
        temporal_refiner=partial(TemporalConvRefiner, kernel_size=3),
    )


@pytest.mark.parametrize("t", [1, 3, 8])
@pytest.mark.parametrize(
    "cell,bidirectional,pooling", [("gru", False, "last"), ("lstm", True, "mean"), ("lstm", False, "attention")]
)
def test_encoder_shapes_for_any_length(t, cell, bidirectional, pooling):
    enc = _encoder(cell=cell, bidirectional=bidirectional, pooling=pooling).eval()
    feats = enc.features(torch.randn(2, t, 3, 32, 32))
    width = 2 * 12 if bidirectional else 12
    assert enc.out_dim == width
    assert feats["clip"].shape == (2, width)
    assert feats["frames"].shape == (2, t, width)
    assert feats["frame_features"].shape == (2, t, 128)
    assert feats["maps"].shape == (2, t, 128, 4, 4)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_streaming_step_matches_the_whole_sequence(cell):
    torch.manual_seed(0)
    rnn = RecurrentTemporal(10, cell=cell, hidden_size=7, num_layers=2).eval()
    x = torch.randn(3, 6, 10)
    clip, frames = rnn(x)
    state, outs = None, []
    for t in range(6):
        out, state = rnn.step(x[:, t], state)
        outs.append(out)
    torch.testing.assert_close(torch.stack(outs, 1), frames)
    torch.testing.assert_close(outs[-1], clip)


def test_temporal_refiner_is_causal():
    ref = TemporalConvRefiner(5, kernel_size=3).eval()
    x = torch.randn(1, 8, 5)
    y = x.clone()
    y[:, 5:] += 1.0
    torch.testing.assert_close(ref(x)[:, :5], ref(y)[:, :5])


def test_resnet_weights_from_a_local_file(tmp_path):
    ref = ResNetFrames("resnet18")
    path = tmp_path / "r18.pt"
    import torchvision

    net = torchvision.models.resnet18()
    torch.save(net.state_dict(), path)
    loaded = ResNetFrames("resnet18", weights=str(path))
    torch.testing.assert_close(loaded.stem[0].weight, net.conv1.weight)
    assert not torch.equal(ref.stem[0].weight, net.conv1.weight)
    with pytest.raises(ValueError, match="does not fit resnet50"):
        ResNetFrames("resnet50", weights=str(path))
    with pytest.raises(ValueError, match="checkpoint not found: .*missing.pt"):
        ResNetFrames("resnet18", weights=str(tmp_path / "missing.pt"))


@pytest.mark.parametrize("arch", ["r3d_18", "r2plus1d_18", "mc3_18"])
def test_3d_cnn_baselines_share_the_encoder_interface(arch):
    from videovision.models import ClipEncoder, Video3DCNN

    enc = Video3DCNN(arch).eval()
    assert isinstance(enc, ClipEncoder) and enc.out_dim == 512
    with torch.no_grad():
        assert enc(torch.randn(2, 4, 3, 32, 32)).shape == (2, 512)


@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_causal_transformer_streams_like_the_whole_sequence(pooling):
    from videovision.models import TransformerTemporal

    torch.manual_seed(0)
    model = TransformerTemporal(10, d_model=16, nhead=2, num_layers=2, dim_feedforward=32, pooling=pooling).eval()
    x = torch.randn(3, 5, 10)
    with torch.no_grad():
        clip, frames = model(x)
        state, outs = None, []
        for t in range(5):
            out, state = model.step(x[:, t], state)
            outs.append(out)
    torch.testing.assert_close(torch.stack(outs, 1), frames, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(clip, frames[:, -1] if pooling == "last" else frames.mean(1))


def test_transformer_cls_pooling_in_an_encoder():
    from videovision.models import TransformerTemporal

    enc = FrameTemporalEncoder(
        ResNetFrames("resnet18", num_stages=1),
        partial(TransformerTemporal, d_model=8, nhead=2, causal=False, pooling="cls"),
    )
    assert enc(torch.randn(2, 3, 3, 32, 32)).shape == (2, 8)
    with pytest.raises(ValueError, match="causal"):
        TransformerTemporal(4, pooling="cls")


def test_bidirectional_rnn_refuses_to_stream():
    with pytest.raises(RuntimeError, match="bidirectional"):
        RecurrentTemporal(4, bidirectional=True).step(torch.randn(1, 4))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: RecurrentTemporal(8, cell="rnn"), "unknown cell 'rnn'; choose lstm or gru"),
        (lambda: RecurrentTemporal(8, pooling="max"), "unknown pooling 'max'"),
        (lambda: ResNetFrames("resnet101"), "unknown arch 'resnet101'"),
        (lambda: VideoModule(optimizer="adam"), "unknown optimizer 'adam'; choose adamw, sgd or lars"),
        (lambda: RandomClipSampler(short_video="wrap"), "unknown rule 'wrap'"),
    ],
)
def test_an_unknown_option_value_raises_from_python_too(build, message):
    with pytest.raises(ValueError, match=message):
        build()
