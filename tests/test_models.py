"""Encoder parts: shapes for any clip length, streaming equals the whole-sequence pass."""

from __future__ import annotations

from functools import partial

import pytest
import torch

from videovision.models import RecurrentTemporal, ResNetFrames, ResNetRNNEncoder, SpatialConvRefiner, TemporalConvRefiner


def _encoder(**temporal) -> ResNetRNNEncoder:
    return ResNetRNNEncoder(
        backbone=ResNetFrames("resnet18", num_stages=2),
        temporal=partial(RecurrentTemporal, hidden_size=12, **temporal),
        spatial_refiner=SpatialConvRefiner,
        temporal_refiner=partial(TemporalConvRefiner, kernel_size=3),
    )


@pytest.mark.parametrize("t", [1, 3, 8])
@pytest.mark.parametrize("cell,bidirectional,pooling", [("gru", False, "last"), ("lstm", True, "mean"), ("lstm", False, "attention")])
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
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        ResNetFrames("resnet18", weights=str(tmp_path / "missing.pt"))
