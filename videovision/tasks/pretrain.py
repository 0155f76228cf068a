"""Self-supervised pretraining: one encoder, any weighted sum of objectives."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..models.encoder import ClipEncoder
from ..objectives.base import Objective
from .base import VideoModule


class SSLPretrainModule(VideoModule):
    """Encode the K clips of each sample once, then sum ``weight * loss`` over the objectives.

    Labels never reach the encoder. When ``num_classes`` is set, an online linear probe learns
    from detached embeddings of the training clips (solo-learn's monitor) and is scored on the
    validation split each epoch, so representation quality is visible during pretraining.

    Batch: ``clips`` float (B, K, T, 3, H, W), ``label`` (B,), ``failures`` (B,).
    """

    def __init__(
        self,
        encoder: ClipEncoder,
        objectives: list[Callable[[int], Objective]],
        num_classes: int | None = None,
        **optim,
    ) -> None:
        super().__init__(**optim)
        if not objectives:
            raise ValueError("model.objectives is empty: name at least one objective")
        self.encoder = encoder
        self.objectives = nn.ModuleList(make(encoder.out_dim) for make in objectives)
        self.online_probe = nn.Linear(encoder.out_dim, num_classes) if num_classes else None
        self.num_classes = num_classes

    def setup(self, stage: str) -> None:
        sampler = getattr(self.trainer.datamodule, "train_sampler", None)
        needed = max(o.min_clips for o in self.objectives)
        if sampler is not None and sampler.num_clips < needed:
            raise ValueError(
                f"data.train_sampler gives {sampler.num_clips} clip(s) per video but the objectives need {needed}: "
                "use PairClipSampler (SimCLR) or TupleClipSampler (VCOP)"
            )

    def encode(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, K, T, 3, H, W) -> (B, K, D): every clip encoded separately."""
        return self.encoder(clips.flatten(0, 1)).unflatten(0, clips.shape[:2])

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        embeddings = self.encode(batch["clips"])
        total = embeddings.new_zeros(())
        for objective in self.objectives:
            out = objective(embeddings)
            total = total + objective.weight * out["loss"]
            self.log_dict({f"train/{objective.name}_{k}": v for k, v in out.items()}, on_epoch=True, sync_dist=True)
        self.log("train/loss", total, prog_bar=True, on_epoch=True, sync_dist=True)
        self.log("train/failed_videos", batch["failures"].sum().float(), on_step=False, on_epoch=True, reduce_fx="sum", sync_dist=True)
        if self.online_probe is not None:
            labelled = batch["label"] >= 0
            if labelled.any():
                logits = self.online_probe(embeddings[labelled, 0].detach())
                total = total + F.cross_entropy(logits, batch["label"][labelled])
        return total

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        if self.online_probe is None:
            return
        logits = self.online_probe(self.encode(batch["clips"])).softmax(-1).mean(1)
        acc = (logits.argmax(1) == batch["label"]).float().mean()
        self.log("val/online_probe_top1", acc, prog_bar=True, sync_dist=True, batch_size=len(logits))
