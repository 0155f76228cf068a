"""Residual-frame input (``FrameTemporalEncoder(frame_input="residual")``): differences by hand, the same clip
outputs whole or streamed, appearance that cancels, the anomaly scorers' per-frame differences, tracking (which needs
appearance) refusing it, and checkpoints that remember which frames their encoder read."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch

from tests.test_resume import CHECKPOINT_EVERY_EXCEPTION, _cli
from tests.test_streaming import stream, streaming_encoder
from videovision.anomaly.features import FrameFeatures, frame_features
from videovision.checkpoints import RUN_CONFIG_KEY, load_checkpoint_entry, load_encoder_weights
from videovision.cli import VideoVisionCLI
from videovision.config import merge
from videovision.models import RecurrentTemporal
from videovision.models.frame_inputs import motion_frames, previous_frames
from videovision.serving.model import Preprocess, ServedClassifier
from videovision.serving.session import Analysers
from videovision.tracking.features import encoder_backbone, encoder_from_checkpoint, load_encoder

GRU = partial(RecurrentTemporal, cell="gru", hidden_size=16)


def frame_differences(clips: torch.Tensor) -> torch.Tensor:
    return motion_frames(clips, previous_frames(clips), "residual")


def test_frame_differences_by_hand():
    clips = torch.tensor([1.0, 4.0, 9.0, 7.0]).view(1, 4, 1, 1, 1).expand(2, 4, 3, 2, 2)
    expected = torch.tensor([0.0, 3.0, 5.0, -2.0]).view(1, 4, 1, 1, 1).expand(2, 4, 3, 2, 2)
    torch.testing.assert_close(frame_differences(clips), expected)


def test_the_backbone_sees_the_differences_and_still_things_cancel():
    residual = streaming_encoder(GRU, refiner_layers=1, frame_input="residual")
    rgb = streaming_encoder(GRU, refiner_layers=1)  # same seed: the same weights
    clips = torch.randn(2, 5, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(residual(clips), rgb(frame_differences(clips)))
        # two still videos of different content, and one with a moving part added to each: only motion is seen
        still = torch.randn(2, 1, 3, 32, 32).expand(2, 5, 3, 32, 32)
        moving = torch.zeros(1, 5, 3, 32, 32)
        for t in range(5):
            moving[:, t, :, 8:16, 4 + 4 * t : 12 + 4 * t] = 1.0
        out = residual(torch.cat([still, still + moving]))
    torch.testing.assert_close(out[0], out[1])
    torch.testing.assert_close(out[2], out[3], atol=1e-5, rtol=0)
    assert not torch.allclose(out[0], out[2], atol=1e-3)


@pytest.mark.parametrize("frame_input", ["residual", "normal_flow"])
@pytest.mark.parametrize("refiner_layers", [0, 2])
def test_streaming_carries_the_previous_frame(refiner_layers, frame_input):
    encoder = streaming_encoder(GRU, refiner_layers, frame_input=frame_input)
    clips = torch.randn(2, 6, 3, 32, 32)
    with torch.no_grad():
        whole = encoder.features(clips)
        streamed, state = stream(encoder, clips)
    torch.testing.assert_close(streamed, whole["frames"], atol=1e-5, rtol=0)
    torch.testing.assert_close(state[0], clips[:, -1])  # the previous frame, for the next step
    assert state[1].flatten().tolist() == [1.0, 1.0]


def test_an_unknown_frame_input_is_refused_with_the_choices():
    choices = r"\('rgb', 'residual', 'normal_flow'\)"
    with pytest.raises(ValueError, match=rf"frame_input: unknown value 'flow'; choose one of {choices}"):
        streaming_encoder(GRU, frame_input="flow")


def test_anomaly_frame_features_of_a_residual_encoder_are_the_differences_its_clips_see():
    encoder = streaming_encoder(GRU, refiner_layers=1, frame_input="residual").eval()
    frames = torch.randn(10, 3, 32, 32)
    whole = frame_features(encoder, frames, residual_gap=3)
    with torch.no_grad():
        clip = encoder.features(frames[1::3][None])  # frames 1, 4, 7: the clip's differences, its first one zero
        pooled = encoder.pool(clip["maps"][0]).flatten(1)
        torch.testing.assert_close(whole[[4, 7]], pooled[1:])
        torch.testing.assert_close(whole[:3], encoder._frame_features(frames[:3] - frames[:1]))  # before the gap
    featurise = FrameFeatures(encoder, residual_gap=3)  # a video fed in chunks shorter than the gap
    chunked = torch.cat([featurise(frames[:2]), featurise(frames[2:3]), featurise(frames[3:])])
    torch.testing.assert_close(chunked, whole)
    with pytest.raises(ValueError, match="residual_gap must be >= 1"):
        FrameFeatures(encoder, residual_gap=0)
    backwards = FrameFeatures(encoder, residual_gap=3, backwards=True)  # x_{t-3} - x_t: playback running backwards
    earlier = frames[[0, 0, 0, *range(7)]]  # frame t - 3, the first frame standing in before it
    with torch.no_grad():
        expected = encoder._frame_features(earlier - frames)
    torch.testing.assert_close(torch.cat([backwards(frames[:4]), backwards(frames[4:])]), expected)


def test_tracking_refuses_a_residual_encoder():
    encoder = streaming_encoder(GRU, frame_input="residual")
    with pytest.raises(ValueError, match="tracking matches each frame's appearance.*frame_input: rgb"):
        encoder_backbone(encoder)
    head = torch.nn.Linear(encoder.out_dim, 2).eval()
    served = ServedClassifier(encoder, head, ["a", "b"], Preprocess(32, 32, (0.5,) * 3, (0.25,) * 3), 4, 1, 2, "x")
    analysers = Analysers(served)  # classifying streams as usual
    step = analysers.new_step()
    probs = [step(np.random.default_rng(t).normal(size=(1, 3, 32, 32)).astype(np.float32)) for t in range(3)]
    assert all(p.shape == (2,) for p in probs)
    with pytest.raises(ValueError, match="tracking matches each frame's appearance.*its own: --track-ckpt"):
        analysers.session(box=(1, 1, 4, 4), source_size=(32, 32))


def test_a_checkpoint_remembers_its_frame_input_and_the_loader_refuses_the_other(cli_env, tmp_path):
    args = _cli(cli_env, *CHECKPOINT_EVERY_EXCEPTION, "--model.init_args.encoder.init_args.frame_input=residual")
    cli = VideoVisionCLI(args=args, run=False)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    checkpoint = tmp_path / "run" / "checkpoints" / "last.ckpt"
    rebuilt = encoder_from_checkpoint(checkpoint)  # from the run config kept in the checkpoint
    assert rebuilt.frame_input == "residual"
    for name, weights in cli.model.encoder.state_dict().items():
        torch.testing.assert_close(rebuilt.state_dict()[name], weights)
    encoder_config = load_checkpoint_entry(checkpoint, RUN_CONFIG_KEY)["model"]["init_args"]["encoder"]
    rgb = load_encoder(merge(encoder_config, {"init_args": {"frame_input": "rgb"}}))
    with pytest.raises(ValueError, match=r"last\.ckpt: its encoder was trained on residual frames, this one reads rgb"):
        load_encoder_weights(rgb, checkpoint)
