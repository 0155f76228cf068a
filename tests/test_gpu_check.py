"""``videovision gpu-check``: its CPU path (one line, exit 0) and its steps, run on CPU tensors."""

from __future__ import annotations

import json
import os

import torch

from videovision.commands import main
from videovision.models import FrameTemporalEncoder, RecurrentTemporal, ResNetFrames, Video3DCNN
from videovision.tools import gpu_check

from .conftest import CONFIGS


def test_gpu_check_without_cuda_says_so_in_one_line_and_exits_0(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    main(["gpu-check"])  # python -m videovision gpu-check, as make gpu-check runs it: returns, so exit status 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("gpu-check: no CUDA device here")


def test_gpu_check_fit_step_on_cpu_reports_a_float32_loss(cli_env, tiny_digits, tmp_path):
    overrides = {
        "data.init_args.reader.init_args.root": str(tiny_digits),
        "trainer.default_root_dir": str(tmp_path / "run"),
        "trainer.precision": "bf16-mixed",
    }
    figures = gpu_check.fit_check(CONFIGS / "tiny_pretrain.yaml", overrides, torch.device("cpu"))
    assert figures["steps"] == 2 and figures["loss_dtype"] == "float32" and figures["loss"] > 0


def test_gpu_check_ddp_step_on_one_cpu_process_leaves_no_process_group(cli_env, tiny_digits, tmp_path):
    overrides = {
        "data.init_args.reader.init_args.root": str(tiny_digits),
        "trainer.default_root_dir": str(tmp_path / "run"),
    }
    before = dict(os.environ)
    figures = gpu_check.ddp_check(CONFIGS / "tiny_pretrain.yaml", overrides, torch.device("cpu"))
    assert figures["backend"] == "gloo" and figures["steps"] == 2  # NCCL on a GPU
    assert not torch.distributed.is_initialized()
    assert dict(os.environ) == before


def test_gpu_check_loader_and_augmentation_steps_on_cpu(cli_env, tiny_digits):
    overrides = {"data.init_args.reader.init_args.root": str(tiny_digits)}
    assert gpu_check.data_check(CONFIGS / "tiny_pretrain.yaml", overrides) == {"train_videos": 32, "skipped": 0}
    figures = gpu_check.loader_check(CONFIGS / "tiny_pretrain.yaml", overrides, torch.device("cpu"), batches=2)
    assert figures["batches"] == 2 and figures["clips_per_s"] > 0
    figures = gpu_check.augment_check(torch.device("cpu"), batch=2, frames=2, size=(40, 48), crop=32, iters=1)
    assert figures["clips_per_s"] > 0


def test_gpu_check_encoder_throughput_on_cpu():
    torch.manual_seed(0)
    for precision, encoder in [
        (
            "32-true",
            FrameTemporalEncoder(ResNetFrames("resnet18", num_stages=1), lambda d: RecurrentTemporal(d, "gru", 8)),
        ),
        ("32-true", Video3DCNN("r3d_18")),
    ]:
        figures = gpu_check.encoder_throughput(encoder, torch.device("cpu"), precision, 1, 2, 32, iters=1)
        assert figures["clips_per_s"] > 0
        assert all(p.grad is not None for p in encoder.parameters() if p.requires_grad)
    assert set(gpu_check.encoders()) == {"resnet18-gru", "r3d18"}


def test_gpu_check_names_the_failed_step_in_its_table_and_json(tmp_path, capsys):
    def broken() -> dict:
        raise ValueError("cuDNN said no")

    device = torch.device("cpu")
    results = [
        gpu_check.run_step("encoder r3d18 bf16-mixed", lambda: {"clips_per_s": 12.5}, device),
        gpu_check.run_step("ddp nccl", broken, device),
        gpu_check.run_step("bench-stream", lambda: gpu_check._skip("no tool"), device),
    ]
    assert [r.status for r in results] == ["ok", "FAILED", "skipped"]
    code = gpu_check.report(results, {"gpu": "test"}, tmp_path / "gpu.json")
    out, err = capsys.readouterr()
    assert code == 1
    assert "| ddp nccl | FAILED |" in out and "ValueError: cuDNN said no" in out
    assert "step 'ddp nccl' failed" in err and "failed steps: ddp nccl" in err
    saved = json.loads((tmp_path / "gpu.json").read_text())
    assert [s["status"] for s in saved["steps"]] == ["ok", "FAILED", "skipped"]
    assert saved["steps"][0]["figures"] == {"clips_per_s": 12.5}
    assert gpu_check.report(results[:1], {}, tmp_path / "ok.json") == 0
