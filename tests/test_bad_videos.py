"""Bad input never stops a run: each kind is decoded right or skipped, named and counted."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from lightning.pytorch.trainer.states import TrainerFn

from data_modules import UCF101, RandomClipSampler, VideoDataModule
from data_modules.clip_dataset import ClipDataset
from data_modules.metadata import probe_videos
from data_modules.readers import VideoRecord
from data_modules.video_io import VideoDecodeError, VideoMeta, probe_video, read_frames


@pytest.fixture()
def bad_copy(tiny_digits, tmp_path):
    """A copy of the tiny dataset with one bad file of each kind among its training videos."""
    root = tmp_path / "digits"
    shutil.copytree(tiny_digits, root)
    train = [line.split()[0] for line in (root / "ucfTrainTestlist" / "trainlist01.txt").read_text().splitlines()]
    videos = root / "UCF-101"
    (videos / train[0]).write_bytes(b"")  # empty
    data = (videos / train[1]).read_bytes()
    (videos / train[1]).write_bytes(data[: len(data) // 2])  # truncated mid-stream
    (videos / train[2]).write_text("this is not a video\n")  # not a video
    (videos / train[3]).unlink()  # missing
    return root, {
        str(videos / name): kind for name, kind in zip(train, ["empty", "truncated", "not-a-video", "missing"])
    }


def test_probe_names_the_file_and_the_reason(bad_copy, tmp_path):
    _, bad = bad_copy
    reasons = {kind: path for path, kind in bad.items()}
    for kind, words in [("empty", "empty file"), ("missing", "missing file"), ("not-a-video", "")]:
        with pytest.raises(VideoDecodeError, match=reasons[kind].split("/")[-1]) as info:
            probe_video(reasons[kind])
        assert words in str(info.value)


def test_truncated_video_is_skipped_or_reports_only_frames_that_decode(bad_copy):
    _, bad = bad_copy
    path = next(p for p, kind in bad.items() if kind == "truncated")
    try:
        meta = probe_video(path)
    except VideoDecodeError as exc:
        assert path in str(exc)
        return
    assert 0 < meta.num_frames < 16
    frames = read_frames(path, np.arange(meta.num_frames), meta)
    assert frames.shape[0] == meta.num_frames


def test_bad_files_are_skipped_counted_and_training_data_still_flows(bad_copy, tmp_path, caplog):
    root, bad = bad_copy
    dm = VideoDataModule(
        UCF101(str(root)),
        RandomClipSampler(clip_len=4),
        batch_size=4,
        num_workers=0,
        cache_dir=str(tmp_path / "cache"),
        max_bad_fraction=0.5,
    )
    dm.prepare_data()
    with caplog.at_level(logging.WARNING):
        dm.setup("fit")
    skipped = set(dm.skipped["train"])
    always = {p for p, kind in bad.items() if kind != "truncated"}
    assert always <= skipped <= set(bad)
    assert f"skipping {len(skipped)} of 32" in caplog.text
    assert "do not decode (check-data lists them all): " + dm.skipped["train"][sorted(skipped)[0]] in caplog.text
    with caplog.at_level(logging.WARNING):
        dm.setup(TrainerFn.FITTING)  # as Lightning calls it
    assert "TrainerFn" not in caplog.text and "fit (train split): skipping" in caplog.text
    batch = next(iter(dm.train_dataloader()))
    assert batch["clips"].shape[0] == 4


def test_too_many_bad_files_fail_early_with_the_list(bad_copy, tmp_path):
    root, bad = bad_copy
    dm = VideoDataModule(
        UCF101(str(root)),
        RandomClipSampler(clip_len=4),
        num_workers=0,
        cache_dir=str(tmp_path / "cache"),
        max_bad_fraction=0.01,
    )
    dm.prepare_data()
    with pytest.raises(RuntimeError, match="max_bad_fraction") as info:
        dm.setup("fit")
    for path, kind in bad.items():
        if kind != "truncated":
            assert path in str(info.value)


def test_a_video_that_breaks_after_probing_is_replaced_and_counted(tiny_digits, tmp_path, caplog):
    good = UCF101(str(tiny_digits)).records("train")[:3]
    broken = tmp_path / "broken.avi"
    shutil.copy(good[0].path, broken)
    records = [VideoRecord(str(broken), 0), *good]
    metas = probe_videos([r.path for r in records], tmp_path / "meta.json")
    broken.write_bytes(b"gone bad")
    dataset = ClipDataset(records, [metas[r.path] for r in records], RandomClipSampler(clip_len=4))
    with caplog.at_level(logging.WARNING):
        item = dataset[0]
        dataset[0]
    assert item["failures"] == 1 and item["index"] != 0
    assert len([r for r in caplog.records if "broken.avi" in r.getMessage()]) == 1, "each bad file is logged once"


def test_metadata_cache_is_reused_and_refreshed_when_a_file_changes(tiny_digits, tmp_path):
    path = UCF101(str(tiny_digits)).records("train")[0].path
    copy = tmp_path / "v.avi"
    shutil.copy(path, copy)
    cache = tmp_path / "meta.json"
    first = probe_videos([str(copy)], cache)[str(copy)]
    assert isinstance(first, VideoMeta) and first.num_frames == 16
    copy.write_bytes(b"")
    assert "empty" in probe_videos([str(copy)], cache)[str(copy)]


def test_check_data_lists_bad_files_and_fills_the_cache(bad_copy, tmp_path, monkeypatch, capsys):
    from videovision.tools.check_data import main as check_data

    from .conftest import CONFIGS

    root, bad = bad_copy
    monkeypatch.setenv("HOME", str(tmp_path))
    args = ["--config", str(CONFIGS / "tiny_probe.yaml"), f"--data.init_args.reader.init_args.root={root}"]
    report = tmp_path / "report.json"
    assert check_data([*args, "--strict", "--report", str(report)]) == 1
    out = capsys.readouterr().out
    for path, kind in bad.items():
        if kind != "truncated":
            assert f"BAD {path}" in out
    assert "train: " in out and "test: 16 of 16 videos decode" in out
    import json

    assert json.loads(report.read_text())["test"]["frames"]["max"] == 16
    assert check_data(args) == 0
    assert check_data(["--conf", args[1], args[2]]) == 0  # argparse's abbreviations still work
    reader = {"class_path": "data_modules.UCF101", "init_args": {"root": str(root)}}
    check_data(
        [
            args[0],
            args[1],
            "--data.init_args.train_sampler.init_args.clip_len",
            "20",
            "--data.init_args.reader",
            json.dumps(reader),
            "--workers",
            "0",
        ]
    )  # fmt: skip  (the README's JSON style: a value with spaces)
    assert (
        "SHORT 16 videos hold fewer than the 20 frames a training sample of RandomClipSampler"
        in capsys.readouterr().out
    )


def _as_unprivileged_user(check) -> None:
    """Run ``check()`` in a forked child that has dropped root (root reads files whatever their mode)."""
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            if os.getuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            check()
            status = 0
        except BaseException as exc:  # report, then leave the child without running pytest's teardown
            print(f"child failed: {exc!r}", flush=True)
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the unprivileged check failed; see the captured output"


def test_an_unreadable_file_is_named_and_skipped(tiny_digits):
    folder = Path(tempfile.mkdtemp(prefix="videovision-perm-"))  # /tmp, reachable by an unprivileged user
    try:
        folder.chmod(0o755)
        readable, locked = folder / "ok.avi", folder / "locked.avi"
        source = next((tiny_digits / "UCF-101" / "MoveDown").glob("*.avi"))
        shutil.copy(source, readable)
        shutil.copy(source, locked)
        readable.chmod(0o644)
        meta = probe_video(str(locked))
        locked.chmod(0o000)

        def check() -> None:
            with pytest.raises(VideoDecodeError, match="locked.avi.*[Pp]ermission denied"):
                probe_video(str(locked))
            with pytest.raises(VideoDecodeError, match="locked.avi"):
                read_frames(str(locked), np.arange(4), meta)  # probed before it was locked: the loader's path
            dataset = ClipDataset(
                [VideoRecord(str(locked), 0), VideoRecord(str(readable), 1)],
                [meta, meta],
                RandomClipSampler(clip_len=4),
            )
            sample = dataset[0]
            assert int(sample["index"]) == 1 and int(sample["failures"]) == 1

        _as_unprivileged_user(check)
    finally:
        shutil.rmtree(folder)


def test_an_interrupted_probe_resumes_where_it_stopped(tiny_digits, tmp_path, monkeypatch):
    import data_modules.metadata as metadata

    paths = [r.path for r in UCF101(str(tiny_digits)).records("train")[:4]]
    cache = tmp_path / "meta.jsonl"
    probe_videos(paths[:2], cache)
    with cache.open("a") as f:
        f.write('{"path": "' + paths[2] + '", "stamp": [1')  # killed while writing this line
    probed = []
    monkeypatch.setattr(metadata, "probe_video", lambda path: probed.append(path) or probe_video(path))
    metas = probe_videos(paths, cache)
    assert probed == paths[2:] and all(m.num_frames == 16 for m in metas.values())
    assert probe_videos(paths, cache) == metas and probed == paths[2:]  # all cached now


def test_probing_in_worker_processes_gives_the_same_metadata(tiny_digits, tmp_path):
    paths = [r.path for r in UCF101(str(tiny_digits)).records("train")[:16]]
    assert probe_videos(paths, tmp_path / "a.jsonl", num_workers=2) == probe_videos(paths, tmp_path / "b.jsonl")


def test_check_data_on_a_folder_says_what_training_will_do(bad_copy, tmp_path, monkeypatch, capsys):
    from videovision.tools.check_data import main as check_data

    root, bad = bad_copy
    monkeypatch.setenv("HOME", str(tmp_path))
    report = tmp_path / "report.json"
    assert check_data([str(root / "UCF-101"), "--report", str(report), "--workers", "0"]) == 0
    out = capsys.readouterr().out
    assert "test: none (VideoFolder(" in out and "resolutions: 32x32 (" in out and "videos/s" in out
    assert "training will REFUSE this split: train split: 3 of 47 videos do not decode, above" in out
    assert "--data.init_args.max_bad_fraction 0.11" in out
    assert "fewer than the 36 frames a training sample of TupleClipSampler spans" in out  # the demo pretraining's
    assert set(json.loads(report.read_text())["train"]["bad"]) <= set(bad)
