"""Temporal models: a sequence of frame features -> a clip embedding (and per-frame outputs)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

RNNState = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


class TemporalModel(nn.Module):
    """Base: ``forward(x: (N, T, D)) -> (clip (N, out_dim), frames (N, T, out_dim))``."""

    out_dim: int


class RecurrentTemporal(TemporalModel):
    """LSTM or GRU over frame features, pooled to one clip embedding.

    Args:
        in_dim: frame feature size D.
        cell: ``lstm`` or ``gru``.
        pooling: ``last`` (final step, causal), ``mean`` over steps, or ``attention``
            (learned softmax weights over steps).

    A unidirectional model can run frame by frame with :meth:`step`, carrying the state; it
    gives the same per-frame outputs as :meth:`forward` over the whole sequence.
    """

    def __init__(
        self,
        in_dim: int,
        cell: Literal["lstm", "gru"] = "gru",
        hidden_size: int = 256,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        pooling: Literal["last", "mean", "attention"] = "last",
    ) -> None:
        super().__init__()
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn(
            in_dim,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.out_dim = hidden_size * (2 if bidirectional else 1)
        self.pooling = pooling
        self.attention = nn.Linear(self.out_dim, 1) if pooling == "attention" else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        frames, _ = self.rnn(x)
        if self.pooling == "last":
            if self.rnn.bidirectional:
                half = self.rnn.hidden_size
                clip = torch.cat([frames[:, -1, :half], frames[:, 0, half:]], dim=1)
            else:
                clip = frames[:, -1]
        elif self.pooling == "mean":
            clip = frames.mean(dim=1)
        else:
            weights = torch.softmax(self.attention(frames), dim=1)
            clip = (weights * frames).sum(dim=1)
        return clip, frames

    def step(self, x_t: torch.Tensor, state: RNNState | None = None) -> tuple[torch.Tensor, RNNState]:
        """One frame ``(N, D)`` -> output ``(N, out_dim)`` and the new state (streaming)."""
        if self.rnn.bidirectional:
            raise RuntimeError("a bidirectional RNN cannot stream frame by frame")
        out, state = self.rnn(x_t[:, None], state)
        return out[:, 0], state
