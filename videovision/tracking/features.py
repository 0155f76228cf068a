"""Dense per-frame features for tracking: an encoder's per-frame backbone at a chosen stride, L2-normalised per cell."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from data_modules.transforms import KINETICS_MEAN, KINETICS_STD

from ..checkpoints import load_checkpoint_file, load_encoder_weights, run_encoder_config
from ..config import compose
from ..models import ClipEncoder, FrameBackbone


class DenseFeatures(nn.Module):
    """uint8 frames (T, H, W, 3) -> L2-normalised maps (T, C, H / stride, W / stride), as CRW's evaluation
    (Jabri et al. 2020, ``code/test.py``: encoder maps, ``F.normalize`` over channels).

    ``stride`` picks the layers of ``backbone`` that run (:meth:`FrameBackbone.dense_layers`: for a ResNet, 4 is
    stem + layer1, 8 adds layer2, ...; for a ViT, its patch size). Frames are normalised as the training
    transforms do (Kinetics mean and std).
    """

    def __init__(self, backbone: FrameBackbone, stride: int = 8, batch_size: int = 16) -> None:
        super().__init__()
        self.stride = stride
        self.layers = backbone.dense_layers(stride)
        self.batch_size = batch_size
        self.register_buffer("mean", torch.tensor(KINETICS_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(KINETICS_STD).view(1, 3, 1, 1), persistent=False)

    @torch.no_grad()
    def forward(self, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
        video = torch.as_tensor(np.asarray(frames)).permute(0, 3, 1, 2).float().div_(255)
        video = (video - self.mean) / self.std
        maps = [self.layers(chunk) for chunk in video.split(self.batch_size)]
        return F.normalize(torch.cat(maps), dim=1)


def encoder_backbone(encoder: nn.Module) -> FrameBackbone:
    """The per-frame backbone of a VideoVision encoder (``FrameTemporalEncoder.backbone``) or the backbone itself."""
    backbone = encoder if isinstance(encoder, FrameBackbone) else getattr(encoder, "backbone", None)
    if not isinstance(backbone, FrameBackbone):
        raise TypeError(
            f"{type(encoder).__name__} has no per-frame backbone (ResNetFrames, ViTFrames) to take dense features from"
        )
    if getattr(encoder, "frame_input", "rgb") != "rgb":
        raise ValueError(
            f"tracking matches each frame's appearance, and this encoder's backbone was trained on frame differences "
            f"(encoder.init_args.frame_input: {encoder.frame_input}): track with an encoder with frame_input: rgb"
        )
    return backbone


def load_encoder(config: dict | str | Path, checkpoint: str | Path | None = None, seed: int = 0) -> ClipEncoder:
    """An encoder from its ``class_path`` + ``init_args`` mapping or YAML file (e.g. ``demo/base/encoder.yaml``),
    with the ``encoder.*`` weights of a VideoVision checkpoint, or randomly initialised (seeded) when
    ``checkpoint`` is None."""
    from jsonargparse import ArgumentParser

    parser = ArgumentParser()
    parser.add_argument("--encoder", type=ClipEncoder)
    torch.manual_seed(seed)
    encoder = parser.instantiate(
        parser.parse_object({"encoder": config if isinstance(config, dict) else compose(config)})
    ).encoder
    if checkpoint is not None:
        load_encoder_weights(encoder, checkpoint)
    return encoder.eval()


def encoder_from_checkpoint(checkpoint: str | Path) -> ClipEncoder:
    """The encoder of the VideoVision run that saved ``checkpoint`` (rebuilt from its ``run_config``), with its
    weights."""
    encoder = run_encoder_config(load_checkpoint_file(checkpoint))
    if encoder is None:
        raise ValueError(f"{checkpoint}: its run config has no model.init_args.encoder to rebuild")
    return load_encoder(encoder, checkpoint)


class CachedFeatures(nn.Module):
    """:class:`DenseFeatures` that encode each distinct video once (keyed by its pixels): a benchmark run over
    several tasks on the same frames (the embedded DAVIS and OTB layouts) reuses the maps. Same call and shapes."""

    def __init__(self, features: DenseFeatures) -> None:
        super().__init__()
        self.features, self.stride = features, features.stride
        self._maps: dict[bytes, torch.Tensor] = {}

    def forward(self, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
        array = np.ascontiguousarray(np.asarray(frames))
        key = hashlib.blake2b(array.tobytes(), digest_size=16).digest() + str(array.shape).encode()
        if key not in self._maps:
            self._maps[key] = self.features(array)
        return self._maps[key]
