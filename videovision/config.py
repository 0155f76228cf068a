"""Run configs: YAML files composed into one config, and keys of it overridden from Python.

A config file may name other files:

- ``_base_: base/trainer.yaml`` (or a list; MMAction2's convention): the bases are merged in order,
  then the file itself over them;
- any value that is a path ending in ``.yaml``/``.yml`` (``encoder: base/encoder.yaml``): that
  file's content, composed the same way.

A top-level key with dots (``trainer.callbacks.ModelCheckpoint.init_args.dirpath: runs/x``) sets one
value inside what the file composed, as :func:`override` does from Python.

Each path is taken relative to the file that names it; one not found there is looked up in the
shipped ``experiments/`` folder. The shipped configs name their parts that way
(``demo/base/encoder.yaml``), so a copy of one elsewhere still finds them.
Merging: mappings merge key by key, except that a mapping naming a different ``class_path`` replaces
the one below it whole; lists and scalars replace. The composed config names no other file, so
LightningCLI validates it as one document and its errors name the key at fault.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

# experiments/ lies beside the packages: in the repository, and in site-packages after `pip install`
EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"
YAML_SUFFIXES = (".yaml", ".yml")
# Keys renamed in a release: the message names the new key.
RENAMED_KEYS = {"data.init_args.dataset": "data.init_args.reader"}


class ConfigError(ValueError):
    """A config that cannot be composed or overridden; the message names the file and key."""


def experiments_dir() -> Path:
    """The shipped ``experiments/`` folder: the repository's, or the installed copy beside the packages."""
    return EXPERIMENTS


def find_config(name: str | Path, relative_to: Path | None = None) -> Path:
    """``name`` relative to ``relative_to`` (the folder of the file naming it; else the working
    directory), or else inside the shipped experiments folder."""
    name = Path(name).expanduser()
    candidates = [name] if name.is_absolute() else [(relative_to or Path.cwd()) / name, experiments_dir() / name]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    where = ", ".join(str(c) for c in dict.fromkeys(candidates))
    raise ConfigError(f"config file {name} not found (looked in: {where})")


def merge(base: Any, over: Any) -> Any:
    """``over`` merged onto ``base`` (see the module docstring); neither is modified."""
    if not (isinstance(base, dict) and isinstance(over, dict)):
        return copy.deepcopy(over)
    if "class_path" in over and over["class_path"] != base.get("class_path"):
        return copy.deepcopy(over)
    out = copy.deepcopy(base)
    for key, value in over.items():
        out[key] = merge(out[key], value) if key in out else copy.deepcopy(value)
    return out


def is_file_reference(value: Any) -> bool:
    """Whether a config value names another config file (a one-line string ending in .yaml or .yml)."""
    return isinstance(value, str) and "\n" not in value and value.lower().endswith(YAML_SUFFIXES)


def _inline(node: Any, folder: Path, key: str, chain: tuple[Path, ...]) -> Any:
    """``node`` with every nested-file reference replaced by that file's composed content."""
    if isinstance(node, dict):
        return {k: _inline(v, folder, f"{key}.{k}" if key else str(k), chain) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, folder, f"{key}[{i}]", chain) for i, v in enumerate(node)]
    if is_file_reference(node):
        try:
            return _compose(find_config(node, folder), chain)
        except ConfigError as exc:
            raise ConfigError(f"{chain[-1]}: key {key!r}: {exc}") from None
    return node


def _compose(path: Path, chain: tuple[Path, ...] = ()) -> Any:
    if path in chain:
        raise ConfigError("config files include each other: " + " -> ".join(str(p) for p in (*chain, path)))
    chain = (*chain, path)
    try:
        content = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(content, dict):
        return content
    bases = content.pop("_base_", [])
    dotted = {k: content.pop(k) for k in list(content) if "." in str(k)}
    composed: dict = {}
    for base in [bases] if isinstance(bases, str) else bases:
        try:
            composed = merge(composed, _compose(find_config(base, path.parent), chain))
        except ConfigError as exc:
            raise ConfigError(f"{path}: _base_: {exc}") from None
    composed = merge(composed, _inline(content, path.parent, "", chain))
    try:
        return override(composed, _inline(dotted, path.parent, "", chain))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def compose(path: str | Path) -> dict:
    """The config at ``path`` with its bases merged and nested files inlined; renamed keys are named."""
    path = find_config(path)
    config = _compose(path)
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: a run config is a mapping (trainer, model, data, ...), got {type(config).__name__}")
    check_renamed(config, str(path))
    return config


