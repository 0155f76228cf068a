"""The embedded anomaly benchmark's generator and ``videovision anomaly fit|score`` end to end on a tiny copy."""

from __future__ import annotations

import json
import math
import re
import shutil
from dataclasses import asdict

import numpy as np
import pytest
import torch
import yaml

from data_modules.anomaly_digits import (
    ANOMALIES,
    GENERATOR_VERSION,
    AnomalyDigits,
    AnomalyDigitsSpec,
    _test_video,
    segment_times,
)
from data_modules.anomaly_readers import GenericAnomaly
from data_modules.moving_digits import _load_digit_images, _make_source, _trajectory
from data_modules.video_io import iter_frame_chunks, probe_video
from tests.serving_helpers import encoder_checkpoint, small_video
from videovision.anomaly.features import ResidualView
from videovision.anomaly.metrics import micro_auroc
from videovision.anomaly.pipeline import encode_split, write_results
from videovision.checkpoints import RUN_CONFIG_KEY
from videovision.config import compose, experiments_dir, merge
from videovision.serving.anomaly import ServedScorer
from videovision.tools import TOOLS
from videovision.tools import anomaly as anomaly_tool
from videovision.tools.anomaly import (
    BENCH_SCORERS,
    COMBINATIONS,
    GENERATED_WITH_FILE,
    WEAK_SCORERS,
    _config_parser,
    _pretrain,
    _score_encoder,
    bench_scorers,
    build,
    combined_intervals,
    full_reader_config,
    print_intervals,
    print_table,
)
from videovision.tracking.features import load_encoder

SPLITS = ("train", "test")
ANOMALY_CONFIGS = sorted((experiments_dir() / "anomaly").glob("*.yaml"))

TINY = {"num_scenes": 2, "train_per_scene": 3, "test_per_scene": 3, "num_frames": 30, "size": 32}
TINY_SEGMENTS = {"min_segment": 6, "max_segment": 8}


@pytest.fixture(scope="module")
def tiny_anomaly_digits(tmp_path_factory):
    reader = AnomalyDigits(str(tmp_path_factory.mktemp("anomaly_digits")), **TINY, **TINY_SEGMENTS)
    reader.prepare()
    return reader


def test_generated_test_videos_carry_one_injected_segment_of_each_kind(tiny_anomaly_digits):
    train, test = tiny_anomaly_digits.anomaly_records("train"), tiny_anomaly_digits.anomaly_records("test")
    assert [r.name.split("_", 2)[2] for r in test] == ["normal", *ANOMALIES]
    assert sum(not r.anomalous for r in train) == 6
    weak = [r.name for r in train if r.anomalous]  # 4 per scene, the anomalous kinds in turn
    assert weak == [f"s{i // 4:02d}_w{i % 4:02d}_{ANOMALIES[i % len(ANOMALIES)]}" for i in range(8)]
    for record in test:
        assert probe_video(record.path).num_frames == 30
        runs = np.flatnonzero(np.diff(np.concatenate(([0], record.mask, [0]))))
        expected = 0 if record.name.endswith("normal") else 2  # one run: its start and its end
        assert len(runs) == expected and (expected == 0 or 6 <= runs[1] - runs[0] <= 8)


def test_a_timing_anomaly_changes_only_its_own_frames_steps_by_hand():
    assert segment_times(-1, 8, 3, 5).tolist() == [0, 1, 2, 1, 0, 1, 2, 3]  # back two frames, then on from there
    assert segment_times(0, 6, 2, 4).tolist() == [0, 1, 1, 1, 2, 3]  # holds frame 1, then goes on from it
    assert segment_times(3, 6, 2, 4).tolist() == [0, 1, 4, 7, 8, 9]
    assert segment_times(-1, 6, 1, 4).tolist() == [3, 2, 1, 0, 1, 2]  # shifted so that no time is negative


