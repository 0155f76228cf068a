"""Spatial backbones: a torchvision ResNet applied to every frame."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torchvision import models

from ..checkpoints import is_weights_file, load_classifier_weights

_STAGES = ("layer1", "layer2", "layer3", "layer4")


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
        if arch not in ("resnet18", "resnet34", "resnet50"):
            raise ValueError(f"ResNetFrames: unknown arch {arch!r}; choose resnet18, resnet34 or resnet50")
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
