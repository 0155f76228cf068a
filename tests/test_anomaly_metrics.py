"""Frame-level anomaly scores and metrics against hand computations (AUCs by counting ordered pairs)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from videovision.anomaly import (
    centre_lookahead,
    clip_scores_to_frames,
    frame_level_metrics,
    gaussian_smooth,
    macro_auroc,
    micro_auroc,
    minmax_per_video,
    per_video_auroc,
    sliding_windows,
    summary_plot,
    timeline_plot,
)

# Video a: anomalous {0.35, 0.8}, normal {0.1, 0.4}. Pairs won by the anomalous frame: 0.35 > 0.1, 0.8 > 0.1,
# 0.8 > 0.4 (0.35 < 0.4 loses): AUC 3/4. Padded with normal@0 and anomalous@MAX (P = N = 3): anomalous {0.35, 0.8,
# MAX} against normal {0, 0.1, 0.4}: 2 + 3 + 3 = 8 of 9 pairs, AUC 8/9.
# Video b: anomalous {7}, normal {5, 6}: AUC 1; padded, {7, MAX} against {0, 5, 6}: 6 of 6, AUC 1.
# Pooled: anomalous {0.35, 0.8, 7} against normal {0.1, 0.4, 5, 6}: 1 + 2 + 4 = 7 of 12 pairs.
SCORES = [np.array([0.1, 0.4, 0.35, 0.8]), np.array([5.0, 6.0, 7.0])]
LABELS = [np.array([0, 0, 1, 1]), np.array([0, 0, 1])]


def test_pooled_and_per_video_auroc_differ_as_counted_by_hand():
    assert micro_auroc(SCORES, LABELS) == pytest.approx(7 / 12)
    assert per_video_auroc(SCORES, LABELS, pad=False) == pytest.approx([3 / 4, 1.0])
    assert macro_auroc(SCORES, LABELS, pad=False) == pytest.approx((3 / 4 + 1) / 2)
    assert per_video_auroc(SCORES, LABELS) == pytest.approx([8 / 9, 1.0])
    assert macro_auroc(SCORES, LABELS) == pytest.approx((8 / 9 + 1) / 2)


def test_single_class_videos_are_padded_with_normal_at_zero_and_anomalous_at_the_largest_float():
    # All normal: the anomalous pad (MAX) beats the 3 frames and the normal pad (0): 4 of 4 pairs, AUC 1 whatever
    # the scores. All anomalous: {0.3, 0.0, -0.2, MAX} against the normal pad 0: 1 + 1/2 (tie) + 0 + 1 = 2.5 of 4.
    scores = [np.array([0.9, 0.2, 0.5]), np.array([0.3, 0.0, -0.2])]
    labels = [np.zeros(3, int), np.ones(3, int)]
    assert per_video_auroc(scores, labels) == pytest.approx([1.0, 0.625])
    assert macro_auroc(scores, labels) == pytest.approx(0.8125)
    with pytest.raises(ValueError, match="video 0 has only normal frames: its AUC needs pad=True"):
        per_video_auroc(scores, labels, pad=False)
    with pytest.raises(ValueError, match="video 0 has only anomalous frames"):
        macro_auroc(scores[1:], labels[1:], pad=False)


def test_anomalous_pad_is_the_largest_float_not_the_videos_maximum():
    # Anomalous 0.5, normal 2.0 (AUC 0 unpadded). With the pad at MAX: {0.5, MAX} against {0, 2.0}: 1 + 2 = 3 of 4.
    # Had the pad been the video's maximum 2.0, it would tie the normal 2.0: 1 + 1.5 = 2.5 of 4.
    assert per_video_auroc([np.array([0.5, 2.0])], [np.array([1, 0])]) == pytest.approx([0.75])


def test_frame_level_metrics_reports_both_aurocs_and_counts_every_frame():
    result = frame_level_metrics(SCORES, LABELS, names=["a.avi", "b.avi"])
    assert result["micro_auroc"] == pytest.approx(7 / 12)
    assert result["macro_auroc"] == pytest.approx(17 / 18)
    assert result["per_video_auroc"] == pytest.approx({"a.avi": 8 / 9, "b.avi": 1.0})
    assert (result["num_frames"], result["num_videos"], result["single_class_videos"]) == (7, 2, 0)
    assert result["uses_test_statistics"] is False


def test_clip_scores_spread_over_overlaps_and_fill_gaps():
    # Clips: frames 0-3 score 1, frames 2-5 score 3, frames 8-9 (9 repeated) score 5; frames 6, 7 and 10, 11 uncovered.
    # Mean: 0, 1 -> 1; 2, 3 -> (1 + 3) / 2 = 2; 4, 5 -> 3; 6, 7 on the line from (5, 3) to (8, 5): 3 + 2/3, 3 + 4/3;
    # 8, 9 -> 5; 10, 11 hold the last covered value 5. Max: 2, 3 -> 3, the rest as for the mean.
    frames = np.array([[0, 1, 2, 3], [2, 3, 4, 5], [8, 9, 9, 9]])
    mean = clip_scores_to_frames([1.0, 3.0, 5.0], frames, 12)
    assert mean == pytest.approx([1, 1, 2, 2, 3, 3, 3 + 2 / 3, 3 + 4 / 3, 5, 5, 5, 5])
    assert clip_scores_to_frames([1.0, 3.0, 5.0], frames, 12, reduce="max") == pytest.approx(
        [1, 1, 3, 3, 3, 3, 3 + 2 / 3, 3 + 4 / 3, 5, 5, 5, 5]
    )
    # Centre: each clip's score at its frame T // 2 = 2: frames 2 (1), 4 (3), 9 (5); between them interpolated, before
    # and after held.
    assert clip_scores_to_frames([1.0, 3.0, 5.0], frames, 12, reduce="centre") == pytest.approx(
        [1, 1, 1, 2, 3, 3 + 2 / 5, 3 + 4 / 5, 3 + 6 / 5, 3 + 8 / 5, 5, 5, 5]
    )
    # Leading gap: frames 0, 1 hold the first covered value.
    assert clip_scores_to_frames([7.0], np.array([[2, 3]]), 4) == pytest.approx([7, 7, 7, 7])


def test_a_frame_repeated_in_one_clip_counts_that_clip_once():
    # Frame 1 is in clip 0 three times (score 0) and clip 1 once (score 4): (0 + 4) / 2 = 2, not (0 * 3 + 4) / 4 = 1.
    frames = np.array([[0, 1, 1, 1], [1, 2, 3, 3]])
    assert clip_scores_to_frames([0.0, 4.0], frames, 5) == pytest.approx([0, 2, 4, 4, 4])


@pytest.mark.parametrize(
    ("scores", "frames", "num_frames", "reduce", "message"),
    [
        ([1.0], [[0, 5]], 5, "mean", r"clip 0 holds frame index 5, outside \[0, 5\)"),
        ([1.0, 2.0], [[0, 1], [-1, 0]], 5, "mean", r"clip 1 holds frame index -1, outside \[0, 5\)"),
        ([1.0, 2.0], [[0, 1]], 5, "mean", r"2 clip scores but 1 clips in clip_frames \(K mismatch\)"),
        ([], [], 5, "mean", "no clip at all"),
        ([1.0], [[0, 1]], 5, "median", "reduce must be 'mean', 'max' or 'centre', got 'median'"),
        ([1.0], [[0.0, 1.0]], 5, "mean", "integer frame indices"),
        ([float("nan")], [[0, 1]], 5, "mean", "1 NaN or infinite"),
        ([1.0], [[0, 1]], 0, "mean", "num_frames must be at least 1"),
        ([1.0], [0, 1], 5, "mean", r"clip_frames \(K, T\)"),
    ],
)
def test_clip_scores_to_frames_rejects_bad_input(scores, frames, num_frames, reduce, message):
    with pytest.raises(ValueError, match=message):
        clip_scores_to_frames(scores, np.array(frames), num_frames, reduce=reduce)


def test_sliding_windows_by_hand():
    # 11 frames, window 4, stride 3: starts 0, 3, 6 end at frame 9, so a last window starts at 11 - 4 = 7.
    assert sliding_windows(11, 4, 3)[:, 0].tolist() == [0, 3, 6, 7]
    assert sliding_windows(10, 4, 3)[:, 0].tolist() == [0, 3, 6]  # 6 + 4 = 10: already ends at frame 9
    assert sliding_windows(3, 5, 2).tolist() == [[0, 1, 2, 2, 2]]
    assert sliding_windows(4, 4, 1).tolist() == [[0, 1, 2, 3]]


@pytest.mark.parametrize("num_frames", [1, 2, 7, 16, 17, 50])
@pytest.mark.parametrize(("window", "stride"), [(1, 1), (4, 2), (8, 8), (16, 5)])
def test_sliding_windows_cover_every_frame_with_consecutive_frames(num_frames, window, stride):
    windows = sliding_windows(num_frames, window, stride)
    assert windows.shape[1] == window
    assert set(windows.ravel().tolist()) == set(range(num_frames))
    assert windows[-1, -1] == num_frames - 1
    if num_frames >= window:
        assert (np.diff(windows, axis=1) == 1).all()
        assert (np.diff(windows[:, 0]) <= stride).all()
    # Every frame covered, so spreading one score per window is never an interpolation.
    spread = clip_scores_to_frames(np.arange(len(windows), dtype=float), windows, num_frames, reduce="max")
    assert spread.max() == len(windows) - 1


def test_sliding_windows_reject_gaps_and_non_positive_sizes():
    with pytest.raises(ValueError, match="stride 5 > window 4 would leave frames between windows uncovered"):
        sliding_windows(20, 4, 5)
    with pytest.raises(ValueError, match="must be at least 1, got 0, 4, 2"):
        sliding_windows(0, 4, 2)


def _direct_gaussian(x: np.ndarray, sigma: float) -> np.ndarray:
    """Convolution with a Gaussian truncated at 4 sigma, the edges mirrored (d c b a | a b c d | d c b a)."""
    radius = int(4 * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-(offsets**2) / (2 * sigma**2))
    kernel /= kernel.sum()
    return np.convolve(np.pad(x, radius, mode="symmetric"), kernel, mode="valid")


def test_gaussian_smooth_sigma_zero_is_unchanged_and_floats_ints():
    out = gaussian_smooth(np.array([3, 1, 4, 1, 5]), 0)
    assert out.dtype == np.float64 and out.tolist() == [3.0, 1.0, 4.0, 1.0, 5.0]
    # An int video smoothed stays fractional (scipy would otherwise write the result back into ints).
    assert gaussian_smooth(np.array([0, 0, 10, 0, 0]), 1.0)[2] == pytest.approx(10 * 0.398943, abs=1e-5)


def test_gaussian_smooth_matches_a_direct_convolution():
    # Impulse away from the edges, sigma 1: the kernel's centre 1 / (1 + 2 (e^-0.5 + e^-2 + e^-4.5 + e^-8))
    # = 1 / 2.506621 = 0.398943. An impulse at frame 0 mirrors onto itself: (1 + e^-0.5) / 2.506621 = 0.640915.
    impulse = np.zeros(21)
    impulse[10] = 1.0
    assert gaussian_smooth(impulse, 1.0)[10] == pytest.approx(0.398943, abs=1e-6)
    edge = np.zeros(21)
    edge[0] = 1.0
    assert gaussian_smooth(edge, 1.0)[0] == pytest.approx(0.640915, abs=1e-6)
    x = np.random.default_rng(0).normal(size=30)
    for sigma in (0.7, 1.0, 3.0):
        assert gaussian_smooth(x, sigma) == pytest.approx(_direct_gaussian(x, sigma), abs=1e-12)
    with pytest.raises(ValueError, match="sigma must be >= 0, got -1"):
        gaussian_smooth(x, -1)


def test_frame_level_metrics_smooths_each_video_separately():
    # Video a peaks at its anomalous frame 2; smoothed alone (sigma 1) frame 2 keeps the kernel centre 0.399 and the
    # others at most 0.242, so its AUC stays 1. Smoothing a and b joined would carry b's 9s into a's last frames
    # (frame 4: 9 (0.242 + 0.054 + 0.004) = 2.7 > 0.399) and lower a's AUC.
    scores = [np.array([0.0, 0.0, 1.0, 0.0, 0.0]), np.array([9.0, 9.0, 9.0])]
    labels = [np.array([0, 0, 1, 0, 0]), np.zeros(3, int)]
    result = frame_level_metrics(scores, labels, sigma=1.0, names=["a", "b"])
    assert result["per_video_auroc"]["a"] == 1.0
    assert result["sigma"] == 1.0
    joined = gaussian_smooth(np.concatenate(scores), 1.0)
    assert per_video_auroc([joined[:5]], labels[:1], pad=False)[0] < 1.0


def test_minmax_per_video():
    assert minmax_per_video([2.0, 4.0, 3.0]) == pytest.approx([0.0, 1.0, 0.5])
    assert minmax_per_video([5.0, 5.0]).tolist() == [0.0, 0.0]


def test_per_video_minmax_changes_micro_auroc_and_is_marked():
    # Raw: anomalous {20, 1} against normal {10, 0}: 20 beats both, 1 beats 0: 3 of 4. Min-max makes both videos
    # [0, 1]: anomalous {1, 1} against normal {0, 0}: 4 of 4.
    scores, labels = [np.array([10.0, 20.0]), np.array([0.0, 1.0])], [np.array([0, 1]), np.array([0, 1])]
    assert frame_level_metrics(scores, labels)["micro_auroc"] == pytest.approx(0.75)
    normalised = frame_level_metrics(scores, labels, normalise_per_video=True)
    assert normalised["micro_auroc"] == pytest.approx(1.0)
    assert normalised["uses_test_statistics"] is True and normalised["normalise_per_video"] is True


@pytest.mark.parametrize(
    ("scores", "labels", "names", "message"),
    [
        ([[0.1, 0.2], [0.3, 0.4, 0.5]], [[0, 1], [0, 1]], ["a", "b.avi"], r"video 1 \('b.avi'\): 3 scores but 2 label"),
        ([[0.1, 0.2]], [[0, 1, 1]], None, "video 0: 2 scores but 3 labels"),
        ([[0.1, 0.2]], [[0, 2]], None, r"video 0: labels must be 0 or 1, found \[2\]"),
        ([[0.1, 0.2]], [[0, 0.5]], None, r"labels must be 0 or 1, found \[0.5\]"),
        ([[0.1, float("nan")]], [[0, 1]], None, "video 0: 1 NaN or infinite scores"),
        ([[0.1, float("inf")], [0.0]], [[0, 1], [0]], ["x", "y"], r"video 0 \('x'\): 1 NaN or infinite scores"),
        ([[0.1, 0.2], [0.3]], [[0, 0], [0]], None, "all 3 test frames are normal: AUROC needs normal and anomalous"),
        ([[0.1], [0.3]], [[1], [1]], None, "all 2 test frames are anomalous"),
        ([[0.1, 0.2], [0.3]], [[0, 1]], None, "2 videos of scores but 1 videos of labels"),
        ([[0.1, 0.2]], [[0, 1]], ["a", "b"], "2 names for 1 videos"),
        ([[0.1, 0.2], []], [[0, 1], []], ["a", "empty.avi"], r"video 1 \('empty.avi'\) has no frames"),
        ([], [], None, "no videos"),
        ([[[0.1, 0.2]]], [[[0, 1]]], None, "must be 1-D"),
    ],
)
def test_frame_level_metrics_rejects_bad_input_naming_the_video(scores, labels, names, message):
    with pytest.raises(ValueError, match=message):
        frame_level_metrics([np.array(s) for s in scores], [np.array(y) for y in labels], names=names)


def test_micro_auroc_needs_both_classes():
    with pytest.raises(ValueError, match="all 2 test frames are normal"):
        micro_auroc([np.array([0.1, 0.2])], [np.array([0, 0])])


def test_timeline_and_summary_plots_write_pngs(tmp_path):
    scores = np.sin(np.linspace(0, 3 * math.pi, 60)) + 1
    labels = np.zeros(60, int)
    labels[10:20] = labels[40:45] = 1
    path = timeline_plot(scores, labels, tmp_path / "plots" / "timeline.png", title="video 01", threshold=1.2)
    assert path == tmp_path / "plots" / "timeline.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
    result = frame_level_metrics(SCORES, LABELS, names=["a.avi", "b.avi"])
    for bars in (result["per_video_auroc"], [0.5, 0.9, 1.0]):
        summary = summary_plot(bars, tmp_path / "summary.png")
        assert summary.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and summary.stat().st_size > 5000
    with pytest.raises(ValueError, match="video 0: 60 scores but 59 labels"):
        timeline_plot(scores, labels[:59], tmp_path / "bad.png")
    with pytest.raises(ValueError, match="no per-video AUROC to plot"):
        summary_plot({}, tmp_path / "empty.png")


@pytest.mark.parametrize(("span", "lookahead"), [(1, 0), (7, 3), (10, 4), (36, 17)])
def test_centre_lookahead_is_the_frames_after_the_middle_one(span, lookahead):
    frames = np.arange(span)[None, :]  # one clip of frames 0..span-1: its score goes to frame span // 2
    spread = clip_scores_to_frames([1.0, 0.0], np.concatenate([frames, frames + span]), 2 * span, reduce="centre")
    assert spread[span // 2] == 1.0 and centre_lookahead(span) == lookahead == span - 1 - span // 2