@pytest.mark.parametrize("kind", ["frozen", "reversed"])
def test_a_timing_anomaly_resumes_where_its_segment_left_off(kind):
    """Rendered (before the codec): frozen holds the frame before the segment; reversed plays its way back; after
    either, each frame moves on one normal step (no cut back to where normal playback would be)."""
    rng = np.random.default_rng(0)
    source = _make_source(rng, _load_digit_images(), 32)
    spec = AnomalyDigitsSpec(num_frames=30, size=32, min_segment=6, max_segment=8)
    frames, mask = _test_video(kind, source, "MoveRight", spec, rng)
    start, stop = np.flatnonzero(mask)[[0, -1]] + [0, 1]
    frames = frames.astype(int)
    step = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))  # step[i]: frame i -> i + 1
    normal = np.median(np.delete(step, range(start - 1, stop)))
    if kind == "frozen":
        assert (frames[start:stop] == frames[start - 1]).all()
    else:
        np.testing.assert_array_equal(frames[start : start + 2], frames[[start - 2, start - 3]])
    assert step[stop - 1] < 2 * normal and step[stop] < 2 * normal  # resumes one step on, as normal frames do


def test_weakly_labelled_videos_leave_every_other_generated_file_unchanged(tiny_anomaly_digits, tmp_path):
    without = AnomalyDigits(str(tmp_path), **TINY, **TINY_SEGMENTS, weak_per_scene=0)
    without.prepare()
    assert not (tmp_path / "train_anomalous").exists()
    for split in SPLITS:
        files = sorted(p.name for p in (tmp_path / split).iterdir())
        assert files == sorted(p.name for p in (tiny_anomaly_digits.root / split).iterdir())
        for name in files:
            assert (tmp_path / split / name).read_bytes() == (tiny_anomaly_digits.root / split / name).read_bytes()


def test_the_number_of_test_videos_leaves_the_training_videos_unchanged(tiny_anomaly_digits, tmp_path):
    fewer = AnomalyDigits(str(tmp_path), **{**TINY, "test_per_scene": 1}, **TINY_SEGMENTS)
    fewer.prepare()
    assert len(fewer.anomaly_records("test")) == 2
    for name in sorted(p.name for p in (tiny_anomaly_digits.root / "train").iterdir()):
        assert (tmp_path / "train" / name).read_bytes() == (tiny_anomaly_digits.root / "train" / name).read_bytes()


@pytest.mark.parametrize("motion", ["MoveRight", "MoveDown"])
def test_a_speed_video_moves_at_a_normal_speed_outside_its_burst(motion):
    """The speed anomaly's long trajectory keeps a normal video's per-frame speed (it used to play at about half)."""
    t, size, sprite = 64, 64, 20
    travel = size - sprite
    for seed in range(50):
        long = _trajectory(motion, np.random.default_rng(seed), t + 48, size, sprite, pace=t)
        speed = np.diff(long[:, :2].sum(axis=1))
        assert np.allclose(speed, speed[0], atol=1e-4)
        assert 0.5 * travel / (t - 1) - 1e-4 <= speed[0] <= travel / (t - 1) + 1e-4  # a normal video's range
        assert long[:, :2].min() >= sprite / 2 - 1e-3 and long[:, :2].max() <= size - sprite / 2 + 1e-3


def test_a_speed_video_turns_no_further_than_a_normal_one():
    """A long rotation turns at a normal video's per-frame rate but no further in all than a normal video's 1.5 pi,
    so its frames outside the burst show no orientation that normal training videos never show."""
    t, size, sprite = 64, 64, 20
    for seed in range(50):
        normal = _trajectory("RotateClockwise", np.random.default_rng(seed), t, size, sprite)
        long = _trajectory("RotateClockwise", np.random.default_rng(seed), t + 48, size, sprite, pace=t)
        rate = np.diff(long[:, 2])
        assert np.allclose(rate, rate[0], atol=1e-5)
        assert (math.pi / 2) / (t - 1) - 1e-5 <= rate[0] <= 1.5 * math.pi / (t - 1) + 1e-5
        assert long[-1, 2] - long[0, 2] <= 1.5 * math.pi + 1e-4
        assert normal[-1, 2] - normal[0, 2] <= 1.5 * math.pi + 1e-4


def _assert_served_as_scored(out_dir, record) -> None:
    """What ``serve --anomaly`` loads from ``out_dir`` gives, over ``record``'s whole video, the standardised scores
    ``anomaly score`` wrote there."""
    served = ServedScorer(out_dir / "scorer.pt")
    frames = np.concatenate(list(iter_frame_chunks(record.path, probe_video(record.path))))  # the decoder score used
    written = np.load(out_dir / "scores" / f"{record.name}.npy")
    np.testing.assert_allclose(served.video_scores(served.frame_features()(frames)), written, rtol=1e-4, atol=1e-4)


