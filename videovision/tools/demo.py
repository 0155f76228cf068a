"""``videovision demo``: learn without labels on the embedded dataset, then show that it helped.

Runs, through the same LightningCLI and YAML files a user would run by hand:

1. ``fit`` of ``experiments/demo/pretrain.yaml`` (self-supervised, labels unused; the data are
   generated on first use);
2. ``fit`` + ``test`` of ``experiments/demo/probe.yaml`` from the pretraining checkpoint, trained on 10 % of
   the training labels (a stratified subset) and on all of them;
3. the same probes from a randomly initialised encoder;

then prints the test accuracies side by side and writes them to ``<run_dir>/results.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from .. import runs
from ..config import experiments_dir

LABEL_FRACTIONS = (0.1, 1.0)
"""The probes' share of the training labels: the few-label case the encoder is for, and all of them."""


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="videovision demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", default="runs/demo", help="where logs, checkpoints and results go")
    parser.add_argument(
        "--config-dir", default=str(experiments_dir() / "demo"), help="folder with pretrain.yaml and probe.yaml"
    )
    parser.add_argument(
        "overrides", nargs="*", help="extra LightningCLI arguments for every run, e.g. --trainer.max_epochs=1"
    )
    args = parser.parse_args(argv)
    run_dir, configs = Path(args.run_dir), Path(args.config_dir)
    start = time.time()

    ckpt_dir = run_dir / "pretrain" / "checkpoints"
    logs = {"trainer.logger.init_args.save_dir": str(run_dir)}
    runs.fit(configs / "pretrain.yaml", {**logs, runs.CHECKPOINT_DIR: str(ckpt_dir)}, args.overrides)
    checkpoint = ckpt_dir / "last.ckpt"

    results: dict[str, dict[str, dict[str, float]]] = {}
    for fraction in LABEL_FRACTIONS:
        for name, weights in (("ssl", str(checkpoint)), ("random_init", None)):
            served = name == "ssl" and fraction == 1.0  # the probe serve and stream load (DEMO_PROBE)
            probe_dir = run_dir / ("probe" if served else f"probe_{name}_{fraction:g}") / "checkpoints"
            overrides = {
                **logs,
                runs.CHECKPOINT_DIR: str(probe_dir),
                "trainer.logger.init_args.name": f"probe_{name}_{fraction:g}",
                "model.init_args.pretrained": weights,
                "data.init_args.label_fraction": fraction,
            }
            results.setdefault(f"{fraction:g}", {})[name] = runs.fit_and_test(
                configs / "probe.yaml", overrides, args.overrides
            )
    summary = {"pretrain_checkpoint": str(checkpoint), "minutes": round((time.time() - start) / 60, 2), **results}
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "results.json").write_text(json.dumps(summary, indent=2))
    _print_table(results)
    print(f"saved {run_dir / 'results.json'} ({summary['minutes']} min)")
    return summary


def _print_table(results: dict[str, dict[str, dict[str, float]]]) -> None:
    rows = [("top-1 (%)", "top1"), ("top-5 (%)", "top5"), ("mean class acc (%)", "mean_class_acc")]
    print("\nLinear probe on moving-digits actions (test split, video level)")
    print(f"{'labels':<8}{'metric':<20}{'SSL encoder':>14}{'random init':>14}{'gain':>10}")
    for fraction, by_encoder in results.items():
        for label, key in rows:
            ssl, rnd = 100 * by_encoder["ssl"][key], 100 * by_encoder["random_init"][key]
            print(f"{float(fraction):<8.0%}{label:<20}{ssl:>14.1f}{rnd:>14.1f}{ssl - rnd:>+10.1f}")
