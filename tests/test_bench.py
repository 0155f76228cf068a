"""The data benchmark's parts (``make bench`` measures; nothing here is timed)."""

from __future__ import annotations

import json
import shutil

import pytest

from videovision.tools.bench import frames_per_clip, main

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed (.ci/run installs it)")


def test_frames_a_random_clip_decodes_from_its_keyframe():
    # 250 frames, starts 0..234. GOP 250: start + 16 frames, mean 117 + 16.
    assert frames_per_clip(250, 250) == pytest.approx(133.0)
    # GOP 25: 9 whole cycles of offsets 0..24 (mean 12) and offsets 0..9 (mean 4.5), + 16.
    assert frames_per_clip(250, 25) == pytest.approx((225 * 12 + 10 * 4.5) / 235 + 16)


@needs_ffmpeg
def test_bench_runs_end_to_end_and_reports_every_figure(tmp_path, capsys):
    results = main(["--videos", "2", "--batches", "1", "--rounds", "1", "--memory-clips", "16", "--out", str(tmp_path)])
    for gop in (25, 250):
        row = results["gop"][gop]
        assert row["ours"] > 0 and row["pyav_whole_video"] > 0 and row["ffmpeg_bound"] > 0
        assert row["ours_vs_ffmpeg_bound"] == pytest.approx(row["ours"] / row["ffmpeg_bound"])
    assert results["memory"]["clips"] >= 16 and results["memory"]["rss_mb_after_warmup"] > 50  # two workers found
    assert json.loads((tmp_path / "data.json").read_text())["workers"] == 2
    assert "ours/bound" in capsys.readouterr().out


@needs_ffmpeg
def test_bench_stream_quick_runs_every_part(tmp_path, capsys):
    """make bench-stream's code end to end, small: per-frame timings, frames/s, the server load test."""
    from videovision.tools import bench_stream

    results = bench_stream.main(["--quick", "--out", str(tmp_path)])
    assert set(results["per_frame_ms"]) == {"step_eager", "window_eager"}  # the ONNX export: test_export
    assert all(v > 0 for v in results["per_frame_ms"].values()) and results["end_to_end"]["eager"]["frames"] == 24
    assert results["server"]["done"] == results["server"]["jobs"] == 2 and results["server"]["lost"] == 0
    assert "window / step" in capsys.readouterr().out
