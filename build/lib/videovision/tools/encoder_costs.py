"""``videovision encoder-costs``: parameters and GFLOPs per clip of each encoder, as a Markdown table.

FLOPs are counted by ``torch.utils.flop_counter`` (a multiply-add counts 2) for one clip of
16 frames at 112x112, the VCOP / CVRL input. The counter does not see the fused LSTM/GRU kernels;
by hand they add 2 x gates x (input + hidden) x hidden per frame and layer: under 0.15 GFLOPs
for every recurrent model listed.
"""

from __future__ import annotations

import argparse
from functools import partial

import torch
from torch.utils.flop_counter import FlopCounterMode

from ..models import (
    FrameTemporalEncoder,
    RecurrentTemporal,
    ResNetFrames,
    SpatialConvRefiner,
    TemporalConvRefiner,
    TransformerTemporal,
    Video3DCNN,
)
from ..objectives import SimCLRObjective, VCOPObjective


def _encoders() -> dict[str, torch.nn.Module]:
    gru = partial(RecurrentTemporal, cell="gru", hidden_size=512)
    return {
        "ResNet-18 → GRU-512": FrameTemporalEncoder(ResNetFrames("resnet18"), gru),
        "ResNet-18 → LSTM-512 (2 layers)": FrameTemporalEncoder(
            ResNetFrames("resnet18"), partial(RecurrentTemporal, cell="lstm", hidden_size=512, num_layers=2)
        ),
        "ResNet-18 → spatial refiner (128) → 2x2 grid → temporal conv → GRU-512": FrameTemporalEncoder(
            ResNetFrames("resnet18"),
            gru,
            spatial_refiner=partial(SpatialConvRefiner, out_channels=128),
            temporal_refiner=TemporalConvRefiner,
            pool_grid=2,
        ),
        "ResNet-18 → Transformer (2 layers, 256)": FrameTemporalEncoder(ResNetFrames("resnet18"), TransformerTemporal),
        "ResNet-34 → GRU-512": FrameTemporalEncoder(ResNetFrames("resnet34"), gru),
        "ResNet-50 → GRU-512": FrameTemporalEncoder(ResNetFrames("resnet50"), gru),
        "R3D-18": Video3DCNN("r3d_18"),
        "R(2+1)D-18": Video3DCNN("r2plus1d_18"),
        "MC3-18": Video3DCNN("mc3_18"),
    }


def _cost(module: torch.nn.Module, x: torch.Tensor) -> tuple[float, float]:
    params = sum(p.numel() for p in module.parameters()) / 1e6
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        module(x)
    return params, counter.get_total_flops() / 1e9


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="videovision encoder-costs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=112)
    args = parser.parse_args(argv)
    clip = torch.randn(1, args.frames, 3, args.size, args.size)
    print(f"| encoder | output dim | params (M) | GFLOPs per clip ({args.frames}x{args.size}x{args.size}) |")
    print("|---|---|---|---|")
    for name, encoder in _encoders().items():
        params, gflops = _cost(encoder.eval(), clip)
        print(f"| {name} | {encoder.out_dim} | {params:.1f} | {gflops:.1f} |")
    print("\n| objective head (on a 512-d encoder) | params (M) | GFLOPs per sample |")
    print("|---|---|---|")
    for name, objective, k in [
        ("SimCLR projection (2048 → 128)", SimCLRObjective(512, hidden_dim=2048), 2),
        ("VCOP order head (3 clips, pairs → 512)", VCOPObjective(512, num_clips=3), 3),
    ]:
        params, gflops = _cost(objective.eval(), torch.randn(2, k, 512))
        print(f"| {name} | {params:.2f} | {gflops / 2:.4f} |")
