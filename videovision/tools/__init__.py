"""Tools of the ``videovision`` command beside LightningCLI's subcommands: each a module with
``main(argv)``, driving runs through :mod:`videovision.runs`. ``TOOLS`` maps the subcommand to it."""

from collections.abc import Callable
from typing import Any

from data_modules import heldout_sets, moving_digits

from . import (
    anomaly,
    bench,
    bench_stream,
    check_data,
    classify,
    demo,
    encoder_costs,
    evaluate_features,
    export,
    extract_frames,
    gpu_check,
    results,
    serve,
    stream,
    track,
    tracking_bench,
)

TOOLS: dict[str, Callable[[list[str]], Any]] = {
    "anomaly": anomaly.main,
    "bench": bench.main,
    "bench-stream": bench_stream.main,
    "check-data": check_data.main,
    "classify": classify.main,
    "demo": demo.main,
    "encoder-costs": encoder_costs.main,
    "evaluate-features": evaluate_features.main,
    "export": export.main,
    "extract-frames": extract_frames.main,
    "generate-data": moving_digits.main,
    "generate-heldout": heldout_sets.main,
    "gpu-check": gpu_check.main,
    "results": results.main,
    "serve": serve.main,
    "stream": stream.main,
    "track": track.main,
    "tracking-bench": tracking_bench.main,
}
