"""``videovision stream``: the streamed outputs are the clip model's on the same frames; frames are
dropped (and counted) when inference is slower than the source; a box is tracked with ``--track-ckpt``'s encoder."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch

from tests.serving_helpers import CLASSES, classifier_checkpoint, rgb_encoder_checkpoint, small_video
from videovision.checkpoints import RUN_CONFIG_KEY
from videovision.serving.model import load_classifier
from videovision.serving.stream import FrameReader, decode_frames, run_stream
from videovision.tools import stream


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return classifier_checkpoint(tmp_path_factory.mktemp("ckpt") / "probe.ckpt")


def test_stream_equals_the_clip_model_on_the_same_frames(tmp_path, checkpoint, capsys):
    """(ONNX Runtime's step is checked against eager in test_export.)"""
    video = small_video(tmp_path / "v.avi", num_frames=9)
    log = tmp_path / "frames.jsonl"
    summary = stream.main([str(video), "--ckpt", str(checkpoint), "--every", "2", "--log", str(log)])
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["frame"] for r in records] == [0, 2, 4, 6, 8]
    assert summary["frames"] == 5 and summary["dropped"] == 0 and set(summary["latency_ms"]) == {"p50", "p90", "p99"}
    assert CLASSES[int(np.argmax(records[0]["probs"]))] in capsys.readouterr().out.splitlines()[0]
    served = load_classifier(checkpoint)
    frames = np.stack([f for _, f in decode_frames(str(video), served.preprocess.resize, every=2)])
    with torch.no_grad():
        for n in (1, 5):  # the stream after n frames = the clip model on those n frames (pooling='last')
            clip = served.preprocess(frames[:n])[None]
            np.testing.assert_allclose(records[n - 1]["probs"], served.clip_model()(clip)[0].numpy(), atol=1e-4)


def test_a_box_is_tracked_with_the_encoder_of_track_ckpt_and_refused_without(tmp_path, checkpoint):
    video = small_video(tmp_path / "v.avi", num_frames=6)
    with pytest.raises(ValueError, match="frame_input: normal_flow.*its own: --track-ckpt"):
        stream.main([str(video), "--ckpt", str(checkpoint), "--box", "2,10,16,16", "--quiet"])
    log = tmp_path / "frames.jsonl"
    tracker = rgb_encoder_checkpoint(tmp_path / "rgb.ckpt")
    args = [str(video), "--ckpt", str(checkpoint), "--box", "2,10,16,16", "--track-ckpt", str(tracker)]
    stream.main([*args, "--log", str(log), "--quiet"])
    boxes = [json.loads(line)["box"] for line in log.read_text().splitlines()]
    assert len(boxes) == 6 and boxes[0] == [2, 10, 16, 16] and all(len(b) == 4 for b in boxes)


def test_a_slow_consumer_drops_frames_and_counts_them(tmp_path):
    video = small_video(tmp_path / "v.avi", num_frames=20)
    reader = FrameReader(str(video), short_side=32, drop=True, queue_size=2)

    def slow_session(index: int, frame: np.ndarray) -> dict:
        time.sleep(0.05)
        return {}

    stats = run_stream(reader, slow_session)
    assert stats.dropped > 0 and stats.processed + stats.dropped == 20


def test_a_missing_source_is_named_before_the_model_loads(tmp_path):
    with pytest.raises(FileNotFoundError, match="stream source not found: nowhere.mp4"):
        stream.main(["nowhere.mp4", "--ckpt", str(tmp_path / "absent.ckpt")])


def test_the_demo_checkpoint_is_trained_only_when_absent(tmp_path, monkeypatch):
    """make serve: pretraining then the probe from its checkpoint, each skipped when its checkpoint exists."""
    from videovision import runs
    from videovision.serving import model

    calls = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(runs, "fit", lambda config, overrides: calls.append((config, overrides.get(PRETRAINED))))
    assert model.ensure_demo_classifier() == model.DEMO_PROBE
    assert calls == [("demo/pretrain.yaml", None), ("demo/probe.yaml", str(model.DEMO_PRETRAIN))]
    calls.clear()
    model.DEMO_PRETRAIN.parent.mkdir(parents=True)
    model.DEMO_PRETRAIN.touch()
    model.ensure_demo_classifier()
    assert calls == [("demo/probe.yaml", str(model.DEMO_PRETRAIN))]
    calls.clear()
    model.DEMO_PROBE.parent.mkdir(parents=True)
    model.DEMO_PROBE.touch()
    model.ensure_demo_classifier()
    assert calls == []


PRETRAINED = "model.init_args.pretrained"


def test_a_classifier_is_rebuilt_from_the_run_config_it_holds(tmp_path):
    """A probe trained with ``--model.init_args.encoder.init_args.frame_input rgb`` is served on RGB frames, not by
    the demo config's normal flow, and the training videos need not be on the serving machine."""
    path = classifier_checkpoint(tmp_path / "probe.ckpt")
    entries = torch.load(path, weights_only=False)
    config = entries[RUN_CONFIG_KEY]
    config["model"]["init_args"]["encoder"]["init_args"]["frame_input"] = "rgb"
    config["data"]["init_args"]["reader"] = {"class_path": "data_modules.VideoFolder", "init_args": {"root": "/gone"}}
    torch.save(entries, path)
    assert load_classifier(path).encoder.frame_input == "rgb"
    assert load_classifier(path, "demo/probe.yaml").encoder.frame_input == "normal_flow"
    del entries[RUN_CONFIG_KEY]
    torch.save(entries, path)
    with pytest.raises(ValueError, match="holds no run config; pass --config"):
        load_classifier(path)


def test_served_frames_are_spaced_as_the_run_spaces_them_at_the_videos_rate(tmp_path):
    """The demo's samplers take about 8 frames a second (``target_fps: 8``, ``stride: 3`` when the rate is
    unknown); a server job classifies the frames a test run would, at any rate, not every 3rd frame always."""
    from fractions import Fraction

    from data_modules.moving_digits import write_video
    from videovision.serving.analysis import analyse_video
    from videovision.serving.session import Analysers

    served = load_classifier(classifier_checkpoint(tmp_path / "probe.ckpt"))
    assert [served.stride_at(fps) for fps in (25, 12.5, 30, 0)] == [3, 2, 4, 3]
    frames = np.random.default_rng(0).integers(0, 255, (12, 48, 64, 3), dtype=np.uint8)
    write_video(tmp_path / "slow.avi", frames, Fraction(25, 2))
    result = analyse_video(tmp_path / "slow.avi", Analysers(served), 12, (64, 48), fps=12.5)
    assert result["stride"] == 2 and [f["frame"] for f in result["frames"]] == list(range(0, 12, 2))
    assert Analysers(served, stride=5).stride_at(12.5) == 5  # --every wins
