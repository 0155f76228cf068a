"""Runs from Python: a config file plus a dict of overrides -> a configured trainer, model and data module.

The tools (``demo``, ``results``, ``check-data``, ...) drive every run through these functions, the
same LightningCLI path as ``python -m videovision fit --config X.yaml``::

    cli = build("demo/pretrain.yaml", {runs.CHECKPOINT_DIR: "runs/x", "seed_everything": 1})
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)

Override keys are dotted paths into the composed config (:func:`videovision.config.override`); a
list entry is named by its class (``trainer.callbacks.ModelCheckpoint``) or index. ``cli_args``
are command-line style arguments applied last (a user's ``--trainer.max_steps=2``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .cli import VideoVisionCLI
from .config import compose, override, to_yaml

CHECKPOINT_DIR = "trainer.callbacks.ModelCheckpoint.init_args.dirpath"
QUIET = {"trainer.enable_progress_bar": False, "trainer.enable_model_summary": False}
RGB_FRAMES = {"model.init_args.encoder.init_args.frame_input": "rgb"}
"""Pretrains the demo encoder on RGB frames (by default it reads normal flow): for the applications that
read appearance, the anomaly scorers and the trackers."""


def build(
    config: str | Path | dict, overrides: Mapping[str, Any] | None = None, cli_args: Sequence[str] = ()
) -> VideoVisionCLI:
    """Compose ``config`` (a path, a name inside the shipped experiments/, or an already composed dict such
    as a checkpoint's ``run_config``), apply ``overrides`` then ``cli_args``, and instantiate everything
    without running."""
    composed = override(config if isinstance(config, dict) else compose(config), overrides or {})
    return VideoVisionCLI(args=[f"--config={to_yaml(composed)}", *cli_args], run=False)


def fit(config: str | Path, overrides: Mapping[str, Any] | None = None, cli_args: Sequence[str] = ()) -> VideoVisionCLI:
    """Build and ``fit``; the returned CLI holds the trained model and its trainer."""
    cli = build(config, overrides, cli_args)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    return cli


def fit_and_test(
    config: str | Path,
    overrides: Mapping[str, Any] | None = None,
    cli_args: Sequence[str] = (),
    test_ckpt: str | None = None,
) -> dict[str, float]:
    """``fit`` then ``test`` in this process; the test metrics without their ``test/`` prefix.
    ``test_ckpt="best"`` tests the monitored checkpoint's weights instead of the last ones."""
    cli = fit(config, overrides, cli_args)
    (metrics,) = cli.trainer.test(cli.model, datamodule=cli.datamodule, ckpt_path=test_ckpt)
    return {k.removeprefix("test/"): float(v) for k, v in metrics.items()}


def predict(
    config: str | Path | dict,
    overrides: Mapping[str, Any] | None = None,
    cli_args: Sequence[str] = (),
    ckpt_path: str | Path | None = None,
) -> None:
    """``predict`` over the data module's ``predict_split`` (weights from ``ckpt_path`` if given); the
    config's callbacks write the outputs."""
    cli = build(config, overrides, cli_args)
    cli.trainer.predict(cli.model, datamodule=cli.datamodule, return_predictions=False, ckpt_path=ckpt_path)
