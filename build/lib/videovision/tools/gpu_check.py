"""``videovision gpu-check``: does the GPU path work, and how fast is it? One command, a few minutes on one GPU.

Each step is timed, its peak GPU memory kept, and a failure names the step (the others still run):

- ``demo data``: the embedded dataset generated (first use) and probed, outside the timed fits.
- ``pretrain 16-mixed`` / ``pretrain bf16-mixed``: ``experiments/demo/pretrain.yaml`` (VCOP) for
  ``--steps`` steps through :mod:`videovision.runs`; the loss must reach the optimiser in float32,
  and host synchronisations inside ``training_step`` are counted (``torch.cuda.set_sync_debug_mode``).
- ``loader pinned``: the demo's training DataLoader; batches must arrive in pinned memory, go to
  the GPU as Lightning sends them (``non_blocking=True``) and through the device-side augmentation
  (its host synchronisations counted).
- ``augment 16x112``: :class:`~data_modules.TrainAugmentation` on the GPU for 16-frame 128x171
  uint8 clips, pinned and sent with ``non_blocking=True``, cropped to 112.
- ``ddp nccl``: ``experiments/demo/pretrain_simclr.yaml`` under ``strategy=ddp`` on one GPU
  (bf16-mixed, else 16-mixed); the process group must be NCCL (DDP's gradient all-reduce and
  ``sync_dist`` logging run on it; with one process SimCLR's all-gather is the identity).
- ``encoder <name> <precision>``: forward + backward clips/s of ResNet-18 -> GRU-512
  (:class:`FrameTemporalEncoder`) and R3D-18 (:class:`Video3DCNN`) at 16 x 112 x 112.
- ``bench-stream``: the streaming benchmark, when the tools have one.

It prints one Markdown table and writes it as JSON (``--out``). Without CUDA it says so in one
line and exits 0; with CUDA it exits 1 when any step failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.utilities.apply_func import move_data_to_device
from lightning.pytorch import Callback, LightningModule, Trainer

from data_modules import TrainAugmentation

from .. import runs
from ..models import ClipEncoder, FrameTemporalEncoder, RecurrentTemporal, ResNetFrames, Video3DCNN

AUTOCAST = {"32-true": None, "16-mixed": torch.float16, "bf16-mixed": torch.bfloat16}


class Skipped(Exception):
    """A step that does not apply here (the reason is the message)."""


@dataclass
class StepResult:
    """One row of the table: ``status`` is ``ok``, ``FAILED`` or ``skipped``; ``note`` the error or reason."""

    step: str
    status: str
    seconds: float
    peak_mib: float | None
    figures: dict[str, Any] = field(default_factory=dict)
    note: str = ""


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def count_syncs(fn: Callable[..., Any], *args, **kwargs) -> tuple[Any, int]:
    """``fn(*args, **kwargs)`` and how many times it made the host wait for the GPU, as CUDA's sync
    debug mode reports them (``.item()``, ``if tensor:``, a boolean index, a blocking copy)."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            out = fn(*args, **kwargs)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return out, sum("synchroniz" in str(w.message) for w in seen)


class StepWatch(Callback):
    """Watches a fit: the dtype of the loss the optimiser gets, seconds per step after ``warmup``
    steps, and (on CUDA) the host synchronisations inside ``training_step``."""

    def __init__(self, device: torch.device, warmup: int = 5) -> None:
        self.device, self.warmup = device, warmup
        self.loss_dtypes: set[torch.dtype] = set()
        self.last_loss: torch.Tensor | None = None
        self.syncs = 0
        self.steps = 0
        self._start = self._end = 0.0
        self._timed_steps = 0
        self.backend: str | None = None

    def watch_syncs(self, module: LightningModule) -> None:
        """Wrap ``module.training_step`` so that CUDA reports every synchronising call it makes."""
        step = module.training_step

        def watched(*args, **kwargs):
            out, syncs = count_syncs(step, *args, **kwargs)
            self.syncs += syncs
            return out

        module.training_step = watched

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            self.backend = str(torch.distributed.get_backend())

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs, batch, batch_idx: int) -> None:
        loss = outputs["loss"] if isinstance(outputs, Mapping) else outputs
        self.loss_dtypes.add(loss.dtype)
        self.last_loss = loss.detach()
        self.steps += 1
        if self.steps == self.warmup:
            _synchronize(self.device)
            self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        _synchronize(self.device)  # before the checkpoint of the run's end is written
        self._end, self._timed_steps = time.perf_counter(), self.steps - self.warmup

    def seconds_per_step(self) -> float | None:
        return (self._end - self._start) / self._timed_steps if self._timed_steps > 0 else None


