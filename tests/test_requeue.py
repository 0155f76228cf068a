"""SLURMRequeue's parts that need no cluster (tests/test_slurm.py runs it on a real SLURM)."""

from __future__ import annotations

import signal

from lightning.pytorch import Trainer
from lightning.pytorch.plugins.environments import SLURMEnvironment
from lightning.pytorch.strategies import DDPStrategy

from videovision.callbacks.slurm_requeue import SLURMRequeue, next_hpc_checkpoint, requeue_callback, slurm_job_id


def test_next_hpc_checkpoint_numbers_past_the_highest(tmp_path):
    assert next_hpc_checkpoint(tmp_path) == tmp_path / "hpc_ckpt_1.ckpt"
    for name in ("hpc_ckpt_1.ckpt", "hpc_ckpt_10.ckpt", "hpc_ckpt_2.ckpt", "hpc_ckpt_x.ckpt", "last.ckpt"):
        (tmp_path / name).touch()
    assert next_hpc_checkpoint(tmp_path) == tmp_path / "hpc_ckpt_11.ckpt"


def test_job_id_of_array_tasks(monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "120")
    monkeypatch.delenv("SLURM_ARRAY_JOB_ID", raising=False)
    assert slurm_job_id() == "120"
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "100")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "7")
    assert slurm_job_id() == "100_7"


def test_callback_only_for_several_processes_with_auto_requeue(tmp_path, monkeypatch):
    slurm_task = dict(
        SLURM_JOB_ID="1",
        SLURM_JOB_NAME="t",
        SLURM_NODELIST="n1",
        SLURM_NTASKS="2",
        SLURM_NTASKS_PER_NODE="2",
        SLURM_PROCID="0",
        SLURM_LOCALID="0",
        SLURM_NODEID="0",
    )
    for key, value in slurm_task.items():
        monkeypatch.setenv(key, value)

    def trainer(environment: SLURMEnvironment | None, devices: int) -> Trainer:
        strategy = DDPStrategy(cluster_environment=environment) if devices > 1 else "auto"
        return Trainer(accelerator="cpu", devices=devices, strategy=strategy, logger=False, default_root_dir=tmp_path)

    callback = requeue_callback(trainer(SLURMEnvironment(requeue_signal=signal.SIGUSR2), 2))
    assert isinstance(callback, SLURMRequeue) and callback.signum == signal.SIGUSR2
    assert requeue_callback(trainer(SLURMEnvironment(auto_requeue=False), 2)) is None
    assert requeue_callback(trainer(None, 1)) is None


def test_the_signal_is_only_recorded_and_the_previous_handler_comes_back(tmp_path):
    callback = SLURMRequeue(signal.SIGUSR1)
    before = signal.getsignal(signal.SIGUSR1)
    callback.setup(Trainer(logger=False, default_root_dir=tmp_path), None, "fit")
    try:
        signal.raise_signal(signal.SIGUSR1)
        assert callback.received
    finally:
        callback.teardown(None, None, "fit")
    assert signal.getsignal(signal.SIGUSR1) == before
