"""Embeddings of every view of every video, for ``predict`` (retrieval, kNN, scikit-learn probes, t-SNE)."""

from __future__ import annotations

import torch
from lightning.pytorch import LightningModule

from ..checkpoints import load_encoder_weights
from ..models.encoder import ClipEncoder


class VideoEmbedder(LightningModule):
    """An encoder, optionally loaded from a pretraining or fine-tuning checkpoint (its ``encoder.*``
    weights), that only predicts: ``python -m videovision predict --config experiments/demo/extract.yaml``.

    ``predict_step``: ``clips`` (B, K, T, 3, H, W) -> ``clip_embeddings`` float (B, K, D), with the
    batch's ``index``, ``label`` and ``path``; :class:`videovision.callbacks.EmbeddingWriter` writes them to disk.
    """

    def __init__(self, encoder: ClipEncoder, pretrained: str | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        if pretrained:
            load_encoder_weights(encoder, pretrained)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, K, T, 3, H, W) -> (B, K, D)."""
        return self.encoder.encode_views(clips)

    def predict_step(self, batch: dict, batch_idx: int) -> dict:
        embeddings = self(batch["clips"]).float()
        return {"index": batch["index"], "label": batch["label"], "path": batch["path"], "clip_embeddings": embeddings}
