"""The whole path through LightningCLI: fit, checkpoint, probe, test, DDP on CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from videovision.cli import VideoVisionCLI
from videovision.commands import main
from videovision.models import ViTFrames

from .conftest import CONFIGS

EXPERIMENTS = Path(__file__).parent.parent / "experiments"


def _pretrain(cli_env, *extra: str) -> VideoVisionCLI:
    cli = VideoVisionCLI(args=[f"--config={CONFIGS / 'tiny_pretrain.yaml'}", *cli_env, *extra], run=False)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    return cli


def test_two_step_fit_through_the_cli(cli_env, tmp_path):
    main(["fit", f"--config={CONFIGS / 'tiny_pretrain.yaml'}", *cli_env])
    ckpts = list((tmp_path / "run").rglob("*.ckpt"))
    assert len(ckpts) == 1
    state = torch.load(ckpts[0], weights_only=True)
    assert state["global_step"] == 2


def test_pretraining_checkpoint_loads_into_the_probe(cli_env, tmp_path):
    pre = _pretrain(cli_env)
    (ckpt,) = (tmp_path / "run").rglob("*.ckpt")
    probe = VideoVisionCLI(
        args=[f"--config={CONFIGS / 'tiny_probe.yaml'}", *cli_env, f"--model.init_args.pretrained={ckpt}"], run=False
    )
    for name, value in pre.model.encoder.state_dict().items():
        torch.testing.assert_close(probe.model.encoder.state_dict()[name], value)
    probe.trainer.fit(probe.model, datamodule=probe.datamodule)
    (metrics,) = probe.trainer.test(probe.model, datamodule=probe.datamodule)
    assert metrics["test/videos"] == 16.0
    assert 0.0 <= metrics["test/top1"] <= 1.0
    matrix = torch.load(tmp_path / "run" / "confusion_matrix.pt", weights_only=True)
    assert matrix.shape == (8, 8) and matrix.sum() == 16
    assert matrix.diagonal().sum() / 16 == pytest.approx(metrics["test/top1"])
    assert (tmp_path / "run" / "confusion_matrix.png").stat().st_size > 1000
    for name, value in pre.model.encoder.state_dict().items():
        torch.testing.assert_close(probe.model.encoder.state_dict()[name], value, msg=f"frozen encoder changed: {name}")


def test_a_checkpoint_without_encoder_weights_is_refused(tmp_path):
    bad = tmp_path / "other.ckpt"
    torch.save({"state_dict": {"head.weight": torch.zeros(1)}}, bad)
    with pytest.raises(ValueError, match="no 'encoder.\\*' weights"):
        VideoVisionCLI(
            args=[f"--config={CONFIGS / 'tiny_probe.yaml'}", f"--model.init_args.pretrained={bad}"], run=False
        )


def test_a_wrong_config_key_fails_before_any_work(cli_env, capsys):
    with pytest.raises(SystemExit):
        main(["fit", f"--config={CONFIGS / 'tiny_pretrain.yaml'}", *cli_env, "--model.init_args.no_such_key=1"])
    assert "no_such_key" in capsys.readouterr().err


RUNNABLE_CONFIGS = sorted(  # base/: parts composed into the others; sweeps/: W&B sweep files (test_logging);
    # anomaly/, tracking/: configs of their own tools, not LightningCLI runs (test_anomaly_tool, test_track_tool)
    p
    for p in EXPERIMENTS.rglob("*.yaml")
    if p.parent.name not in ("base", "sweeps") and not {"anomaly", "tracking"} & set(p.relative_to(EXPERIMENTS).parts)
)


@pytest.mark.parametrize("config", RUNNABLE_CONFIGS, ids=lambda p: str(p.relative_to(EXPERIMENTS)))
def test_every_experiment_config_parses(config, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", f"--config={config}", "--print_config"])
    assert exit_info.value.code == 0
    assert "class_path" in capsys.readouterr().out


def test_ddp_fit_on_two_cpu_processes(cli_env, tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    cmd = [
        sys.executable,
        "-m",
        "videovision",
        "fit",
        f"--config={CONFIGS / 'tiny_pretrain.yaml'}",
        *cli_env,
        "--trainer.strategy=ddp",
        "--trainer.devices=2",
        "--trainer.accelerator=cpu",
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (ckpt,) = (tmp_path / "run").rglob("*.ckpt")
    assert torch.load(ckpt, weights_only=True)["global_step"] == 2


def test_objectives_sum_with_their_weights_and_monitors_are_logged(cli_env):
    cli = _pretrain(cli_env, "--trainer.val_check_interval=2", "--trainer.limit_val_batches=2")
    m = {k: float(v) for k, v in cli.trainer.callback_metrics.items()}
    assert abs(m["train/loss_epoch"] - (m["train/simclr_loss_epoch"] + 0.5 * m["train/vcop_loss_epoch"])) < 1e-4
    assert 0.0 <= m["val/online_probe_top1"] <= 1.0 and 0.0 <= m["val/knn_top1"] <= 1.0
    assert 0.0 < m["train/embedding_std"] < 1.0 and -1.0 <= m["val/embedding_cosine"] <= 1.0


def test_bf16_mixed_precision_on_cpu(cli_env, tmp_path):
    cli = _pretrain(cli_env, "--trainer.precision=bf16-mixed")
    assert cli.trainer.precision == "bf16-mixed"
    assert cli.trainer.global_step == 2
    assert torch.isfinite(cli.trainer.callback_metrics["train/loss_epoch"])


def test_3d_cnn_encoder_runs_vcop_through_the_cli(cli_env):
    cli = _pretrain(
        cli_env,
        '--model.init_args.encoder={"class_path": "videovision.models.Video3DCNN", "init_args": {"arch": "r3d_18"}}',
        "--trainer.max_steps=1",
    )
    assert cli.trainer.global_step == 1


def test_probe_takes_its_class_count_from_the_dataset(cli_env):
    cli = VideoVisionCLI(
        args=[f"--config={CONFIGS / 'tiny_probe.yaml'}", *cli_env, "--model.init_args.num_classes=null"], run=False
    )
    assert cli.model.head is None
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    assert cli.model.num_classes == 8 and cli.model.head[-1].out_features == 8
    (metrics,) = cli.trainer.test(cli.model, datamodule=cli.datamodule)
    assert metrics["test/videos"] == 16.0


def test_a_wrong_class_count_is_named(cli_env):
    cli = VideoVisionCLI(
        args=[f"--config={CONFIGS / 'tiny_probe.yaml'}", *cli_env, "--model.init_args.num_classes=5"], run=False
    )
    with pytest.raises(ValueError, match="num_classes is 5 but the dataset has 8 classes"):
        cli.trainer.fit(cli.model, datamodule=cli.datamodule)


def test_an_optimizer_from_the_command_line_is_refused(cli_env, capsys):
    with pytest.raises(SystemExit):
        main(["fit", f"--config={CONFIGS / 'tiny_pretrain.yaml'}", *cli_env, "--optimizer=Adam"])
    assert "optimizer" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--ckpt_path", "--model.init_args.pretrained"])
def test_a_file_that_is_not_a_checkpoint_is_named(cli_env, tmp_path, capsys, option):
    notes = tmp_path / "README.md"
    notes.write_text("# not weights\n")
    with pytest.raises((SystemExit, ValueError)) as info:  # --ckpt_path: exit 2 with the message; pretrained: raised
        main(["test", f"--config={CONFIGS / 'tiny_probe.yaml'}", *cli_env, f"{option}={notes}"])
    message = str(info.value) + capsys.readouterr().err
    assert f"not a checkpoint: {notes}" in message


def test_a_vit_backbone_runs_vcop_through_the_cli(cli_env):
    vit = {
        "class_path": "videovision.models.ViTFrames",
        "init_args": {"num_layers": 1, "hidden_dim": 32, "mlp_dim": 64},
    }
    cli = _pretrain(cli_env, f"--model.init_args.encoder.init_args.backbone={json.dumps(vit)}", "--trainer.max_steps=1")
    assert isinstance(cli.model.encoder.backbone, ViTFrames) and cli.trainer.global_step == 1


PACE = json.dumps(
    [
        {"class_path": "videovision.objectives.SimCLRObjective", "init_args": {"hidden_dim": 16, "out_dim": 8}},
        {
            "class_path": "videovision.objectives.PaceObjective",
            "init_args": {"weight": 0.5, "paces": [1, 2], "hidden_dim": 8},
        },
    ]
)


def test_an_objective_with_its_own_views_trains_beside_shared_ones(cli_env):
    pair = '{"class_path": "data_modules.PairClipSampler", "init_args": {"clip_len": 7}}'
    cli = _pretrain(cli_env, f"--model.init_args.objectives={PACE}", f"--data.init_args.train_sampler={pair}")
    m = {k: float(v) for k, v in cli.trainer.callback_metrics.items()}
    assert abs(m["train/loss_epoch"] - (m["train/simclr_loss_epoch"] + 0.5 * m["train/pace_loss_epoch"])) < 1e-4
    assert 0.0 <= m["train/pace_acc_epoch"] <= 1.0


def test_a_sampler_too_short_for_the_pace_views_is_refused(cli_env):
    pair = '{"class_path": "data_modules.PairClipSampler", "init_args": {"clip_len": 4}}'
    fix = "7 frames: set data.train_sampler.init_args.clip_len to at least 7"
    with pytest.raises(ValueError, match=f"clip_len is 4 but .* {fix}"):
        _pretrain(cli_env, f"--model.init_args.objectives={PACE}", f"--data.init_args.train_sampler={pair}")
