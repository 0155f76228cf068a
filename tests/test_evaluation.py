"""Retrieval, embeddings on disk, the scikit-learn probes, t-SNE and the label-efficiency table command."""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from videovision.cli import VideoVisionCLI
from videovision.commands import main
from videovision.config import compose, experiments_dir
from videovision.evaluation import Embeddings, knn_probe, linear_probe, load_embeddings, retrieval_recall, tsne_plot
from videovision.tools.evaluate_features import evaluate, most_confused
from videovision.tools.results import DEFAULT_ENCODERS, ENCODERS, ResultsRun

from .conftest import CONFIGS

EXPERIMENTS = Path(__file__).parent.parent / "experiments"


def test_retrieval_recall_by_hand():
    gallery = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.7, 0.7]])
    gallery_labels = torch.tensor([0, 1, 2, 1])
    # query 0 (label 1) is nearest gallery 0 (label 0), then 3 (label 1): a miss at 1, a hit at 2.
    # query 1 (label 2) is nearest gallery 2 (label 2): a hit at 1.
    # query 2 (label 3) has no gallery video of its class: never a hit.
    queries = torch.tensor([[1.0, 0.2], [-2.0, 0.1], [0.0, 3.0]])
    recall = retrieval_recall(queries, torch.tensor([1, 2, 3]), gallery, gallery_labels, ks=(1, 2, 50))
    assert recall == pytest.approx({1: 1 / 3, 2: 2 / 3, 50: 2 / 3})


def test_retrieval_uses_cosine_not_euclidean_distance():
    gallery = torch.tensor([[10.0, 0.0], [0.1, 0.1]])
    # Euclidean: the query is nearest the second item; cosine: the first (same direction).
    recall = retrieval_recall(torch.tensor([[0.5, 0.0]]), torch.tensor([0]), gallery, torch.tensor([0, 1]), ks=(1,))
    assert recall[1] == 1.0


def _blobs(n_per_class: int, seed: int, shift: float = 8.0) -> Embeddings:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), n_per_class)
    centres = shift * np.random.default_rng(99).normal(size=(3, 16)) / 4  # every dimension carries some signal
    features = (centres[labels] + rng.normal(size=(len(labels), 16))).astype(np.float32)
    return Embeddings(features, labels, ["a", "b", "c"], [f"v{i}.mp4" for i in range(len(labels))])


def test_linear_probe_and_knn_separate_separable_features_and_fail_on_noise():
    train, test = _blobs(20, 0), _blobs(10, 1)
    assert linear_probe(train, test)["top1"] == 1.0
    assert knn_probe(train, test, k=5)["top1"] == 1.0
    for seed in range(3):
        assert linear_probe(train, test, label_fraction=0.1, seed=seed)["top1"] > 0.9  # 2 labelled videos per class
    noise = _blobs(20, 2, shift=0.0)
    assert linear_probe(noise, _blobs(30, 3, shift=0.0))["top1"] < 0.6


def test_probe_confusion_counts_true_rows_and_predicted_columns():
    # One test video of class 1; the close class-1 neighbour wins (k=3), or the class-0 majority when weights are flat.
    angle = lambda deg: [math.cos(math.radians(deg)), math.sin(math.radians(deg))]  # noqa: E731
    train = Embeddings(
        np.array([angle(60), angle(-60), angle(5)], np.float32), np.array([0, 0, 1]), ["a", "b"], ["", "", ""]
    )
    test = Embeddings(np.array([angle(0)], np.float32), np.array([1]), ["a", "b"], [""])
    assert knn_probe(train, test, k=3)["confusion"] == [[0, 0], [0, 1]]
    assert knn_probe(train, test, k=3, temperature=100.0)["confusion"] == [[0, 0], [1, 0]]
    # A class that no test video has still gets its row and column.
    blobs = _blobs(10, 0)
    keep = blobs.labels < 2
    only_two = Embeddings(blobs.features[keep], blobs.labels[keep], blobs.classes, [])
    assert np.array(linear_probe(blobs, only_two)["confusion"]).shape == (3, 3)


