"""``videovision stream SOURCE``: classify a video file, frame folder, camera (``0``, ``/dev/video0``) or
RTSP/HTTP URL frame by frame with a classifier checkpoint, carrying the encoder's state; with ``--anomaly`` a
fitted scorer's per-frame anomaly score, with ``--box x,y,w,h`` the box tracked from the first frame.

Decoding runs in a thread beside inference; live sources (and files with ``--realtime``) drop frames
that inference cannot keep up with, and count them. Prints each frame's outputs (anomaly scores of the next-step
scorer come ``stride`` frames late, once final), then the latency percentiles; ``--log`` writes them as JSON lines.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..serving.anomaly import ServedScorer
from ..serving.model import DEMO_PROBE, load_classifier
from ..serving.runtime import RUNTIMES
from ..serving.session import TRACK_CKPT_HELP, Analysers, parse_box
from ..serving.stream import FrameOutput, FrameReader, check_source, is_live, run_stream, source_fps, source_size
from ..tracking.features import encoder_from_checkpoint


def _box(text: str) -> tuple[float, float, float, float]:
    try:
        return parse_box(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="videovision stream", description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="video file, frame folder, camera index or device, or RTSP/HTTP URL")
    parser.add_argument("--ckpt", default=str(DEMO_PROBE), help="VideoClassifier checkpoint (probe or fine-tune)")
    parser.add_argument("--config", help="the run config the checkpoint was trained with (default: the one it holds)")
    parser.add_argument("--anomaly", help="a fitted anomaly scorer (anomaly fit's <out_dir>/scorer.pt)")
    parser.add_argument("--box", type=_box, help="first-frame box x,y,w,h (source pixels) to track")
    parser.add_argument("--track-ckpt", help=f"the box tracker's encoder, else the classifier's: {TRACK_CKPT_HELP}")
    parser.add_argument("--runtime", choices=RUNTIMES, default="eager")
    parser.add_argument("--export-dir", default="runs/export", help="ONNX export for --runtime onnx (made if absent)")
    parser.add_argument("--size", type=int, help="classifier input size in pixels (default: the run's crop size)")
    parser.add_argument(
        "--every", type=int, help="classify every N-th frame (default: the run's spacing at the source's rate)"
    )
    parser.add_argument("--realtime", action="store_true", help="play a file at its frame rate, dropping frames")
    parser.add_argument("--top-k", type=int, default=3)
    parser.add_argument("--max-frames", type=int)
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0: its default)")
    parser.add_argument("--log", help="write each frame's outputs as JSON lines to this file")
    parser.add_argument("--quiet", action="store_true", help="print the summary only")
    args = parser.parse_args(argv)

    check_source(args.source)
    served = load_classifier(args.ckpt, args.config)
    anomaly = ServedScorer(args.anomaly) if args.anomaly else None
    tracker_encoder = encoder_from_checkpoint(args.track_ckpt) if args.track_ckpt else None
    analysers = Analysers(
        served,
        args.runtime,
        args.export_dir,
        anomaly,
        args.top_k,
        args.size,
        args.every,
        args.threads,
        tracker_encoder=tracker_encoder,
    )
    live = is_live(args.source)
    fps = 0.0 if live else source_fps(args.source)  # a camera's rate is not known up front: the run's stride
    session = analysers.session(args.box, source_size(args.source) if args.box else None, fps=fps)
    pace = fps if args.realtime else 0.0
    every = 1 if analysers.every_frame(args.box) else analysers.stride_at(fps)
    short_side = analysers.short_side(args.box)
    reader = FrameReader(args.source, short_side, every, drop=live or args.realtime, pace_fps=pace)
    log = open(args.log, "w") if args.log else None  # noqa: SIM115 (closed below)

    def report(out: FrameOutput) -> None:
        if not args.quiet:
            shown = "  ".join(f"{t['label']} {t['prob']:.2f}" for t in out.outputs.get("top", []))
            shown += "".join(f"  anomaly[{f}] {s:+.2f}" for f, s in out.outputs.get("anomaly", []))
            if "box" in out.outputs:
                shown += "  box " + ",".join(f"{v:.0f}" for v in out.outputs["box"])
            print(f"frame {out.index:6d}  {shown}  ({out.latency_ms:.1f} ms)")
        if log is not None:
            log.write(json.dumps({**out.outputs, "ms": round(out.latency_ms, 2)}) + "\n")

    try:
        stats = run_stream(reader, session, report, args.max_frames)
        if rest := session.flush():
            report(FrameOutput(rest[-1][0], {"anomaly": rest}, 0.0, 0.0))
    finally:
        if log is not None:
            log.close()
    summary = {"source": args.source, "runtime": args.runtime, "every": every, **stats.summary()}
    print(json.dumps(summary))
    if args.log:
        Path(args.log).with_suffix(".summary.json").write_text(json.dumps(summary, indent=2))
    return summary
