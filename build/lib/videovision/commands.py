"""The ``videovision`` command (``python -m videovision``): LightningCLI's subcommands, then the tools."""

from __future__ import annotations

import logging
import sys

from .checkpoints import CheckpointError
from .cli import VideoVisionCLI, silence_known_noise
from .config import ConfigError
from .tools import TOOLS


def _log_to_stderr() -> None:
    for name in ("data_modules", "videovision"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)


def main(argv: list[str] | None = None) -> None:
    """``fit|validate|test|predict --config X.yaml ...`` or ``<tool> ...`` (a non-zero int it returns: exit status)."""
    args = sys.argv[1:] if argv is None else argv
    _log_to_stderr()
    silence_known_noise()
    if args and args[0] in TOOLS:
        result = TOOLS[args[0]](args[1:])
        if isinstance(result, int) and result:
            sys.exit(result)
        return
    try:
        VideoVisionCLI(args=args, epilog="Other subcommands: " + ", ".join(TOOLS) + " (each with --help).")
    except (ConfigError, CheckpointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
