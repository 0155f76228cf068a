"""``videovision tracking-bench``: the tracking table of the README on the embedded benchmark.

Pretrains SimCLR and VCOP briefly on moving digits (the demo's configs, fewer epochs; resumed from their
checkpoints when present), then runs ``experiments/tracking/{davis,otb,mot}.yaml`` with a randomly initialised
encoder and with each pretrained one, plus the baselines: copying the first frame's masks (DAVIS) and IoU-only
association (MOT). Each encoder's dense features are computed once per video and shared by the tasks. Prints
encoder x J&F, success AUC / precision@20, MOTA / IDF1 / HOTA and the time of each row, then every stage's wall
and CPU seconds (this process and its finished workers) with the load average, so that a run on a busy machine
can be read for an idle one; writes ``<run_dir>/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from data_modules.moving_digits import MovingDigits

from .. import runs
from ..config import compose, experiments_dir
from ..tracking.experiment import benchmark_root, build_features, run_benchmark
from ..tracking.features import CachedFeatures

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


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@contextmanager
def stage(stages: dict[str, dict], name: str) -> Iterator[None]:
    """Record the wall and CPU seconds of the block under ``stages[name]`` (a name used twice raises)."""
    if name in stages:
        raise ValueError(f"stage {name!r} timed twice")
    wall, cpu = time.time(), _cpu_seconds()
    yield
    stages[name] = {"wall": round(time.time() - wall, 1), "cpu": round(_cpu_seconds() - cpu, 1)}


def pretrain(run_dir: Path, name: str, epochs: int, extra: list[str], stages: dict[str, dict]) -> Path:
    """The checkpoint of a short ``name`` pretraining, trained here unless a finished one is there (a marker file
    written after the fit tells a finished run from an interrupted one)."""
    config = experiments_dir() / "demo" / PRETRAIN[name]
    ckpt_dir = run_dir / "pretrain" / name / "checkpoints"
    finished = ckpt_dir.parent / "finished.json"
    if not finished.is_file() or json.loads(finished.read_text()).get("epochs") != epochs:
        overrides = {
            "trainer.logger.init_args.save_dir": str(run_dir / "logs"),
            "trainer.max_epochs": epochs,
            runs.CHECKPOINT_DIR: str(ckpt_dir),
            **runs.RGB_FRAMES,
            **runs.QUIET,
        }
        with stage(stages, f"pretrain {name} ({epochs} epochs)"):
            runs.fit(config, overrides, extra)
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
    stages: dict[str, dict] = {}
    load_start, start = os.getloadavg(), time.time()
    with stage(stages, "generate tracking benchmark (first use only)"):
        for config in configs.values():
            benchmark_root(config)
    rows["copy first frame"] = _row(run_dir / "copy", {"davis": configs["davis"]}, None, stages, baseline=True)
    rows["IoU-only association"] = _row(run_dir / "iou_only", {"mot": configs["mot"]}, None, stages, baseline=True)
    rows["random init"] = _row(run_dir / "random_init", configs, None, stages)
    with stage(stages, "generate moving digits (first use only)"):
        for name in PRETRAIN:
            reader = compose(experiments_dir() / "demo" / PRETRAIN[name])["data"]["init_args"]["reader"]
            if reader["class_path"].rsplit(".", 1)[-1] == "MovingDigits":
                MovingDigits(**reader.get("init_args", {})).prepare()
    for name in PRETRAIN:
        checkpoint = pretrain(run_dir, name, args.epochs, args.overrides, stages)
        rows[name] = _row(run_dir / name, configs, str(checkpoint), stages)
    summary = {
        "rows": rows,
        "stages": stages,
        "minutes": round((time.time() - start) / 60, 2),
        "pretrain_epochs": args.epochs,
        "cores": os.cpu_count(),
        "load_average": {"start": [round(v, 2) for v in load_start], "end": [round(v, 2) for v in os.getloadavg()]},
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "results.json").write_text(json.dumps(summary, indent=2))
    print(format_table(rows))
    print()
    print(format_stages(stages))
    load = summary["load_average"]
    print(
        f"{summary['minutes']} min on {summary['cores']} cores; load average (1, 5, 15 min) at start "
        f"{load['start']}, at end {load['end']}"
    )
    print(f"saved {run_dir / 'results.json'}")
    return summary


def _row(
    out: Path, configs: dict[str, dict], checkpoint: str | None, stages: dict[str, dict], baseline: bool = False
) -> dict:
    """One table row: every task of ``configs``, with one set of dense features shared by the tasks whose encoder
    settings agree."""
    row: dict = {"seconds": 0.0}
    shared: dict[str, CachedFeatures] = {}
    for task, config in configs.items():
        with stage(stages, f"{out.name} {task}"):
            features = None
            if not baseline:
                key = json.dumps([config.get(k) for k in ("encoder", "seed", "features")], sort_keys=True)
                if key not in shared:
                    shared[key] = CachedFeatures(build_features(config, checkpoint))
                features = shared[key]
            metrics = run_benchmark(config, checkpoint, str(out / task), baseline, features)
        row[task] = {k: v for k, v in metrics.items() if k != "sequences"}
        row["seconds"] += stages[f"{out.name} {task}"]["wall"]
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


def format_stages(stages: dict[str, dict]) -> str:
    """Markdown: one row per stage with its wall and CPU seconds, and their totals."""
    lines = ["| stage | wall (s) | CPU (s) |", "|---|---|---|"]
    lines += [f"| {name} | {v['wall']:.0f} | {v['cpu']:.0f} |" for name, v in stages.items()]
    lines.append(
        f"| total | {sum(v['wall'] for v in stages.values()):.0f} | {sum(v['cpu'] for v in stages.values()):.0f} |"
    )
    return "\n".join(lines)
