"""Writes what ``predict`` returns: embeddings as ``.npy`` with an index CSV, predictions as CSV and JSON."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import BasePredictionWriter

from ..distributed import gather_objects, gather_unique


class EmbeddingWriter(BasePredictionWriter):
    """A ``predict`` callback writing to ``out_dir``:

    - ``clip_embeddings.npy`` float32 (N, K, D): every view (clips x crops) of every video;
    - ``video_embeddings.npy`` float32 (N, D): their mean (the features of VCOP's retrieval protocol);
    - ``index.csv``: ``row, path, label, class`` (row = position in the arrays; label -1 = unlabelled);
    - ``predictions.csv`` and ``predictions.json`` when the model also returns class probabilities
      (:class:`videovision.tasks.VideoClassifier`): predicted class, its probability, the top 5.

    Rows follow the dataset's order. Under DDP the processes' outputs are gathered and rank 0
    writes them, each video once (a padded sampler repeats some). Paths come with the batch;
    class names from the model (a classifier's checkpoint) or else the data module.
    """

    def __init__(self, out_dir: str) -> None:
        super().__init__(write_interval="epoch")
        self.out_dir = Path(out_dir)

    def write_on_epoch_end(
        self, trainer: Trainer, pl_module: LightningModule, predictions: list, batch_indices: list
    ) -> None:
        keys = [k for k in predictions[0] if k != "path"]
        index, *values = gather_unique(*(torch.cat([p[k] for p in predictions]) for k in keys))
        paths: dict[int, str] = {}
        for part in gather_objects({int(i): path for p in predictions for i, path in zip(p["index"], p["path"])}):
            paths.update(part)
        if trainer.is_global_zero:
            outputs = {k: v.cpu() for k, v in zip(keys[1:], values)}
            classes = list(getattr(pl_module, "classes", None) or getattr(trainer.datamodule, "classes", None) or [])
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self.write(outputs, [paths[int(i)] for i in index], classes)

    def write(self, outputs: dict[str, torch.Tensor], paths: list[str], classes: list[str]) -> None:
        """``outputs``: ``label`` (N,), ``clip_embeddings`` (N, K, D), maybe ``probs`` (N, C); row i is ``paths[i]``."""
        clip_embeddings = outputs["clip_embeddings"].numpy().astype(np.float32)
        np.save(self.out_dir / "clip_embeddings.npy", clip_embeddings)
        np.save(self.out_dir / "video_embeddings.npy", clip_embeddings.mean(axis=1))
        labels = outputs["label"].tolist()

        def name(label: int) -> str:
            return classes[label] if 0 <= label < len(classes) else ""

        with open(self.out_dir / "index.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["row", "path", "label", "class"])
            writer.writerows([i, path, label, name(label)] for i, (path, label) in enumerate(zip(paths, labels)))
        if "probs" not in outputs:
            return
        probs = outputs["probs"]
        top = probs.topk(min(5, probs.shape[1]), dim=1)
        table = [
            {
                "path": path,
                "label": label,
                "class": name(label),
                "predicted": int(idx[0]),
                "predicted_class": name(int(idx[0])),
                "probability": round(float(p[0]), 6),
                "top5": [name(int(i)) or str(int(i)) for i in idx],
            }
            for path, label, p, idx in zip(paths, labels, top.values, top.indices)
        ]
        (self.out_dir / "predictions.json").write_text(json.dumps(table, indent=1))
        with open(self.out_dir / "predictions.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(table[0]))
            writer.writeheader()
            writer.writerows({**row, "top5": " | ".join(row["top5"])} for row in table)