def check_renamed(config: dict, source: str) -> None:
    """Raise if ``config`` uses a key of :data:`RENAMED_KEYS`, naming its new name."""
    for old, new in RENAMED_KEYS.items():
        node: Any = config
        for part in old.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            raise ConfigError(f"{source}: key {old!r} was renamed {new!r} in videovision 0.2; rename it in the config")


def _child(node: Any, part: str, key: str) -> tuple[Any, Any]:
    """The container and slot that ``part`` names inside ``node`` (a list entry by index or class name)."""
    if isinstance(node, dict):
        return node, part
    if isinstance(node, list):
        if part.isdigit() and int(part) < len(node):
            return node, int(part)
        named = [
            i
            for i, item in enumerate(node)
            if isinstance(item, dict) and str(item.get("class_path", "")).split(".")[-1] == part
        ]
        if len(named) == 1:
            return node, named[0]
        names = [
            str(item.get("class_path", "?")).split(".")[-1] if isinstance(item, dict) else repr(item) for item in node
        ]
        raise ConfigError(
            f"override {key!r}: {part!r} names {len(named)} of the list's entries {names}; use a class name or an index"
        )
    raise ConfigError(
        f"override {key!r}: {part!r} is below a {type(node).__name__} value ({node!r}), not a mapping or list"
    )


def override(config: dict, overrides: Mapping[str, Any]) -> dict:
    """A copy of ``config`` with each dotted key of ``overrides`` set.

    A key walks mappings by name and lists by index or by the class name of an entry's
    ``class_path``: ``{"trainer.callbacks.ModelCheckpoint.init_args.dirpath": "runs/x"}`` sets the
    checkpoint folder whatever other callbacks the list holds. Missing mapping keys are created.
    """
    out = copy.deepcopy(config)
    for key, value in overrides.items():
        parts = key.split(".")
        node: Any = out
        for part in parts[:-1]:
            container, slot = _child(node, part, key)
            if isinstance(container, dict) and (slot not in container or container[slot] is None):
                container[slot] = {}
            node = container[slot]
        container, slot = _child(node, parts[-1], key)
        container[slot] = value
    return out


def to_yaml(config: dict) -> str:
    """``config`` as a YAML document (what LightningCLI's ``--config`` is given)."""
    return yaml.safe_dump(config, sort_keys=False)


def expand_cli_args(argv: list[str]) -> list[str]:
    """Command-line arguments with every YAML file given as a value (``--config X.yaml``,
    ``--model.init_args.encoder=enc.yaml``) replaced by its composed content; renamed keys are named."""
    out: list[str] = []
    pending: str | None = None
    for arg in argv:
        if pending is not None:
            out.append(f"{pending}={_expanded(arg, pending)}")
            pending = None
            continue
        if arg.startswith("-") and "=" in arg:
            flag, value = arg.split("=", 1)
            arg = f"{flag}={_expanded(value, flag)}"
        elif arg in ("--config", "-c"):
            pending = "--config"
            continue
        for old, new in RENAMED_KEYS.items():
            if arg.startswith(f"--{old}"):
                raise ConfigError(f"argument {arg.split('=')[0]}: key {old!r} was renamed {new!r} in videovision 0.2")
        out.append(arg)
    if pending is not None:
        out.append(pending)
    return out


def _expanded(value: str, flag: str) -> str:
    if not is_file_reference(value):
        return value
    if flag in ("--config", "-c"):
        return to_yaml(compose(value))
    path = Path(value).expanduser()
    return to_yaml(_compose(path.resolve())) if path.is_file() else value
