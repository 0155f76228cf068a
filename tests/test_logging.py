"""W&B offline runs, the CSV switch, and sweep arguments as a W&B agent passes them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from videovision.cli import VideoVisionCLI

from .conftest import CONFIGS

SWEEPS = sorted((Path(__file__).parent.parent / "experiments" / "sweeps").glob("*.yaml"))
REPO = Path(__file__).parent.parent


def _first_value(spec: dict):
    return spec["values"][0] if "values" in spec else spec["min"]


def _resolved(config, key: str):
    """A dotted key of the parsed config; ``list.init_args.x`` reads the last item, as jsonargparse applies it."""
    head, _, rest = key.partition(".objectives.")
    if not rest:
        return config[key]
    return config[f"{head}.objectives"][-1][rest.split(".")[0]][rest.split(".")[1]]


@pytest.mark.parametrize("sweep", SWEEPS, ids=lambda p: p.name)
def test_sweep_arguments_parse_and_reach_the_model(sweep, monkeypatch):
    config = yaml.safe_load(sweep.read_text())
    command = config["command"]
    assert command[-1] == "${args}" and command[command.index("-m") + 1] == "videovision"
    agent_args = [f"--{name}={_first_value(spec)}" for name, spec in config["parameters"].items()]
    monkeypatch.chdir(REPO)
    base = command[command.index("fit") + 1 : -1]
    cli = VideoVisionCLI(args=[*base, *agent_args], run=False)
    for name, spec in config["parameters"].items():
        assert _resolved(cli.config, name) == _first_value(spec), name
    assert cli.model.lr == _first_value(config["parameters"]["model.init_args.lr"])


def test_wandb_logs_offline_with_the_resolved_config(cli_env, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    cli = VideoVisionCLI(
        args=[
            f"--config={CONFIGS / 'tiny_pretrain.yaml'}",
            *cli_env,
            "--trainer.logger=WandbLogger",
            f"--trainer.logger.save_dir={tmp_path / 'wb'}",
            "--trainer.logger.offline=true",
            "--trainer.callbacks+=videovision.callbacks.SampleClips",
        ],
        run=False,
    )
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    assert cli.trainer.logger.experiment.config["model"]["class_path"] == "videovision.tasks.SSLPretrainModule"
    assert "samples/train_clips" in cli.trainer.logger.experiment.summary.keys()
    import wandb

    wandb.finish()
    assert list((tmp_path / "wb" / "wandb").glob("offline-run-*/run-*.wandb")), "an offline run to `wandb sync` later"


def test_csv_logger_by_one_switch(cli_env, tmp_path):
    cli = VideoVisionCLI(
        args=[
            f"--config={CONFIGS / 'tiny_pretrain.yaml'}",
            *cli_env,
            "--trainer.logger=CSVLogger",
            f"--trainer.logger.save_dir={tmp_path / 'csv'}",
        ],
        run=False,
    )
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    (metrics,) = (tmp_path / "csv").rglob("metrics.csv")
    assert "train/loss_epoch" in metrics.read_text().splitlines()[0]
    (hparams,) = (tmp_path / "csv").rglob("hparams.yaml")
    assert "SSLPretrainModule" in hparams.read_text()
