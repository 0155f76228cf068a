"""Temporal models: a sequence of frame features -> a clip embedding (and per-frame outputs)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

RNNState = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


class TemporalModel(nn.Module):
    """Base: ``forward(x: (N, T, D)) -> (clip (N, out_dim), frames (N, T, out_dim))``.

    Streaming models also give :meth:`initial_state` and :meth:`stream_step`, whose state is a flat
    tuple of tensors (what an exported step model takes and returns).
    """

    out_dim: int

    def stream_refusal(self) -> str | None:
        """Why this model cannot run frame by frame, or None when it can."""
        return f"{type(self).__name__} has no frame-by-frame step"

    def check_streamable(self) -> None:
        """Raise :class:`RuntimeError` with the reason when this model cannot stream."""
        if reason := self.stream_refusal():
            raise RuntimeError(reason)

    def initial_state(self, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The state before the first frame; ``like`` is a frame feature batch ``(N, D)``."""
        raise RuntimeError(self.stream_refusal())

    def stream_step(
        self, x_t: torch.Tensor, state: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """One frame ``(N, D)`` -> its output ``(N, out_dim)`` and the new state."""
        raise RuntimeError(self.stream_refusal())


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
        if cell not in ("lstm", "gru"):
            raise ValueError(f"RecurrentTemporal: unknown cell {cell!r}; choose lstm or gru")
        if pooling not in ("last", "mean", "attention"):
            raise ValueError(f"RecurrentTemporal: unknown pooling {pooling!r}; choose last, mean or attention")
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

    def stream_refusal(self) -> str | None:
        if self.rnn.bidirectional:
            return "a bidirectional RNN cannot stream frame by frame (it reads the clip backwards)"
        return None

    def initial_state(self, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Zero hidden state ``(num_layers, N, hidden)``, and the LSTM's cell state beside it."""
        self.check_streamable()
        h = like.new_zeros(self.rnn.num_layers, len(like), self.rnn.hidden_size)
        return (h, torch.zeros_like(h)) if isinstance(self.rnn, nn.LSTM) else (h,)

    def stream_step(
        self, x_t: torch.Tensor, state: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        out, new = self.step(x_t, state if isinstance(self.rnn, nn.LSTM) else state[0])
        return out, (tuple(new) if isinstance(self.rnn, nn.LSTM) else (new,))


class TransformerTemporal(TemporalModel):
    """A Transformer encoder over frame features with learned positions, pooled to a clip embedding.

    With ``causal=True`` each frame attends to itself and earlier frames only, so :meth:`step`
    can stream (its state is the projected frames seen so far, capped at ``max_len``) and gives
    the per-frame outputs of :meth:`forward`. ``pooling``: ``last`` (causal), ``mean`` or ``cls``
    (a learned token prepended to the sequence; not streamable).
    """

    def __init__(
        self,
        in_dim: int,
        d_model: int = 256,
        nhead: int = 4,
        num_layers: int = 2,
        dim_feedforward: int = 512,
        dropout: float = 0.1,
        causal: bool = True,
        max_len: int = 64,
        pooling: Literal["last", "mean", "cls"] = "last",
    ) -> None:
        super().__init__()
        if pooling not in ("last", "mean", "cls"):
            raise ValueError(f"TransformerTemporal: unknown pooling {pooling!r}; choose last, mean or cls")
        if pooling == "cls" and causal:
            raise ValueError("pooling='cls' needs causal=False: a causal CLS token would see no frame")
        self.project = nn.Linear(in_dim, d_model)
        self.position = nn.Parameter(torch.zeros(1, max_len + 1, d_model))
        nn.init.trunc_normal_(self.position, std=0.02)
        self.cls = nn.Parameter(torch.zeros(1, 1, d_model)) if pooling == "cls" else None
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.causal, self.max_len, self.pooling = causal, max_len, pooling
        self.out_dim = d_model

    def _encode(self, tokens: torch.Tensor) -> torch.Tensor:
        t = tokens.shape[1]
        if t > self.max_len + 1:
            raise ValueError(f"{t} frames exceed max_len={self.max_len}")
        mask = nn.Transformer.generate_square_subsequent_mask(t, device=tokens.device) if self.causal else None
        return self.norm(self.encoder(tokens + self.position[:, :t], mask=mask, is_causal=self.causal))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        tokens = self.project(x)
        if self.cls is not None:
            out = self._encode(torch.cat([self.cls.expand(len(x), -1, -1), tokens], dim=1))
            return out[:, 0], out[:, 1:]
        frames = self._encode(tokens)
        return (frames[:, -1] if self.pooling == "last" else frames.mean(dim=1)), frames

    def step(self, x_t: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One frame ``(N, D)`` -> output ``(N, d_model)`` and the frames kept so far (streaming)."""
        if not self.causal:
            raise RuntimeError("only a causal Transformer can stream frame by frame")
        token = self.project(x_t)[:, None]
        state = token if state is None else torch.cat([state, token], dim=1)[:, -self.max_len :]
        return self._encode(state)[:, -1], state

    def stream_refusal(self) -> str | None:
        if not self.causal:
            return "a non-causal Transformer cannot stream frame by frame (every frame sees the future)"
        return None

    def initial_state(self, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """No frame kept yet: ``(N, 0, d_model)``."""
        self.check_streamable()
        return (like.new_zeros(len(like), 0, self.out_dim),)

    def stream_step(
        self, x_t: torch.Tensor, state: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        out, kept = self.step(x_t, state[0])
        return out, (kept,)
