"""Shared fixtures: a tiny moving-digits dataset (32 px, 16 frames) made once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_modules.moving_digits import MovingDigitsSpec, generate

TINY_SPEC = MovingDigitsSpec(num_groups=3, clips_per_group=2, test_groups=1, num_frames=16, size=32, seed=0)
CONFIGS = Path(__file__).parent / "configs"


@pytest.fixture(scope="session")
def tiny_digits(tmp_path_factory) -> Path:
    """Root of a 48-video moving-digits set in the UCF101 layout."""
    return generate(tmp_path_factory.mktemp("digits"), TINY_SPEC)


@pytest.fixture()
def cli_env(tiny_digits, tmp_path, monkeypatch) -> list[str]:
    """LightningCLI overrides that point the tiny configs at the tiny data and a fresh run folder."""
    monkeypatch.setenv("HOME", str(tmp_path))
    return [
        f"--data.init_args.reader.init_args.root={tiny_digits}",
        f"--trainer.default_root_dir={tmp_path / 'run'}",
    ]
