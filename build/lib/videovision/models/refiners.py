"""CNN refinement between the per-frame backbone and the temporal model.

- :class:`SpatialConvRefiner` refines each frame's feature map before pooling.
- :class:`TemporalConvRefiner` mixes neighbouring frames with a causal 1-D convolution, so it
  can still run frame by frame when streaming.

Both are residual, so a freshly initialised refiner starts close to the identity.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SpatialConvRefiner(nn.Module):
    """Residual 3x3 conv blocks on feature maps, then an optional 1x1 projection to ``out_channels``:
    ``(N, T, C, h, w)`` -> ``(N, T, out_channels, h, w)``."""

    def __init__(self, in_channels: int, num_layers: int = 1, out_channels: int | None = None) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(in_channels, in_channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(in_channels),
                nn.ReLU(inplace=True),
                nn.Conv2d(in_channels, in_channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(in_channels),
            )
            for _ in range(num_layers)
        )
        self.out_channels = out_channels or in_channels
        self.project = (
            nn.Sequential(
                nn.Conv2d(in_channels, self.out_channels, 1, bias=False), nn.BatchNorm2d(self.out_channels), nn.ReLU()
            )
            if out_channels
            else nn.Identity()
        )

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        n, t = maps.shape[:2]
        x = maps.flatten(0, 1)
        for block in self.blocks:
            x = F.relu(x + block(x))
        return self.project(x).unflatten(0, (n, t))


class TemporalConvRefiner(nn.Module):
    """Residual causal 1-D convs over time on frame features: ``(N, T, D)`` -> ``(N, T, D)``.

    Frame ``t`` sees frames ``t - kernel_size + 1 .. t`` only.
    """

    def __init__(self, in_dim: int, kernel_size: int = 3, num_layers: int = 1) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv1d(in_dim, in_dim, kernel_size, bias=False), nn.BatchNorm1d(in_dim))
            for _ in range(num_layers)
        )
        self.out_dim = in_dim

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = features.transpose(1, 2)
        for block in self.blocks:
            x = F.relu(x + block(F.pad(x, (self.kernel_size - 1, 0))))
        return x.transpose(1, 2)

    def initial_state(self, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Zero buffers for :meth:`step`, one ``(N, D, kernel_size - 1)`` per layer (the causal padding);
        ``like`` is a frame feature batch ``(N, D)`` giving N, device and dtype."""
        return tuple(like.new_zeros(len(like), self.out_dim, self.kernel_size - 1) for _ in self.blocks)

    def step(
        self, x_t: torch.Tensor, buffers: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """One frame ``(N, D)`` -> ``(N, D)``, carrying each layer's last ``kernel_size - 1`` inputs."""
        x = x_t[:, :, None]
        kept = []
        for block, buffer in zip(self.blocks, buffers):
            window = torch.cat([buffer, x], dim=2)
            kept.append(window[:, :, 1:])
            x = F.relu(x + block(window))
        return x[:, :, 0], tuple(kept)
