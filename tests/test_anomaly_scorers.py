"""Anomaly scorers against hand computations on tiny encoders and features."""

from __future__ import annotations

import itertools
import math
from functools import partial
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from data_modules.anomaly_readers import AnomalyRecord
from videovision.anomaly.features import ResidualView, clip_embeddings, clip_windows, frame_features
from videovision.anomaly.metrics import clip_scores_to_frames
from videovision.anomaly.pipeline import EncodedSplit, score_split
from videovision.anomaly.scorers import (
    AnomalyScorer,
    CombinedScorer,
    FeatureSpeedScorer,
    FrameKNNScorer,
    KNNScorer,
    NextStepScorer,
    OrderScorer,
    PaceScorer,
)
from videovision.anomaly.scorers import pace as pace_module
from videovision.anomaly.scorers.base import doubt_log_odds, holdout_split
from videovision.anomaly.scorers.knn import knn_distances
from videovision.anomaly.scorers.order import order_doubt_log_odds
from videovision.checkpoints import objective_head_state
from videovision.models import FrameTemporalEncoder, RecurrentTemporal, ResNetFrames, TemporalConvRefiner
from videovision.objectives import PaceObjective, VCOPObjective, pace_views


def _encoder(seed: int = 0) -> FrameTemporalEncoder:
    torch.manual_seed(seed)
    return FrameTemporalEncoder(
        ResNetFrames("resnet18", num_stages=1),
        partial(RecurrentTemporal, hidden_size=8),
        temporal_refiner=partial(TemporalConvRefiner, kernel_size=2),
    ).eval()


def _videos(n: int, frames: int = 20, width: int = 64, seed: int = 0) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(frames, width, generator=generator) for _ in range(n)]