def test_fit_then_score_writes_scores_metrics_and_plots_for_every_test_video(tiny_anomaly_digits, tmp_path):
    step = {"steps": 5}
    pace = {"clip_len": 2, "stride": 2, "paces": [1, 2], "hidden_dim": 8, "num_views": 64, "batch_size": 8, **step}
    config = {
        "reader": {
            "class_path": "data_modules.anomaly_digits.AnomalyDigits",
            "init_args": {"root": str(tiny_anomaly_digits.root), **TINY, **TINY_SEGMENTS},
        },
        "encoder": {
            "class_path": "videovision.models.FrameTemporalEncoder",
            "init_args": {
                "backbone": {"class_path": "videovision.models.ResNetFrames", "init_args": {"num_stages": 1}},
                "temporal": {"class_path": "videovision.models.RecurrentTemporal", "init_args": {"hidden_size": 8}},
                "frame_input": "residual",
            },
        },
        "frame_size": 32,
        "residual_gap": 2,
        "sigma": 1.0,
        "scorer": {
            "class_path": "videovision.anomaly.scorers.CombinedScorer",
            "init_args": {
                "scorers": [
                    {"class_path": "videovision.anomaly.scorers.KNNScorer", "init_args": {"k": 2}},
                    {"class_path": "videovision.anomaly.scorers.NextStepScorer", "init_args": {"hidden": 8, **step}},
                    {"class_path": "videovision.anomaly.scorers.OrderScorer", "init_args": {"pair_dim": 8, **step}},
                    {"class_path": "videovision.anomaly.scorers.PaceScorer", "init_args": pace},
                ]
            },
        },
        "out_dir": str(tmp_path / "out"),
    }
    encoder = load_encoder(config["encoder"])  # saved, so that serve --anomaly can rebuild it (below)
    config["checkpoint"] = str(encoder_checkpoint(encoder, tmp_path / "encoder.ckpt", config["encoder"]))
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    TOOLS["anomaly"](["fit", "--config", str(path), "--set", "sigma=1.0"])  # the pace head on residual views
    metrics = TOOLS["anomaly"](["score", "--config", str(path)])
    out = tmp_path / "out"
    assert json.loads((out / "metrics.json").read_text())["micro_auroc"] == metrics["micro_auroc"]
    assert metrics["num_frames"] == 6 * 30 and 0 <= metrics["macro_auroc"] <= 1
    names = [r.name for r in tiny_anomaly_digits.anomaly_records("test")]
    for name in names:
        assert np.load(out / "scores" / f"{name}.npy").shape == (30,)
        assert (out / "scores" / f"{name}.csv").read_text().startswith("frame,score,smoothed_score,label\n")
        assert (out / "timelines" / f"{name}.png").stat().st_size > 0
    assert (out / "summary.png").is_file()
    assert yaml.safe_load((out / "scorer.yaml").read_text())["residual_gap"] == 2
    other = encoder_checkpoint(encoder, tmp_path / "other.ckpt", config["encoder"])
    with pytest.raises(
        ValueError, match=r"scorer\.pt was fitted with checkpoint .*encoder\.ckpt.*pass the same --checkpoint"
    ):
        TOOLS["anomaly"](["score", "--config", str(path), "--checkpoint", str(other)])  # features would mean else
    _assert_served_as_scored(out, tiny_anomaly_digits.anomaly_records("test")[0])
    np.save(tiny_anomaly_digits.root / "test" / f"{names[1]}.npy", np.zeros(29, dtype=np.int64))
    try:
        with pytest.raises(ValueError, match=rf"{names[1]}\.npy .*29 frames, shorter than the video"):
            TOOLS["anomaly"](["score", "--config", str(path)])
    finally:
        (tiny_anomaly_digits.root / "anomaly_digits.json").unlink()  # the next use regenerates the set


@pytest.mark.parametrize("config", ANOMALY_CONFIGS, ids=lambda p: p.name)
def test_every_anomaly_config_parses(config):
    parsed = _config_parser().parse_object(compose(config))
    assert parsed.scorer.class_path.startswith("videovision.anomaly.scorers.") and parsed.reader.class_path


