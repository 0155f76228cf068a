"""Save and requeue on SLURM's warning signal at the same step on every rank.

Lightning's own SLURM handler saves the checkpoint inside the signal handler. Under DDP that
runs a collective (the checkpoint barrier) wherever each rank happens to be when the signal
lands, while another rank may be inside a training-step collective (seen here: NT-Xent's
all_gather), and the job hangs until its time limit instead of requeueing. Here the handler only records the signal;
after each training batch the ranks agree (one scalar all-reduce) whether any of them got it,
and then all save ``hpc_ckpt_N.ckpt`` together, rank 0 runs ``scontrol requeue`` and every rank
waits for SLURM to end it. Lightning resumes from the newest ``hpc_ckpt_N.ckpt`` in
``default_root_dir`` when the requeued job starts.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from types import FrameType
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.plugins.environments import SLURMEnvironment

log = logging.getLogger(__name__)


def next_hpc_checkpoint(root: str | Path) -> Path:
    """``root/hpc_ckpt_{N+1}.ckpt`` where N is the highest number already there (0 if none)."""
    numbers = [
        int(m.group(1))
        for p in Path(root).glob("hpc_ckpt_*.ckpt")
        if (m := re.fullmatch(r"hpc_ckpt_(\d+)\.ckpt", p.name))
    ]
    return Path(root) / f"hpc_ckpt_{max(numbers, default=0) + 1}.ckpt"


def slurm_job_id() -> str:
    """The id ``scontrol requeue`` takes: ``ARRAYJOB_TASK`` for array jobs, else ``SLURM_JOB_ID``."""
    if "SLURM_ARRAY_JOB_ID" in os.environ:
        return f"{os.environ['SLURM_ARRAY_JOB_ID']}_{os.environ['SLURM_ARRAY_TASK_ID']}"
    return os.environ["SLURM_JOB_ID"]


class SLURMRequeue(Callback):
    """On ``signum`` (SIGUSR1, as ``#SBATCH --signal=SIGUSR1@90`` sends), save and requeue the job.

    Installed by :class:`videovision.cli.VideoVisionCLI` for every multi-process fit under SLURM with
    Lightning's auto-requeue on; it takes the place of Lightning's handler (which steps aside when a handler
    for the signal is already there). ``kill_wait_s``: how long a rank waits for SLURM to end it
    after the requeue before it gives up with an error.
    """

    def __init__(self, signum: int = signal.SIGUSR1, kill_wait_s: float = 600.0) -> None:
        self.signum = signum
        self.kill_wait_s = kill_wait_s
        self.received = False
        self._previous: Any = None

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.received = True

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if stage == "fit":
            self.received = False
            self._previous = signal.signal(self.signum, self._on_signal)
            if trainer.is_global_zero:
                log.info("signal %d will save hpc_ckpt_N.ckpt on every rank at the next step and requeue", self.signum)

    def teardown(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if stage == "fit" and self._previous is not None:
            signal.signal(self.signum, self._previous)
            self._previous = None

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if not trainer.strategy.reduce_boolean_decision(self.received, all=False):
            return
        path = next_hpc_checkpoint(trainer.default_root_dir)
        if trainer.is_global_zero:
            log.info("SLURM signal %d: saving %s at step %d and requeueing", self.signum, path, trainer.global_step)
        trainer.save_checkpoint(path)  # every rank takes part; returns once the file is written
        # From here on SLURM's SIGTERM ends the process at once: nothing is left to save.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        requeued = False
        if trainer.is_global_zero:
            done = subprocess.run(["scontrol", "requeue", slurm_job_id()], capture_output=True, text=True)
            requeued = done.returncode == 0
            if not requeued:
                log.warning(
                    "scontrol requeue %s failed: %s; stopping after %s", slurm_job_id(), done.stderr.strip(), path
                )
        if not trainer.strategy.broadcast(requeued, src=0):
            trainer.should_stop = True
            return
        time.sleep(self.kill_wait_s)
        raise RuntimeError(f"job {slurm_job_id()} was requeued but SLURM did not end it within {self.kill_wait_s} s")


def requeue_callback(trainer: Trainer) -> SLURMRequeue | None:
    """The callback for a multi-process ``trainer`` under SLURM with Lightning's auto-requeue on, else None.

    A single process keeps Lightning's handler: with one rank there is no collective to interleave.
    """
    environment = getattr(trainer.strategy, "cluster_environment", None)
    if isinstance(environment, SLURMEnvironment) and environment.auto_requeue:
        return SLURMRequeue(environment.requeue_signal or signal.SIGUSR1)
    return None
