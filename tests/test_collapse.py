"""Collapse monitors against hand computations, and their warning in pretraining."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from data_modules.readers import VideoRecord
from videovision.evaluation.collapse import collapse_stats, is_collapsed, mean_pairwise_cosine, std_of_l2_normalized
from videovision.models import ClipEncoder
from videovision.objectives import VCOPObjective
from videovision.tasks import SSLPretrainModule


def test_four_orthogonal_directions_by_hand():
    """Rows +-e0, +-e1 (scaled: normalisation removes it). Each dimension holds (1, 0, -1, 0): mean 0,
    unbiased variance 2/3. Cosines of the 6 pairs: 0, -1, 0, 0, -1, 0, mean -1/3."""
    z = torch.tensor([[3.0, 0.0], [0.0, 0.5], [-2.0, 0.0], [0.0, -7.0]])
    torch.testing.assert_close(std_of_l2_normalized(z), torch.tensor(math.sqrt(2 / 3)))
    torch.testing.assert_close(mean_pairwise_cosine(z), torch.tensor(-1 / 3))
    assert not is_collapsed(math.sqrt(2 / 3), dim=2)


def test_one_direction_is_collapsed():
    stats = collapse_stats(torch.tensor([[2.0, 2.0], [1.0, 1.0], [3.0, 3.0]]))
    torch.testing.assert_close(stats["embedding_std"], torch.tensor(0.0))
    torch.testing.assert_close(stats["embedding_cosine"], torch.tensor(1.0))
    assert is_collapsed(0.0, dim=2)
    with pytest.raises(ValueError, match="at least 2 embeddings"):
        collapse_stats(torch.ones(1, 4))


def test_spread_embeddings_sit_near_one_over_sqrt_d_and_near_collapse_is_caught():
    torch.manual_seed(0)
    spread = collapse_stats(torch.randn(4000, 64))
    assert abs(float(spread["embedding_std"]) * 8 - 1) < 0.02 and abs(float(spread["embedding_cosine"])) < 0.01
    assert not is_collapsed(float(spread["embedding_std"]), 64)
    near = torch.zeros(500, 64)
    near[:, 0] = 1.0
    near = collapse_stats(near + 0.01 * torch.randn(500, 64))
    assert float(near["embedding_cosine"]) > 0.99
    assert float(near["embedding_std"]) * 8 <= math.sqrt(1 - float(near["embedding_cosine"])) + 1e-3
    assert is_collapsed(float(near["embedding_std"]), 64)
    assert is_collapsed(0.0124, 64) and not is_collapsed(0.0126, 64)  # the threshold: 0.1 / sqrt(64) = 0.0125


class _TinyEncoder(ClipEncoder):
    out_dim = 4


def _train_epoch_end(features: torch.Tensor) -> dict[str, float]:
    module = SSLPretrainModule(_TinyEncoder(), [VCOPObjective])
    module._bank = [(features, torch.full((len(features),), -1), torch.arange(len(features)))]
    logged: dict[str, float] = {}
    module.log = lambda key, value, **kwargs: logged.__setitem__(key, float(value))
    module.on_train_epoch_end()
    return logged


def test_pretraining_logs_the_collapse_monitors_without_labels_and_warns(caplog):
    torch.manual_seed(0)
    with caplog.at_level("WARNING", logger="videovision"):
        healthy = _train_epoch_end(torch.randn(50, 4))
    assert set(healthy) == {"train/embedding_std", "train/embedding_cosine"} and not caplog.records
    with caplog.at_level("WARNING", logger="videovision"):
        collapsed = _train_epoch_end(torch.ones(50, 4) + 1e-4 * torch.randn(50, 4))
    assert collapsed["train/embedding_std"] * 2 < 0.1 < healthy["train/embedding_std"] * 2
    assert "the train embeddings look collapsed" in caplog.text and "warning below 0.10/sqrt(D)" in caplog.text


def test_monitors_refuse_a_val_split_that_shares_training_videos():
    train = [VideoRecord("a.avi", 0, "g1"), VideoRecord("b.avi", 1, "g2")]
    module = SSLPretrainModule(_TinyEncoder(), [VCOPObjective], num_classes=2)

    def setup(val: list[VideoRecord]) -> None:
        splits = {"train": train, "val": val}
        module._trainer = SimpleNamespace(datamodule=SimpleNamespace(records=splits.__getitem__))
        module.setup("fit")

    setup([VideoRecord("c.avi", 0, "g3")])
    with pytest.raises(ValueError, match=r"1 of 2 val videos \(e.g. d.avi\) are training videos or share their group"):
        setup([VideoRecord("c.avi", 0, "g3"), VideoRecord("d.avi", 1, "g2")])
    with pytest.raises(ValueError, match="e.g. a.avi"):
        setup([VideoRecord("a.avi", 0)])