def test_knn_distances_by_hand_and_leave_one_video_out():
    bank = torch.tensor([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    query = torch.tensor([[0.0, 0.0]])
    assert knn_distances(query, bank, 2).tolist() == [2.5]  # (0 + 5) / 2
    groups = torch.tensor([0, 1, 1])
    assert knn_distances(query, bank, 2, torch.tensor([0]), groups).tolist() == [7.5]  # (5 + 10) / 2
    with pytest.raises(ValueError, match="k=3 but a query has only 2"):
        knn_distances(query, bank, 3, torch.tensor([0]), groups)


def test_clip_embeddings_from_frame_features_equal_the_encoder_on_clips():
    encoder = _encoder()
    frames = torch.randn(11, 3, 32, 32)
    features = frame_features(encoder, frames)
    clips, covered = clip_windows(11, clip_len=3, stride=2, hop=2)
    assert covered.tolist()[0] == [0, 1, 2, 3, 4] and clips.tolist()[-1] == [6, 8, 10]
    with torch.no_grad():
        direct = encoder(frames[torch.as_tensor(clips)])
    torch.testing.assert_close(clip_embeddings(encoder, features, clips), direct, atol=1e-5, rtol=1e-4)


def test_knn_scorer_calibrates_leave_one_video_out_and_survives_a_reload():
    encoder, train = _encoder(), _videos(3)
    scorer = KNNScorer(k=1, clip_len=3, stride=2, hop=2, bank_hop=2)
    scorer.fit(encoder, train)
    assert np.allclose(scorer.score(encoder, train[0]), 0)  # every clip is in the bank: distance 0
    own = []
    for i, video in enumerate(train):
        others = KNNScorer(k=1, clip_len=3, stride=2, hop=2, bank_hop=2)
        others.fit(encoder, [v for j, v in enumerate(train) if j != i])
        own.append(others.score(encoder, video))
    own = np.concatenate(own)  # distances: their median is the log scale's reference
    assert float(scorer.train_reference) == pytest.approx(np.median(own))
    assert float(scorer.train_median) == pytest.approx(np.median(np.log1p(own / np.median(own))))
    reloaded = KNNScorer(k=1, clip_len=3, stride=2, hop=2, bank_hop=2)
    reloaded.load_fitted(encoder, scorer.state_dict())
    test = _videos(1, seed=1)[0]
    assert np.array_equal(reloaded.score(encoder, test), scorer.score(encoder, test))
    assert (scorer.score(encoder, test) > 0).all()
    embeddings, covered = scorer._embed(encoder, test, scorer.hop)  # each clip's distance goes to its middle frame
    distances = knn_distances(embeddings, scorer.bank, scorer.k).numpy()
    assert scorer.score(encoder, test) == pytest.approx(clip_scores_to_frames(distances, covered, 20, "centre"))


def test_next_step_errors_stream_through_step_and_match_a_hand_computation():
    encoder = _encoder()
    sequence = torch.randn(5, encoder.temporal.rnn.input_size)
    scorer = NextStepScorer(stride=1)
    scorer.setup(encoder)
    mean, std = sequence.mean(0), sequence.std(0)
    error_var = torch.linspace(0.5, 2.0, sequence.shape[1])
    scorer.feature_mean, scorer.feature_std, scorer.error_var = mean, std, error_var
    scorer.head = nn.Linear(encoder.out_dim, sequence.shape[1])
    nn.init.zeros_(scorer.head.weight), nn.init.zeros_(scorer.head.bias)
    expected = (((sequence[1:] - mean) / std) ** 2 / error_var).mean(1)  # predicting 0: the standardised target
    with torch.no_grad():
        torch.testing.assert_close(scorer.streamed_errors(encoder.temporal, sequence), expected)
        scorer.head = nn.Linear(encoder.out_dim, sequence.shape[1])
        outputs = encoder.temporal(sequence[None])[1][0]
        by_forward = ((scorer.head(outputs[:-1]) - (sequence[1:] - mean) / std) ** 2 / error_var).mean(1)
        calls = []
        step = encoder.temporal.step
        encoder.temporal.step = lambda *a: calls.append(1) or step(*a)
        torch.testing.assert_close(scorer.streamed_errors(encoder.temporal, sequence), by_forward)
    assert len(calls) == 4


def test_next_step_error_variance_is_each_dimensions_mean_squared_error_on_the_fitting_videos():
    encoder, videos = _encoder(), _videos(4, frames=13)
    scorer = NextStepScorer(stride=3, hidden=8, steps=20, holdout=4)  # videos 1-3 fit, video 0 calibrates
    scorer.fit(encoder, videos)
    inputs, targets = [], []
    with torch.no_grad():
        for video in videos[1:]:
            for phase in range(3):
                sequence = encoder.temporal_refiner(video[phase::3][None])[0]
                inputs.append(encoder.temporal(sequence[None])[1][0][:-1])
                targets.append((sequence[1:] - scorer.feature_mean) / scorer.feature_std)
        residuals = scorer.head(torch.cat(inputs)) - torch.cat(targets)
    torch.testing.assert_close(scorer.error_var, residuals.pow(2).mean(0))
    assert torch.cat(targets).mean(0).abs().max() < 1e-5  # standardised on the same transitions
    state = {k: v for k, v in scorer.state_dict().items() if k != "error_var"}
    with pytest.raises(ValueError, match=r"NextStepScorer: this fitted scorer lacks error_var: .*run `anomaly fit`"):
        NextStepScorer(stride=3, hidden=8).load_fitted(encoder, state)
    combined = CombinedScorer([KNNScorer(), scorer]).state_dict()  # saved with one scorer more than the config's
    with pytest.raises(
        ValueError, match=r"CombinedScorer: .* has no place for scorers\.1\.error_var, .*another scorer"
    ):
        CombinedScorer([KNNScorer()]).load_fitted(encoder, combined)


def test_next_step_scorer_learns_normal_motion_and_scores_every_frame():
    encoder, generator = _encoder(), torch.Generator().manual_seed(0)
    ramp = torch.linspace(0, 1, 24)[:, None] * torch.randn(1, 64, generator=generator)
    train = [ramp + 0.01 * torch.randn(24, 64, generator=generator) for _ in range(5)]
    scorer = NextStepScorer(stride=2, hidden=32, steps=150, lr=1e-2, holdout=5)
    scorer.fit(encoder, train)
    normal, reversed_ = scorer.score(encoder, train[0]), scorer.score(encoder, train[0].flip(0))
    assert normal.shape == (24,) and reversed_.mean() > normal.mean()
    short = train[0][:3]  # stride 2: one transition (frames 0 -> 2) scores all three frames with its error
    sequence = encoder.temporal_refiner(short[::2][None])[0]
    error = scorer.streamed_errors(encoder.temporal, sequence)
    assert scorer.score(encoder, short) == pytest.approx([float(error[0])] * 3)
    with pytest.raises(ValueError, match="2 frames has no next step at stride 2"):
        scorer.score(encoder, train[0][:2])
    test = EncodedSplit([AnomalyRecord("a.avi", "a"), AnomalyRecord("b.avi", "b")], [train[0], train[0][:2]])
    with pytest.raises(ValueError, match="test video b: 2 frames, fewer than the 3 that NextStepScorer needs"):
        score_split(scorer, encoder, test)
    reference, median, scale = (float(b) for b in (scorer.train_reference, scorer.train_median, scorer.train_scale))
    by_hand = (np.log1p(reversed_ / reference) - median) / scale  # the error on its training log scale, standardised
    test = EncodedSplit([AnomalyRecord("r.avi", "r")], [train[0].flip(0)])
    assert score_split(scorer, encoder, test)[0] == pytest.approx(by_hand)


def test_a_training_video_too_short_for_the_scorer_is_skipped_and_counted(caplog):
    encoder, videos = _encoder(), _videos(4, frames=12)
    scorer = NextStepScorer(stride=3, hidden=8, steps=2, holdout=2)
    with caplog.at_level("WARNING"):
        scorer.fit_videos(encoder, [*videos, videos[0][:3]], [False] * 5)
    assert "NextStepScorer: skipped 1 normal training videos of fewer than the 4 frames" in caplog.text
    with pytest.raises(ValueError, match="at least 4 frames, and all 2 normal training videos are shorter"):
        scorer.fit_videos(encoder, [videos[0][:3], videos[1][:2]], [False, False])
    assert CombinedScorer([KNNScorer(), scorer]).min_frames == 4


class _FixedLogits(nn.Module):
    def __init__(self, probabilities: list[float]) -> None:
        super().__init__()
        self.logits = torch.tensor(probabilities).log()

    def forward(self, tuples: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(len(tuples), -1)


def test_doubt_log_odds_are_those_of_one_minus_p_and_keep_precision_where_p_rounds_to_one():
    logits = torch.tensor([[0.0, 1.0, 2.0], [50.0, 0.0, 0.0]])
    p = torch.softmax(logits.double(), dim=1)[:, 1]
    assert doubt_log_odds(logits, 1)[0].item() == pytest.approx(math.log((1 - p[0].item()) / p[0].item()))
    assert 1 - torch.softmax(logits.double(), dim=1)[1, 0] == 0  # 1 - p underflows; its log-odds do not
    assert doubt_log_odds(logits, 0)[1].item() == pytest.approx(math.log(2) - 50)


def test_order_score_is_the_log_odds_of_one_minus_p_natural_order_and_the_head_loads_from_a_checkpoint(tmp_path):
    head = _FixedLogits([0.55, 0.05, 0.1, 0.1, 0.1, 0.1])
    assert order_doubt_log_odds(head, torch.zeros(2, 3, 4)).tolist() == pytest.approx([math.log(0.45 / 0.55)] * 2)
    assert list(itertools.permutations(range(3)))[0] == (0, 1, 2)
    encoder = _encoder()
    scorer = OrderScorer(clip_len=2, stride=2, gap=1, hop=2, pair_dim=8, steps=5)
    scorer.setup(encoder)
    state = {f"objectives.0.head.{k}": v for k, v in scorer.head.state_dict().items()}
    torch.save({"state_dict": {"encoder.x": torch.zeros(1), **state}}, tmp_path / "vcop.ckpt")
    torch.save({"state_dict": {"encoder.x": torch.zeros(1)}}, tmp_path / "simclr.ckpt")
    assert objective_head_state(str(tmp_path / "simclr.ckpt"), scorer.head) is None
    loaded = objective_head_state(str(tmp_path / "vcop.ckpt"), scorer.head)
    assert torch.equal(loaded["classifier.weight"], scorer.head.classifier.weight)
    train = _videos(2)
    scorer.fit(encoder, train, str(tmp_path / "vcop.ckpt"))
    assert "pretraining head" in scorer.head_source
    tuples, covered = scorer.tuples(encoder, train[0])
    assert tuples.shape == (len(covered), 3, 8) and covered.shape[1] == 3 * 3 + 2 * 1
    scores = scorer.score(encoder, train[0])
    assert scores.shape == (20,) and np.isfinite(scores).all()
    doubts = order_doubt_log_odds(scorer.head, tuples).detach().numpy()  # each tuple's doubt goes to its middle frame
    assert scores == pytest.approx(clip_scores_to_frames(doubts, covered, 20, reduce="centre"))
    reloaded = OrderScorer(clip_len=2, stride=2, gap=1, hop=2, pair_dim=8)
    reloaded.load_fitted(encoder, scorer.state_dict())
    assert np.array_equal(reloaded.score(encoder, train[0]), scores)
    assert 0 < float(scorer.train_scale) and math.isfinite(float(scorer.train_median))


class _Constant(AnomalyScorer):
    def __init__(self, value: float, median: float, scale: float) -> None:
        super().__init__()
        self.value = value
        self.train_median.fill_(median)
        self.train_scale.fill_(scale)

    def fit(self, encoder, train, checkpoint=None) -> None:
        pass

    def score(self, encoder, features) -> np.ndarray:
        return np.full(len(features), self.value)


def test_combined_scorer_sums_weighted_training_standardised_scores():
    combined = CombinedScorer([_Constant(5.0, 1.0, 2.0), _Constant(0.3, 0.1, 0.1)], weights=[1.0, 0.5])
    assert combined.score(None, torch.zeros(3, 1)) == pytest.approx(
        [2.0 + 0.5 * 2.0] * 3
    )  # (5-1)/2 + 0.5 (0.3-0.1)/0.1
    with pytest.raises(ValueError, match="1 weights for 2 scorers"):
        CombinedScorer([_Constant(0, 0, 1), _Constant(0, 0, 1)], weights=[1.0])


class _RowLogits(nn.Module):
    """Returns the given logits row by row and keeps the embeddings it was called with."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits, self.seen = logits, []

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        self.seen.append(embeddings)
        return self.logits


def test_pace_score_is_the_log_odds_of_one_minus_p_pace_1_forwards_spread_over_the_frames_each_clip_covers():
    encoder, features = _encoder(), _videos(1, frames=7)[0]
    scorer = PaceScorer(clip_len=2, stride=2, hop=2, paces=[2, 1])
    assert scorer.normal_class == 1  # pace 1 is the second pace; forwards
    scorer.setup(encoder)
    p_normal = torch.tensor([0.9, 0.5, 0.2])  # clips [0, 2], [2, 4], [4, 6], covering 0-2, 2-4, 4-6
    logits = torch.stack([torch.zeros(3), p_normal.log() - (1 - p_normal).log(), torch.full((3,), -1e9)], 1)
    scorer.head = _RowLogits(torch.cat([logits, torch.full((3, 1), -1e9)], 1))
    scores = scorer.score(encoder, features)
    doubt = np.log((1 - p_normal.double().numpy()) / p_normal.double().numpy())  # log 1/9, 0, log 4
    np.testing.assert_allclose(scores, doubt[[0, 0, 0, 1, 1, 2, 2]] / 2 + doubt[[0, 0, 1, 1, 2, 2, 2]] / 2, atol=1e-6)
    torch.testing.assert_close(
        scorer.head.seen[0], clip_embeddings(encoder, features, np.array([[0, 2], [2, 4], [4, 6]]))
    )
    with pytest.raises(ValueError, match="including 1"):
        PaceScorer(paces=[2, 3])


def test_pace_training_views_are_the_objectives_views_of_frame_indices():
    scorer = PaceScorer(clip_len=3, stride=2, paces=[1, 2])
    windows = scorer.training_windows([torch.zeros(12, 1), torch.ones(9, 1)])
    assert windows.tolist()[0] == [0, 2, 4, 6, 8]
    assert windows.tolist()[-1] == [12, 14, 16, 18, 20]  # the second video's last window, offset by 12 frames
    assert len(windows) == 12 - 8 + 9 - 8  # one window per start that fits
    indices, targets = pace_views(windows[:, None], 3, (1, 2), torch.Generator().manual_seed(0))
    numbered = windows.float()[:, None, :, None, None, None]
    views, same = pace_views(numbered, 3, (1, 2), torch.Generator().manual_seed(0))
    assert torch.equal(targets, same) and torch.equal(views.flatten(2).long(), indices)


def test_pace_head_loads_from_a_pretraining_checkpoint_and_a_mismatched_one_is_named(tmp_path):
    encoder, train = _encoder(), _videos(2)
    pace, vcop = PaceObjective(encoder.out_dim, paces=[1, 2, 3]), VCOPObjective(encoder.out_dim)
    state = {f"objectives.0.{k}": v for k, v in vcop.state_dict().items()}  # a VCOP head first, then the pace head
    state |= {f"objectives.1.{k}": v for k, v in pace.state_dict().items()}
    torch.save({"state_dict": {"encoder.x": torch.zeros(1), **state}}, tmp_path / "pace.ckpt")
    scorer = PaceScorer(steps=0)
    scorer.fit(encoder, train, str(tmp_path / "pace.ckpt"))
    assert "pretraining head" in scorer.head_source
    assert torch.equal(scorer.head.layers[3].weight, pace.head.layers[3].weight)
    scores = scorer.score(encoder, train[0])
    assert scores.shape == (20,) and np.isfinite(scores).all()
    reloaded = PaceScorer()
    reloaded.load_fitted(encoder, scorer.state_dict())
    assert np.array_equal(reloaded.score(encoder, train[0]), scores)
    with pytest.raises(ValueError, match=r"pace\.ckpt: its PaceHead does not fit PaceScorer\(paces=\[1, 2\]"):
        PaceScorer(paces=[1, 2], steps=0).fit(encoder, train, str(tmp_path / "pace.ckpt"))
    vcop_only = {k: v for k, v in state.items() if k.startswith("objectives.0.")}
    torch.save({"state_dict": vcop_only}, tmp_path / "vcop.ckpt")
    trained = PaceScorer(steps=2)
    trained.fit(encoder, train, str(tmp_path / "vcop.ckpt"))
    assert trained.head_source.startswith("trained")


def test_pace_scorer_trained_on_normal_speed_flags_a_sped_up_segment():
    generator = torch.Generator().manual_seed(0)
    plane = torch.randn(2, 64, generator=generator) / 4  # features go round a circle in a random plane

    def circle(phases: torch.Tensor) -> torch.Tensor:
        points = torch.stack([phases.cos(), phases.sin()], 1) @ plane
        return points + 0.01 * torch.randn(len(phases), 64, generator=generator)

    train = [circle(0.25 * torch.arange(40.0) + float(start)) for start in range(8)]  # 0.25 rad per frame
    speeds = torch.cat([torch.ones(15), torch.full((12,), 3.0), torch.ones(13)])  # frames 15-26 three times faster
    test = circle(0.25 * speeds.cumsum(0))
    encoder = _encoder()
    scorer = PaceScorer(clip_len=4, stride=1, hop=1, hidden_dim=32, num_views=2048, steps=150, lr=1e-2, batch_size=64)
    scorer.fit(encoder, train)
    scores = scorer.score(encoder, test)
    burst, before, after = scores[17:25].mean(), scores[:12].mean(), scores[30:].mean()
    assert burst > before + 0.3 and burst > after + 0.3, (before, burst, after)
    clips, covered = clip_windows(40, 4, 1, 1)  # each clip's doubt goes to its middle frame
    doubts = doubt_log_odds(scorer.head(clip_embeddings(encoder, test, clips)), scorer.normal_class).detach().numpy()
    assert scores == pytest.approx(clip_scores_to_frames(doubts, covered, 40, reduce="centre"))


def test_holdout_split_leaves_every_holdout_th_video_out_of_fitting_to_calibrate():
    videos = [torch.full((2, 1), float(i)) for i in range(11)]
    fitting, calibration = holdout_split(videos, 5)
    assert [int(v[0, 0]) for v in calibration] == [0, 5, 10]
    assert [int(v[0, 0]) for v in fitting] == [1, 2, 3, 4, 6, 7, 8, 9]
    few_fitting, few_calibration = holdout_split(videos[:3], 5)  # too few to hold any out: all do both
    assert few_fitting == few_calibration == videos[:3]
    with pytest.raises(ValueError, match="holdout must be >= 2"):
        holdout_split(videos, 1)


def test_pace_views_on_residual_frames_read_the_residuals_their_pace_and_direction_showed_in_pretraining(monkeypatch):
    """One 13-frame video, windows of 3 entries every 2nd frame at pace <= 2 plus 2 entries of reach: one window.
    A bank's feature of frame t is 1000 * (its view's number) + t; the embedding of a view is its features."""
    scorer = PaceScorer(clip_len=3, stride=2, paces=[1, 2], num_views=200)
    encoder = SimpleNamespace(out_dim=3)
    needed = [ResidualView(2), ResidualView(4), ResidualView(2, True), ResidualView(4, True)]
    monkeypatch.setattr(PaceScorer, "residual_views", lambda self, enc: needed)
    monkeypatch.setattr(pace_module, "clip_embeddings", lambda enc, bank, clips: bank[torch.as_tensor(clips), 0])
    views = {view: [1000.0 * (i + 1) + torch.arange(13.0)[:, None]] for i, view in enumerate(needed)}
    embeddings, targets = scorer.training_views(encoder, [torch.zeros(13, 1)], views)
    assert set(targets.tolist()) == {0, 1, 2, 3}  # pace 1 / 2 forwards, pace 1 / 2 backwards
    for row, target in zip(embeddings.long().tolist(), targets.tolist()):
        pace, backwards = (1, 2)[target % 2], target >= 2
        view, frames = divmod(row[0], 1000)[0], [r % 1000 for r in row]
        assert needed[view - 1] == ResidualView(2 * pace, backwards)  # residuals 2 * pace frames apart
        if backwards:  # shown frames t2 > t1 > t0; at t the residual x_t - x_{t + 2 pace}: that bank's t + 2 pace
            shown = [f - 2 * pace for f in frames]
            assert shown == [shown[0], shown[0] - 2 * pace, shown[0] - 4 * pace] and shown[-1] >= 0
        else:
            assert frames == [frames[0], frames[0] + 2 * pace, frames[0] + 4 * pace] and frames[-1] <= 8
    with pytest.raises(ValueError, match=r"got no features of the training videos under \[ResidualView\(gap=2"):
        scorer.fit(_encoder(), [torch.zeros(13, 64)])


@pytest.mark.parametrize("scorer_class", [OrderScorer, PaceScorer])
def test_a_learnt_head_is_calibrated_on_videos_it_never_trained_on(scorer_class, monkeypatch):
    """Every 3rd of 6 videos (0 and 3) calibrates; the head learns from the other four."""
    seen: dict[str, list[float]] = {}

    def train_head(self, *args):  # Order: (tuples of the fitting videos,), Pace: (encoder, fitting videos, views)
        seen["trained"] = [float(v.flatten()[0]) for v in (args[0] if scorer_class is OrderScorer else args[1])]

    monkeypatch.setattr(scorer_class, "_train_head", train_head)
    monkeypatch.setattr(OrderScorer, "tuples", lambda self, encoder, f: (f[:1], None))
    monkeypatch.setattr(scorer_class, "calibrate", lambda self, scores: seen.setdefault("calibrated", scores))
    monkeypatch.setattr(scorer_class, "score", lambda self, encoder, f: np.array([float(f[0, 0])]))
    monkeypatch.setattr(scorer_class, "setup", lambda self, encoder: None)
    monkeypatch.setattr(scorer_class, "residual_views", lambda self, encoder: [])
    videos = [torch.full((30, 4), float(i)) for i in range(6)]
    scorer_class(holdout=3).fit(None, videos)
    assert seen["trained"] == [1.0, 2.0, 4.0, 5.0]
    assert [float(s[0]) for s in seen["calibrated"]] == [0.0, 3.0]


def test_calibration_keeps_the_median_and_the_scaled_median_absolute_deviation():
    scorer = _Constant(0.0, 0.0, 1.0)
    scorer.calibrate([np.array([1.0, 2.0]), np.array([3.0, 4.0, 100.0])])  # deviations 2, 1, 0, 1, 97
    assert float(scorer.train_median) == 3.0 and float(scorer.train_scale) == pytest.approx(1.4826)
    assert scorer.normalise(np.array([3.0, 4.4826])) == pytest.approx([0.0, 1.0])
    scorer.calibrate([np.array([5.0, 5.0, 5.0, 8.0])])  # more than half equal: MAD 0, the std stands in
    assert float(scorer.train_median) == 5.0 and float(scorer.train_scale) == pytest.approx(np.std([5, 5, 5, 8]))


def test_magnitude_scores_are_standardised_on_a_log_scale_of_their_training_median():
    scorer = _Constant(0.0, 0.0, 1.0)
    scorer.magnitude_scores = True
    scorer.calibrate([np.array([0.0, 1.0, 2.0, 4.0, 1000.0])])  # log(1 + s / 2): 0, log 1.5, log 2, log 3, log 501
    assert float(scorer.train_reference) == 2.0 and float(scorer.train_median) == pytest.approx(math.log(2))
    scale = 1.4826 * math.log(1.5)  # deviations from log 2: log 2, log 4/3, 0, log 1.5, log 250.5 -> median log 1.5
    assert float(scorer.train_scale) == pytest.approx(scale)
    expected = [0.0, math.log(2) / scale, -math.log(2) / scale]  # log 2 - log 2, log 4 - log 2, log 1 - log 2
    assert scorer.normalise(np.array([2.0, 6.0, 0.0])) == pytest.approx(expected)
    scorer.calibrate([np.zeros(4)])  # all exact matches: the log scale's reference is 1
    assert float(scorer.train_reference) == 1.0
    with pytest.raises(ValueError, match=r"_Constant: 1 of 3 training frame scores are NaN or infinite"):
        scorer.calibrate([np.array([1.0, np.nan, 2.0])])


def test_a_scorer_saved_with_mean_and_std_is_refused():
    encoder = _encoder()
    old = {"scorers.0.train_mean": torch.tensor(0.0), "scorers.0.train_std": torch.tensor(1.0)}
    with pytest.raises(ValueError, match=r"CombinedScorer: .*older VideoVision.*run `anomaly fit` again"):
        CombinedScorer([_Constant(0, 0, 1)]).load_fitted(encoder, old)


def test_lookahead_is_how_many_later_frames_a_frame_score_reads():
    assert KNNScorer(clip_len=4, stride=3).lookahead == 4  # a 10-frame clip: middle frame 5, last 9
    assert OrderScorer().lookahead == 17  # 3 clips of 10 frames, gaps of 3: 36 frames, middle 18, last 35
    assert PaceScorer(clip_len=4, stride=3).lookahead == 4
    assert NextStepScorer(stride=3).lookahead == 3
    assert FeatureSpeedScorer(step=3).lookahead == 3 and FrameKNNScorer(step=2).lookahead == 2
    assert CombinedScorer([KNNScorer(), OrderScorer(), NextStepScorer()]).lookahead == 17
