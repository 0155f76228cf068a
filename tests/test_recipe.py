"""The data-sized recipe: frame size 'auto' and a validation split held out of train."""

from __future__ import annotations

import pytest
import torch

from data_modules import UCF101, EvalTransform, RandomClipSampler, TrainAugmentation, VideoDataModule
from data_modules.recipe import auto_frame_size, frame_size
from tests.serving_helpers import small_video


def test_frame_size_is_a_quarter_of_the_median_short_side_in_steps_of_16_within_bounds():
    assert frame_size([64, 64, 48]) == 32  # 16 -> the floor, 32
    assert frame_size([240, 240, 576]) == 64  # 240 / 4 = 60 -> 64
    assert frame_size([360, 100, 480]) == 96  # median 360 / 4 = 90 -> 96
    assert frame_size([1080]) == 112  # 270 -> the ceiling, 112
    with pytest.raises(ValueError, match="at least one decodable"):
        frame_size([])


def test_auto_frame_size_reads_the_decodable_videos_and_says_what_it_was_sized_from(tmp_path):
    for name, (height, width) in {"a": (192, 256), "b": (240, 320), "c": (480, 640)}.items():
        small_video(tmp_path / f"{name}.avi", num_frames=4, height=height, width=width)
    (tmp_path / "broken.avi").write_bytes(b"not a video")
    paths = [str(tmp_path / f"{name}.avi") for name in ("a", "b", "c", "broken")]
    size, sized_from = auto_frame_size(paths, tmp_path / "metadata.json")
    assert size == 64  # median short side 240 / 4 = 60 -> 64; the broken file is left out
    assert sized_from.startswith("frame size 'auto': 64 px (a quarter of the median short side, 240 px, of 3 training")
    with pytest.raises(ValueError, match="at least one decodable"):
        auto_frame_size(paths[-1:], tmp_path / "metadata.json")


def test_auto_sizes_resolve_once_and_explicit_sizes_win():
    clips = torch.randint(0, 255, (2, 1, 3, 3, 40, 50), dtype=torch.uint8)
    train = TrainAugmentation(crop_size="auto", hflip=0.0)
    with pytest.raises(RuntimeError, match="never resolved"):
        train(clips)
    train.resolve_size(16)
    assert train(clips).shape == (2, 1, 3, 3, 16, 16) and train.crop_size == 16
    evaluate = EvalTransform(resize="auto", crop_size=12)
    evaluate.resolve_size(20)
    assert evaluate(clips).shape == (2, 1, 3, 3, 12, 12) and evaluate.resize.size == [20]
    fixed = EvalTransform(resize=30, crop_size=24)
    fixed.resolve_size(20)
    assert fixed(clips).shape[-2:] == (24, 24) and fixed.resize.size == [30]
    with pytest.raises(ValueError, match="crop_size must be an int or 'auto'"):
        TrainAugmentation(crop_size="big")


def test_the_data_module_sizes_auto_transforms_and_holds_out_validation_from_train(tiny_digits, tmp_path):
    dm = VideoDataModule(
        UCF101(str(tiny_digits)),
        RandomClipSampler(clip_len=4),
        train_transform=TrainAugmentation(crop_size="auto"),
        eval_transform=EvalTransform(resize="auto", crop_size="auto"),
        num_workers=0,
        cache_dir=str(tmp_path),
        val_fraction=0.25,
    )
    dm.prepare_data()
    dm.setup("fit")
    assert dm.train_transform.crop_size == 32 and dm.eval_transform.crop_size == 32  # 32 px videos -> the floor
    train = {r.path for r in dm.datasets["train"].records}
    val = {r.path for r in dm.datasets["val"].records}
    reader_train = {r.path for r in UCF101(str(tiny_digits)).records("train")}
    assert train and val and not train & val and train | val == reader_train
    restored = VideoDataModule(
        UCF101(str(tiny_digits)),
        RandomClipSampler(clip_len=4),
        eval_transform=EvalTransform(resize="auto", crop_size=8),
    )
    restored.load_state_dict(dm.state_dict())  # what a checkpoint carries to classify and serve
    assert dm.state_dict() == {"frame_size": 32} and restored.eval_transform.resize.size == [32]
    assert restored.eval_transform.crop_size == 8
    given = VideoDataModule(
        UCF101(str(tiny_digits)),
        RandomClipSampler(clip_len=4),
        eval_transform=EvalTransform(resize="auto", crop_size="auto"),
        num_workers=0,
        cache_dir=str(tmp_path),
        frame_size=48,  # what classify passes: the size the checkpoint's run resolved, not one from new videos
    )
    given.setup("test")
    assert given.eval_transform.crop_size == 48 and given.state_dict() == {"frame_size": 48}
