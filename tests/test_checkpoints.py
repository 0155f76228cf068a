"""Weights load with weights_only=True: tensors are accepted, pickled code is refused by name."""

from __future__ import annotations

import collections

import pytest
import torch

from videovision.checkpoints import load_state_dict_file


class Payload:
    """Stands for arbitrary code a pickle could run on load."""

    def __reduce__(self):
        return (print, ("this would have run on load",))


def test_plain_state_dicts_and_lightning_checkpoints_load(tmp_path):
    weights = collections.OrderedDict(w=torch.ones(2))
    torch.save(weights, tmp_path / "plain.pt")
    torch.save({"state_dict": weights, "epoch": 3, "global_step": 7}, tmp_path / "lightning.ckpt")
    for name in ("plain.pt", "lightning.ckpt"):
        torch.testing.assert_close(load_state_dict_file(tmp_path / name)["w"], torch.ones(2))


def test_a_checkpoint_holding_pickled_code_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {"w": torch.ones(1)}, "extra": Payload()}, path)
    with pytest.raises(ValueError, match=r"evil\.ckpt: refused to load.*never pickled code"):
        load_state_dict_file(path)
    assert "would have run" not in capsys.readouterr().out


def test_a_file_without_a_state_dict_is_named(tmp_path):
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(ValueError, match=r"list\.pt: holds no state dict"):
        load_state_dict_file(tmp_path / "list.pt")