def test_the_generic_config_sizes_frames_from_the_training_videos(tmp_path, capsys):
    """``frame_size: auto`` (experiments/anomaly/generic.yaml): 192 px short sides -> 48 px, as the demo recipe's
    ``crop_size: auto``; the resolved size is what scorer.yaml keeps for serve."""
    root = tmp_path / "my_set"
    for name, seed in (("a", 0), ("b", 1)):
        small_video(root / "train" / f"{name}.avi", num_frames=12, height=192, width=256, seed=seed)
    small_video(root / "test" / "c.avi", num_frames=12, height=192, width=256, seed=2)
    for name in ("w1", "w2", "w3"):  # weakly labelled: not pretrained on, so not sized from
        small_video(root / "train_anomalous" / f"{name}.avi", num_frames=4, height=480, width=640)
    np.save(root / "test" / "c.npy", np.array([0] * 6 + [1] * 6))
    config = compose("anomaly/generic.yaml")
    config.update(out_dir=str(tmp_path / "out"))
    path = tmp_path / "generic.yaml"
    path.write_text(yaml.safe_dump(config))
    overrides = ["--set", f"reader.init_args.root={root}", "--set", "scorer=anomaly/scorers/speed.yaml"]
    TOOLS["anomaly"](["fit", "--config", str(path), *overrides])
    assert "frame size 'auto': 48 px (a quarter of the median short side, 192 px, of 2 training videos" in (
        capsys.readouterr().out
    )
    assert yaml.safe_load((tmp_path / "out" / "scorer.yaml").read_text())["frame_size"] == 48
    assert yaml.safe_load((tmp_path / "out" / "scorer.yaml").read_text())["scorer"] == compose(
        "anomaly/scorers/speed.yaml"
    )
    metrics = TOOLS["anomaly"](["score", "--config", str(path), *overrides])
    assert metrics["num_frames"] == 12 and metrics["scorer"] == "FeatureSpeedScorer"
    other_scorer = [*overrides[:2], "--set", "scorer=anomaly/scorers/knn.yaml"]
    with pytest.raises(ValueError, match=r"was fitted with scorer .*pass the same --checkpoint, encoder and scorer"):
        TOOLS["anomaly"](["score", "--config", str(path), *other_scorer])  # speed's saved state is not kNN's
    with pytest.raises(ValueError, match=r"--set scorer: config file anomaly/scorers/nope\.yaml not found"):
        TOOLS["anomaly"](["score", "--config", str(path), "--set", "scorer=anomaly/scorers/nope.yaml"])


def _tiny_bench_config(reader: AnomalyDigits) -> dict:
    """A bench config over the tiny generated set, with the demo encoder on RGB frames."""
    init_args = {"root": str(reader.root), **TINY, **TINY_SEGMENTS}
    return {
        "reader": {"class_path": "data_modules.anomaly_digits.AnomalyDigits", "init_args": init_args},
        "encoder": compose("demo/base/appearance_encoder.yaml"),
        "frame_size": 32,
    }


def test_bench_scores_every_scorer_per_injected_kind_and_prints_both_tables(tiny_anomaly_digits, tmp_path, capsys):
    base = _tiny_bench_config(tiny_anomaly_digits)
    settings = build(base)
    settings["reader"].prepare()
    split = {s: encode_split(settings["encoder"], settings["reader"], s, tmp_path / "m.json", 32) for s in SPLITS}
    chunked = encode_split(settings["encoder"], settings["reader"], "test", tmp_path / "m.json", 32, chunk_frames=7)
    for whole, in_chunks in zip(split["test"].features, chunked.features):  # 30 frames as 4 x 7 + 2
        torch.testing.assert_close(in_chunks, whole)
    results = {}
    scorers = bench_scorers(base)
    combined = _score_encoder(settings, None, scorers, split["train"], split["test"], tmp_path, results, "random_init")
    assert list(results) == [*BENCH_SCORERS, "combined", "combined_ssl", *WEAK_SCORERS]
    for name in split["test"].names:  # combined_ssl: the written standardised scores of its three scorers, summed
        written = [np.load(tmp_path / scorer / "scores" / f"{name}.npy") for scorer in ("knn", "next_step", "pace")]
        np.testing.assert_allclose(np.load(tmp_path / "combined_ssl" / "scores" / f"{name}.npy"), sum(written))
    for row in results.values():
        cell = row["random_init"]
        assert list(cell["micro_auroc_by_kind"]) == list(ANOMALIES) and 0 <= cell["micro_auroc"] <= 1
    labels = split["test"].labels
    assert micro_auroc(combined, labels) == pytest.approx(results["combined"]["random_init"]["micro_auroc"])
    shifted = [s + 1.0 for s in combined]  # the same ranking within and across videos: no difference in any round
    intervals = combined_intervals({"random_init": combined, "shifted": shifted}, labels)
    low, high = intervals["micro_auroc"]["random_init"]
    assert low <= results["combined"]["random_init"]["micro_auroc"] <= high
    assert intervals["minus_random_init"] == {"shifted": (0.0, 0.0)}
    print_table(results, 1.0, 2.0, "2 pretrainings")
    print_intervals(intervals)
    printed = capsys.readouterr().out
    assert "Micro AUROC per injected kind" in printed and "| speed        | random_init |" in printed
    assert "1.0 min wall, 2.0 min CPU (data generation, 2 pretrainings, 9 cells)" in printed
    assert "shifted - random_init [+0.000, +0.000]" in printed