def test_most_confused_lists_the_largest_off_diagonal_cells():
    confusion = [[5, 2, 0], [7, 1, 1], [0, 0, 3]]
    assert most_confused(confusion, ["a", "b", "c"]) == [("b", "a", 7), ("a", "b", 2), ("b", "c", 1)]
    assert most_confused(confusion, ["a", "b", "c"], top=1) == [("b", "a", 7)]
    assert most_confused([[4, 0], [0, 2]], ["a", "b"]) == []


def test_knn_weights_votes_by_similarity():
    # Two gallery videos of class 0 at 60 degrees, one of class 1 at 5 degrees: with k=3 and
    # temperature 0.07 the single close neighbour outvotes the two far ones (exp(0.996/0.07) vs 2 exp(0.5/0.07)).
    angle = lambda deg: [math.cos(math.radians(deg)), math.sin(math.radians(deg))]  # noqa: E731
    train = Embeddings(
        np.array([angle(60), angle(-60), angle(5)], np.float32), np.array([0, 0, 1]), ["a", "b"], ["", "", ""]
    )
    test = Embeddings(np.array([angle(0)], np.float32), np.array([1]), ["a", "b"], [""])
    assert knn_probe(train, test, k=3)["top1"] == 1.0
    assert knn_probe(train, test, k=3, temperature=100.0)["top1"] == 0.0  # nearly equal weights: the majority wins


def _predict(cli_env, tmp_path, split: str, *extra: str) -> Path:
    out = tmp_path / "features" / split
    main(
        [
            "predict",
            f"--config={EXPERIMENTS / 'demo' / 'extract.yaml'}",
            *cli_env,
            '--data.init_args.reader={"class_path": "data_modules.UCF101", "init_args": {"root": "'
            + cli_env[0].split("=", 1)[1]
            + '"}}',
            f"--model.init_args.encoder={CONFIGS / 'tiny_encoder.yaml'}",
            "--data.init_args.num_workers=0",
            f"--data.init_args.predict_split={split}",
            f"--trainer.callbacks.init_args.out_dir={out}",
            "--trainer.enable_progress_bar=false",
            *extra,
        ]
    )
    return out


def test_predict_writes_embeddings_that_evaluate_features_reads(cli_env, tmp_path, capsys):
    train_dir, test_dir = _predict(cli_env, tmp_path, "train"), _predict(cli_env, tmp_path, "test")
    clips = np.load(test_dir / "clip_embeddings.npy")
    videos = np.load(test_dir / "video_embeddings.npy")
    assert clips.shape == (16, 10, 16) and videos.shape == (16, 16)
    np.testing.assert_allclose(videos, clips.mean(axis=1), rtol=1e-6)
    with open(test_dir / "index.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["row"]) for r in rows] == list(range(16))
    assert all(Path(r["path"]).is_file() and r["class"] in r["path"] for r in rows)
    train = load_embeddings(train_dir)
    assert len(train.labels) == 32 and train.classes[0] == "MoveLeft"

    png, report, confusion = tmp_path / "tsne.png", tmp_path / "eval.json", tmp_path / "confusion.png"
    main(
        ["evaluate-features", str(train_dir), str(test_dir), "--tsne", str(png), "--json", str(report)]
        + ["--confusion", str(confusion)]
    )
    out = capsys.readouterr().out
    assert "retrieval     R@1" in out and "probe's most confused (true -> predicted: videos):" in out
    assert confusion.stat().st_size > 5000
    results = json.loads(report.read_text())
    matrix = np.array(results["linear_probe"]["confusion"])
    assert matrix.shape == (len(train.classes),) * 2 and matrix.sum() == 16 and results["classes"] == train.classes
    assert np.trace(matrix) == round(16 * results["linear_probe"]["top1"])
    assert set(results["retrieval"]) == {"R@1", "R@5", "R@10", "R@20", "R@50"}
    assert results["retrieval"]["R@50"] == 1.0  # the gallery (32 videos) holds every class
    assert results == evaluate(train_dir, test_dir)
    assert png.stat().st_size > 5000


def test_missing_embeddings_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="video_embeddings.npy"):
        load_embeddings(tmp_path)


