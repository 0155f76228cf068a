"""Resuming, determinism and exact test metrics under DDP, outside SLURM."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from videovision.cli import VideoVisionCLI

from .conftest import CONFIGS

CHECKPOINT_EVERY_EXCEPTION = [
    "--trainer.callbacks+=lightning.pytorch.callbacks.ModelCheckpoint",
    "--trainer.callbacks.init_args.save_last=true",
    "--trainer.callbacks.init_args.save_on_exception=true",
]


def _cli(cli_env, *extra: str, config: str = "tiny_pretrain.yaml") -> list[str]:
    return [f"--config={CONFIGS / config}", *cli_env, *extra]


def _steps(path: Path) -> int:
    return torch.load(path, weights_only=True)["global_step"]


def test_fit_resumes_from_last(cli_env, tmp_path):
    first = VideoVisionCLI(args=_cli(cli_env, *CHECKPOINT_EVERY_EXCEPTION), run=False)
    first.trainer.fit(first.model, datamodule=first.datamodule)
    again = VideoVisionCLI(args=_cli(cli_env, *CHECKPOINT_EVERY_EXCEPTION, "--trainer.max_steps=5"), run=False)
    again.trainer.fit(again.model, datamodule=again.datamodule, ckpt_path="last")
    assert again.trainer.global_step == 5
    assert _steps(tmp_path / "run" / "checkpoints" / "last.ckpt") == 5


def test_sigterm_mid_epoch_saves_and_the_run_resumes_to_the_same_step_count(cli_env, tmp_path):
    steps = 40
    cmd = [
        sys.executable,
        "-m",
        "videovision",
        "fit",
        *_cli(cli_env, *CHECKPOINT_EVERY_EXCEPTION, f"--trainer.max_steps={steps}"),
    ]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ckpt_dir = tmp_path / "run" / "checkpoints"
    deadline = time.time() + 120
    while not list(ckpt_dir.glob("epoch=*.ckpt")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)  # the first epoch's checkpoint shows that training is under way
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    saved = max(_steps(p) for p in ckpt_dir.glob("*.ckpt"))
    assert 0 < saved < steps, out[-2000:]
    resumed = VideoVisionCLI(args=_cli(cli_env, *CHECKPOINT_EVERY_EXCEPTION, f"--trainer.max_steps={steps}"), run=False)
    resumed.trainer.fit(resumed.model, datamodule=resumed.datamodule, ckpt_path="last")
    assert resumed.trainer.global_step == steps


def _losses(cli_env, tmp_path, name: str) -> list[str]:
    cli = VideoVisionCLI(
        args=_cli(
            cli_env,
            "--trainer.max_steps=4",
            "--trainer.log_every_n_steps=1",
            "--trainer.logger=CSVLogger",
            f"--trainer.logger.save_dir={tmp_path / name}",
            "--data.init_args.num_workers=2",
        ),
        run=False,
    )
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    (metrics,) = (tmp_path / name).rglob("metrics.csv")
    rows = list(csv.DictReader(metrics.open()))
    return [row["train/loss_step"] for row in rows if row.get("train/loss_step")]


def test_two_runs_with_the_same_seed_log_identical_losses(cli_env, tmp_path):
    first, second = _losses(cli_env, tmp_path, "a"), _losses(cli_env, tmp_path, "b")
    assert len(first) == 4 and first == second


def _test_metrics(cli_env, tmp_path, devices: int) -> dict[str, float]:
    save = tmp_path / f"devices{devices}"
    cmd = [
        sys.executable,
        "-m",
        "videovision",
        "test",
        *_cli(cli_env, config="tiny_probe.yaml"),
        f"--trainer.devices={devices}",
        "--trainer.strategy=ddp" if devices > 1 else "--trainer.strategy=auto",
        "--trainer.logger=CSVLogger",
        f"--trainer.logger.save_dir={save}",
        "--data.init_args.eval_batch_size=3",
    ]
    done = subprocess.run(
        cmd, env={**os.environ, "PYTHONWARNINGS": "ignore"}, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (metrics,) = save.rglob("metrics.csv")
    (row,) = [r for r in csv.DictReader(metrics.open()) if r.get("test/top1")]
    return {k: float(v) for k, v in row.items() if k.startswith("test/")}


@pytest.mark.parametrize("devices", [3])
def test_test_metrics_under_ddp_equal_one_process(cli_env, tmp_path, devices):
    one, many = _test_metrics(cli_env, tmp_path, 1), _test_metrics(cli_env, tmp_path, devices)
    assert one["test/videos"] == many["test/videos"] == 16.0, "a padded sampler must not count a video twice"
    assert one == pytest.approx(many)
