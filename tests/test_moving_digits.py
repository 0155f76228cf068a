"""The embedded dataset: real video files in the UCF101 layout, deterministic, cached."""

from __future__ import annotations

import decord
import numpy as np
import pytest

from data_modules import UCF101, MovingDigits
from data_modules.moving_digits import CLASSES, MovingDigitsSpec, generate

from .conftest import TINY_SPEC


def test_videos_decode_with_decord_to_the_expected_length(tiny_digits):
    reader = UCF101(str(tiny_digits))
    records = reader.records("train") + reader.records("test")
    assert len(records) == len(CLASSES) * TINY_SPEC.num_groups * TINY_SPEC.clips_per_group
    for record in records[:: len(records) // 6]:
        video = decord.VideoReader(record.path)
        assert len(video) == TINY_SPEC.num_frames
        frames = video.get_batch([0, TINY_SPEC.num_frames - 1]).asnumpy()
        assert frames.shape == (2, TINY_SPEC.size, TINY_SPEC.size, 3)
        assert not np.array_equal(frames[0], frames[1]), "the digit should move"


def test_labels_follow_class_folders(tiny_digits):
    reader = UCF101(str(tiny_digits))
    assert reader.classes == list(CLASSES)
    for split in ("train", "test"):
        for record in reader.records(split):
            assert reader.classes[record.label] in record.path.split("/")[-2]


def test_train_and_test_never_share_a_group(tiny_digits):
    reader = UCF101(str(tiny_digits))
    train = {r.group for r in reader.records("train")}
    test = {r.group for r in reader.records("test")}
    assert train and test and not train & test
    assert len(reader.records("test")) == len(CLASSES) * TINY_SPEC.test_groups * TINY_SPEC.clips_per_group


def test_generation_is_deterministic_and_cached(tmp_path):
    spec = MovingDigitsSpec(num_groups=2, clips_per_group=1, test_groups=1, num_frames=6, size=32, seed=3)
    a, b = generate(tmp_path / "a", spec), generate(tmp_path / "b", spec)
    name = f"{CLASSES[4]}/v_{CLASSES[4]}_g02_c01.avi"
    assert (a / "UCF-101" / name).read_bytes() == (b / "UCF-101" / name).read_bytes()
    stamp = (a / "UCF-101" / name).stat().st_mtime_ns
    generate(tmp_path / "a", spec)
    assert (a / "UCF-101" / name).stat().st_mtime_ns == stamp, "a cached dataset must not be rewritten"


def test_generating_into_a_folder_of_other_files_is_refused(tmp_path):
    own = tmp_path / "my_videos"
    own.mkdir()
    (own / "holiday.mp4").write_bytes(b"someone's video")
    with pytest.raises(FileExistsError, match=r"my_videos is not empty and holds no moving_digits.json.*VideoFolder"):
        MovingDigits(str(own)).prepare()
    assert sorted(p.name for p in own.iterdir()) == ["holiday.mp4"]
