"""VideoVision's LightningCLI: ``fit``, ``validate``, ``test`` and ``predict`` over composed YAML configs.

One YAML holds the trainer, the model and the data, each part named by ``class_path`` +
``init_args``; config files are composed first (:mod:`videovision.config`: ``_base_`` files and
nested files), so LightningCLI validates one document and names the key at fault.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from typing import Any

from lightning.pytorch import LightningDataModule, LightningModule, Trainer
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI, SaveConfigCallback

from .callbacks.slurm_requeue import requeue_callback
from .checkpoints import RUN_CONFIG_KEY, check_checkpoint_file
from .config import expand_cli_args

# Values of --ckpt_path that Lightning resolves itself rather than reading a file.
_CKPT_ALIASES = ("last", "best", "hpc", "registry")


class _DropMessages(logging.Filter):
    def __init__(self, *fragments: str) -> None:
        super().__init__()
        self.fragments = fragments

    def filter(self, record: logging.LogRecord) -> bool:
        return not any(fragment in record.getMessage() for fragment in self.fragments)


def silence_known_noise() -> None:
    """Drop what every run printed that no user can act on: Lightning's litlogger and litmodels adverts,
    torch's LeafSpec deprecation inside Lightning, and the hint to use ``srun`` outside a SLURM allocation (inside one,
    where forgetting ``srun`` hangs a job, it stays)."""
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logging.getLogger(name).addFilter(_DropMessages("litlogger", "litmodels"))
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
    if "SLURM_JOB_ID" not in os.environ:
        warnings.filterwarnings("ignore", message="The `srun` command is available")


class LoggedConfig(SaveConfigCallback):
    """Saves the resolved config beside the run (``config.yaml``), logs it to the logger (W&B, CSV, ...)
    and keeps it in every checkpoint (``run_config``), so a checkpoint alone can be rebuilt and run
    (``videovision classify DIR --ckpt X``)."""

    def save_config(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        for logger in trainer.loggers:
            logger.log_hyperparams(self.config.as_dict())

    def on_save_checkpoint(self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]) -> None:
        config = self.config.as_dict()
        checkpoint[RUN_CONFIG_KEY] = {
            k: config[k] for k in ("seed_everything", "trainer", "model", "data") if k in config
        }


class VideoVisionCLI(LightningCLI):
    """LightningCLI with any LightningModule / LightningDataModule chosen by ``class_path``.

    ``args``: command-line style arguments (``None``: ``sys.argv``); YAML files among them are composed.
    """

    def __init__(self, args: list[str] | None = None, run: bool = True, epilog: str = "") -> None:
        with warnings.catch_warnings():
            # tools and tests build runs from argument lists while sys.argv holds their own
            warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
            super().__init__(
                LightningModule,
                LightningDataModule,
                subclass_mode_model=True,
                subclass_mode_data=True,
                seed_everything_default=0,
                auto_configure_optimizers=False,  # the model's optimizer and schedule are its own: no --optimizer
                save_config_callback=LoggedConfig,
                save_config_kwargs={"overwrite": True},
                parser_kwargs={"epilog": epilog},
                args=args,
                run=run,
            )

    def parse_arguments(self, parser: LightningArgumentParser, args: list[str] | None) -> None:
        """Parse the composed arguments; a ``--ckpt_path`` that names a file must be a checkpoint (checked
        here, before Lightning reads it or any work starts)."""
        super().parse_arguments(parser, expand_cli_args(sys.argv[1:] if args is None else list(args)))
        subcommand = self.config.get("subcommand")
        ckpt_path = self.config[subcommand].get("ckpt_path") if subcommand else None
        if ckpt_path and not str(ckpt_path).startswith(_CKPT_ALIASES):
            check_checkpoint_file(ckpt_path)

    def instantiate_trainer(self, **kwargs) -> Trainer:
        """The configured trainer, plus :class:`~videovision.callbacks.SLURMRequeue` under SLURM."""
        trainer = super().instantiate_trainer(**kwargs)
        if (callback := requeue_callback(trainer)) is not None:
            trainer.callbacks.append(callback)
        return trainer
