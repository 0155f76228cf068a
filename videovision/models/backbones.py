"""Spatial backbones: a torchvision ResNet applied to every frame."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
from torch import nn
from torchvision import models

_STAGES = ("layer1", "layer2", "layer3", "layer4")


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from ``path``, loaded with ``weights_only=True`` (no pickled code runs).

    Accepts a plain state dict or a Lightning checkpoint (its ``state_dict`` entry).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(
            f"{path}: refused to load: it is not a plain tensor checkpoint ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0]}). Only weights are accepted, never pickled code."
        ) from exc
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: holds no state dict")
    return state


def is_weights_file(weights: str | None) -> bool:
    """Whether ``weights`` names a local file rather than a torchvision weights enum (``IMAGENET1K_V1``)."""
    return weights is not None and (Path(weights).suffix in (".pt", ".pth", ".ckpt") or "/" in weights or Path(weights).exists())


def load_classifier_weights(net: nn.Module, path: str, arch: str) -> None:
    """Load a torchvision classifier's weights from ``path`` into ``net``, ignoring its ``fc`` layer."""
    state = {k: v for k, v in load_state_dict_file(path).items() if not k.startswith("fc.")}
    try:
        missing, unexpected = net.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise ValueError(f"{path}: does not fit {arch}: {str(exc).splitlines()[1].strip()}") from exc
    if [k for k in missing if not k.startswith("fc.")] or unexpected:
        raise ValueError(f"{path}: does not fit {arch}: missing {missing[:5]}, unexpected {unexpected[:5]}")


class ResNetFrames(nn.Module):
    """torchvision ResNet on each frame: ``(N, T, 3, H, W)`` -> feature maps ``(N, T, C, h, w)``.

    Args:
        arch: ``resnet18``, ``resnet34`` or ``resnet50``.
        weights: ``None`` (random init), a local file (state dict or checkpoint), or a
            torchvision weights name such as ``IMAGENET1K_V1`` (needs the internet once).
        num_stages: residual stages kept (1-4); fewer stages are cheaper for small inputs.
        frozen_stages: stages (counting the stem as 0) whose parameters are frozen.
        freeze_bn: keep BatchNorm statistics fixed (eval mode) during training.
    """

    def __init__(
        self,
        arch: Literal["resnet18", "resnet34", "resnet50"] = "resnet18",
        weights: str | None = None,
        num_stages: int = 4,
        frozen_stages: int = -1,
        freeze_bn: bool = False,
    ) -> None:
        super().__init__()
        if not 1 <= num_stages <= 4:
            raise ValueError(f"num_stages must be 1..4, got {num_stages}")
        local = is_weights_file(weights)
        net = getattr(models, arch)(weights=None if local else weights)
        if local:
            load_classifier_weights(net, weights, arch)
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        self.stages = nn.Sequential(*(getattr(net, name) for name in _STAGES[:num_stages]))
        last = self.stages[-1][-1]
        self.out_channels: int = (last.bn3 if hasattr(last, "bn3") else last.bn2).num_features
        self.freeze_bn = freeze_bn
        for i, part in enumerate([self.stem, *self.stages]):
            if i <= frozen_stages:
                part.requires_grad_(False)
        self.train()

    def train(self, mode: bool = True) -> ResNetFrames:
        super().train(mode)
        if self.freeze_bn:
            for m in self.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eval()
        return self

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        n, t = video.shape[:2]
        maps = self.stages(self.stem(video.flatten(0, 1)))
        return maps.unflatten(0, (n, t))
