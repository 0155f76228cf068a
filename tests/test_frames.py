"""Frame folders: extraction at a target fps and size, and the data module reading them."""

from __future__ import annotations

import shutil

import av
import numpy as np
import pytest
from PIL import Image

from data_modules import UCF101, EvalTransform, RandomClipSampler, TrainAugmentation, VideoDataModule
from data_modules.frame_folders import FrameFolderError, count_frames, extract_frames, frame_files, frame_path
from data_modules.metadata import read_cache
from data_modules.video_io import VideoDecodeError, probe_video, read_frames
from videovision.commands import main


def _decode_all(path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


@pytest.fixture()
def video(tiny_digits):
    return next((tiny_digits / "UCF-101" / "MoveLeft").glob("*.avi"))  # every frame differs


def test_every_frame_is_extracted_as_decoded(video, tmp_path):
    reference = _decode_all(video)
    assert extract_frames(video, tmp_path / "f", quality=100) == len(reference) == 16
    meta = probe_video(str(tmp_path / "f"))
    assert (meta.backend, meta.num_frames, meta.fps, meta.width) == ("frames", 16, 25.0, 32)
    frames = read_frames(str(tmp_path / "f"), np.array([[3, 0], [15, 3]]), meta)
    assert frames.shape == (2, 2, 32, 32, 3)
    for got, index in zip(frames.reshape(-1, 32, 32, 3), [3, 0, 15, 3]):
        assert np.abs(got.astype(int) - reference[index]).mean() < 2.0  # JPEG at quality 100


def test_target_fps_keeps_the_frame_on_screen_at_each_tick(video, tmp_path):
    reference = _decode_all(video)  # 16 frames at 25 fps = 0.64 s
    assert extract_frames(video, tmp_path / "f", fps=10, quality=100) == 7  # ticks 0, 0.1, ..., 0.6 s
    meta = probe_video(str(tmp_path / "f"))
    assert meta.fps == 10.0
    frames = read_frames(str(tmp_path / "f"), np.arange(7), meta)
    for k, got in enumerate(frames):
        errors = [np.abs(got.astype(int) - ref).mean() for ref in reference]
        assert int(np.argmin(errors)) == int(k * 2.5 + 1e-9) and min(errors) < 2.0, f"tick {k}"


def test_short_side_resizes(video, tmp_path):
    extract_frames(video, tmp_path / "f", short_side=16)
    meta = probe_video(str(tmp_path / "f"))
    assert (meta.width, meta.height) == (16, 16)


def test_extract_frames_command_skips_bad_videos_and_resumes(tiny_digits, tmp_path, capsys):
    src = tmp_path / "src"
    shutil.copytree(tiny_digits / "UCF-101" / "MoveUp", src / "MoveUp")
    (src / "MoveUp" / "broken.avi").write_bytes(b"not a video at all")
    dst = tmp_path / "frames"
    with pytest.raises(SystemExit) as exit_info:
        main(["extract-frames", str(src), str(dst), "--fps", "10"])
    assert exit_info.value.code == 1 and "1 videos failed" in capsys.readouterr().out
    done = sorted(p for p in (dst / "MoveUp").iterdir() if (p / "frames.json").is_file())
    assert len(done) == 6
    stamp = frame_path(done[0], 0).stat().st_mtime_ns
    (src / "MoveUp" / "broken.avi").unlink()
    main(["extract-frames", str(src), str(dst), "--fps", "10"])  # nothing failed: exit status 0, no SystemExit
    assert frame_path(done[0], 0).stat().st_mtime_ns == stamp, "a finished folder was extracted again"


def test_a_broken_frame_folder_is_named(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(VideoDecodeError, match="empty: no numbered image files"):
        probe_video(str(tmp_path / "empty"))
    bad = tmp_path / "bad"
    bad.mkdir()
    frame_path(bad, 0).write_bytes(b"\xff\xd8 truncated")
    with pytest.raises(VideoDecodeError, match="bad"):
        probe_video(str(bad))


def test_data_module_reads_frame_folders_with_the_dataset_reader(tiny_digits, tmp_path):
    frames = tmp_path / "frames"
    main(["extract-frames", str(tiny_digits), str(frames)])
    assert count_frames(frames / "UCF-101" / "MoveLeft" / "v_MoveLeft_g01_c01") == 16
    dm = VideoDataModule(
        UCF101(str(tiny_digits)),
        RandomClipSampler(clip_len=4, stride=2),
        train_transform=TrainAugmentation(crop_size=24, hflip=0.0),
        eval_transform=EvalTransform(resize=24, crop_size=24),
        batch_size=4,
        num_workers=0,
        cache_dir=str(tmp_path / "cache"),
        frames_dir=str(frames),
    )
    dm.prepare_data()
    dm.setup("fit")
    train = dm.datasets["train"]
    assert len(train) == 32 and all(m.backend == "frames" for m in train.metas)
    assert train.records[0].path.startswith(str(frames))
    batch = next(iter(dm.train_dataloader()))
    assert batch["clips"].shape == (4, 1, 4, 3, 32, 32) and batch["failures"].sum() == 0
    cache, _ = read_cache(dm.cache_file)
    assert cache and all(path.startswith(str(frames)) for path in cache)


@pytest.mark.parametrize(
    ("names", "suffix"),
    [(["00000", "00001", "00002"], ".jpg"), (["0001", "0002", "0003"], ".jpg"), (["001", "002", "003"], ".tif")],
)
def test_benchmark_frame_folders_read_in_number_order(tmp_path, names, suffix):
    for shade, name in enumerate(reversed(names)):  # written in reverse: order must come from the numbers
        Image.fromarray(np.full((8, 12, 3), 40 * shade, np.uint8)).save(tmp_path / f"{name}{suffix}", quality=100)
    (tmp_path / "._0001.jpg").write_bytes(b"macOS metadata, not a frame")
    meta = probe_video(str(tmp_path))
    assert (meta.num_frames, meta.width, meta.height, meta.backend) == (3, 12, 8, "frames")
    frames = read_frames(str(tmp_path), np.array([0, 2]), meta)
    assert frames[0].mean() == pytest.approx(80, abs=2) and frames[1].mean() == pytest.approx(0, abs=2)


def test_an_image_cut_short_is_read_as_far_as_it_decodes_and_named(tmp_path, caplog):
    """A frame keeps its place (a test frame its label) where a decoder would show it damaged; an image whose header
    is cut is not an image and raises, naming it."""
    pixels = np.random.default_rng(0).integers(0, 255, (16, 16), dtype=np.uint8)
    for i in range(1, 4):
        Image.fromarray(pixels).save(tmp_path / f"{i:03d}.tif")
    data = (tmp_path / "002.tif").read_bytes()
    (tmp_path / "002.tif").write_bytes(data[: len(data) // 2])
    meta = probe_video(str(tmp_path))
    with caplog.at_level("WARNING"):
        frames = read_frames(str(tmp_path), np.arange(3), meta)
    assert frames.shape == (3, 16, 16, 3) and f"{tmp_path / '002.tif'}: image file is cut short" in caplog.text
    np.testing.assert_array_equal(frames[1, :4, :, 0], pixels[:4])  # the part before the cut
    (tmp_path / "002.tif").write_bytes(data[:40])
    with pytest.raises(VideoDecodeError, match=r"002\.tif: cannot identify image file"):
        read_frames(str(tmp_path), np.arange(3), meta)


def test_a_gap_in_a_frame_folder_is_named(tmp_path):
    for name in ("001.jpg", "002.jpg", "004.jpg"):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / name)
    with pytest.raises(FrameFolderError, match=r"frame 3 is missing \(a gap after 002.jpg\)"):
        frame_files(tmp_path)
    with pytest.raises(VideoDecodeError, match="frame 3 is missing") as info:
        probe_video(str(tmp_path))
    assert str(info.value).count(str(tmp_path)) == 1  # named once
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "003.jpg")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "003.png")
    with pytest.raises(FrameFolderError, match=r"003\.jpg and 003\.png are both frame 3; keep one"):
        frame_files(tmp_path)
