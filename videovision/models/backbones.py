"""Spatial backbones applied to every frame: a torchvision ResNet or a torchvision Vision Transformer."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torchvision import models
from torchvision.models.vision_transformer import VisionTransformer

from ..checkpoints import is_weights_file, load_classifier_weights

_STAGES = ("layer1", "layer2", "layer3", "layer4")
# Output stride of a torchvision ResNet after the stem and its first n stages.
STRIDE_STAGES = {4: 1, 8: 2, 16: 3, 32: 4}


class FrameBackbone(nn.Module):
    """A 2D backbone run on every frame: ``(N, T, 3, H, W)`` -> feature maps ``(N, T, out_channels, h, w)``.

    What follows it (refiners, grid pooling, streaming ``step()``, dense tracking features) reads only
    this contract, so any subclass is chosen by ``class_path`` in place of another.
    """

    out_channels: int

    def dense_layers(self, stride: int) -> nn.Module:
        """A module mapping frames ``(N, 3, H, W)`` to maps ``(N, C, H / stride, W / stride)`` (tracking's dense
        features); a ``ValueError`` names the strides this backbone has."""
        raise NotImplementedError


class _EachFrame(nn.Module):
    """A :class:`FrameBackbone` on single frames: ``(N, 3, H, W)`` -> ``(N, C, h, w)``."""

    def __init__(self, backbone: FrameBackbone) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.backbone(frames[:, None])[:, 0]


class ResNetFrames(FrameBackbone):
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

    def dense_layers(self, stride: int) -> nn.Module:
        """The stem and the residual stages that reach ``stride`` (4: stem + layer1, 8: + layer2, ...)."""
        if stride not in STRIDE_STAGES:
            raise ValueError(f"stride must be one of {sorted(STRIDE_STAGES)}, got {stride}")
        stages = STRIDE_STAGES[stride]
        if stages > len(self.stages):
            raise ValueError(f"stride {stride} needs {stages} ResNet stages, the backbone has {len(self.stages)}")
        return nn.Sequential(self.stem, *self.stages[:stages])


class ViTFrames(FrameBackbone):
    """torchvision's ``VisionTransformer`` (Dosovitskiy et al., ICLR 2021) on each frame; its patch tokens,
    laid back on the patch grid, are the maps: ``(N, T, 3, H, W)`` -> ``(N, T, hidden_dim, H / patch, W / patch)``.

    The class token attends with the patches and is dropped. Frames of another size than ``image_size``
    (both sides a multiple of ``patch_size``) get the position embeddings resized bicubically to their grid,
    as DINO's and timm's ViTs do. The defaults (patch 8, 4 layers of width 128) suit 32-64 px frames on a CPU.

    Args:
        weights: ``None`` (random init) or a local file holding a torchvision ``VisionTransformer`` state dict
            of the same shape (its ``heads`` are ignored); nothing is downloaded.
    """

    def __init__(
        self,
        image_size: int = 32,
        patch_size: int = 8,
        num_layers: int = 4,
        num_heads: int = 4,
        hidden_dim: int = 128,
        mlp_dim: int = 512,
        dropout: float = 0.0,
        weights: str | None = None,
    ) -> None:
        super().__init__()
        if image_size % patch_size or hidden_dim % num_heads:
            raise ValueError(
                f"ViTFrames: image_size ({image_size}) must be a multiple of patch_size ({patch_size}) and "
                f"hidden_dim ({hidden_dim}) of num_heads ({num_heads})"
            )
        self.vit = VisionTransformer(image_size, patch_size, num_layers, num_heads, hidden_dim, mlp_dim, dropout)
        if weights is not None:
            if not is_weights_file(weights):
                raise ValueError(f"ViTFrames: weights must be a local file (nothing is downloaded), got {weights!r}")
            load_classifier_weights(self.vit, weights, "ViTFrames", head="heads.")
        self.vit.heads = nn.Identity()
        self.patch_size = patch_size
        self.out_channels: int = hidden_dim

    def _position_embedding(self, grid_h: int, grid_w: int) -> torch.Tensor:
        """(1, 1 + grid_h * grid_w, D): the class token's, then the patches' resized to the grid."""
        pos = self.vit.encoder.pos_embedding
        side = self.vit.image_size // self.patch_size
        if (grid_h, grid_w) == (side, side):
            return pos
        patches = pos[:, 1:].reshape(1, side, side, -1).permute(0, 3, 1, 2)
        patches = F.interpolate(patches, size=(grid_h, grid_w), mode="bicubic", align_corners=False)
        return torch.cat([pos[:, :1], patches.flatten(2).transpose(1, 2)], dim=1)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        n, t, _, height, width = video.shape
        if height % self.patch_size or width % self.patch_size:
            raise ValueError(
                f"ViTFrames: frames of {height}x{width} are not a multiple of patch_size {self.patch_size}"
            )
        grid_h, grid_w = height // self.patch_size, width // self.patch_size
        tokens = self.vit.conv_proj(video.flatten(0, 1)).flatten(2).transpose(1, 2)  # (N*T, h*w, D)
        tokens = torch.cat([self.vit.class_token.expand(len(tokens), -1, -1), tokens], dim=1)
        encoder = self.vit.encoder
        tokens = encoder.ln(encoder.layers(encoder.dropout(tokens + self._position_embedding(grid_h, grid_w))))
        maps = tokens[:, 1:].transpose(1, 2).unflatten(2, (grid_h, grid_w))
        return maps.unflatten(0, (n, t))

    def dense_layers(self, stride: int) -> nn.Module:
        if stride != self.patch_size:
            raise ValueError(f"stride must be one of [{self.patch_size}] (the patch size) for ViTFrames, got {stride}")
        return _EachFrame(self)
