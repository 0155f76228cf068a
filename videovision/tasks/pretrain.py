"""Self-supervised pretraining: one encoder, any weighted sum of objectives."""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..distributed import gather_unique, rank
from ..evaluation.collapse import COLLAPSE_THRESHOLD, collapse_stats, is_collapsed
from ..evaluation.knn import weighted_knn_predict
from ..models.encoder import ClipEncoder
from ..objectives.base import Objective
from .base import VideoModule

log = logging.getLogger(__name__)


class SSLPretrainModule(VideoModule):
    """Encode the K clips of each sample once, then sum ``weight * loss`` over the objectives.

    An objective that makes its own views (``own_views``, e.g. pace prediction) has them encoded apart;
    the others share one encoding of the sampled clips.

    Labels never reach the encoder. When ``num_classes`` is set, two monitors (solo-learn's) watch
    the representation on the validation split each epoch: an online linear probe trained on
    detached embeddings of the training clips, and a weighted kNN (``knn_k``, temperature 0.07)
    over a bank of up to ``knn_bank_size`` training embeddings from the epoch (rows of unlabelled
    videos count towards the size and are left out of the vote). The validation split must be
    held out: ``fit`` refuses one that shares a video (path or group) with the training split.
    Collapse monitors (lightly's, :mod:`videovision.evaluation.collapse`), labels or not:
    ``train/embedding_std`` and ``train/embedding_cosine`` over the bank each epoch (and ``val/``
    over the validation videos when it runs), with a warning when ``std * sqrt(D)`` falls below
    ``collapse_threshold``. Every monitor counts each video once across processes. No step waits
    on the device.

    Batch: ``clips`` float (B, K, T, 3, H, W), ``label`` (B,), ``failures`` (B,).
    """

    def __init__(
        self,
        encoder: ClipEncoder,
        objectives: list[Callable[[int], Objective]],
        num_classes: int | None = None,
        knn_k: int = 20,
        knn_bank_size: int = 8192,
        collapse_threshold: float = COLLAPSE_THRESHOLD,
        **optim,
    ) -> None:
        super().__init__(**optim)
        if not objectives:
            raise ValueError("model.objectives is empty: name at least one objective")
        self.encoder = encoder
        self.objectives = nn.ModuleList(make(encoder.out_dim) for make in objectives)
        self.online_probe = nn.Linear(encoder.out_dim, num_classes) if num_classes else None
        self.num_classes = num_classes
        self.knn_k, self.knn_bank_size = knn_k, knn_bank_size
        self.collapse_threshold = collapse_threshold
        self._bank: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self._val: list[tuple[torch.Tensor, ...]] = []

    def setup(self, stage: str) -> None:
        sampler = getattr(self.trainer.datamodule, "train_sampler", None)
        needed = max(o.min_clips for o in self.objectives)
        if sampler is not None and sampler.num_clips < needed:
            raise ValueError(
                f"data.train_sampler gives {sampler.num_clips} clip(s) per video but the objectives need {needed}: "
                "use PairClipSampler (SimCLR) or TupleClipSampler (VCOP)"
            )
        frames = max(o.min_frames for o in self.objectives)
        if sampler is not None and sampler.clip_len < frames:
            raise ValueError(
                f"data.train_sampler.clip_len is {sampler.clip_len} but the objectives make views from clips of "
                f"{frames} frames: set data.train_sampler.init_args.clip_len to at least {frames}"
            )
        if stage == "fit" and self.online_probe is not None:
            self._check_held_out()

    def _check_held_out(self) -> None:
        """Refuse a validation split that shares videos (same path or same group) with the training split:
        the online probe and kNN would then score videos they were fitted on."""
        records = getattr(self.trainer.datamodule, "records", None)
        if records is None:
            return
        try:
            train, val = records("train"), records("val")
        except LookupError:  # no val split: validation, and these monitors, are skipped
            return
        seen = {r.path for r in train} | {r.group for r in train if r.group}
        shared = [r.path for r in val if r.path in seen or (r.group and r.group in seen)]
        if shared:
            raise ValueError(
                f"model.num_classes turns on monitors scored on the val split, but {len(shared)} of {len(val)} val "
                f"videos (e.g. {shared[0]}) are training videos or share their group: give the reader a separate val "
                "split (or holdout_fraction), or set model.num_classes: null"
            )

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        clips, shared, features = batch["clips"], None, None
        total = clips.new_zeros(())
        for objective in self.objectives:
            if objective.own_views:
                views, targets = objective.make_views(clips)
                embeddings = self.encoder.encode_views(views)
                out = objective(embeddings, targets)
            else:
                shared = self.encoder.encode_views(clips) if shared is None else shared
                embeddings = shared
                out = objective(embeddings)
            features = embeddings[:, 0].detach() if features is None else features
            total = total + objective.weight * out["loss"]
            self.log_dict(
                {f"train/{objective.name}_{k}": v for k, v in out.items()},
                on_epoch=True,
                sync_dist=True,
                batch_size=len(clips),
            )
        self.log("train/loss", total, prog_bar=True, on_epoch=True, sync_dist=True, batch_size=len(clips))
        self.log_failed_videos(batch)
        if self.online_probe is not None:
            total = total + self._online_probe_loss(features, batch["label"])
        if sum(len(f) for f, _, _ in self._bank) < self.knn_bank_size:
            self._bank.append((features.float(), batch["label"], batch["index"]))  # unlabelled: no kNN vote
        return total

    def _online_probe_loss(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross entropy of the probe over the labelled rows (label >= 0), 0 when none is; features (B, D),
        labels (B,). A masked mean over the whole batch: a boolean index or ``if labelled.any()`` would stop
        the host until the device catches up, every step."""
        labelled = labels >= 0
        losses = F.cross_entropy(self.online_probe(features), labels.clamp(min=0), reduction="none")
        return torch.where(labelled, losses, 0.0).sum() / labelled.sum().clamp(min=1)

    def on_train_epoch_start(self) -> None:
        self._bank.clear()

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        if self.online_probe is not None:
            embeddings = self.encoder.encode_views(batch["clips"])
            self._val.append(
                (
                    embeddings.mean(1).float(),
                    self.online_probe(embeddings).softmax(-1).mean(1),
                    batch["label"],
                    batch["index"],
                )
            )

    def _gathered_bank(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The epoch's training embeddings (M, D) and labels (M,) of every process, each video once."""
        features, labels, index = (torch.cat(t) for t in zip(*self._bank))
        _, features, labels = gather_unique(index, features, labels)
        return features, labels

    def _log_collapse(self, split: str, features: torch.Tensor) -> None:
        """``<split>/embedding_std`` and ``<split>/embedding_cosine`` of features (N, D), one row per video, and
        a warning (rank 0) when they look collapsed."""
        if len(features) < 2:
            return
        stats = collapse_stats(features)
        for name, value in stats.items():
            self.log(f"{split}/{name}", value)
        std, dim = float(stats["embedding_std"]), features.shape[1]
        if rank() == 0 and is_collapsed(std, dim, self.collapse_threshold):
            log.warning(
                "epoch %d: the %s embeddings look collapsed: std of the L2-normalised embeddings %.4f = %.3f/sqrt(%d) "
                "(healthy about 1/sqrt(D), warning below %.2f/sqrt(D)), mean cosine between videos %.3f",
                self.current_epoch,
                split,
                std,
                std * dim**0.5,
                dim,
                self.collapse_threshold,
                float(stats["embedding_cosine"]),
            )

    def on_train_epoch_end(self) -> None:
        if self._bank:
            self._log_collapse("train", self._gathered_bank()[0])

    def on_validation_epoch_end(self) -> None:
        """The monitors over the whole validation split, each video counted once across processes."""
        if not self._val:
            return
        features, probs, labels, index = (torch.cat(t) for t in zip(*self._val))
        self._val.clear()
        _, features, probs, labels = gather_unique(index, features, probs, labels)
        self.log("val/online_probe_top1", (probs.argmax(1) == labels).float().mean(), prog_bar=True)
        self._log_collapse("val", features)
        if self._bank:
            bank, bank_labels = self._gathered_bank()
            labelled = bank_labels >= 0
            if labelled.any():
                scores = weighted_knn_predict(
                    bank[labelled], bank_labels[labelled], features, self.num_classes, self.knn_k
                )
                self.log("val/knn_top1", (scores.argmax(1) == labels).float().mean(), prog_bar=True)