def fit_check(config: str | Path, overrides: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    """Fit ``config`` with ``overrides`` on ``device`` (one device); the watched figures.

    Raises when the loss reaching the optimiser is not float32 or is not finite."""
    accelerator = "gpu" if device.type == "cuda" else "cpu"
    cli = runs.build(config, {**runs.QUIET, "trainer.accelerator": accelerator, "trainer.devices": 1, **overrides})
    watch = StepWatch(device)
    cli.trainer.callbacks.append(watch)
    if device.type == "cuda":
        watch.watch_syncs(cli.model)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    if watch.last_loss is None:
        raise RuntimeError("the fit ran no training step")
    if watch.loss_dtypes != {torch.float32}:
        raise RuntimeError(f"the loss reached the optimiser as {sorted(map(str, watch.loss_dtypes))}, not float32")
    loss = float(watch.last_loss)
    if not torch.isfinite(torch.tensor(loss)):
        raise RuntimeError(f"the loss is {loss} after {watch.steps} steps")
    per_step = watch.seconds_per_step()
    figures = {"steps": watch.steps, "loss": round(loss, 4), "loss_dtype": "float32"}
    if per_step:
        figures["steps_per_s"] = round(1 / per_step, 2)
    if device.type == "cuda":
        figures["host_syncs_in_training_step"] = watch.syncs
    if watch.backend:
        figures["backend"] = watch.backend
    return figures


def ddp_check(config: str | Path, overrides: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    """:func:`fit_check` under ``strategy=ddp`` on one device; the process group must be NCCL on CUDA.
    The process group and the variables Lightning sets for it are gone afterwards."""
    environ = dict(os.environ)
    try:
        figures = fit_check(config, {**overrides, "trainer.strategy": "ddp"}, device)
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
        os.environ.clear()
        os.environ.update(environ)
    wanted = "nccl" if device.type == "cuda" else "gloo"
    if figures.get("backend") != wanted:
        raise RuntimeError(f"the DDP process group is {figures.get('backend')}, not {wanted}")
    return figures


def data_check(config: str | Path, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Generate (on first use) and probe the config's dataset, so that the steps after it time training only."""
    data = runs.build(config, {**runs.QUIET, **overrides}).datamodule
    data.prepare_data()
    data.setup("fit")
    return {"train_videos": len(data.datasets["train"]), "skipped": len(data.skipped.get("train", {}))}


def loader_check(config: str | Path, overrides: Mapping[str, Any], device: torch.device, batches: int) -> dict:
    """The config's training DataLoader -> device (Lightning's ``move_data_to_device``, non-blocking on
    CUDA) -> its training augmentation, for ``batches`` batches after a first one; clips/s."""
    cli = runs.build(config, {**runs.QUIET, **overrides})
    data = cli.datamodule
    data.prepare_data()
    data.setup("fit")
    loader = data.train_dataloader()
    if device.type == "cuda" and not loader.pin_memory:
        raise RuntimeError("the training DataLoader does not pin memory: non_blocking copies would be synchronous")
    clips, syncs, start = 0, 0, 0.0
    for i, batch in enumerate(loader):
        if device.type == "cuda" and not batch["clips"].is_pinned():
            raise RuntimeError("a batch arrived in pageable memory although the loader pins memory")
        on_device = move_data_to_device(batch, device)["clips"]
        if device.type == "cuda":
            out, batch_syncs = count_syncs(data.train_transform, on_device)
        else:
            out, batch_syncs = data.train_transform(on_device), 0
        if out.device.type != device.type or out.dtype != torch.float32:
            raise RuntimeError(f"the augmentation gave {out.dtype} on {out.device}, not float32 on {device}")
        if i == 0:
            _synchronize(device)
            start = time.perf_counter()
        else:
            clips += out.shape[0] * out.shape[1]
            syncs += batch_syncs
        if i == batches:
            break
    _synchronize(device)
    figures = {
        "batches": batches,
        "batch_size": data.batch_size,
        "clips_per_s": round(clips / (time.perf_counter() - start), 1),
    }
    if device.type == "cuda":
        figures["host_syncs_in_augmentation"] = syncs
    return figures


def augment_check(device: torch.device, batch: int, frames: int, size: tuple[int, int], crop: int, iters: int) -> dict:
    """uint8 clips (B, 1, T, 3, H, W), pinned on CUDA, sent with ``non_blocking=True`` and augmented there."""
    augment = TrainAugmentation(crop_size=crop)
    clips = torch.randint(0, 256, (batch, 1, frames, 3, *size), dtype=torch.uint8)
    if device.type == "cuda":
        clips = clips.pin_memory()
    start = 0.0
    for i in range(iters + 1):
        out = augment(clips.to(device, non_blocking=True))
        if i == 0:
            _synchronize(device)
            start = time.perf_counter()
    _synchronize(device)
    if out.shape[-2:] != (crop, crop):
        raise RuntimeError(f"the augmentation gave {tuple(out.shape)}, not {crop}x{crop} crops")
    return {
        "clips": f"{batch}x{frames}x{size[0]}x{size[1]}",
        "clips_per_s": round(batch * iters / (time.perf_counter() - start), 1),
    }


def encoders() -> dict[str, Callable[[], ClipEncoder]]:
    """The two encoder families at their paper sizes: ResNet-18 -> GRU-512, and R3D-18."""
    return {
        "resnet18-gru": lambda: FrameTemporalEncoder(
            ResNetFrames("resnet18"), partial(RecurrentTemporal, cell="gru", hidden_size=512)
        ),
        "r3d18": lambda: Video3DCNN("r3d_18"),
    }


def encoder_throughput(
    encoder: ClipEncoder, device: torch.device, precision: str, batch: int, frames: int, size: int, iters: int
) -> dict[str, Any]:
    """Forward + backward clips/s of ``encoder`` in training mode on random (B, T, 3, size, size) clips."""
    encoder = encoder.to(device).train()
    clips = torch.randn(batch, frames, 3, size, size, device=device)
    dtype = AUTOCAST[precision]

    def one_step() -> None:
        encoder.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            out = encoder(clips)
        out.float().square().mean().backward()

    one_step()  # cuDNN picks its algorithms here
    _synchronize(device)
    start = time.perf_counter()
    for _ in range(iters):
        one_step()
    _synchronize(device)
    elapsed = time.perf_counter() - start
    return {
        "batch": batch,
        "clips_per_s": round(batch * iters / elapsed, 1),
        "ms_per_batch": round(1000 * elapsed / iters, 1),
    }


def stream_check() -> dict[str, Any]:
    """``videovision bench-stream`` with its defaults, when the tools have it."""
    from . import TOOLS  # the registry imports this module

    if "bench-stream" not in TOOLS:
        raise Skipped("videovision has no bench-stream tool yet")
    result = TOOLS["bench-stream"]([])
    return {k: v for k, v in result.items() if isinstance(v, (int, float, str))} if isinstance(result, dict) else {}


def run_step(name: str, check: Callable[[], dict[str, Any]], device: torch.device) -> StepResult:
    """Run one check; its time, peak device memory, figures, or the error that names it."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    print(f"gpu-check: {name} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    status, note, figures = "ok", "", {}
    try:
        figures = check()
    except Skipped as exc:
        status, note = "skipped", str(exc)
    except (Exception, SystemExit) as exc:  # every failure is reported under its step; the others still run
        traceback.print_exc()
        status, note = "FAILED", f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        print(f"gpu-check: step '{name}' failed: {note}", file=sys.stderr, flush=True)
    seconds = round(time.perf_counter() - start, 1)
    peak = round(torch.cuda.max_memory_allocated(device) / 2**20, 1) if device.type == "cuda" else None
    return StepResult(name, status, seconds, peak, figures, note)


def markdown_table(results: list[StepResult]) -> str:
    """The results as one Markdown table."""
    lines = ["| step | status | seconds | peak GPU memory (MiB) | figures |", "|---|---|---|---|---|"]
    for r in results:
        figures = ", ".join(f"{k} {v}" for k, v in r.figures.items())
        text = "; ".join(part for part in (figures, r.note) if part)
        peak = "" if r.peak_mib is None else f"{r.peak_mib:.0f}"
        lines.append(f"| {r.step} | {r.status} | {r.seconds:.1f} | {peak} | {text} |")
    return "\n".join(lines)


def environment(device: torch.device) -> dict[str, Any]:
    """What the figures were measured on."""
    props = torch.cuda.get_device_properties(device)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "gpu": props.name,
        "gpu_memory_gib": round(props.total_memory / 2**30, 1),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "bf16_supported": torch.cuda.is_bf16_supported(),
        "cpu_cores": os.cpu_count(),
    }


def report(results: list[StepResult], env: dict[str, Any], out: Path) -> int:
    """Print the table, write it as JSON to ``out``; 1 if any step failed."""
    total = round(sum(r.seconds for r in results), 1)
    where = f"{env.get('gpu')} ({env.get('date')}, torch {env.get('torch')}, CUDA {env.get('cuda')})"
    print(f"\ngpu-check on {where}: {total} s")
    print(markdown_table(results))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**env, "total_seconds": total, "steps": [asdict(r) for r in results]}, indent=2))
    print(f"saved {out}")
    failed = [r.step for r in results if r.status == "FAILED"]
    if failed:
        print(f"gpu-check: failed steps: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def _checks(args: argparse.Namespace, device: torch.device) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
    run_dir = Path(args.run_dir)
    workers = min(8, os.cpu_count() or 2)
    demo = {"trainer.logger.init_args.save_dir": str(run_dir), "data.init_args.num_workers": workers}

    def pretrain(precision: str, config: str = "demo/pretrain.yaml", ddp: bool = False) -> Callable[[], dict]:
        if precision == "bf16-mixed" and not torch.cuda.is_bf16_supported():
            return partial(_skip, "this GPU has no bfloat16")
        name = Path(config).stem + ("_ddp" if ddp else "") + "_" + precision
        overrides = {
            **demo,
            "trainer.precision": precision,
            "trainer.max_steps": args.steps,
            runs.CHECKPOINT_DIR: str(run_dir / name / "checkpoints"),
        }
        return partial(ddp_check if ddp else fit_check, config, overrides, device)

    ddp_precision = "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
    checks = [
        ("demo data (generate + probe)", partial(data_check, "demo/pretrain.yaml", demo)),
        ("pretrain 16-mixed", pretrain("16-mixed")),
        ("pretrain bf16-mixed", pretrain("bf16-mixed")),
        ("loader pinned -> device augmentation", partial(loader_check, "demo/pretrain.yaml", demo, device, 20)),
        ("augment 16x112", partial(augment_check, device, args.batch_size, 16, (128, 171), 112, 5)),
        ("ddp nccl (SimCLR, 1 GPU)", pretrain(ddp_precision, "demo/pretrain_simclr.yaml", ddp=True)),
    ]
    for name, make in encoders().items():
        for precision in ("32-true", "bf16-mixed"):
            step = f"encoder {name} {precision} (16x112x112)"
            if precision == "bf16-mixed" and not torch.cuda.is_bf16_supported():
                checks.append((step, partial(_skip, "this GPU has no bfloat16")))
                continue
            size = (device, precision, args.batch_size, 16, 112, args.iters)
            checks.append((step, lambda make=make, size=size: encoder_throughput(make(), *size)))
    checks.append(("bench-stream", stream_check))
    return checks


def _skip(reason: str) -> dict:
    raise Skipped(reason)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="videovision gpu-check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", default="runs/gpu_check", help="logs and checkpoints of the short fits")
    parser.add_argument("--out", default="runs/gpu_check/gpu_check.json", help="the table as JSON")
    parser.add_argument("--steps", type=int, default=30, help="training steps of each short fit")
    parser.add_argument("--batch-size", type=int, default=16, help="clips per batch for the throughput steps")
    parser.add_argument("--iters", type=int, default=10, help="timed forward/backward passes per encoder")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print(f"gpu-check: no CUDA device here (torch {torch.__version__}); nothing to check, skipped.")
        return 0
    device = torch.device("cuda", torch.cuda.current_device())
    env = environment(device)
    results = [run_step(name, check, device) for name, check in _checks(args, device)]
    return report(results, env, Path(args.out))
