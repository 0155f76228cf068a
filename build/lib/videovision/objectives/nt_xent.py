"""NT-Xent, the contrastive loss of SimCLR, with negatives from every process."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..distributed import gather_with_grad, rank


class NTXentLoss(nn.Module):
    """Normalised temperature-scaled cross entropy (Chen et al., "A Simple Framework for
    Contrastive Learning of Visual Representations", ICML 2020, eq. 1).

    For the 2N L2-normalised embeddings of N positive pairs, anchor i's loss is
    ``-log(exp(s(i, j) / tau) / sum_{k != i} exp(s(i, k) / tau))`` with j its partner and s the
    cosine similarity; the loss is the mean over all 2N anchors.

    Under DDP the embeddings of every process are gathered with gradients, so each anchor sees
    the negatives of the global batch: the mean of the per-process losses, and the averaged
    gradients, equal those of one process holding the whole batch.

    Shapes: ``z_a``, ``z_b``: (N, D), row i of each a positive pair -> scalar.
    """

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.temperature = temperature

    def forward(self, z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
        local = torch.cat([F.normalize(z_a, dim=1), F.normalize(z_b, dim=1)])  # (2N, D): a then b
        n = z_a.shape[0]
        everyone = torch.cat([gather_with_grad(local[:n]), gather_with_grad(local[n:])])  # (2M, D)
        m = everyone.shape[0] // 2
        logits = local @ everyone.T / self.temperature  # (2N, 2M)
        ids = torch.arange(n, device=logits.device)  # made on the device: no host-to-device copy per step
        own = torch.cat([ids, ids + m]) + rank() * n  # each anchor's own column
        partner = torch.cat([ids + m, ids]) + rank() * n
        logits[torch.arange(2 * n, device=logits.device), own] = float("-inf")
        return F.cross_entropy(logits, partner)
