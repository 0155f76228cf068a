"""``videovision serve``: the HTTP API and web page (uvicorn) on a classifier checkpoint, with ``--anomaly`` a
fitted anomaly scorer; with the default checkpoint absent, the demo's pretraining and probe are run first
(``make serve``)."""

from __future__ import annotations

import argparse
import os

import uvicorn

from ..serving.api import Settings, create_app
from ..serving.model import DEMO_PROBE, ensure_demo_classifier
from ..serving.runtime import RUNTIMES
from ..serving.session import TRACK_CKPT_HELP


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="videovision serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt", default=str(DEMO_PROBE), help="VideoClassifier checkpoint (probe or fine-tune)")
    parser.add_argument("--config", help="the run config the checkpoint was trained with (default: the one it holds)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
    parser.add_argument(
        "--anomaly", help="a fitted anomaly scorer (anomaly fit's <out_dir>/scorer.pt): per-frame scores"
    )
    parser.add_argument("--track-ckpt", help=f"the box tracker's encoder, else the classifier's: {TRACK_CKPT_HELP}")
    parser.add_argument("--runtime", choices=RUNTIMES, default="eager")
    parser.add_argument("--export-dir", default="runs/export", help="ONNX export for --runtime onnx (made if absent)")
    parser.add_argument("--data-dir", default="runs/serve", help="jobs database and files")
    parser.add_argument(
        "--samples", default="data/moving_digits/UCF-101", help="sample videos for the page (first of each folder)"
    )
    parser.add_argument("--max-upload-mb", type=float, default=50.0)
    parser.add_argument("--max-jobs", type=int, default=4, help="jobs queued or running before uploads get 429")
    args = parser.parse_args(argv)
    if args.ckpt == str(DEMO_PROBE):
        ensure_demo_classifier()
    settings = Settings(
        args.ckpt,
        args.config,
        args.data_dir,
        args.runtime,
        args.export_dir,
        args.samples,
        args.max_upload_mb,
        args.max_jobs,
        anomaly=args.anomaly,
        track_checkpoint=args.track_ckpt,
    )
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
