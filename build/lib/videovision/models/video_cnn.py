"""3D CNN baselines from torchvision (R3D-18, R(2+1)D-18, MC3-18) behind the clip-encoder interface."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torchvision.models import video as video_models

from ..checkpoints import is_weights_file, load_classifier_weights
from .encoder import ClipEncoder


class Video3DCNN(ClipEncoder):
    """The backbones of the VCOP and CVRL papers: ``(N, T, 3, H, W)`` -> ``(N, 512)``.

    Args:
        arch: ``r3d_18``, ``r2plus1d_18`` or ``mc3_18``.
        weights: ``None``, a local state-dict / checkpoint file (``weights_only=True``), or a
            torchvision weights name such as ``KINETICS400_V1`` (needs the internet once).
    """

    def __init__(self, arch: Literal["r3d_18", "r2plus1d_18", "mc3_18"] = "r3d_18", weights: str | None = None) -> None:
        super().__init__()
        if arch not in ("r3d_18", "r2plus1d_18", "mc3_18"):
            raise ValueError(f"Video3DCNN: unknown arch {arch!r}; choose r3d_18, r2plus1d_18 or mc3_18")
        local = is_weights_file(weights)
        net = getattr(video_models, arch)(weights=None if local else weights)
        if local:
            load_classifier_weights(net, weights, arch)
        self.out_dim: int = net.fc.in_features
        net.fc = nn.Identity()
        self.net = net

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        return self.net(clips.transpose(1, 2))
