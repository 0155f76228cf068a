"""Every command the README shows works as written: make targets exist, LightningCLI commands parse
against the shipped configs (with the README's placeholder paths pointed at a tiny dataset in that
layout), and every tool accepts the flags the README gives it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from videovision.commands import main
from videovision.tools import TOOLS

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
LIGHTNING = ("fit", "validate", "test", "predict")


def _commands() -> list[str]:
    """``python -m videovision ...`` lines of the README's bash blocks and inline code, continuations joined."""
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    inline = re.findall(r"`(python -m videovision [^`]+)`", README)
    return [c for c in dict.fromkeys([*lines, *inline]) if c.startswith("python -m videovision") and "X.yaml" not in c]


COMMANDS = _commands()


def test_the_readme_shows_commands_and_its_make_targets_exist():
    assert len(COMMANDS) >= 8
    makefile = (ROOT / "Makefile").read_text()
    for target in set(re.findall(r"\bmake ([a-z][a-z0-9-]*)", README)):
        assert re.search(rf"^{target}:", makefile, flags=re.M), (
            f"README shows `make {target}`, the Makefile has no such target"
        )


@pytest.mark.parametrize("command", COMMANDS)
def test_every_readme_command_works_as_written(command, tiny_digits, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("HOME", str(tmp_path))
    args = [arg.replace("/data/UCF101", str(tiny_digits)) for arg in shlex.split(command)[3:]]
    name = args[0]
    if name in LIGHTNING:
        if "--ckpt_path" in args:  # the checkpoint a README run would have written
            at = args.index("--ckpt_path")
            args = args[:at] + args[at + 2 :]
        with pytest.raises(SystemExit) as done:
            main([*args, "--print_config"])
        assert done.value.code == 0, capsys.readouterr().err[-2000:]
        return
    assert name in TOOLS, f"README runs `videovision {name}`, which is no subcommand"
    usage = _help([name], capsys)
    choices = re.search(r"\{([\w,-]+)\}", usage.split("\n\n")[0])
    if choices and len(args) > 1 and args[1] in choices.group(1).split(","):  # a tool's own subcommand
        usage = _help([name, args[1]], capsys)
    own = args[1 : args.index("--")] if "--" in args else args[1:]  # after a bare --: LightningCLI overrides
    for flag in (a.split("=")[0] for a in own if a.startswith("--")):
        assert flag in usage, f"`videovision {name}` has no option {flag} (README: {command})"
    if "--" in args:  # the overrides a tool passes to every run parse against the demo's pretraining config
        overrides = args[args.index("--") + 1 :]
        with pytest.raises(SystemExit) as done:
            main(["fit", "--config", "experiments/demo/pretrain.yaml", *overrides, "--print_config"])
        assert done.value.code == 0, capsys.readouterr().err[-2000:]


def _help(args: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as done:
        main([*args, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out
