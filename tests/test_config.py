"""Config composition (``_base_``, nested files, dotted keys) and overrides from Python."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from videovision import runs
from videovision.commands import main
from videovision.config import ConfigError, compose, expand_cli_args, experiments_dir, merge, override

from .conftest import CONFIGS


def _write(folder: Path, name: str, content: dict | str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return path


def test_merge_joins_mappings_replaces_lists_and_other_classes():
    base = {"a": {"x": 1, "y": [1, 2]}, "m": {"class_path": "A", "init_args": {"p": 1, "q": 2}}}
    over = {"a": {"y": [3]}, "m": {"init_args": {"q": 5}}}
    assert merge(base, over) == {"a": {"x": 1, "y": [3]}, "m": {"class_path": "A", "init_args": {"p": 1, "q": 5}}}
    other = {"m": {"class_path": "B", "init_args": {"r": 0}}}
    assert merge(base, other)["m"] == {"class_path": "B", "init_args": {"r": 0}}
    assert base["m"]["init_args"] == {"p": 1, "q": 2}  # inputs untouched


def test_bases_nested_files_and_dotted_keys_compose(tmp_path):
    _write(tmp_path, "parts/enc.yaml", {"class_path": "E", "init_args": {"width": 8}})
    _write(
        tmp_path,
        "parts/trainer.yaml",
        {"trainer": {"max_epochs": 3, "callbacks": [{"class_path": "x.Ckpt"}, {"class_path": "x.Log"}]}},
    )
    _write(
        tmp_path,
        "base.yaml",
        {"_base_": "parts/trainer.yaml", "model": {"init_args": {"encoder": "parts/enc.yaml", "lr": 1}}},
    )
    top = _write(
        tmp_path,
        "run.yaml",
        {"_base_": ["base.yaml"], "trainer": {"max_epochs": 5}, "trainer.callbacks.Ckpt.init_args.dirpath": "out"},
    )
    config = compose(top)
    assert config["trainer"]["max_epochs"] == 5
    assert config["trainer"]["callbacks"] == [
        {"class_path": "x.Ckpt", "init_args": {"dirpath": "out"}},
        {"class_path": "x.Log"},
    ]
    assert config["model"]["init_args"]["encoder"] == {"class_path": "E", "init_args": {"width": 8}}


def test_override_names_list_entries_by_class_or_index_and_refuses_ambiguity():
    config = {
        "trainer": {"callbacks": [{"class_path": "a.A"}, {"class_path": "b.B"}, {"class_path": "c.B"}], "logger": False}
    }
    assert override(config, {"trainer.callbacks.A.init_args.k": 1})["trainer"]["callbacks"][0] == {
        "class_path": "a.A",
        "init_args": {"k": 1},
    }
    assert override(config, {"trainer.callbacks.2.init_args.k": 2})["trainer"]["callbacks"][2]["init_args"] == {"k": 2}
    with pytest.raises(ConfigError, match=r"'B' names 2 of the list's entries \['A', 'B', 'B'\]"):
        override(config, {"trainer.callbacks.B.init_args.k": 1})
    with pytest.raises(ConfigError, match="'init_args' is below a bool value"):
        override(config, {"trainer.logger.init_args.save_dir": "x"})


def test_errors_name_the_file_and_key(tmp_path):
    top = _write(tmp_path, "run.yaml", {"model": {"init_args": {"encoder": "missing_encoder.yaml"}}})
    with pytest.raises(
        ConfigError, match=r"run\.yaml: key 'model.init_args.encoder': config file missing_encoder.yaml not found"
    ):
        compose(top)
    _write(tmp_path, "a.yaml", {"_base_": "b.yaml"})
    _write(tmp_path, "b.yaml", {"_base_": "a.yaml"})
    with pytest.raises(ConfigError, match=r"include each other: .*a\.yaml -> .*b\.yaml -> .*a\.yaml"):
        compose(tmp_path / "a.yaml")
    old = _write(tmp_path, "old.yaml", {"data": {"init_args": {"dataset": {"class_path": "data_modules.UCF101"}}}})
    with pytest.raises(ConfigError, match="'data.init_args.dataset' was renamed 'data.init_args.reader'"):
        compose(old)
    with pytest.raises(ConfigError, match="was renamed"):
        expand_cli_args(["fit", "--data.init_args.dataset.init_args.root=/x"])


def test_a_copied_config_still_finds_the_shipped_parts(tmp_path, capsys):
    copy = Path(shutil.copy(experiments_dir() / "demo" / "probe.yaml", tmp_path / "my_probe.yaml"))
    assert compose(copy) == compose(experiments_dir() / "demo" / "probe.yaml")
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", f"--config={copy}", "--print_config"])
    assert exit_info.value.code == 0 and "FrameTemporalEncoder" in capsys.readouterr().out


def test_a_bad_value_inside_a_nested_file_is_named_by_its_key(tmp_path, capsys):
    encoder = yaml.safe_load((CONFIGS / "tiny_encoder.yaml").read_text())
    encoder["init_args"]["temporal"]["init_args"]["cell"] = "rnn"
    _write(tmp_path, "tiny_encoder.yaml", encoder)
    probe = yaml.safe_load((CONFIGS / "tiny_probe.yaml").read_text())
    top = _write(tmp_path, "probe.yaml", probe)
    with pytest.raises(SystemExit):
        main(["fit", f"--config={top}", "--print_config"])
    err = capsys.readouterr().err
    assert "loop detected" not in err and "cell" in err and "rnn" in err


def test_build_applies_override_dicts_then_command_line_arguments(cli_env, tmp_path):
    overrides = {"trainer.max_steps": 7, "model.init_args.lr": 0.5, "data.init_args.batch_size": 2}
    cli = runs.build(CONFIGS / "tiny_probe.yaml", overrides, [*cli_env, "--data.init_args.batch_size=3"])
    assert cli.trainer.max_steps == 7 and cli.model.lr == 0.5 and cli.datamodule.batch_size == 3


def test_an_installed_copy_finds_its_configs_from_any_directory(tmp_path):
    """``pip install .`` (not editable) ships experiments/ beside the packages; tools run from elsewhere."""
    root = tmp_path / "source"  # a copy, so the build leaves nothing in the checkout
    ignore = shutil.ignore_patterns(".git", ".venv", "data", "runs", "build", "*.egg-info", "__pycache__")
    shutil.copytree(Path(__file__).parent.parent, root, ignore=ignore)
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(root),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert (target / "experiments" / "demo" / "pretrain.yaml").is_file()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = "import videovision.config as c; print(c.experiments_dir())"
    shown = subprocess.run(
        [sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == str(target / "experiments")
    done = subprocess.run(
        [sys.executable, "-m", "videovision", "fit", "--config", "demo/probe.yaml", "--print_config"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "FrameTemporalEncoder" in done.stdout


@pytest.mark.parametrize("config", sorted((experiments_dir() / "ucf101").glob("*.yaml")), ids=lambda p: p.stem)
def test_each_ucf101_config_checkpoints_where_its_header_says(config):
    composed = compose(config)
    (checkpoint,) = [c for c in composed["trainer"]["callbacks"] if c["class_path"].endswith("ModelCheckpoint")]
    folder = f"runs/ucf101/{config.stem}/checkpoints"
    assert checkpoint["init_args"]["dirpath"] == folder
    assert f"# Checkpoints: {folder}/last.ckpt" in config.read_text()


def _run_configs() -> list[Path]:
    """The shipped LightningCLI run configs (the ones with a trainer); parts and other tools' configs left out."""
    found = []
    for path in sorted(experiments_dir().glob("*/*.yaml")):
        try:
            if "trainer" in compose(path):
                found.append(path)
        except ConfigError:  # a part (a list or a single class), not a run config
            continue
    return found


RUN_CONFIGS = _run_configs()


@pytest.mark.parametrize("config", RUN_CONFIGS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_rerun_replaces_last_ckpt_where_the_readme_points(config):
    """Lightning would write ``last-v1.ckpt`` beside an old ``last.ckpt``, and the README's ``.../last.ckpt`` paths
    would load the first run's model."""
    for callback in compose(config)["trainer"].get("callbacks", []):
        if callback["class_path"].endswith("ModelCheckpoint"):
            assert callback["init_args"].get("enable_version_counter") is False
