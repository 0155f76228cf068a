"""``videovision`` / ``python -m videovision``: LightningCLI subcommands plus a few data tools.

``fit``, ``validate``, ``test`` and ``predict`` are LightningCLI's: one YAML holds the trainer,
the model and the data, each part named by ``class_path`` + ``init_args``. The other
subcommands are listed in :data:`TOOLS`.
"""

from __future__ import annotations

import importlib
import logging
import sys
import warnings

from lightning.pytorch import LightningDataModule, LightningModule, Trainer
from lightning.pytorch.cli import LightningCLI, SaveConfigCallback

from videovision.slurm_requeue import requeue_callback


# Other subcommands: name -> module whose ``main(argv)`` runs it (imported only when called).
TOOLS: dict[str, str] = {
    "bench": "videovision.bench",
    "check-data": "videovision.check_data",
    "demo": "videovision.demo",
    "encoder-costs": "videovision.encoder_costs",
    "evaluate-features": "videovision.evaluate_features",
    "extract-frames": "videovision.extract_frames",
    "generate-data": "data_modules.moving_digits",
    "results": "videovision.results",
}


def run_tool(name: str, argv: list[str]) -> None:
    """Run tool ``name``; a tool returning an int (``check-data``) exits with it."""
    result = importlib.import_module(TOOLS[name]).main(argv)
    if isinstance(result, int):
        sys.exit(result)


class LoggedConfig(SaveConfigCallback):
    """Saves the resolved config beside the run (``config.yaml``) and logs it to the logger (W&B, CSV, ...)."""

    def save_config(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        for logger in trainer.loggers:
            logger.log_hyperparams(self.config.as_dict())


class VideoVisionCLI(LightningCLI):
    """LightningCLI with any LightningModule / LightningDataModule chosen by ``class_path``."""

    def __init__(self, args: list[str] | None = None, run: bool = True) -> None:
        with warnings.catch_warnings():
            # tools (demo, results) build runs from argument lists while sys.argv holds the tool's own
            warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
            self._build(args, run)

    def _build(self, args: list[str] | None, run: bool) -> None:
        super().__init__(
            LightningModule,
            LightningDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            seed_everything_default=0,
            save_config_callback=LoggedConfig,
            save_config_kwargs={"overwrite": True},
            parser_kwargs={"epilog": "Other subcommands: " + ", ".join(TOOLS) + " (each with --help)."},
            args=args,
            run=run,
        )

    def instantiate_trainer(self, **kwargs) -> Trainer:
        """The configured trainer, plus :class:`~videovision.slurm_requeue.SLURMRequeue` under SLURM."""
        trainer = super().instantiate_trainer(**kwargs)
        if (callback := requeue_callback(trainer)) is not None:
            trainer.callbacks.append(callback)
        return trainer


def main(argv: list[str] | None = None) -> None:
    tool_argv = sys.argv[1:] if argv is None else argv
    for name in ("data_modules", "videovision"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
    if tool_argv and tool_argv[0] in TOOLS:
        run_tool(tool_argv[0], tool_argv[1:])
    else:
        VideoVisionCLI(args=argv)
