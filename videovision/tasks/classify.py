"""Action recognition on a (pre)trained encoder: linear probe or fine-tuning, video-level testing."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.functional.classification import multiclass_accuracy

from ..checkpoints import load_encoder_weights
from ..distributed import gather_unique
from ..models.encoder import ClipEncoder
from .base import VideoModule


class VideoClassifier(VideoModule):
    """Linear probe (``freeze_encoder=True``) or fine-tuning of an encoder with a linear head.

    ``pretrained``: a pretraining checkpoint whose encoder weights are loaded (random init if None).
    ``num_classes``: None takes the data module's class count when training starts.
    Fine-tuning trains the encoder at ``encoder_lr_scale`` times the head's learning rate.

    Training batches hold one clip per video; validation and test batches hold K views per video
    (clips x crops). Their softmax is averaged per video, and each video is counted once even when
    a distributed sampler pads the split: top-1, top-5 and mean class accuracy. The gathered
    per-video ``index``, ``probs`` and ``labels`` of the last evaluation stay in :attr:`eval_outputs`
    for callbacks (:class:`~videovision.callbacks.ConfusionMatrixPlot`).

    ``classes`` (names by label) are taken from the data module when training starts and saved in
    the checkpoint, so predictions on new videos carry names.
    """

    def __init__(
        self,
        encoder: ClipEncoder,
        num_classes: int | None = None,
        pretrained: str | None = None,
        freeze_encoder: bool = True,
        encoder_lr_scale: float = 0.1,
        dropout: float = 0.0,
        **optim,
    ) -> None:
        super().__init__(**optim)
        self.encoder = encoder
        if pretrained:
            load_encoder_weights(encoder, pretrained)
        self.freeze_encoder = freeze_encoder
        if freeze_encoder:
            encoder.requires_grad_(False)
            encoder.eval()  # Lightning restores captured modes, so the frozen encoder must start in eval
        self.encoder_lr_scale = encoder_lr_scale
        self.dropout = dropout
        self.num_classes = num_classes
        self.head = self._make_head(num_classes) if num_classes else None
        self.classes: list[str] = []
        self.eval_outputs: dict[str, torch.Tensor] = {}
        self._outputs: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def _make_head(self, num_classes: int) -> nn.Module:
        # Standardising features (BatchNorm without affine, as MAE's linear probe) keeps the head linear
        # at test time and makes one learning rate fit encoders whose outputs differ widely in scale.
        width = self.encoder.out_dim
        return nn.Sequential(
            nn.BatchNorm1d(width, affine=False), nn.Dropout(self.dropout), nn.Linear(width, num_classes)
        )

    def setup(self, stage: str) -> None:
        classes = list(getattr(self.trainer.datamodule, "classes", None) or [])
        if self.num_classes is None and classes:
            self.num_classes = len(classes)
            self.head = self._make_head(self.num_classes)
        elif self.num_classes is None and stage == "fit":
            raise ValueError("model.num_classes is not set and the dataset names no classes")
        elif classes and len(classes) != self.num_classes:
            raise ValueError(
                f"model.num_classes is {self.num_classes} but the dataset has {len(classes)} classes: set "
                f"--model.init_args.num_classes {len(classes)}, or null to take the dataset's count"
            )
        self.classes = classes or self.classes

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["classes"] = self.classes

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Class names, and the head when ``num_classes`` was left to the data (runs before the weights load)."""
        self.classes = list(checkpoint.get("classes", []))
        if self.head is None:
            self.num_classes = len(self.classes) or checkpoint["state_dict"]["head.2.weight"].shape[0]
            self.head = self._make_head(self.num_classes)

    def train(self, mode: bool = True) -> VideoClassifier:
        super().train(mode)
        if self.freeze_encoder:
            self.encoder.eval()
        return self

    def param_groups(self) -> list[dict]:
        groups = [{"params": list(self.head.parameters())}]
        if not self.freeze_encoder:
            groups.append({"params": list(self.encoder.parameters()), "lr_scale": self.encoder_lr_scale})
        return groups

    def embed_and_classify(self, clips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, K, T, 3, H, W) -> view embeddings (B, K, D) and per-video class probabilities (B, C),
        the softmax averaged over the K views."""
        if self.head is None:
            raise ValueError(
                "the classifier has no head: give --ckpt_path of a trained VideoClassifier or model.num_classes"
            )
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_encoder):
            features = self.encoder.encode_views(clips)
        return features, self.head(features.flatten(0, 1)).softmax(-1).unflatten(0, clips.shape[:2]).mean(1)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, K, T, 3, H, W) -> per-video class probabilities (B, C)."""
        return self.embed_and_classify(clips)[1]

    def predict_step(self, batch: dict, batch_idx: int) -> dict[str, torch.Tensor]:
        """Embeddings and probabilities for :class:`videovision.callbacks.EmbeddingWriter`."""
        embeddings, probs = self.embed_and_classify(batch["clips"])
        return {
            "index": batch["index"],
            "label": batch["label"],
            "path": batch["path"],
            "clip_embeddings": embeddings.float(),
            "probs": probs.float(),
        }

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        clips = batch["clips"]
        with torch.set_grad_enabled(not self.freeze_encoder):
            features = self.encoder.encode_views(clips).flatten(0, 1)
        logits = self.head(features)
        labels = batch["label"].repeat_interleave(clips.shape[1])
        loss = F.cross_entropy(logits, labels)
        self.log("train/loss", loss, prog_bar=True, on_epoch=True, sync_dist=True, batch_size=len(clips))
        self.log(
            "train/top1",
            (logits.argmax(1) == labels).float().mean(),
            on_epoch=True,
            sync_dist=True,
            batch_size=len(clips),
        )
        self.log_failed_videos(batch)
        return loss

    def _eval_step(self, batch: dict) -> None:
        self._outputs.append((batch["index"], self(batch["clips"]), batch["label"]))

    def _eval_epoch_end(self, prefix: str) -> None:
        index, probs, labels = gather_unique(*(torch.cat(parts) for parts in zip(*self._outputs)))
        self._outputs.clear()
        self.eval_outputs = {"index": index, "probs": probs, "labels": labels}
        c = self.num_classes
        metrics = {
            f"{prefix}/top1": multiclass_accuracy(probs, labels, c, average="micro"),
            f"{prefix}/top5": multiclass_accuracy(probs, labels, c, average="micro", top_k=min(5, c)),
            f"{prefix}/mean_class_acc": multiclass_accuracy(probs, labels, c, average="macro"),
            f"{prefix}/videos": torch.tensor(float(len(labels)), device=probs.device),
        }
        self.log_dict(metrics, prog_bar=prefix == "val")

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._eval_step(batch)

    def on_validation_epoch_end(self) -> None:
        self._eval_epoch_end("val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._eval_step(batch)

    def on_test_epoch_end(self) -> None:
        self._eval_epoch_end("test")
