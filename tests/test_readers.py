"""Every reader against a tiny tree in its exact on-disk format."""

from __future__ import annotations

import json

import pytest

from data_modules.readers import HMDB51, UCF101, UNLABELLED, Kinetics, Manifest, MissingSplitError, VideoFolder


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_ucf101_splits_are_one_based_and_test_lists_carry_no_label(tmp_path):
    lists = tmp_path / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("1 ApplyEyeMakeup\n2 Archery\n")
    (lists / "trainlist02.txt").write_text(
        "Archery/v_Archery_g08_c01.avi 2\nApplyEyeMakeup/v_ApplyEyeMakeup_g09_c02.avi 1\n"
    )
    (lists / "testlist02.txt").write_text("Archery/v_Archery_g01_c01.avi\n")
    reader = UCF101(str(tmp_path), split=2)
    train = reader.records("train")
    assert [(r.label, r.group) for r in train] == [(1, "Archery_g08"), (0, "ApplyEyeMakeup_g09")]
    assert train[0].path == str(tmp_path / "UCF-101" / "Archery" / "v_Archery_g08_c01.avi")
    assert [r.label for r in reader.records("test")] == [1]
    with pytest.raises(FileNotFoundError, match="testlist01.txt"):
        UCF101(str(tmp_path), split=1).records("test")


def test_hmdb51_ids_select_train_test_and_unused(tmp_path):
    splits = tmp_path / "testTrainMulti_7030_splits"
    splits.mkdir()
    (splits / "brush_hair_test_split1.txt").write_text("a.avi 1\nb.avi 2\nc.avi 0\n")
    (splits / "cartwheel_test_split1.txt").write_text("d.avi 2\ne.avi 1\n")
    reader = HMDB51(str(tmp_path), split=1)
    assert reader.classes == ["brush_hair", "cartwheel"]
    assert [(r.path.split("/")[-2:], r.label) for r in reader.records("train")] == [
        (["brush_hair", "a.avi"], 0),
        (["cartwheel", "e.avi"], 1),
    ]
    assert reader.records("train")[0].path == str(tmp_path / "brush_hair" / "a.avi")  # <action>/ beside the splits
    (tmp_path / "videos").mkdir()  # MMAction2's layout: root/videos/<action>/
    assert HMDB51(str(tmp_path)).records("train")[0].path == str(tmp_path / "videos" / "brush_hair" / "a.avi")
    assert [r.path.split("/")[-1] for r in reader.records("test")] == ["b.avi", "d.avi"]


def test_kinetics_labels_with_spaces_nested_or_flat_and_missing_counted(tmp_path, caplog):
    ann = tmp_path / "annotations"
    ann.mkdir()
    header = "label,youtube_id,time_start,time_end,split\n"
    (ann / "train.csv").write_text(
        header + "air drumming,abc,0,10,train\nabseiling,def,5,15,train\nabseiling,gone,1,11,train\n"
    )
    (ann / "validate.csv").write_text(header + "air drumming,xyz,30,40,val\n")
    _touch(tmp_path / "train" / "air drumming" / "abc_000000_000010.mp4")
    _touch(tmp_path / "train" / "def_000005_000015.mp4")
    _touch(tmp_path / "val" / "air_drumming" / "xyz_000030_000040.mp4")  # MMAction2's renamed class folders
    reader = Kinetics(str(tmp_path))
    assert reader.classes == ["abseiling", "air drumming"]
    train = reader.records("train")
    assert [(r.path.split("/")[-1], r.label) for r in train] == [
        ("abc_000000_000010.mp4", 1),
        ("def_000005_000015.mp4", 0),
    ]
    with caplog.at_level("WARNING"):
        assert len(reader.records("train")) == 2
    assert reader.missing["train"] == 1
    assert f"Kinetics train: 1 of 3 clips listed in {ann / 'train.csv'} are not under" in caplog.text
    assert [r.label for r in reader.records("val")] == [1]


def test_video_folder_labelled_with_split_folders_and_unlabelled(tmp_path):
    for split, cls, name in [("train", "cat", "1.mp4"), ("train", "dog", "2.avi"), ("val", "dog", "3.mkv")]:
        _touch(tmp_path / split / cls / name)
    _touch(tmp_path / "train" / "notes.txt")
    reader = VideoFolder(str(tmp_path))
    assert reader.classes == ["cat", "dog"]
    assert [(r.path.split("/")[-1], r.label) for r in reader.records("train")] == [("1.mp4", 0), ("2.avi", 1)]
    assert [r.label for r in reader.records("val")] == [1]
    unlabelled = VideoFolder(str(tmp_path / "train"), labelled=False).records("train")
    assert {r.label for r in unlabelled} == {UNLABELLED} and len(unlabelled) == 2


def test_manifest_csv_and_jsonl_with_spans(tmp_path):
    (tmp_path / "train.csv").write_text("path,label,start_sec,end_sec\nv/a.mp4,run,1.5,3.0\nv/b.mp4,jump,,\n")
    (tmp_path / "val.jsonl").write_text(
        json.dumps({"path": "v/c.mp4", "label": "run"}) + "\n" + json.dumps({"path": "v/d.mp4"}) + "\n"
    )
    reader = Manifest({"train": str(tmp_path / "train.csv"), "val": str(tmp_path / "val.jsonl")})
    assert reader.classes == ["jump", "run"]
    train = reader.records("train")
    assert train[0].path == str(tmp_path / "v" / "a.mp4") and train[0].label == 1 and train[0].span == (1.5, 3.0)
    assert train[1].span is None
    assert [r.label for r in reader.records("val")] == [1, UNLABELLED]


def test_a_split_that_does_not_exist_is_an_error_never_the_training_videos(tmp_path):
    for cls in ("cat", "dog"):
        for i in range(3):
            _touch(tmp_path / cls / f"v_{cls}_g0{i}_c01.mp4")
    flat = VideoFolder(str(tmp_path))
    assert len(flat.records("train")) == 6
    for split in ("val", "test"):
        with pytest.raises(MissingSplitError, match=rf"VideoFolder\(.*\) has no '{split}' split.*holdout_fraction"):
            flat.records(split)
    (tmp_path / "train.csv").write_text("path,label\ncat/v_cat_g00_c01.mp4,cat\n")
    with pytest.raises(MissingSplitError, match=r"Manifest\(.*train.csv\) has no 'test' split"):
        Manifest({"train": str(tmp_path / "train.csv")}).records("test")


def test_holdout_splits_by_group_and_seed(tmp_path):
    for cls in ("cat", "dog"):
        for group in range(5):
            for clip in (1, 2):
                _touch(tmp_path / cls / f"v_{cls}_g{group:02d}_c{clip:02d}.mp4")
    reader = VideoFolder(str(tmp_path), holdout_fraction=0.2, holdout_seed=3)
    train, val, test = (reader.records(s) for s in ("train", "val", "test"))
    assert val == test and len(test) == 2 * 2  # ceil(0.2 * 10 groups) = 2 groups of 2 clips
    assert not {r.path for r in train} & {r.path for r in test} and len(train) + len(test) == 20
    assert {r.group for r in test}.isdisjoint({r.group for r in train})
    assert VideoFolder(str(tmp_path), holdout_fraction=0.2, holdout_seed=3).records("test") == test
    assert VideoFolder(str(tmp_path), holdout_fraction=0.2, holdout_seed=4).records("test") != test
