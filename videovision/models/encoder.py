"""Clip encoders: a video clip ``(N, T, 3, H, W)`` -> an embedding ``(N, out_dim)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import get_args

import torch
from torch import nn

from .backbones import FrameBackbone
from .frame_inputs import FrameInput, motion_frames, previous_frames
from .refiners import SpatialConvRefiner, TemporalConvRefiner
from .temporal import TemporalModel

State = tuple[torch.Tensor, ...]


class ClipEncoder(nn.Module):
    """Interface every encoder follows, so objectives and tasks take any of them:
    ``forward(clips: (N, T, 3, H, W)) -> (N, out_dim)``.

    Encoders that can run frame by frame (streaming) also give :meth:`initial_state` and :meth:`step`.
    """

    out_dim: int

    def encode_views(self, clips: torch.Tensor) -> torch.Tensor:
        """Every view of every sample encoded separately: ``(B, K, T, 3, H, W)`` -> ``(B, K, out_dim)``."""
        return self(clips.flatten(0, 1)).unflatten(0, clips.shape[:2])

    def stream_refusal(self) -> str | None:
        """Why this encoder cannot run frame by frame, or None when it can."""
        return f"{type(self).__name__} encodes whole clips at once and cannot stream frame by frame"

    def check_streamable(self) -> None:
        """Raise :class:`RuntimeError` naming the reason (and the fix) when this encoder cannot stream."""
        if reason := self.stream_refusal():
            raise RuntimeError(
                f"{reason}; streaming needs a FrameTemporalEncoder with a unidirectional RNN or a causal Transformer"
            )

    def initial_state(self, frames: torch.Tensor) -> State:
        """The carried state before the first of ``frames`` ``(N, 3, H, W)``."""
        self.check_streamable()
        raise NotImplementedError

    def step(self, frame: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One frame ``(N, 3, H, W)`` -> its output ``(N, out_dim)`` and the new state."""
        self.check_streamable()
        raise NotImplementedError


