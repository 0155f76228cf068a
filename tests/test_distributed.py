"""Under DDP on 2 CPU processes: NT-Xent with batch B equals 1 process with 2B; so do the pretraining monitors
(online probe, kNN and the collapse monitors)."""

from __future__ import annotations

import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from videovision.distributed import gather_rows
from videovision.models import ClipEncoder
from videovision.objectives import NTXentLoss, VCOPObjective
from videovision.tasks import SSLPretrainModule


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, port: int, z_a: torch.Tensor, z_b: torch.Tensor, out: dict) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        b = len(z_a) // 2
        a = z_a[rank * b : (rank + 1) * b].clone().requires_grad_(True)
        c = z_b[rank * b : (rank + 1) * b].clone().requires_grad_(True)
        loss = NTXentLoss(0.2)(a, c)
        loss.backward()
        rows = gather_rows(torch.arange(rank + 1))  # ranks hold 1 and 2 rows
        out[rank] = (loss.detach(), a.grad, c.grad, rows)
    finally:
        dist.destroy_process_group()


def test_nt_xent_on_two_processes_equals_one_process_with_the_whole_batch():
    torch.manual_seed(0)
    z_a, z_b = torch.randn(8, 5), torch.randn(8, 5)
    a, b = z_a.clone().requires_grad_(True), z_b.clone().requires_grad_(True)
    single = NTXentLoss(0.2)(a, b)
    single.backward()

    out = mp.Manager().dict()
    mp.spawn(_worker, args=(_free_port(), z_a, z_b, out), nprocs=2, join=True)
    mean_loss = (out[0][0] + out[1][0]) / 2
    torch.testing.assert_close(mean_loss, single.detach())
    # DDP averages gradients over processes; each rank's gradient is d(loss_rank)/d(own rows) plus the
    # other rank's contribution through the gathered negatives (all_gather's backward sums them).
    grad_a = torch.cat([out[0][1], out[1][1]]) / 2
    grad_b = torch.cat([out[0][2], out[1][2]]) / 2
    torch.testing.assert_close(grad_a, a.grad)
    torch.testing.assert_close(grad_b, b.grad)
    assert out[0][3].tolist() == [0, 0, 1] == out[1][3].tolist()


class _TinyEncoder(ClipEncoder):
    out_dim = 4


def _monitor_scores(val: list[tuple[torch.Tensor, ...]], bank: list[tuple[torch.Tensor, ...]]) -> dict[str, float]:
    """What SSLPretrainModule's validation and training epoch ends log for these per-rank parts."""
    module = SSLPretrainModule(_TinyEncoder(), [VCOPObjective], num_classes=3, knn_k=3)
    module._val, module._bank = list(val), list(bank)
    logged: dict[str, float] = {}
    module.log = lambda key, value, **kwargs: logged.__setitem__(key, float(value))  # no trainer here
    module.on_validation_epoch_end()
    module.on_train_epoch_end()
    return logged


def _monitor_worker(rank: int, port: int, val: list, bank: list, out: dict) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        out[rank] = _monitor_scores([val[rank]], [bank[rank]])
    finally:
        dist.destroy_process_group()


def test_pretraining_monitors_on_two_processes_equal_one_process():
    torch.manual_seed(0)
    features, probs = torch.randn(10, 4), torch.randn(10, 3).softmax(1)
    labels, index = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0]), torch.arange(10)
    bank, bank_labels, bank_index = torch.randn(12, 4), torch.arange(12) % 3, torch.arange(12)
    single = _monitor_scores([(features, probs, labels, index)], [(bank, bank_labels, bank_index)])

    # a padded distributed sampler: rank 1 repeats video 0 to hold as many rows as rank 0
    parts = [torch.arange(0, 5), torch.tensor([5, 6, 7, 8, 9, 0])]
    val = [(features[p], probs[p], labels[p], index[p]) for p in parts]
    # the training bank too: rank 1 repeats training video 3
    banks = [
        (bank[rows], bank_labels[rows], bank_index[rows]) for rows in ([0, 1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 3])
    ]
    out = mp.Manager().dict()
    mp.spawn(_monitor_worker, args=(_free_port(), val, banks, out), nprocs=2, join=True)
    monitors = {"online_probe_top1", "knn_top1", "embedding_std", "embedding_cosine"}
    assert set(single) == {f"val/{m}" for m in monitors} | {"train/embedding_std", "train/embedding_cosine"}
    assert out[0] == out[1] == single
