"""Pictures for people, sent to any logger that takes images: the test confusion matrix, sample clips as strips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from PIL import Image
from torchmetrics.functional.classification import multiclass_confusion_matrix


def save_confusion_matrix(matrix: torch.Tensor, classes: list[str], path: Path, title: str = "") -> Path:
    """Write ``matrix`` (C, C; rows = true class, columns = prediction) as a PNG, rows normalised."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = matrix.float().cpu().numpy()
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = max(4.0, 0.35 * len(classes) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ticks = range(len(classes))
    ax.set_xticks(ticks, classes, rotation=90, fontsize=7)
    ax.set_yticks(ticks, classes, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title, fontsize=9)
    if len(classes) <= 20:
        for i in ticks:
            for j in ticks:
                if counts[i, j]:
                    ax.text(
                        j,
                        i,
                        int(counts[i, j]),
                        ha="center",
                        va="center",
                        fontsize=6,
                        color="white" if rates[i, j] > 0.5 else "black",
                    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def log_images(trainer: Trainer, key: str, images: list[np.ndarray]) -> None:
    """Send uint8 (H, W, 3) images to every logger that can take them (W&B, TensorBoard)."""
    for logger in trainer.loggers:
        if hasattr(logger, "log_image"):
            logger.log_image(key=key, images=images, step=trainer.global_step)
        elif hasattr(getattr(logger, "experiment", None), "add_image"):
            for i, image in enumerate(images):
                logger.experiment.add_image(f"{key}/{i}", image, trainer.global_step, dataformats="HWC")


class SampleClips(Callback):
    """Logs the first training batch's clips, as the model sees them after augmentation, once per fit.

    Each image is one sample: its K clips as rows, their T frames side by side.
    """

    def __init__(self, num_samples: int = 4) -> None:
        self.num_samples = num_samples
        self._done = False

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch: dict, batch_idx: int) -> None:
        if self._done or not trainer.is_global_zero:
            return
        self._done = True
        transform = trainer.datamodule.train_transform
        clips = batch["clips"][: self.num_samples].detach().float().cpu()  # (B, K, T, 3, h, w)
        clips = (clips * transform.std + transform.mean).clamp(0, 1)
        strips = [
            (torch.cat([torch.cat(list(clip), dim=2) for clip in sample], dim=1).permute(1, 2, 0).numpy() * 255).astype(
                np.uint8
            )
            for sample in clips
        ]
        log_images(trainer, "samples/train_clips", strips)


class ConfusionMatrixPlot(Callback):
    """After ``test``: the confusion matrix of the model's per-video predictions, saved beside the
    run as ``confusion_matrix.pt`` (C, C counts) and ``confusion_matrix.png``, and sent to the loggers.

    Reads ``pl_module.eval_outputs`` (``probs`` (N, C), ``labels`` (N,), each video once) and
    ``pl_module.classes``, as :class:`~videovision.tasks.VideoClassifier` leaves them.
    """

    def on_test_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        folder = Path(trainer.log_dir or trainer.default_root_dir)  # a collective under DDP: every rank asks
        if not trainer.is_global_zero:
            return
        probs, labels = pl_module.eval_outputs["probs"], pl_module.eval_outputs["labels"]
        num_classes = probs.shape[1]
        matrix = multiclass_confusion_matrix(probs.argmax(1), labels, num_classes).cpu()
        classes = list(getattr(pl_module, "classes", None) or []) or [str(i) for i in range(num_classes)]
        folder.mkdir(parents=True, exist_ok=True)
        torch.save(matrix, folder / "confusion_matrix.pt")
        run = trainer.logger.name if trainer.logger is not None else folder.name
        top1 = matrix.diagonal().sum().item() / max(1, matrix.sum().item())
        title = f"{run}: test split, {len(labels)} videos, top-1 {100 * top1:.1f} %"
        png = save_confusion_matrix(matrix, classes, folder / "confusion_matrix.png", title)
        log_images(trainer, "test/confusion_matrix", [np.asarray(Image.open(png).convert("RGB"))])