def test_bench_combinations_are_the_scorer_configs_of_the_same_name():
    for name, members in COMBINATIONS.items():
        configured = compose(f"anomaly/scorers/{name}.yaml")["init_args"]
        assert configured["scorers"] == [compose(f"anomaly/scorers/{m}.yaml") for m in members], name
        assert configured["weights"] == [1.0] * len(members), name


def test_bench_takes_pretrained_encoders_by_name_and_refuses_bad_ones_before_any_work(
    tiny_anomaly_digits, tmp_path, monkeypatch, capsys
):
    for name in ("BENCH_SCORERS", "SCORERS"):  # this test is about where the encoders come from, not the scorers
        monkeypatch.setattr(anomaly_tool, name, ("knn", "speed"))
    monkeypatch.setattr(anomaly_tool, "WEAK_SCORERS", ())
    monkeypatch.setattr(anomaly_tool, "COMBINATIONS", {"combined": ("knn", "speed")})
    base = _tiny_bench_config(tiny_anomaly_digits)
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(base))
    mine = encoder_checkpoint(load_encoder(base["encoder"]), tmp_path / "mine.ckpt", base["encoder"])
    flow = merge(base["encoder"], {"init_args": {"frame_input": "normal_flow"}})
    other = encoder_checkpoint(load_encoder(flow), tmp_path / "flow.ckpt", flow)
    run_dir = tmp_path / "run"
    bench = ["bench", "--config", str(config), "--run-dir", str(run_dir)]
    refused = {
        "expected NAME=PATH": ["--checkpoint", "mine"],
        "the column name 'a' is given twice": ["--checkpoint", f"a={mine}", "--checkpoint", f"a={mine}"],
        "random_init is the bench's own column": ["--checkpoint", f"random_init={mine}"],
        "--pretrain-epochs has no effect with --checkpoint": ["--checkpoint", f"a={mine}", "--pretrain-epochs", "5"],
        "checkpoint not found: .*missing.ckpt": ["--checkpoint", f"a={tmp_path / 'missing.ckpt'}"],
        "flow.ckpt: its encoder was trained on normal_flow frames, this one reads rgb": ["--checkpoint", f"a={other}"],
    }
    for message, arguments in refused.items():
        with pytest.raises(ValueError, match=message):
            TOOLS["anomaly"]([*bench, *arguments])
    assert not run_dir.exists()
    summary = TOOLS["anomaly"]([*bench, "--checkpoint", f"mine={mine}"])
    assert summary["checkpoints"] == {"random_init": None, "mine": str(mine)} and summary["pretrain_epochs"] is None
    assert list(summary["results"]) == ["knn", "speed", "combined"]
    assert all(list(row) == ["random_init", "mine"] for row in summary["results"].values())
    assert not list(run_dir.glob("pretrain_*"))
    assert "(data generation, encoders from --checkpoint, 6 cells)" in capsys.readouterr().out


