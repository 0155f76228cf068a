"""``videovision tracking-bench``: the tracking table of the README on the embedded benchmark.

Pretrains SimCLR and VCOP briefly on moving digits (the demo's configs, fewer epochs; resumed from their
checkpoints when present), then runs ``experiments/tracking/{davis,otb,mot}.yaml`` with a randomly initialised
encoder and with each pretrained one, plus the baselines: copying the first frame's masks (DAVIS) and IoU-only
association (MOT). Prints encoder x J&F, success AUC / precision@20, MOTA / IDF1 / HOTA and the time of each row;
writes ``<run_dir>/results.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from .. import runs
from ..config import compose, experiments_dir
from ..tracking.experiment import run_benchmark

PRETRAIN = {"SimCLR": "pretrain_simclr.yaml", "VCOP": "pretrain.yaml"}
TASKS = ("davis", "otb", "mot")
COLUMNS = (
    ("J&F", "davis", "J&F-Mean"),
    ("J", "davis", "J-Mean"),
    ("F", "davis", "F-Mean"),
    ("AUC", "otb", "success_auc"),
    ("P@20", "otb", "precision_20px"),
    ("MOTA", "mot", "MOTA"),
    ("IDF1", "mot", "IDF1"),
    ("HOTA", "mot", "HOTA"),
)


def pretrain(run_dir: Path, name: str, epochs: int, extra: list[str]) -> Path:
    """The checkpoint of a short ``name`` pretraining, trained here unless a finished one is there (a marker file
    written after the fit tells a finished run from an interrupted one)."""
    ckpt_dir = run_dir / "pretrain" / name / "checkpoints"
    finished = ckpt_dir.parent / "finished.json"
    if not finished.is_file() or json.loads(finished.read_text()).get("epochs") != epochs:
        overrides = {
            "trainer.logger.init_args.save_dir": str(run_dir / "logs"),
            "trainer.max_epochs": epochs,
            runs.CHECKPOINT_DIR: str(ckpt_dir),
            **runs.QUIET,
        }
        runs.fit(experiments_dir() / "demo" / PRETRAIN[name], overrides, extra)
        finished.write_text(json.dumps({"epochs": epochs, "extra": extra}))
    return ckpt_dir / "last.ckpt"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="videovision tracking-bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", default="runs/tracking_bench", help="checkpoints, results, GIFs")
    parser.add_argument("--config-dir", default=str(experiments_dir() / "tracking"), help="{davis,otb,mot}.yaml")
    parser.add_argument("--epochs", type=int, default=2, help="pretraining epochs of SimCLR and VCOP")
    parser.add_argument("overrides", nargs="*", help="LightningCLI arguments for the pretraining runs")
    args = parser.parse_args(argv)
    run_dir, configs = Path(args.run_dir), {t: compose(Path(args.config_dir) / f"{t}.yaml") for t in TASKS}
    rows: dict[str, dict] = {}
    start = time.time()
    rows["copy first frame"] = _row(run_dir / "copy", {"davis": configs["davis"]}, None, baseline=True)
    rows["IoU-only association"] = _row(run_dir / "iou_only", {"mot": configs["mot"]}, None, baseline=True)
    rows["random init"] = _row(run_dir / "random_init", configs, None)
    for name in PRETRAIN:
        begin = time.time()
        checkpoint = pretrain(run_dir, name, args.epochs, args.overrides)
        rows[name] = _row(run_dir / name, configs, str(checkpoint))
        rows[name]["pretrain_seconds"] = round(time.time() - begin - rows[name]["seconds"], 1)
    summary = {"rows": rows, "minutes": round((time.time() - start) / 60, 2), "pretrain_epochs": args.epochs}
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "results.json").write_text(json.dumps(summary, indent=2))
    print(format_table(rows))
    print(f"saved {run_dir / 'results.json'} ({summary['minutes']} min)")
    return summary


def _row(out: Path, configs: dict[str, dict], checkpoint: str | None, baseline: bool = False) -> dict:
    row: dict = {"seconds": 0.0}
    for task, config in configs.items():
        metrics = run_benchmark(config, checkpoint, str(out / task), baseline)
        row[task] = {k: v for k, v in metrics.items() if k != "sequences"}
        row["seconds"] += metrics["seconds"]
    row["seconds"] = round(row["seconds"], 1)
    return row


def format_table(rows: dict[str, dict]) -> str:
    """Markdown: one row per encoder or baseline; '-' where a row has no such task."""
    header = "| encoder | " + " | ".join(label for label, _, _ in COLUMNS) + " | time (s) |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 2)]
    for name, row in rows.items():
        cells = [f"{100 * row[task][key]:.1f}" if task in row else "-" for _, task, key in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {row['seconds']:.0f} |")
    return "\n".join(lines)
