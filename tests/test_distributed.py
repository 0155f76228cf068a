"""NT-Xent under DDP: 2 CPU processes with batch B equal 1 process with batch 2B (loss and gradients)."""

from __future__ import annotations

import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from videovision.objectives import NTXentLoss
from videovision.tasks.monitors import gather_rows


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