def test_bench_refuses_an_interrupted_pretraining_checkpoint_or_one_on_other_frames_or_data(tmp_path):
    checkpoint = tmp_path / "pretrain_vcop" / "checkpoints" / "last.ckpt"
    checkpoint.parent.mkdir(parents=True)
    generated = {**asdict(AnomalyDigitsSpec()), "generator": GENERATOR_VERSION}
    (checkpoint.parent / GENERATED_WITH_FILE).write_text(json.dumps(generated))
    reader = {"class_path": "data_modules.anomaly_digits.AnomalyDigits", "init_args": {"root": "data/anomaly_digits"}}
    saved = full_reader_config(reader)  # as a run's config keeps it: every default filled in
    assert saved["init_args"]["test_per_scene"] == AnomalyDigitsSpec().test_per_scene
    run_config = {
        "model": {"init_args": {"encoder": {"init_args": {"frame_input": "residual"}}}},
        "data": {"init_args": {"reader": saved}},
    }
    torch.save({"epoch": 20, "state_dict": {}, RUN_CONFIG_KEY: run_config}, checkpoint)
    with pytest.raises(ValueError, match=r"last\.ckpt holds 20 of the 50 pretraining epochs .*--pretrain-epochs 20"):
        _pretrain("vcop", reader, tmp_path, 50, "residual", generated)
    assert _pretrain("vcop", reader, tmp_path, 20, "residual", generated) == str(checkpoint)
    with pytest.raises(ValueError, match=r"last\.ckpt was pretrained on residual frames and the bench.s encoder reads"):
        _pretrain("vcop", reader, tmp_path, 20, "rgb", generated)
    fewer = {**reader, "init_args": {**reader["init_args"], "test_per_scene": 4}}  # the set before it grew
    with pytest.raises(ValueError, match=r"last\.ckpt was pretrained on other data .*'test_per_scene': 12.*delete it"):
        _pretrain("vcop", fewer, tmp_path, 20, "residual", generated)
    newer = {**generated, "generator": GENERATOR_VERSION + 1}  # the same spec, made by a changed generator
    with pytest.raises(
        ValueError, match=re.escape(f"was generated with {generated}, and the bench's data is generated with {newer}")
    ):
        _pretrain("vcop", reader, tmp_path, 20, "residual", newer)
    (checkpoint.parent / GENERATED_WITH_FILE).unlink()  # pretrained before the bench kept it
    with pytest.raises(ValueError, match=r"was not recorded \(.*generated_with\.json missing\)"):
        _pretrain("vcop", reader, tmp_path, 20, "residual", generated)


