"""The anomaly and tracking applications in a serving session: the next-step scorer streamed frame by frame gives
the offline ``anomaly score`` values of the same frames; window scorers score the newest frame; a first-frame box
is followed and reported in source pixels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from data_modules.transforms import EvalTransform
from tests.serving_helpers import (
    KNN,
    NEXT_STEP,
    _square_frames,
    classifier_checkpoint,
    fitted_scorer,
    rgb_encoder_checkpoint,
)
from videovision.anomaly.features import frame_features
from videovision.serving.analysis import write_preview
from videovision.serving.anomaly import ServedScorer, StepScores, WindowScores
from videovision.serving.model import load_classifier
from videovision.serving.session import Analysers, parse_box
from videovision.tracking.boxes import track_box
from videovision.tracking.features import encoder_from_checkpoint


@pytest.mark.parametrize("frame_input", ["rgb", "residual", "normal_flow"])
def test_streamed_next_step_scores_equal_the_offline_ones(tmp_path, frame_input):
    served = ServedScorer(fitted_scorer(tmp_path, NEXT_STEP, temporal_refiner=True, frame_input=frame_input))
    frames = _square_frames(20, 48, 64, seed=3)
    features = served.frame_features()(frames)
    # the features are the anomaly pipeline's (EvalTransform at frame_size, then the per-frame encoder)
    video = torch.from_numpy(frames).permute(0, 3, 1, 2)[None, None]
    pipeline = frame_features(served.encoder, EvalTransform(resize=32, crop_size=32)(video)[0, 0])
    torch.testing.assert_close(features, pipeline, atol=1e-5, rtol=1e-5)
    featurise = served.frame_features()  # a stream's frames one at a time (the last ones carried)
    torch.testing.assert_close(torch.cat([featurise(f[None]) for f in frames]), features, atol=1e-5, rtol=1e-5)
    online = served.online()
    assert isinstance(online, StepScores) and online.stride == 2
    streamed = {}
    for n in range(len(frames)):
        pairs = online(features[n : n + 1])
        assert [f for f, _ in pairs] == ([n - 2] if n >= 2 else [])  # final two frames later
        streamed.update(pairs)
    streamed.update(online.finish())
    assert sorted(streamed) == list(range(20))
    offline = served.video_scores(features)  # anomaly score's raw errors on the training log scale, standardised
    raw = served.scorer.score(served.encoder, features)
    fitted = served.scorer
    logged = np.log1p(raw / float(fitted.train_reference))
    np.testing.assert_allclose(offline, (logged - float(fitted.train_median)) / float(fitted.train_scale))
    scale = np.abs(offline).max()  # float32 step-vs-sequence rounding, relative to the video's largest score
    np.testing.assert_allclose([streamed[f] for f in range(20)], offline, rtol=1e-5, atol=1e-5 * scale)
    assert np.ptp(offline) > 0


def test_a_window_scorer_scores_each_frame_once_the_clip_centred_on_it_is_complete(tmp_path):
    served = ServedScorer(fitted_scorer(tmp_path, KNN))  # clips of 4 frames every 2nd: 7 frames, middle + 3 more
    assert served.scorer.lookahead == 3
    features = served.frame_features()(_square_frames(24, 32, 32, seed=4))
    online = served.online(window=20)
    assert isinstance(online, WindowScores)
    emitted = [online(features[n : n + 1]) for n in range(24)]
    assert emitted[:15] == [[]] * 15  # warm-up: then frames 0-12 at once, and one frame per new frame
    assert [f for f, _ in emitted[15]] == list(range(13)) and [[f for f, _ in e] for e in emitted[16:]] == [
        [n - 3] for n in range(16, 24)
    ]
    last = served.video_scores(features[4:])  # the window of the last 20 frames: 4-23
    assert emitted[-1][0] == (20, pytest.approx(last[16]))
    assert online.finish() == [(f, pytest.approx(last[f - 4])) for f in (21, 22, 23)]
    with pytest.raises(ValueError, match="window 3 must exceed the scorer's lookahead, 3 frames"):
        served.online(window=3)


def test_a_missing_scorer_settings_file_is_named(tmp_path):
    (tmp_path / "scorer.pt").touch()
    with pytest.raises(FileNotFoundError, match="scorer.yaml beside it"):
        ServedScorer(tmp_path / "scorer.pt")


def test_a_session_follows_a_first_frame_box_in_source_pixels(tmp_path):
    """The demo classifier reads normal flow, so the box tracker gets an RGB encoder of its own (--track-ckpt)."""
    tracker = encoder_from_checkpoint(rgb_encoder_checkpoint(tmp_path / "rgb.ckpt"))
    served = load_classifier(classifier_checkpoint(tmp_path / "probe.ckpt"))
    assert served.encoder.frame_input == "normal_flow" and tracker.frame_input == "rgb"
    analysers = Analysers(served, tracker_encoder=tracker)
    frames = np.random.default_rng(0).integers(0, 60, (10, 96, 128, 3), dtype=np.uint8)
    for t in range(10):
        frames[t, 30:62, 10 + 6 * t : 42 + 6 * t] = 230  # a 32 px square moving 6 px right per frame
    source = frames[:, ::2, ::2]  # the "source" is half the size: boxes come back in its pixels
    session = analysers.session(box=parse_box("5,15,16,16"), source_size=(64, 48))
    outputs = [session(t, frame) for t, frame in enumerate(frames)]
    boxes = np.array([o["box"] for o in outputs])
    assert boxes[0].tolist() == [5, 15, 16, 16] and source.shape[1:3] == (48, 64)
    expected = track_box(analysers.dense(frames), np.array([10.0, 30, 32, 32]), 8, (96, 128)) / 2  # the tracker's
    np.testing.assert_allclose(boxes, expected, atol=0.01)
    assert (np.diff(boxes[:, 0]) > 0).all()  # it follows the square right (random weights: lagging)
    assert [o["frame"] for o in outputs if "top" in o] == [0, 3, 6, 9]  # every frame tracked, every 3rd classified


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "0,0,0,5"])
def test_a_bad_box_is_refused_with_the_text(text):
    with pytest.raises(ValueError, match="box must be x,y,w,h"):
        parse_box(text)


def test_a_truncated_upload_gets_the_preview_of_the_frames_that_decode(tmp_path, caplog):
    """A faststart H.264 file cut at 60 %: PyAV stops with an error part way; the preview keeps what came before (it
    used to fail the job after its analysis had succeeded); a file PyAV cannot open gets no preview."""
    import av

    if "libx264" not in av.codecs_available:
        pytest.skip("this PyAV build has no libx264")
    frames = np.random.default_rng(0).integers(0, 255, (40, 48, 64, 3), dtype=np.uint8)
    whole = tmp_path / "whole.mp4"
    with av.open(str(whole), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.6)])
    with caplog.at_level("WARNING"):
        preview = write_preview(cut, tmp_path / "cut.webm")
    assert f"{cut}: the preview stops where PyAV cannot decode on" in caplog.text
    with av.open(str(preview)) as container:
        assert 0 < sum(1 for _ in container.decode(video=0)) < 40
    (tmp_path / "none.mp4").write_bytes(whole.read_bytes()[:100])
    assert write_preview(tmp_path / "none.mp4", tmp_path / "none.webm") is None
