"""The per-frame scorers (feature speed, frame kNN) and the AUROC per injected kind, against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from data_modules.anomaly_digits import kind_of
from videovision.anomaly.metrics import micro_auroc_by_group
from videovision.anomaly.scorers import FeatureSpeedScorer, FrameKNNScorer
from videovision.models import FrameTemporalEncoder, RecurrentTemporal, ResNetFrames


@pytest.fixture(scope="module")
def encoder() -> FrameTemporalEncoder:
    return FrameTemporalEncoder(ResNetFrames("resnet18", num_stages=1), RecurrentTemporal).eval()


def _video(*values: float) -> torch.Tensor:
    return torch.tensor(values)[:, None]


# Two 1-D training videos: speeds 1 and 2 per frame, pooled mean 3, pooled std s (the unbiased std of both).
TRAIN = [_video(0, 1, 2, 3, 4), _video(0, 2, 4, 6, 8)]
S = float(np.std([0, 1, 2, 3, 4, 0, 2, 4, 6, 8], ddof=1))


def test_feature_speed_is_a_two_sided_z_score_of_the_log_speed(encoder):
    scorer = FeatureSpeedScorer(step=1, eps=1e-12)
    scorer.fit(encoder, TRAIN)
    # log speeds: four of log(1/S), four of log(2/S): mean log(sqrt(2)/S), std (ddof 1) log(2)/2 * sqrt(8/7)
    assert float(scorer.log_speed_mean) == pytest.approx(math.log(math.sqrt(2) / S))
    std = math.log(2) / 2 * math.sqrt(8 / 7)
    assert float(scorer.log_speed_std) == pytest.approx(std)
    assert scorer.score(encoder, _video(0, 1, 2)) == pytest.approx([math.sqrt(7 / 8)] * 3)  # every frame covered
    assert scorer.score(encoder, _video(0, 4, 8)) == pytest.approx([3 * math.sqrt(7 / 8)] * 3)  # too fast
    frozen = scorer.score(encoder, _video(5, 5, 5, 5))
    assert (frozen > 10).all()  # too slow scores high as well
    mixed = scorer.score(encoder, _video(0, 1, 1))  # differences 1 (frames 0-1) and 0 (frames 1-2)
    assert mixed[1] == pytest.approx((mixed[0] + mixed[2]) / 2)
    assert float(scorer.train_median) == pytest.approx(1 / math.sqrt(8 / 7))  # every training |z| is the same
    with pytest.raises(ValueError, match="no frame difference at step 1"):
        scorer.score(encoder, _video(0))


def test_frame_knn_descriptors_and_leave_one_video_out_distances_by_hand(encoder):
    motion = FrameKNNScorer(k=1, step=1, appearance_weight=0.0, motion_weight=1.0)
    motion.fit(encoder, TRAIN)
    # standardised differences 1/S and 2/S; their mean norm 1.5/S: descriptors 2/3 (video 0) and 4/3 (video 1)
    assert motion.bank[:, 1].tolist() == pytest.approx([2 / 3] * 4 + [4 / 3] * 4)
    assert float(motion.train_reference) == pytest.approx(2 / 3)  # each video's nearest is in the other one
    assert float(motion.train_median) == pytest.approx(math.log(2))  # log(1 + (2/3) / (2/3))
    assert motion.score(encoder, _video(0, 1)) == pytest.approx([0, 0])
    assert motion.score(encoder, _video(0, 3)) == pytest.approx([2 / 3, 2 / 3])  # 2 vs the nearest 4/3
    both = FrameKNNScorer(k=2, step=2, appearance_weight=2.0, motion_weight=0.5)
    both.fit(encoder, TRAIN)
    z = [(v.double() - 3) / S for v in TRAIN]
    scale_z = torch.cat([v[2:] for v in z]).norm(dim=1).mean()
    scale_d = torch.cat([v[2:] - v[:-2] for v in z]).norm(dim=1).mean()
    expected = torch.cat([2 * z[0][2:] / scale_z, 0.5 * (z[0][2:] - z[0][:-2]) / scale_d], dim=1)
    torch.testing.assert_close(both.descriptors(TRAIN[0]), expected)
    with pytest.raises(ValueError, match="not both 0"):
        FrameKNNScorer(appearance_weight=0.0, motion_weight=0.0)


def test_frame_knn_survives_a_reload(encoder):
    scorer = FrameKNNScorer(k=1, step=1)
    scorer.fit(encoder, TRAIN)
    reloaded = FrameKNNScorer(k=1, step=1)
    reloaded.load_fitted(encoder, scorer.state_dict())
    test = _video(1, 5, 2, 7)
    assert np.array_equal(reloaded.score(encoder, test), scorer.score(encoder, test))


def test_micro_auroc_by_group_pools_each_group_with_the_normal_videos():
    scores = [[0.1, 0.2], [0.5, 0.9], [0.15, 0.3]]
    labels = [[0, 0], [0, 1], [1, 0]]
    by_kind = micro_auroc_by_group(scores, labels, ["normal", "a", "b"])
    assert by_kind == {"a": 1.0, "b": pytest.approx(1 / 3)}  # b: 0.15 beats only 0.1 of the normal 0.1, 0.2, 0.3
    assert kind_of("s03_01_frozen") == "frozen" and kind_of("s00_02_unseen_motion") == "unseen_motion"
    with pytest.raises(ValueError, match="not a generated"):
        kind_of("video_7")
