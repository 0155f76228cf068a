"""MIL ranking (Sultani et al. 2018): the loss and segments by hand, learning from video-level labels only, and the
one-class scorers leaving weakly labelled anomalous videos out."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score

from videovision.anomaly.features import clip_embeddings, clip_windows
from videovision.anomaly.scorers import CombinedScorer, KNNScorer, MILRankingLoss, MILScorer
from videovision.anomaly.scorers.mil import segment_bounds
from videovision.models import FrameTemporalEncoder, RecurrentTemporal, ResNetFrames, TemporalConvRefiner


def _encoder() -> FrameTemporalEncoder:
    torch.manual_seed(0)
    return FrameTemporalEncoder(
        ResNetFrames("resnet18", num_stages=1),
        partial(RecurrentTemporal, hidden_size=8),
        temporal_refiner=partial(TemporalConvRefiner, kernel_size=2),
    ).eval()


def test_ranking_loss_by_hand():
    loss = MILRankingLoss(smoothness=0.1, sparsity=0.01)
    # Pair 1: hinge 1 - 0.9 + 0.5 = 0.6; smoothness 0.7^2 + 0.8^2 = 1.13; sparsity 0.2 + 0.9 + 0.1 = 1.2:
    # 0.6 + 0.113 + 0.012 = 0.725. Pair 2: hinge max(0, 1 - 1 + 0) = 0; smoothness 0; sparsity 3: 0.03.
    anomalous = torch.tensor([[0.2, 0.9, 0.1], [1.0, 1.0, 1.0]])
    normal = torch.tensor([[0.3, 0.5, 0.4], [0.0, 0.0, 0.0]])
    assert float(loss(anomalous, normal)) == pytest.approx((0.725 + 0.03) / 2)
    with pytest.raises(ValueError, match=r"two \(B, S\) score tensors of one shape, got \(2, 3\) and \(2, 2\)"):
        loss(anomalous, normal[:, :2])


def test_segments_split_frames_evenly_and_short_videos_repeat_frames():
    # 10 frames in 4: starts 0, 2, 5, 7 (j * 10 // 4), rows padded with their last frame.
    assert segment_bounds(10, 4).tolist() == [[0, 1, 1], [2, 3, 4], [5, 6, 6], [7, 8, 9]]
    # 3 frames in 5: starts 0, 0, 1, 1, 2, every segment at least one frame.
    assert segment_bounds(3, 5).tolist() == [[0], [0], [1], [1], [2]]


def test_a_segment_averages_the_clips_centred_in_it_or_takes_the_nearest():
    encoder, features = _encoder(), torch.randn(12, 64)
    scorer = MILScorer(num_segments=4, clip_len=2, stride=2, hop=2)  # clips span 3 frames, centres 1, 3, 5, 7, 9, 10
    clips, covered = clip_windows(12, 2, 2, 2)
    assert covered[:, 1].tolist() == [1, 3, 5, 7, 9, 10]
    embeddings = clip_embeddings(encoder, features, clips)
    bags, frames = scorer.segments(encoder, features)
    assert frames.tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]
    expected = [embeddings[0], embeddings[1:3].mean(0), embeddings[3], embeddings[4:6].mean(0)]
    torch.testing.assert_close(bags, F.normalize(torch.stack(expected), dim=1))
    bags = MILScorer(num_segments=12, clip_len=2, stride=2, hop=2).segments(encoder, features)[0]
    torch.testing.assert_close(bags[0], F.normalize(embeddings[0], dim=0))  # frame 0: the clip centred at 1


def _video(anomalous_frames: range | None, generator: torch.Generator, frames: int = 48) -> torch.Tensor:
    """Noise features; an anomalous segment's frames carry a shifted pattern."""
    video = torch.randn(frames, 64, generator=generator)
    if anomalous_frames is not None:
        video[anomalous_frames] += 3.0
    return video


def test_mil_learns_the_anomalous_segment_from_video_level_labels_only():
    generator = torch.Generator().manual_seed(0)
    starts = torch.randint(0, 36, (24,), generator=generator).tolist()
    anomalous = [_video(range(s, s + 12), generator) for s in starts[:12]]
    normal = [_video(None, generator) for _ in range(12)]
    encoder = _encoder()
    scorer = MILScorer(num_segments=8, clip_len=2, stride=1, hop=1, hidden=(32,), steps=300)  # dropout 0.6 as published
    scorer.fit_videos(encoder, anomalous + normal, [True] * 12 + [False] * 12)
    labels, scores = [], []
    for start in starts[12:]:
        labels.append(np.isin(np.arange(48), np.arange(start, start + 12)))
        scores.append(scorer.score(encoder, _video(range(start, start + 12), generator)))
    assert roc_auc_score(np.concatenate(labels), np.concatenate(scores)) > 0.9
    reloaded = MILScorer(num_segments=8, clip_len=2, stride=1, hop=1, hidden=(32,))
    reloaded.load_fitted(encoder, scorer.state_dict())
    test = _video(range(4, 16), generator)
    assert np.array_equal(reloaded.score(encoder, test), scorer.score(encoder, test))


def test_mil_refuses_training_without_both_kinds_of_video_level_label():
    encoder, videos = _encoder(), [torch.randn(20, 64) for _ in range(3)]
    with pytest.raises(ValueError, match="needs anomalous and normal training videos .* got 0 anomalous of 3"):
        MILScorer().fit_videos(encoder, videos, [False, None, False])
    with pytest.raises(ValueError, match="MILScorer learns from video-level labels and got none"):
        MILScorer().fit(encoder, videos)


def test_one_class_scorers_leave_weakly_labelled_anomalous_videos_out():
    encoder, videos = _encoder(), [torch.randn(20, 64) for _ in range(4)]
    knn = KNNScorer(k=1, clip_len=2, stride=1, hop=1, bank_hop=1)
    knn.fit_videos(encoder, videos, [False, True, None, False])
    assert knn.bank_video.unique().tolist() == [0, 1, 2] and len(knn.bank) == 3 * 19  # videos 0, 2 and 3 only
    alone = KNNScorer(k=1, clip_len=2, stride=1, hop=1, bank_hop=1)
    alone.fit(encoder, [videos[0], videos[2], videos[3]])
    torch.testing.assert_close(knn.bank, alone.bank)
    with pytest.raises(ValueError, match="all 2 are labelled anomalous"):
        knn.fit_videos(encoder, videos[:2], [True, True])
    combined = CombinedScorer([KNNScorer(k=1, clip_len=2, stride=1, hop=1), MILScorer(num_segments=4, steps=2)])
    combined.fit_videos(encoder, videos, [False, True, False, True])  # MIL gets the labels, kNN the normal videos
    assert len(combined.scorers[0].bank_video.unique()) == 2 and combined.scorers[1].head is not None
