"""Normal-flow input (``FrameTemporalEncoder(frame_input="normal_flow")``): the cue by hand, its sign following the
motion whatever the scene's polarity (where a residual frame's flips), the encoder reading it, and the anomaly
scorers' per-frame features of it, whole, chunked and backwards."""

from __future__ import annotations

from functools import partial

import pytest
import torch
import torch.nn.functional as F

from tests.test_streaming import streaming_encoder
from videovision.anomaly.features import FrameFeatures, frame_features
from videovision.models import RecurrentTemporal
from videovision.models.frame_inputs import motion_frames, normal_flow, previous_frames

GRU = partial(RecurrentTemporal, cell="gru", hidden_size=16)


def test_normal_flow_by_hand():
    previous = torch.tensor([1.0, 2.0, 4.0, 7.0, 11.0]).expand(3, 3, 5)  # (C, H, W): every row and channel alike
    frames = torch.tensor([1.0, 1.0, 2.0, 4.0, 7.0]).expand(3, 3, 5)  # the pattern one pixel to the right
    out = normal_flow(frames, previous)
    # I_t = [0, -1, -2, -3, -4]; the pair's mean [1, 1.5, 3, 5.5, 9] has central differences [., 1, 2, 3, .]
    torch.testing.assert_close(out[0], torch.tensor([0.0, 1.0, 4.0, 9.0, 0.0]).expand(3, 5))  # -I_t I_x, border 0
    torch.testing.assert_close(out[1], torch.zeros(3, 5))  # no vertical gradient
    torch.testing.assert_close(out[2], torch.tensor([0.0, -1.0, -2.0, -3.0, -4.0]).expand(3, 5))  # I_t


def _texture(seed: int) -> torch.Tensor:
    """A smooth random grey texture (3, 40, 40) that wraps around, so rolling it is a pan."""
    noise = torch.randn(1, 1, 40, 40, generator=torch.Generator().manual_seed(seed))
    return F.avg_pool2d(F.pad(noise, (2, 2, 2, 2), mode="circular"), 5, stride=1)[0].expand(3, 40, 40)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_its_sign_follows_the_motion_whatever_the_scenes_polarity(seed):
    scene = _texture(seed)
    for polarity in (1.0, -1.0):
        image = polarity * scene
        for shift, dims in ((1, 2), (-1, 2), (1, 1), (-1, 1)):
            moved = torch.roll(image, shift, dims=dims)
            flow = normal_flow(moved, image)[..., 2:-2, 2:-2].mean((-2, -1))
            along = flow[0] if dims == 2 else flow[1]
            assert torch.sign(along) == shift, (polarity, shift, dims)  # right / down positive
    # exactly: the scene's negative gives the same motion channels and the negated residual
    moved = torch.roll(scene, 1, dims=2)
    flow, flipped = normal_flow(moved, scene), normal_flow(-moved, -scene)
    torch.testing.assert_close(flipped[:2], flow[:2])
    torch.testing.assert_close(flipped[2], -flow[2])


def test_swapping_the_pair_negates_it_and_a_frame_with_itself_gives_zero():
    a, b = torch.randn(2, 4, 3, 16, 16), torch.randn(2, 4, 3, 16, 16)
    torch.testing.assert_close(normal_flow(b, a), -normal_flow(a, b))
    assert not normal_flow(a, a).any()
    with pytest.raises(ValueError, match="frame_input: 'rgb' reads no previous frame"):
        motion_frames(a, b, "rgb")


def test_the_encoder_reads_the_normal_flow_of_its_sampled_frames():
    flow = streaming_encoder(GRU, refiner_layers=1, frame_input="normal_flow")
    rgb = streaming_encoder(GRU, refiner_layers=1)  # same seed: the same weights
    clips = torch.randn(2, 5, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(flow(clips), rgb(normal_flow(clips, previous_frames(clips))))
    assert flow.input_state_size == 2


def test_anomaly_frame_features_pair_each_frame_with_the_one_a_gap_before():
    encoder = streaming_encoder(GRU, refiner_layers=1, frame_input="normal_flow").eval()
    frames = torch.randn(10, 3, 32, 32)
    earlier = frames[[0, 0, 0, *range(7)]]  # frame t - 3, the first frame standing in before it
    whole = frame_features(encoder, frames, residual_gap=3)
    with torch.no_grad():
        torch.testing.assert_close(whole, encoder._frame_features(normal_flow(frames, earlier)))
        backwards = FrameFeatures(encoder, residual_gap=3, backwards=True)  # playback from frame t to t - 3
        torch.testing.assert_close(
            torch.cat([backwards(frames[:4]), backwards(frames[4:])]),
            encoder._frame_features(normal_flow(earlier, frames)),
        )
    featurise = FrameFeatures(encoder, residual_gap=3)  # chunks shorter than the gap
    torch.testing.assert_close(torch.cat([featurise(frames[:2]), featurise(frames[2:3]), featurise(frames[3:])]), whole)