class FrameTemporalEncoder(ClipEncoder):
    """Per-frame backbone (a ResNet or a ViT) -> optional CNN refinement -> temporal model (LSTM/GRU or a
    causal Transformer) -> clip embedding.

    Each frame's map is average-pooled to a ``pool_grid`` x ``pool_grid`` grid and flattened.
    A grid of 1 is global average pooling, which discards where things are: a grid of 2 or 3
    keeps the coarse position that translation (camera pans, objects crossing) shows up in.

    ``frame_input='residual'`` feeds the backbone each frame minus the one before it (in a clip, of its sampled
    frames; when streaming, of consecutive steps) instead of the frames, and ``'normal_flow'`` the brightness-
    constancy motion cue of that pair (:mod:`videovision.models.frame_inputs`): what stays still cancels, so the
    features carry motion rather than appearance. Tracking reads each frame's appearance and refuses such an
    encoder; the anomaly scorers pair each frame with the frame a clip stride before it
    (:mod:`videovision.anomaly.features`).

    The parts that depend on the previous part's width take it as their first argument, so a
    YAML config names them without repeating sizes (``class_path`` + ``init_args``)::

        backbone: {class_path: videovision.models.ResNetFrames, init_args: {arch: resnet18}}
        temporal: {class_path: videovision.models.RecurrentTemporal, init_args: {cell: gru}}
    """

    def __init__(
        self,
        backbone: FrameBackbone,
        temporal: Callable[[int], TemporalModel],
        spatial_refiner: Callable[[int], SpatialConvRefiner] | None = None,
        temporal_refiner: Callable[[int], TemporalConvRefiner] | None = None,
        pool_grid: int = 1,
        frame_input: FrameInput = "rgb",
    ) -> None:
        super().__init__()
        if frame_input not in get_args(FrameInput):
            raise ValueError(f"frame_input: unknown value {frame_input!r}; choose one of {get_args(FrameInput)}")
        self.frame_input = frame_input
        self.backbone = backbone
        channels = backbone.out_channels
        self.spatial_refiner = spatial_refiner(channels) if spatial_refiner else nn.Identity()
        if spatial_refiner:
            channels = self.spatial_refiner.out_channels
        self.pool = nn.AdaptiveAvgPool2d(pool_grid)
        width = channels * pool_grid * pool_grid
        self.temporal_refiner = temporal_refiner(width) if temporal_refiner else nn.Identity()
        self._has_temporal_refiner = temporal_refiner is not None
        self.temporal_refiner_width = width
        self.temporal = temporal(width)
        self.out_dim: int = self.temporal.out_dim

    def features(self, clips: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every level: ``maps`` (N, T, C, h, w), ``frame_features`` (N, T, C * grid^2), ``frames`` (N, T, D),
        ``clip`` (N, D)."""
        if self.frame_input != "rgb":
            clips = motion_frames(clips, previous_frames(clips), self.frame_input)
        maps = self.spatial_refiner(self.backbone(clips))
        frame_features = self.temporal_refiner(self.pool(maps.flatten(0, 1)).flatten(1).unflatten(0, maps.shape[:2]))
        clip, frames = self.temporal(frame_features)
        return {"maps": maps, "frame_features": frame_features, "frames": frames, "clip": clip}

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        return self.features(clips)["clip"]

    def stream_refusal(self) -> str | None:
        return self.temporal.stream_refusal()

    def _frame_features(self, frame: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` -> pooled features ``(N, C * grid^2)`` before the temporal refiner."""
        maps = self.spatial_refiner(self.backbone(frame[:, None]))[:, 0]
        return self.pool(maps).flatten(1)

    def initial_state(self, frames: torch.Tensor) -> State:
        """Zero state for a batch like ``frames`` ``(N, 3, H, W)``: with residual or normal-flow input, the previous
        frame and whether there was one ((N, 3, H, W), (N, 1, 1, 1)); then the temporal conv refiner's causal
        buffers (the last ``kernel_size - 1`` inputs of each layer), then the temporal model's state (the RNN's
        hidden state, or the causal Transformer's kept frames)."""
        self.check_streamable()
        previous = (torch.zeros_like(frames), frames.new_zeros(len(frames), 1, 1, 1)) if self.input_state_size else ()
        like = frames.new_zeros(len(frames), self.temporal_refiner_width)
        refiner = self.temporal_refiner.initial_state(like) if self._has_temporal_refiner else ()
        return (*previous, *refiner, *self.temporal.initial_state(like))

    def step(self, frame: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One frame ``(N, 3, H, W)`` -> ``frames[:, t]`` of :meth:`features` ``(N, D)`` and the new state.

        Run in eval mode, frame after frame from :meth:`initial_state`, it gives the outputs of
        :meth:`features` on the whole clip (and, with ``pooling='last'``, each output is the clip
        embedding of the frames so far) without re-running any earlier frame.
        """
        self.check_streamable()
        carried, state = state[: self.input_state_size], state[self.input_state_size :]
        if carried:  # residual or normal-flow input: the first step has no previous frame and reads itself
            previous, seen = carried
            carried = (frame, torch.ones_like(seen))
            frame = motion_frames(frame, seen * previous + (1 - seen) * frame, self.frame_input)
        split = self.refiner_state_size
        x, buffers = self.refine_step(self._frame_features(frame), state[:split])
        out, temporal_state = self.temporal.stream_step(x, state[split:])
        return out, (*carried, *buffers, *temporal_state)

    @property
    def input_state_size(self) -> int:
        """How many leading entries of the streaming state carry the previous frame (residual, normal-flow input: 2)."""
        return 0 if self.frame_input == "rgb" else 2

    @property
    def refiner_state_size(self) -> int:
        """How many entries of the streaming state, after the input's, are the temporal conv refiner's buffers."""
        return len(self.temporal_refiner.blocks) if self._has_temporal_refiner else 0

    def refine_step(self, x: torch.Tensor, buffers: State) -> tuple[torch.Tensor, State]:
        """Pooled frame features ``(N, C)`` through the temporal conv refiner, carrying its causal ``buffers``
        (the identity without a refiner): one frame of ``temporal_refiner`` on the whole sequence."""
        if not self._has_temporal_refiner:
            return x, ()
        return self.temporal_refiner.step(x, buffers)


ResNetRNNEncoder = FrameTemporalEncoder  # the name before 0.2; configs that use it keep working for one release
