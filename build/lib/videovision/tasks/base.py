"""The one base LightningModule: optimiser choice and a warm-up + cosine schedule per step."""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import partial
from typing import Any, Literal

import torch
from lightning.pytorch import LightningModule

from .lars import LARS


def warmup_cosine(step: int, warmup: int, total: int) -> float:
    """Learning-rate factor at ``step``: linear from 1/warmup to 1 over ``warmup`` steps, then cosine to 0 at
    ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


class VideoModule(LightningModule):
    """Base of every task. Subclasses give :meth:`param_groups`; this class builds the optimiser.

    Args:
        optimizer: ``adamw``, ``sgd`` (momentum 0.9, Nesterov) or ``lars`` (large-batch SimCLR).
        lr: peak learning rate, reached after ``warmup_epochs`` (fractions allowed) plus
            ``warmup_steps`` of linear warm-up, then cosine decay to zero at the end of training.
            Runs bounded by ``trainer.max_steps`` alone (``max_epochs: -1``) count warm-up in steps.
    """

    def __init__(
        self,
        optimizer: Literal["adamw", "sgd", "lars"] = "adamw",
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        warmup_epochs: float = 0.0,
        warmup_steps: int = 0,
    ) -> None:
        super().__init__()
        if optimizer not in ("adamw", "sgd", "lars"):
            raise ValueError(f"model.optimizer: unknown optimizer {optimizer!r}; choose adamw, sgd or lars")
        self.optimizer_name = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.warmup_epochs = warmup_epochs
        self.warmup_steps = warmup_steps

    def param_groups(self) -> Iterable[dict[str, Any]]:
        """Parameter groups, each may carry ``lr_scale``; default: every trainable parameter."""
        return [{"params": [p for p in self.parameters() if p.requires_grad]}]

    def log_failed_videos(self, batch: dict) -> None:
        """``train/failed_videos``: videos the loader replaced, summed per epoch over workers and processes."""
        failures = batch["failures"]
        self.log(
            "train/failed_videos",
            failures.sum().float(),
            on_step=False,
            on_epoch=True,
            reduce_fx="sum",
            sync_dist=True,
            batch_size=len(failures),
        )

    def configure_optimizers(self) -> dict[str, Any]:
        groups = [
            {"params": g["params"], "lr": self.lr * g.get("lr_scale", 1.0), "weight_decay": self.weight_decay}
            for g in self.param_groups()
        ]
        if self.optimizer_name == "adamw":
            opt = torch.optim.AdamW(groups)
        elif self.optimizer_name == "sgd":
            opt = torch.optim.SGD(groups, momentum=0.9, nesterov=True)
        else:
            opt = LARS(groups)
        total = max(1, int(self.trainer.estimated_stepping_batches))
        epochs = self.trainer.max_epochs or -1
        if self.warmup_epochs and epochs < 1:
            raise ValueError(
                "model.warmup_epochs needs trainer.max_epochs; a run bounded by max_steps sets model.warmup_steps"
            )
        warmup = self.warmup_steps + (int(self.warmup_epochs * total / epochs) if self.warmup_epochs else 0)
        schedule = torch.optim.lr_scheduler.LambdaLR(opt, partial(warmup_cosine, warmup=warmup, total=total))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
