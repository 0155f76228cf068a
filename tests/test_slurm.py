"""The SLURM path on a real SLURM: the project's own templates submitted to a local cluster.

`tests/slurm/cluster_up.sh` starts munge, slurmctld and two slurmd "nodes" on this machine.
Each job runs a tiny DDP fit on CPU (gloo) through `srun python -m videovision fit`, exactly as
the templates in `experiments/slurm/` do on a GPU cluster; only the GPU request is set to 0.
Skipped, with the reason, where SLURM is not installed (`.ci/run` installs it).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from .conftest import CONFIGS

REPO = Path(__file__).resolve().parent.parent
HARNESS = Path(__file__).parent / "slurm"
TEMPLATES = REPO / "experiments" / "slurm"

pytestmark = pytest.mark.skipif(
    shutil.which("slurmctld") is None or shutil.which("munged") is None,
    reason="SLURM is not installed here (apt-get install slurm-wlm munge); .ci/run installs it",
)


@pytest.fixture(scope="module")
def slurm(tmp_path_factory) -> dict[str, str]:
    """Environment for sbatch/scontrol and the jobs, with a 2-node cluster running."""
    root = tmp_path_factory.mktemp("slurm")
    env = {**os.environ, "SLURM_TEST_ROOT": str(root), "SLURM_TEST_NODES": "2"}
    up = subprocess.run([str(HARNESS / "cluster_up.sh")], env=env, capture_output=True, text=True, timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    env.update(
        SLURM_CONF=str(root / "slurm.conf"),
        MASTER_ADDR="127.0.0.1",  # the fake node names n1, n2 do not resolve
        PYTHON=sys.executable,
        PYTHONWARNINGS="ignore",
    )
    yield env
    subprocess.run([str(HARNESS / "cluster_down.sh")], env=env, capture_output=True, timeout=120)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _submit(env, template: str, nodes: int, tasks_per_node: int, out: Path, *overrides: str) -> str:
    env = {**env, "MASTER_PORT": str(_free_port())}  # else Lightning derives it from the job id
    cmd = [
        "sbatch",
        "--parsable",
        "--gpus-per-node=0",
        "--cpus-per-task=1",
        "--time=10",
        f"--nodes={nodes}",
        f"--ntasks-per-node={tasks_per_node}",
        f"--output={out}",
        str(TEMPLATES / template),
        str(CONFIGS / "tiny_pretrain.yaml"),
        *overrides,
    ]
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().split(";")[0]


def _job(env, job_id: str) -> dict[str, str]:
    text = subprocess.run(["scontrol", "show", "job", job_id], env=env, capture_output=True, text=True).stdout
    return dict(re.findall(r"(\w+)=(\S*)", text))


def _wait(env, job_id: str, out: Path, timeout: float = 240) -> dict[str, str]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = _job(env, job_id)
        if info.get("JobState") in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"):
            return info
        time.sleep(1)
    log = out.read_text()[-3000:] if out.exists() else "(no output)"
    raise AssertionError(f"job {job_id} still {info.get('JobState')} after {timeout} s; its output ends:\n{log}")


def _job_processes(job_id: str) -> dict[int, set[bytes]]:
    """This machine's ``videovision`` processes in job ``job_id`` (the nodes are this machine): PID -> environment."""
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            env = set((proc / "environ").read_bytes().split(b"\0"))
            if b"videovision" in (proc / "cmdline").read_bytes() and f"SLURM_JOB_ID={job_id}".encode() in env:
                found[int(proc.name)] = env
        except (OSError, ValueError):
            continue
    return found


def _rank_pid(job_id: str, rank: int) -> int:
    """PID of the task with SLURM_PROCID ``rank`` in job ``job_id``."""
    for pid, env in _job_processes(job_id).items():
        if f"SLURM_PROCID={rank}".encode() in env:
            return pid
    raise AssertionError(f"no process of rank {rank} in job {job_id}")


def _logs(env, out: Path) -> str:
    """The end of the job's output and of the controller's log, for failure messages."""
    parts = []
    for name, path in (("job output", out), ("slurmctld.log", Path(env["SLURM_TEST_ROOT"]) / "log" / "slurmctld.log")):
        parts.append(f"{name} ends:\n" + (path.read_text()[-2000:] if path.exists() else "(none)"))
    return "\n".join(parts)


def _overrides(tiny_digits: Path, run: Path, *extra: str) -> list[str]:
    return [
        f"--data.init_args.reader.init_args.root={tiny_digits}",
        f"--trainer.default_root_dir={run}",
        "--trainer.accelerator=cpu",
        *extra,
    ]


def _steps(run: Path) -> int:
    return max(torch.load(p, weights_only=True)["global_step"] for p in (run / "checkpoints").glob("*.ckpt"))


@pytest.mark.parametrize("template,nodes,tasks", [("single_node.sbatch", 1, 2), ("multi_node.sbatch", 2, 1)])
def test_ddp_fit_through_the_sbatch_templates(slurm, tiny_digits, tmp_path, template, nodes, tasks):
    out = tmp_path / "job.out"
    job = _submit(slurm, template, nodes, tasks, out, *_overrides(tiny_digits, tmp_path / "run"))
    info = _wait(slurm, job, out)
    log = out.read_text()
    assert info["JobState"] == "COMPLETED", log[-3000:]
    assert "MEMBER: 2/2" in log, "Lightning should start 2 processes from SLURM's tasks"
    assert _steps(tmp_path / "run") == 2


def test_preempted_job_requeues_and_resumes_to_the_same_step_count(slurm, tiny_digits, tmp_path):
    """SLURM's warning signal reaches the ranks at different moments; here it reaches rank 1 only.

    Lightning's own handler would then enter the checkpoint barrier on rank 1 alone and hang;
    :class:`videovision.callbacks.slurm_requeue.SLURMRequeue` saves and requeues from both ranks together.
    """
    out, run = tmp_path / "job.out", tmp_path / "run"
    steps = 80  # few enough that the resumed run ends soon on a loaded machine, enough that the signal lands mid-fit
    job = _submit(slurm, "single_node.sbatch", 1, 2, out, *_overrides(tiny_digits, run, f"--trainer.max_steps={steps}"))
    deadline = time.time() + 120
    while not list(run.glob("checkpoints/*.ckpt")) and time.time() < deadline:
        time.sleep(0.2)  # the first epoch's checkpoint (a few steps of 80) shows that the fit is under way
    os.kill(_rank_pid(job, 1), signal.SIGUSR1)
    deadline = time.time() + 120
    while int(_job(slurm, job).get("Restarts", 0)) < 1 and time.time() < deadline:
        time.sleep(1)
    assert int(_job(slurm, job).get("Restarts", 0)) == 1, _logs(slurm, out)
    # SLURM holds a requeued job back for about two minutes, long enough on a real cluster for the first
    # run's ranks to exit. Wait for them (on a loaded machine they can still be writing), then start it now.
    deadline = time.time() + 60
    while _job_processes(job) and time.time() < deadline:
        time.sleep(0.5)
    assert not _job_processes(job), "the first run's ranks did not exit\n" + _logs(slurm, out)
    subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], env=slurm, check=True)
    info = _wait(slurm, job, out, timeout=480)  # a hang detector: on a loaded machine the resumed run is slow
    assert int(info["Restarts"]) == 1, _logs(slurm, out)
    assert info["JobState"] == "COMPLETED", _logs(slurm, out)
    assert list(run.glob("hpc_ckpt_*.ckpt")), "a hpc checkpoint is saved on SIGUSR1"
    assert "Restored all states from the checkpoint" in out.read_text(), _logs(slurm, out)
    assert _steps(run) == steps
