"""Writes what ``predict`` returns: embeddings as ``.npy`` with an index CSV, predictions as CSV and JSON."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import BasePredictionWriter

from .tasks.monitors import first_occurrence


class EmbeddingWriter(BasePredictionWriter):
    """A ``predict`` callback writing to ``out_dir``:

    - ``clip_embeddings.npy`` float32 (N, K, D): every view (clips x crops) of every video;
    - ``video_embeddings.npy`` float32 (N, D): their mean (the features of VCOP's retrieval protocol);
    - ``index.csv``: ``row, path, label, class`` (row = position in the arrays; label -1 = unlabelled);
    - ``predictions.csv`` and ``predictions.json`` when the model also returns class probabilities
      (:class:`videovision.tasks.VideoClassifier`): predicted class, its probability, the top 5.

    Rows follow the dataset's order. Under DDP each process writes its part and rank 0 merges them,
    keeping each video once (a padded sampler repeats some).
    """

    def __init__(self, out_dir: str) -> None:
        super().__init__(write_interval="epoch")
        self.out_dir = Path(out_dir)

    def write_on_epoch_end(self, trainer: Trainer, pl_module: LightningModule, predictions: list, batch_indices: list) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        part = {key: torch.cat([p[key] for p in predictions]).cpu() for key in predictions[0]}
        torch.save(part, self.out_dir / f".part-{trainer.global_rank}.pt")
        trainer.strategy.barrier()
        if trainer.is_global_zero:
            files = [self.out_dir / f".part-{rank}.pt" for rank in range(trainer.world_size)]
            parts = [torch.load(f, weights_only=True) for f in files]
            merged = {key: torch.cat([p[key] for p in parts]) for key in parts[0]}
            keep = first_occurrence(merged["index"])
            keep = keep[merged["index"][keep].argsort()]
            dataset = trainer.datamodule.datasets["predict"]
            self.write({key: value[keep] for key, value in merged.items()}, dataset.records, trainer.datamodule.classes)
            for f in files:
                f.unlink()
        trainer.strategy.barrier()

    def write(self, outputs: dict[str, torch.Tensor], records: list, classes: list[str]) -> None:
        clip_embeddings = outputs["clip_embeddings"].numpy().astype(np.float32)
        np.save(self.out_dir / "clip_embeddings.npy", clip_embeddings)
        np.save(self.out_dir / "video_embeddings.npy", clip_embeddings.mean(axis=1))
        rows = [records[int(i)] for i in outputs["index"]]

        def name(label: int) -> str:
            return classes[label] if 0 <= label < len(classes) else ""

        with open(self.out_dir / "index.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["row", "path", "label", "class"])
            writer.writerows([i, r.path, r.label, name(r.label)] for i, r in enumerate(rows))
        if "probs" not in outputs:
            return
        probs = outputs["probs"]
        top = probs.topk(min(5, probs.shape[1]), dim=1)
        table = [
            {
                "path": r.path,
                "label": r.label,
                "class": name(r.label),
                "predicted": int(idx[0]),
                "predicted_class": name(int(idx[0])),
                "probability": round(float(p[0]), 6),
                "top5": [name(int(i)) or str(int(i)) for i in idx],
            }
            for r, p, idx in zip(rows, top.values, top.indices)
        ]
        (self.out_dir / "predictions.json").write_text(json.dumps(table, indent=1))
        with open(self.out_dir / "predictions.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(table[0]))
            writer.writeheader()
            writer.writerows({**row, "top5": " | ".join(row["top5"])} for row in table)
