"""Layering: the data layer stands alone, old class paths still resolve, tools reach runs through the Python API."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import data_modules

ROOT = Path(__file__).parent.parent


def test_the_data_layer_imports_nothing_from_videovision():
    modules = [f"data_modules.{m.name}" for m in pkgutil.iter_modules(data_modules.__path__)]
    code = "import sys, importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules)
    code += "print(sorted(m for m in sys.modules if m == 'videovision' or m.startswith('videovision.')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]", f"data_modules pulled in: {done.stdout}"
    for path in (ROOT / "data_modules").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] == "videovision" for n in names), f"{path.name} imports {names}"


def test_tools_import_no_other_tool():
    tools = {p.stem for p in (ROOT / "videovision" / "tools").glob("*.py")} - {"__init__"}
    for name in tools:
        tree = ast.parse((ROOT / "videovision" / "tools" / f"{name}.py").read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1 for a in n.names}
        assert not (imported & tools), f"tool {name} imports tool(s) {imported & tools}"


def test_old_class_paths_still_resolve_for_one_release():
    from videovision.callbacks import EmbeddingWriter, SampleClips
    from videovision.media import SampleClips as OldSampleClips
    from videovision.models import FrameTemporalEncoder, ResNetRNNEncoder
    from videovision.prediction_writer import EmbeddingWriter as OldEmbeddingWriter

    assert ResNetRNNEncoder is FrameTemporalEncoder
    assert OldSampleClips is SampleClips and OldEmbeddingWriter is EmbeddingWriter
