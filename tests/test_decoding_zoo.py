"""Right frames, always: files that trip decord's random access, each clip compared pixel-exact
against a sequential decode of the same file.

The zoo is encoded by the tests with the ffmpeg command-line tool (Debian's `ffmpeg`, which
`.ci/run` installs): open-GOP H.264 in MKV, H.264 in MPEG-TS, variable frame rate, HEVC, VP9 with
alt-ref frames, and an MP4 stream-copied from the middle of a GOP.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest

from data_modules import video_io
from data_modules.video_io import iter_frame_chunks, probe_video, read_frames

pytestmark = pytest.mark.skipif(
    shutil.which("ffmpeg") is None, reason="ffmpeg is not installed (apt-get install ffmpeg)"
)

SOURCE = "testsrc2=size=128x96:rate=25:duration=4"  # moving pattern with a frame counter: no two frames alike
ZOO = {
    "closed_gop_h264.mp4": ["-c:v", "libx264", "-g", "25", "-bf", "2", "-x264-params", "open-gop=0"],
    "open_gop_h264.mkv": [
        "-c:v",
        "libx264",
        "-g",
        "50",
        "-bf",
        "3",
        "-x264-params",
        "open-gop=1:keyint=50:min-keyint=50:scenecut=0",
    ],
    "h264.ts": ["-c:v", "libx264", "-g", "25", "-bf", "2", "-f", "mpegts"],
    "vfr.mp4": ["-vf", "setpts='PTS+if(gt(N,30),0.04*(N-30),0)/TB'", "-fps_mode", "vfr", "-c:v", "libx264", "-g", "25"],
    "hevc.mp4": ["-c:v", "libx265", "-x265-params", "keyint=25:log-level=error", "-tag:v", "hvc1"],
    "vp9_altref.webm": [
        "-c:v",
        "libvpx-vp9",
        "-auto-alt-ref",
        "1",
        "-lag-in-frames",
        "16",
        "-g",
        "25",
        "-b:v",
        "500k",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
    ],
}


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", *args], check=True, timeout=120)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("zoo")
    files = {}
    for name, options in ZOO.items():
        _ffmpeg("-f", "lavfi", "-i", SOURCE, "-pix_fmt", "yuv420p", *options, str(root / name))
        files[name] = root / name
    source = root / "long_gop.mp4"
    _ffmpeg("-f", "lavfi", "-i", SOURCE, "-pix_fmt", "yuv420p", "-c:v", "libx264", "-g", "50", "-bf", "2", str(source))
    _ffmpeg("-ss", "1.3", "-i", str(source), "-c", "copy", str(root / "mid_gop_cut.mp4"))  # starts mid-GOP
    files["mid_gop_cut.mp4"] = root / "mid_gop_cut.mp4"
    return files


def _sequential(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


@pytest.mark.parametrize("name", [*ZOO, "mid_gop_cut.mp4"])
def test_every_clip_matches_a_sequential_decode(zoo, name):
    path = str(zoo[name])
    truth = _sequential(zoo[name])
    meta = probe_video(path)
    assert meta.num_frames == len(truth), f"{name}: probed {meta.num_frames} frames, {len(truth)} decode"
    rng = np.random.default_rng(0)
    clips = [np.sort(rng.choice(len(truth), size=8, replace=False)) for _ in range(6)]
    clips.append(np.arange(len(truth) - 8, len(truth)))  # the tail, where lying frame counts bite
    for idx in clips:
        frames = read_frames(path, idx, meta)
        wrong = [int(i) for i, f in zip(idx, frames) if not np.array_equal(f, truth[i])]
        assert not wrong, f"{name} via {meta.backend}: frames {wrong} differ from the sequential decode"


def test_the_fast_path_still_serves_ordinary_files(zoo):
    assert probe_video(str(zoo["closed_gop_h264.mp4"])).backend == "decord"
    assert probe_video(str(zoo["h264.ts"])).backend == "pyav"


def test_pyav_files_seek_to_checked_keyframes(zoo):
    for name in ("hevc.mp4", "open_gop_h264.mkv", "mid_gop_cut.mp4"):
        meta = probe_video(str(zoo[name]))
        assert meta.backend == "pyav" and meta.keyframes, f"{name}: the seek path is not exercised"
        assert all(index > 0 for index, _ in meta.keyframes)


def test_resized_frames_do_not_depend_on_the_backend(zoo):
    """A file routed to decord and the same file read through PyAV (and a TS file, PyAV only, read whole)
    give the same pixels at a decode size: one resize after decoding, whichever backend decoded."""
    path = str(zoo["closed_gop_h264.mp4"])
    meta = probe_video(path)
    assert meta.backend == "decord"
    idx = np.array([0, 17, 40, 99])
    by_decord = read_frames(path, idx, meta, size=(40, 56))
    by_pyav = read_frames(path, idx, replace(meta, backend="pyav", keyframes=()), size=(40, 56))
    assert by_decord.shape == (4, 40, 56, 3)
    assert np.abs(by_decord.astype(int) - by_pyav.astype(int)).max() <= 1


def test_a_cut_file_is_used_up_to_its_last_good_frame_and_reported(zoo, tmp_path, caplog):
    source = tmp_path / "whole.mkv"
    _ffmpeg("-f", "lavfi", "-i", SOURCE, "-pix_fmt", "yuv420p", "-c:v", "libx264", "-g", "25", str(source))
    data = source.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: int(len(data) * 0.7)])
    truth = _sequential(source)
    with caplog.at_level(logging.WARNING):
        meta = probe_video(str(cut))
    assert meta.truncated and 0.5 * len(truth) < meta.num_frames < len(truth)
    assert f"cut.mkv: truncated: {meta.num_frames} of {len(truth)} frames decode" in caplog.text
    tail = np.arange(meta.num_frames - 4, meta.num_frames)
    assert np.array_equal(read_frames(str(cut), tail, meta), truth[tail])
    assert not any(probe_video(str(path)).truncated for path in zoo.values())


def _counting_opens(monkeypatch) -> list[str]:
    """Patch PyAV's open in the decoding module; the list collects every path it opens."""
    opened: list[str] = []
    real_open = av.open

    def open_and_count(path, *args, **kwargs):
        opened.append(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(video_io.av, "open", open_and_count)
    return opened


@pytest.mark.parametrize("name", ["closed_gop_h264.mp4", "h264.ts", "hevc.mp4", "mid_gop_cut.mp4"])
def test_a_whole_video_in_chunks_is_the_sequential_decode_each_frame_decoded_once(zoo, name, monkeypatch):
    """Long videos are encoded a chunk at a time: the chunks join into the sequential decode, and a file that
    PyAV reads (with or without checked keyframes) is opened and decoded once, not once per chunk."""
    truth = _sequential(zoo[name])
    meta = probe_video(str(zoo[name]))
    for routed in (meta, replace(meta, backend="pyav", keyframes=())):
        opened = _counting_opens(monkeypatch)
        chunks = list(iter_frame_chunks(str(zoo[name]), routed, chunk_frames=7))
        assert [len(c) for c in chunks] == [7] * (len(truth) // 7) + ([len(truth) % 7] if len(truth) % 7 else [])
        assert np.array_equal(np.concatenate(chunks), truth), f"{name} via {routed.backend}"
        assert len(opened) == (0 if routed.backend == "decord" else 1)
        monkeypatch.undo()


def test_a_decord_failure_part_way_continues_with_one_sequential_decode(zoo, monkeypatch, caplog):
    path = str(zoo["closed_gop_h264.mp4"])
    truth = _sequential(zoo["closed_gop_h264.mp4"])
    meta = probe_video(path)
    real = video_io._read_decord

    def fails_after_frame_20(path: str, wanted: np.ndarray) -> np.ndarray:
        if wanted[-1] >= 20:
            raise RuntimeError("DECORDError: simulated")
        return real(path, wanted)

    monkeypatch.setattr(video_io, "_read_decord", fails_after_frame_20)
    opened = _counting_opens(monkeypatch)
    with caplog.at_level(logging.WARNING):
        frames = np.concatenate(list(iter_frame_chunks(path, meta, chunk_frames=8)))
    assert np.array_equal(frames, truth) and len(opened) == 1
    assert "closed_gop_h264.mp4: decord failed at frame 16" in caplog.text


def test_chunks_of_a_cut_file_stop_at_its_last_good_frame_and_a_shorter_file_is_named(zoo, tmp_path):
    path = str(zoo["h264.ts"])
    meta = probe_video(path)
    frames = np.concatenate(list(iter_frame_chunks(path, replace(meta, num_frames=30), chunk_frames=8)))
    assert np.array_equal(frames, _sequential(zoo["h264.ts"])[:30])
    with pytest.raises(video_io.VideoDecodeError, match=f"h264.ts: only {meta.num_frames} of"):
        list(iter_frame_chunks(path, replace(meta, num_frames=meta.num_frames + 5)))
