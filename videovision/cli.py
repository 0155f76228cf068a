"""``videovision`` / ``python -m videovision``: LightningCLI subcommands plus a few data tools.

``fit``, ``validate``, ``test`` and ``predict`` are LightningCLI's: one YAML holds the trainer,
the model and the data, each part named by ``class_path`` + ``init_args``. The other
subcommands are listed in :data:`TOOLS`.
"""

from __future__ import annotations

import logging
import sys
import warnings
from typing import Callable

from lightning.pytorch import LightningDataModule, LightningModule, Trainer
from lightning.pytorch.cli import LightningCLI, SaveConfigCallback


def _generate_data(argv: list[str]) -> None:
    from data_modules.moving_digits import main

    main(argv)


def _demo(argv: list[str]) -> None:
    from .demo import main

    main(argv)


def _encoder_costs(argv: list[str]) -> None:
    from .encoder_costs import main

    main(argv)


def _check_data(argv: list[str]) -> None:
    from .check_data import main

    sys.exit(main(argv))


def _evaluate_features(argv: list[str]) -> None:
    from .evaluate_features import main

    main(argv)


def _results(argv: list[str]) -> None:
    from .results import main

    main(argv)


def _extract_frames(argv: list[str]) -> None:
    from .extract_frames import main

    main(argv)


def _bench(argv: list[str]) -> None:
    from .bench import main

    main(argv)


TOOLS: dict[str, Callable[[list[str]], None]] = {
    "bench": _bench,
    "check-data": _check_data,
    "generate-data": _generate_data,
    "demo": _demo,
    "encoder-costs": _encoder_costs,
    "evaluate-features": _evaluate_features,
    "extract-frames": _extract_frames,
    "results": _results,
}


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
        TOOLS[tool_argv[0]](tool_argv[1:])
    else:
        VideoVisionCLI(args=argv)
