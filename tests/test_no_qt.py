"""The core, models and pipelines never load Qt (they run in CLI, tests and worker threads)."""

import ast
import subprocess
import sys
from pathlib import Path

import neuron_desktop

PKG = Path(neuron_desktop.__file__).parent
QT_FREE = ("core", "models", "pipelines", "train")
QT_NAMES = ("PySide6", "PyQt5", "PyQt6", "qtpy", "qtawesome", "shiboken6")


def test_importing_core_models_pipelines_loads_no_qt():
    code = (
        "import importlib, pkgutil, sys\n"
        "import neuron_desktop\n"
        f"for sub in {QT_FREE!r}:\n"
        "    pkg = importlib.import_module('neuron_desktop.' + sub)\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        f"bad = [n for n in sys.modules if n.split('.')[0] in {QT_NAMES!r}]\n"
        "print(','.join(bad))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, f"Qt modules loaded: {proc.stdout} {proc.stderr}"


def test_no_qt_import_statements_in_core_sources():
    offenders = []
    for sub in QT_FREE:
        for path in (PKG / sub).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                offenders += [f"{path}: {n}" for n in names if n.split(".")[0] in QT_NAMES]
    assert not offenders, offenders
