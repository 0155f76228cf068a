"""Tools of the ``videovision`` command beside LightningCLI's subcommands: each a module with
``main(argv)``, driving runs through :mod:`videovision.runs`. ``TOOLS`` maps the subcommand to it."""

from collections.abc import Callable
from typing import Any

from data_modules import moving_digits

from . import bench, check_data, demo, encoder_costs, evaluate_features, extract_frames, results, track, tracking_bench

TOOLS: dict[str, Callable[[list[str]], Any]] = {
    "bench": bench.main,
    "check-data": check_data.main,
    "demo": demo.main,
    "encoder-costs": encoder_costs.main,
    "evaluate-features": evaluate_features.main,
    "extract-frames": extract_frames.main,
    "generate-data": moving_digits.main,
    "results": results.main,
    "track": track.main,
    "tracking-bench": tracking_bench.main,
}