def test_classifier_predict_writes_predictions_with_class_names(cli_env, tmp_path):
    out = tmp_path / "pred"
    cli = VideoVisionCLI(
        args=[
            f"--config={CONFIGS / 'tiny_probe.yaml'}",
            *cli_env,
            "--trainer.callbacks+=videovision.callbacks.EmbeddingWriter",
            f"--trainer.callbacks.out_dir={out}",
        ],
        run=False,
    )
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    cli.trainer.predict(cli.model, datamodule=cli.datamodule)
    table = json.loads((out / "predictions.json").read_text())
    assert len(table) == 16
    classes = cli.datamodule.classes
    for row in table:
        assert row["class"] == classes[row["label"]] and row["predicted_class"] == classes[row["predicted"]]
        assert row["top5"][0] == row["predicted_class"] and 0 < row["probability"] <= 1
    with open(out / "predictions.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == 16
    assert np.load(out / "clip_embeddings.npy").shape == (16, 2, 16)


def test_tsne_plot_of_unlabelled_videos(tmp_path):
    split = _blobs(10, 0)
    split.labels[:] = -1
    assert tsne_plot(split, tmp_path / "t.png").stat().st_size > 5000


def test_results_command_makes_the_table_and_resumes(tiny_digits, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    reader = {"class_path": "data_modules.UCF101", "init_args": {"root": str(tiny_digits)}}
    args = [
        "results",
        f"--run-dir={tmp_path / 'results'}",
        "--encoders", "random_init", "vcop",
        "--fractions", "0.25", "1.0",
        "--seeds", "0", "1",
        "--sets", "digits",
        "--",
        "--trainer.max_steps=2",
        f"--data.init_args.reader={json.dumps(reader)}",
        "--data.init_args.num_workers=0",
        f"--model.init_args.encoder={CONFIGS / 'tiny_encoder.yaml'}",
    ]  # fmt: skip
    main(args)
    first = capsys.readouterr().out
    out = tmp_path / "results" / "digits"
    summary = json.loads((out / "results.json").read_text())
    assert set(summary["results"]) == {"random_init", "vcop"}
    for row in summary["results"].values():
        assert set(row["probe"]) == set(row["finetune"]) == {"0.25", "1"}
        assert all(len(v) == 2 for v in row["finetune"].values())
    table = (out / "results.md").read_text()
    assert "| random_init |" in table and "| vcop |" in table and "fine-tune 25%" in table
    assert table.strip() in first
    assert (out / "tsne_vcop.png").is_file()
    cells = sorted((out / "cells").iterdir())
    assert (
        len(cells) == 2 + 2 * 2 * 2 + 2 * 2 * 2 + 2
    )  # pretraining per seed; extraction (encoders x seeds x splits); fine-tunes; supervised
    assert len(summary["supervised"]) == 2 and "| supervised, converged |" in table
    ratio = np.mean(summary["results"]["vcop"]["probe"]["0.25"]) / np.mean(summary["supervised"])
    assert f"| {ratio:.2f} |" in table.splitlines()[3]  # the 25 % probe over the supervised baseline
    assert all(len(v) == 2 for row in summary["results"].values() for v in row["retrieval"].values())
    main(args)  # every cell cached: the same table again
    assert (out / "results.md").read_text() == table
    with pytest.raises(ValueError, match=r"digits holds cells made with the overrides .*--trainer\.max_steps=2"):
        main([a.replace("max_steps=2", "max_steps=3") for a in args])  # its cells would be reused silently


def test_results_loads_each_pretraining_into_the_encoder_it_trained(tmp_path):
    run = ResultsRun(tmp_path, experiments_dir() / "demo", [])
    vit = run.encoder_config("vcop_vit")["model.init_args.encoder"]
    assert vit["init_args"]["backbone"]["class_path"] == "videovision.models.ViTFrames"
    assert run.encoder_config("vcop")["model.init_args.encoder"] == compose("demo/base/encoder.yaml")
    assert run.encoder_config("random_init") == {}  # the extract and fine-tune configs' own encoder
    assert "vcop_vit" not in DEFAULT_ENCODERS and "vcop_vit" in ENCODERS


def test_classify_a_folder_from_the_checkpoint_alone(cli_env, tiny_digits, tmp_path, capsys):
    # validated on a held-out part of its videos, as supervised.yaml's runs are: classify still reads every video
    args = [f"--config={CONFIGS / 'tiny_probe.yaml'}", *cli_env, "--data.init_args.val_fraction=0.15"]
    probe = VideoVisionCLI(args=args, run=False)
    probe.trainer.fit(probe.model, datamodule=probe.datamodule)
    (ckpt,) = (tmp_path / "run").rglob("*.ckpt")
    mine = tmp_path / "my videos"
    for video in sorted((tiny_digits / "UCF-101").rglob("*.avi"))[:3]:
        (mine / "sub").mkdir(parents=True, exist_ok=True)
        shutil.copy(video, mine / "sub" / video.name)
    main(["classify", str(mine), "--ckpt", str(ckpt), "--out", str(tmp_path / "out"), "--workers", "0"])
    table = json.loads((tmp_path / "out" / "predictions.json").read_text())
    classes = probe.datamodule.classes
    assert len(table) == 3 and all(row["predicted_class"] in classes and len(row["top5"]) == 5 for row in table)
    assert "v_" in capsys.readouterr().out

    # the plain LightningCLI path: predict with the probe checkpoint on unlabelled videos, num_classes left to it
    out = tmp_path / "pred"
    folder = json.dumps({"class_path": "data_modules.VideoFolder", "init_args": {"root": str(mine), "labelled": False}})
    main(
        [
            "predict",
            f"--config={CONFIGS / 'tiny_probe.yaml'}",
            *cli_env,
            f"--data.init_args.reader={folder}",
            "--data.init_args.predict_split=train",
            "--model.init_args.num_classes=null",
            "--trainer.callbacks+=videovision.callbacks.EmbeddingWriter",
            f"--trainer.callbacks.out_dir={out}",
            f"--ckpt_path={ckpt}",
        ]
    )
    rows = json.loads((out / "predictions.json").read_text())
    assert [r["predicted_class"] for r in rows] == [r["predicted_class"] for r in table]


def test_evaluate_features_on_unlabelled_embeddings_and_small_galleries(tmp_path, capsys):
    for name, split in (("train", _blobs(2, 0)), ("test", _blobs(2, 1))):
        folder = tmp_path / name
        folder.mkdir()
        np.save(folder / "video_embeddings.npy", split.features)
        rows = "".join(
            f"{i},{p},{label},{split.classes[label]}\n" for i, (p, label) in enumerate(zip(split.paths, split.labels))
        )
        (folder / "index.csv").write_text("row,path,label,class\n" + rows)
    main(["evaluate-features", str(tmp_path / "train"), str(tmp_path / "test"), "--knn-k", "20"])
    out = capsys.readouterr().out
    assert "kNN k=20 exceeds the 6 labelled gallery videos" in out and "R@k for k above the gallery's 6" in out
    for name in ("train", "test"):
        index = tmp_path / name / "index.csv"
        index.write_text(
            index.read_text().replace(",0,a\n", ",-1,\n").replace(",1,b\n", ",-1,\n").replace(",2,c\n", ",-1,\n")
        )
    png = tmp_path / "tsne.png"
    main(["evaluate-features", str(tmp_path / "train"), str(tmp_path / "test"), "--tsne", str(png)])
    assert "carry no labels" in capsys.readouterr().out and png.stat().st_size > 5000