def test_mil_fits_from_ucf_crime_class_folders_scores_every_test_frame_and_serves_on_its_random_encoder(
    tiny_anomaly_digits, tmp_path
):
    """The tiny benchmark laid out as UCF-Crime distributes it: anomaly class folders and normal folders for
    training (video-level labels only), the test videos' spans in the temporal annotation file. The config has
    no checkpoint: ``serve --anomaly`` rebuilds the seeded random encoder and gives ``score``'s values."""
    root = tmp_path / "ucf_crime"
    for record in tiny_anomaly_digits.anomaly_records("train"):
        folder = f"Anomaly-Videos/{record.name.split('_')[-1]}" if record.anomalous else "Training-Normal-Videos"
        (root / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(record.path, root / folder / f"{record.name}.avi")
    rows = []
    for record in tiny_anomaly_digits.anomaly_records("test"):
        cls = "Normal" if record.name.endswith("normal") else "Anomaly"
        (root / "Testing").mkdir(exist_ok=True)
        shutil.copy(record.path, root / "Testing" / f"{record.name}.avi")
        anomalous = np.flatnonzero(record.mask)
        span = f"{anomalous[0] + 1} {anomalous[-1] + 1}" if len(anomalous) else "-1 -1"
        rows.append(f"{record.name}.avi {cls} {span} -1 -1")
    (root / "Temporal_Anomaly_Annotation_for_Testing_Videos.txt").write_text("\n".join(rows) + "\n")
    config = compose("anomaly/ucf_crime_mil.yaml")
    config.update(encoder=compose("demo/base/appearance_encoder.yaml"), frame_size=32, out_dir=str(tmp_path / "out"))
    config["reader"]["init_args"]["root"] = str(root)
    config["scorer"]["init_args"].update(num_segments=8, steps=20)
    path = tmp_path / "mil.yaml"
    path.write_text(yaml.safe_dump(config))
    TOOLS["anomaly"](["fit", "--config", str(path)])
    metrics = TOOLS["anomaly"](["score", "--config", str(path)])
    assert metrics["scorer"] == "MILScorer" and metrics["num_frames"] == 6 * 30
    state = torch.load(tmp_path / "out" / "scorer.pt")
    assert state["head.0.weight"].shape == (512, 256) and float(state["train_scale"]) > 0  # demo encoder: 256-d clips
    _assert_served_as_scored(tmp_path / "out", tiny_anomaly_digits.anomaly_records("test")[1])


def test_encode_split_encodes_each_residual_view_once_and_aliases_the_standard_one(tiny_anomaly_digits, tmp_path):
    encoder = load_encoder(
        merge(compose("demo/base/appearance_encoder.yaml"), {"init_args": {"frame_input": "residual"}})
    )
    reader = AnomalyDigits(str(tiny_anomaly_digits.root), **TINY, **TINY_SEGMENTS)
    views = [ResidualView(2), ResidualView(4, backwards=True), ResidualView(2)]
    whole = encode_split(encoder, reader, "train", tmp_path / "m.json", 32, residual_gap=2, views=views)
    chunked = encode_split(encoder, reader, "train", tmp_path / "m.json", 32, 2, chunk_frames=7, views=views)
    assert list(whole.views) == [ResidualView(2), ResidualView(4, backwards=True)]
    assert all(v is f for v, f in zip(whole.views[ResidualView(2)], whole.features))  # not encoded twice
    for video, in_chunks in zip(whole.views[ResidualView(4, True)], chunked.views[ResidualView(4, True)]):
        torch.testing.assert_close(in_chunks, video)
    assert len(whole.views[ResidualView(4, True)]) == len(whole.features)


def test_a_random_init_encoder_is_the_same_in_fit_score_and_bench():
    """``checkpoint: null``: ``score`` must see the features ``fit`` fitted on."""
    config = {**compose("anomaly/digits.yaml"), "checkpoint": None}
    first = build(config)["encoder"].state_dict()
    torch.rand(100)  # whatever ran in between
    second = build(config)["encoder"].state_dict()
    assert all(torch.equal(first[key], second[key]) for key in first)
    draws = []
    for seed in (1, 2):  # the bench's scorers leave the generator unseeded: their heads draw from where it was
        torch.manual_seed(seed)
        bench_scorers(config)
        draws.append(torch.rand(1))
    assert not torch.equal(*draws)


def test_a_broken_frame_skips_its_training_folder_stops_its_test_folder_and_a_cut_test_video_is_named(tmp_path):
    from PIL import Image

    def frame_folder(folder, count):
        folder.mkdir(parents=True)
        for i in range(count):
            Image.new("RGB", (32, 32), (8 * i, 0, 0)).save(folder / f"img_{i + 1:05d}.jpg")
        return folder

    root = tmp_path / "set"
    small_video(root / "train" / "a.avi", num_frames=8)
    broken = frame_folder(root / "train" / "b", 8) / "img_00004.jpg"  # the probe opens only the first and last
    broken.write_bytes(broken.read_bytes()[:40])
    cut = small_video(root / "test" / "c.avi", num_frames=40)
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size * 2 // 3])
    meta = probe_video(str(cut))
    assert meta.truncated
    np.save(root / "test" / "c.npy", np.zeros(meta.num_frames, dtype=np.int64))
    small_video(root / "test" / "cam2" / "e.avi", num_frames=8)
    np.save(root / "test" / "cam2" / "e.npy", np.array([0] * 4 + [1] * 4))
    encoder = load_encoder(compose("demo/base/appearance_encoder.yaml"))
    reader = GenericAnomaly(str(root))
    train = encode_split(encoder, reader, "train", tmp_path / "m.json", 32)
    assert train.names == ["a"] and str(broken) in train.skipped[str(root / "train" / "b")]
    test = encode_split(encoder, reader, "test", tmp_path / "m.json", 32)
    assert test.truncated == {"c": meta.num_frames}
    metrics = write_results(tmp_path / "out", test, [np.zeros(meta.num_frames), np.arange(8.0)])
    assert metrics["truncated_test_videos"] == {"c": meta.num_frames}
    assert np.load(tmp_path / "out" / "scores" / "cam2" / "e.npy").tolist() == list(range(8))
    assert (tmp_path / "out" / "timelines" / "cam2" / "e.png").is_file()
    frame_folder(root / "test" / "d", 8)
    np.save(root / "test" / "d.npy", np.zeros(8, dtype=np.int64))
    shutil.copy(broken, root / "test" / "d" / "img_00005.jpg")
    with pytest.raises(ValueError, match=r"test video cannot be decoded.*test/d/img_00005\.jpg"):
        encode_split(encoder, reader, "test", tmp_path / "m.json", 32)
