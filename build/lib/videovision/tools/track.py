"""``videovision track --config experiments/tracking/<task>.yaml``: track through a benchmark (DAVIS masks, OTB
boxes, MOTChallenge tracks) with an encoder's dense features, or through one video from a first-frame box or mask.

Writes the benchmark's own results format, ``metrics.json`` and an annotated GIF under the config's ``output``
(see :mod:`videovision.tracking.experiment` for the config keys)."""

from __future__ import annotations

import argparse
import json

from ..config import compose
from ..tracking.experiment import run_benchmark, run_video


def _box(text: str) -> tuple[float, float, float, float]:
    values = [float(v) for v in text.replace(" ", ",").split(",") if v]
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"--box takes x,y,w,h (4 numbers), got {text!r}")
    return tuple(values)


def main(argv: list[str] | None = None) -> dict | str:
    parser = argparse.ArgumentParser(prog="videovision track", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="experiments/tracking/{davis,otb,mot}.yaml or your own")
    parser.add_argument("--checkpoint", help="a VideoVision checkpoint whose encoder.* weights to use")
    parser.add_argument("--output", help="output folder (default: the config's output)")
    parser.add_argument(
        "--baseline", action="store_true", help="DAVIS: copy the first frame's masks; MOT: IoU-only association"
    )
    parser.add_argument("--video", help="track in this video (file or frame folder) instead of the benchmark")
    parser.add_argument("--box", type=_box, help="with --video: first-frame box x,y,w,h in 0-based pixels")
    parser.add_argument("--mask", help="with --video: first-frame mask, an index PNG (0 background, k object k)")
    args = parser.parse_args(argv)
    config = compose(args.config)
    if args.video:
        out = run_video(config, args.video, args.box, args.mask, args.checkpoint, args.output)
        print(f"tracked {args.video}: {out}")
        return str(out)
    if args.box or args.mask:
        parser.error("--box and --mask need --video")
    metrics = run_benchmark(config, args.checkpoint, args.output, args.baseline)
    print(json.dumps({k: v for k, v in metrics.items() if k != "sequences"}, indent=2))
    return metrics
