"""``videovision stream SOURCE``: classify a video file, frame folder, camera (``0``, ``/dev/video0``) or
RTSP/HTTP URL frame by frame with a classifier checkpoint, carrying the encoder's state.

Decoding runs in a thread beside inference; live sources (and files with ``--realtime``) drop frames
that inference cannot keep up with, and count them. Prints the top classes of each frame, then the
latency percentiles; ``--log`` writes every frame's probabilities as JSON lines.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..serving.model import DEMO_PROBE, load_classifier
from ..serving.runtime import RUNTIMES, make_step
from ..serving.stream import FrameOutput, FrameReader, check_source, is_live, run_stream, source_fps


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="videovision stream", description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="video file, frame folder, camera index or device, or RTSP/HTTP URL")
    parser.add_argument("--ckpt", default=str(DEMO_PROBE), help="VideoClassifier checkpoint (probe or fine-tune)")
    parser.add_argument("--config", default="demo/probe.yaml", help="the run config the checkpoint was trained with")
    parser.add_argument("--runtime", choices=RUNTIMES, default="eager")
    parser.add_argument("--export-dir", default="runs/export", help="ONNX export for --runtime onnx (made if absent)")
    parser.add_argument("--size", type=int, help="input size in pixels (default: the run's crop size)")
    parser.add_argument("--every", type=int, help="stream every N-th frame (default: the run's clip stride)")
    parser.add_argument("--realtime", action="store_true", help="play a file at its frame rate, dropping frames")
    parser.add_argument("--top-k", type=int, default=3)
    parser.add_argument("--max-frames", type=int)
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0: its default)")
    parser.add_argument("--log", help="write each frame's outputs as JSON lines to this file")
    parser.add_argument("--quiet", action="store_true", help="print the summary only")
    args = parser.parse_args(argv)

    check_source(args.source)
    served = load_classifier(args.ckpt, args.config)
    step, preprocess = make_step(served, args.runtime, args.export_dir, args.size, args.threads)
    live = is_live(args.source)
    pace = source_fps(args.source) if args.realtime and not live else 0.0
    every = args.every or served.stride
    reader = FrameReader(args.source, preprocess.resize, every, drop=live or args.realtime, pace_fps=pace)
    log = open(args.log, "w") if args.log else None  # noqa: SIM115 (closed below)

    def report(out: FrameOutput) -> None:
        top = np.argsort(out.probs)[::-1][: args.top_k]
        if not args.quiet:
            shown = "  ".join(f"{served.classes[i]} {out.probs[i]:.2f}" for i in top)
            print(f"frame {out.index:6d}  {shown}  ({out.latency_ms:.1f} ms)")
        if log is not None:
            record = {"frame": out.index, "probs": [round(float(p), 5) for p in out.probs], "ms": out.latency_ms}
            log.write(json.dumps(record) + "\n")

    try:
        stats = run_stream(reader, step, preprocess, report, args.max_frames)
    finally:
        if log is not None:
            log.close()
    summary = {"source": args.source, "runtime": args.runtime, "every": every, **stats.summary()}
    print(json.dumps(summary))
    if args.log:
        Path(args.log).with_suffix(".summary.json").write_text(json.dumps(summary, indent=2))
    return summary
