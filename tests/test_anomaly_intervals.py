"""Bootstrap intervals of micro AUROC over test videos, against hand computations."""

import numpy as np
import pytest

from videovision.anomaly.intervals import micro_auroc_resamples, percentile_interval, video_resamples
from videovision.anomaly.metrics import micro_auroc

LABELS = [np.array([0, 0, 0]), np.array([0, 1, 1, 0]), np.array([0, 0]), np.array([1, 0, 0]), np.array([0, 1])]


def test_every_resample_keeps_the_count_of_all_normal_and_of_anomalous_videos():
    picks = video_resamples(LABELS, rounds=200, seed=3)
    assert picks.shape == (200, 5)
    for pick in picks:
        assert sorted(int(LABELS[i].max()) for i in pick) == [0, 0, 1, 1, 1]
    assert len({tuple(p) for p in picks}) > 20  # drawn with replacement, not the same set each round
    np.testing.assert_array_equal(video_resamples(LABELS, rounds=200, seed=3), picks)


def test_each_round_is_the_micro_auroc_of_the_videos_it_drew():
    rng = np.random.default_rng(0)
    scores = [rng.random(len(y)) for y in LABELS]
    resampled = micro_auroc_resamples({"a": scores}, LABELS, rounds=5, seed=1)["a"]
    picks = video_resamples(LABELS, rounds=5, seed=1)
    expected = [micro_auroc([scores[i] for i in p], [LABELS[i] for i in p]) for p in picks]
    np.testing.assert_allclose(resampled, expected)


def test_one_video_of_each_kind_gives_a_point_interval_at_the_auroc_by_hand():
    """One all-normal and one anomalous video: every round draws the same two, so the interval is the AUROC itself.
    By hand: anomalous frames score 0.9 and 0.4; normal ones 0.1, 0.5, 0.2 (anomalous video) and 0.3, 0.6: of the
    10 (anomalous, normal) pairs the 0.9 wins 5 and the 0.4 wins 3 (over 0.1, 0.2, 0.3), so AUROC = 8 / 10."""
    scores = [np.array([0.1, 0.9, 0.4, 0.5, 0.2]), np.array([0.3, 0.6])]
    labels = [np.array([0, 1, 1, 0, 0]), np.array([0, 0])]
    rounds = micro_auroc_resamples({"a": scores}, labels, rounds=50)["a"]
    assert percentile_interval(rounds) == pytest.approx((0.8, 0.8))


def test_paired_resamples_give_a_zero_difference_for_the_same_scores_and_a_spread_for_others():
    rng = np.random.default_rng(0)
    scores = [rng.random(len(y)) + y for y in LABELS]
    noisy = [s + rng.normal(0, 1, len(s)) for s in scores]
    out = micro_auroc_resamples({"a": scores, "b": list(scores), "c": noisy}, LABELS, rounds=100)
    np.testing.assert_array_equal(out["a"], out["b"])
    low, high = percentile_interval(out["c"] - out["a"])
    assert low < high


def test_percentile_interval_by_hand():
    assert percentile_interval(np.arange(101), level=0.9) == pytest.approx((5.0, 95.0))
    with pytest.raises(ValueError, match="level must be in"):
        percentile_interval(np.arange(3), level=1.0)
