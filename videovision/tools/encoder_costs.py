"""``videovision encoder-costs``: parameters and GFLOPs per clip of each encoder, as a Markdown table.

FLOPs are counted by ``torch.utils.flop_counter`` (a multiply-add counts 2) for one clip of
16 frames at 112x112, the VCOP / CVRL input. The counter does not see the fused LSTM/GRU kernels;
by hand they add 2 x gates x (input + hidden) x hidden per frame and layer: under 0.15 GFLOPs
for every recurrent model listed. ``--clips-per-second`` adds the inference throughput of this
machine (batches of ``--batch`` clips, no gradient, the median of ``--repeats`` timed batches after one
warm-up): compare rows of one run, since other processes on the machine change every figure.
``--match`` keeps the rows whose name contains it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial

import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

from ..models import (
    FrameTemporalEncoder,
    RecurrentTemporal,
    ResNetFrames,
    SpatialConvRefiner,
    TemporalConvRefiner,
    TransformerTemporal,
    Video3DCNN,
    ViTFrames,
)
from ..objectives import SimCLRObjective, VCOPObjective


def _encoders() -> dict[str, Callable[[], torch.nn.Module]]:
    """Each listed encoder by name, built only when asked for."""
    gru = partial(RecurrentTemporal, cell="gru", hidden_size=512)
    return {
        "ResNet-18 → GRU-512": lambda: FrameTemporalEncoder(ResNetFrames("resnet18"), gru),
        "ResNet-18 → LSTM-512 (2 layers)": lambda: FrameTemporalEncoder(
            ResNetFrames("resnet18"), partial(RecurrentTemporal, cell="lstm", hidden_size=512, num_layers=2)
        ),
        "ResNet-18 → spatial refiner (128) → 2x2 grid → temporal conv → GRU-512": lambda: FrameTemporalEncoder(
            ResNetFrames("resnet18"),
            gru,
            spatial_refiner=partial(SpatialConvRefiner, out_channels=128),
            temporal_refiner=TemporalConvRefiner,
            pool_grid=2,
        ),
        "ResNet-18 → Transformer (2 layers, 256)": lambda: FrameTemporalEncoder(
            ResNetFrames("resnet18"), TransformerTemporal
        ),
        "ResNet-34 → GRU-512": lambda: FrameTemporalEncoder(ResNetFrames("resnet34"), gru),
        "ResNet-50 → GRU-512": lambda: FrameTemporalEncoder(ResNetFrames("resnet50"), gru),
        "ViT/8 (4 layers, 128; the demo's) → GRU-512": lambda: FrameTemporalEncoder(ViTFrames(image_size=112), gru),
        "ViT-S/16 (12 layers, 384) → GRU-512": lambda: FrameTemporalEncoder(
            ViTFrames(image_size=112, patch_size=16, num_layers=12, num_heads=6, hidden_dim=384, mlp_dim=1536), gru
        ),
        "R3D-18": lambda: Video3DCNN("r3d_18"),
        "R(2+1)D-18": lambda: Video3DCNN("r2plus1d_18"),
        "MC3-18": lambda: Video3DCNN("mc3_18"),
    }


def _cpu_attention_flops(query_shape, key_shape, value_shape, *args, **kwargs) -> int:
    """FLOPs of CPU flash attention, which the counter has no formula for: those of any other SDPA kernel."""
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def _cost(module: torch.nn.Module, x: torch.Tensor) -> tuple[float, float]:
    """Parameters (M) and forward GFLOPs. Gradients stay on: without them attention layers take PyTorch's fused
    inference kernel, which the counter does not see (a ViT-S/16 would count a third fewer FLOPs)."""
    params = sum(p.numel() for p in module.parameters()) / 1e6
    cpu_attention = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    counter = FlopCounterMode(display=False, custom_mapping={cpu_attention: _cpu_attention_flops})
    with counter:
        module(x)
    return params, counter.get_total_flops() / 1e9


def _clips_per_second(module: torch.nn.Module, clips: torch.Tensor, repeats: int) -> float:
    """Inference throughput on ``clips`` (B, T, 3, H, W): B over the median time of ``repeats`` batches."""
    times = []
    with torch.no_grad():
        for i in range(repeats + 1):
            start = time.perf_counter()
            module(clips)
            if i:  # the first batch warms up
                times.append(time.perf_counter() - start)
    return len(clips) / statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="videovision encoder-costs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--match", default="", help="only the encoders whose name contains this")
    parser.add_argument("--clips-per-second", action="store_true", help="add the inference throughput here")
    parser.add_argument("--batch", type=int, default=4, help="clips per timed batch")
    parser.add_argument("--repeats", type=int, default=5, help="timed batches per encoder")
    args = parser.parse_args(argv)
    clip = torch.randn(1, args.frames, 3, args.size, args.size)
    speed = " clips/s |" if args.clips_per_second else ""
    print(f"| encoder | output dim | params (M) | GFLOPs per clip ({args.frames}x{args.size}x{args.size}) |{speed}")
    print("|---|---|---|---|" + ("---|" if speed else ""))
    for name, build in _encoders().items():
        if args.match not in name:
            continue
        encoder = build()
        params, gflops = _cost(encoder.eval(), clip)
        row = f"| {name} | {encoder.out_dim} | {params:.1f} | {gflops:.1f} |"
        if speed:
            row += f" {_clips_per_second(encoder, clip.expand(args.batch, -1, -1, -1, -1), args.repeats):.2f} |"
        print(row)
    if args.match:
        return
    print("\n| objective head (on a 512-d encoder) | params (M) | GFLOPs per sample |")
    print("|---|---|---|")
    for name, objective, k in [
        ("SimCLR projection (2048 → 128)", SimCLRObjective(512, hidden_dim=2048), 2),
        ("VCOP order head (3 clips, pairs → 512)", VCOPObjective(512, num_clips=3), 3),
    ]:
        params, gflops = _cost(objective.eval(), torch.randn(2, k, 512))
        print(f"| {name} | {params:.2f} | {gflops / 2:.4f} |")
