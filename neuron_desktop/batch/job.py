"""Turning ``IN...`` and ``-o OUT`` into a job: input discovery, output names, the state.

Shared by both engines: they only run the pending rows of a prepared :class:`JobState`.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from neuron_desktop.batch.recipe import Recipe
from neuron_desktop.batch.state import JobState
from neuron_desktop.batch.steps import output_name
from neuron_desktop.core.errors import NeuronError

log = logging.getLogger(__name__)

LIST_SUFFIXES = (".txt", ".lst", ".list")
TMP_DIR = ".neuron-batch-tmp"


def tmp_dir(out_dir: Path | str) -> Path:
    """Where encoders write before the atomic rename (emptied when a job starts)."""
    return Path(out_dir) / TMP_DIR


def collect_inputs(inputs: list[str | Path], out_dir: Path | str) -> Iterator[tuple[Path, Path]]:
    """(file, path relative to its root) for files, folders (recursive, image files only)
    and list files (``.txt``: one path per line, ``#`` comments). Nothing below OUT."""
    from neuron_desktop.core.imageio import SUPPORTED_EXTENSIONS

    out = Path(out_dir).resolve()

    def inside_out(p: Path) -> bool:
        return p.resolve().is_relative_to(out)

    for item in map(Path, inputs):
        if item.is_dir():
            for root, dirs, files in os.walk(item):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                                 and not inside_out(Path(root) / d))
                for name in sorted(files):
                    p = Path(root) / name
                    if p.suffix.lower() in SUPPORTED_EXTENSIONS and not name.startswith("."):
                        yield p, p.relative_to(item)
        elif item.suffix.lower() in LIST_SUFFIXES and item.is_file():
            for line in item.read_text("utf-8").splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    p = Path(line) if Path(line).is_absolute() else item.parent / line
                    yield p, Path(p.name)
        elif item.exists():
            if not inside_out(item):
                yield item, Path(item.name)
        else:
            raise NeuronError(f"input '{item}' does not exist")


def prepare_job(recipe: Recipe, inputs: list[str | Path], out_dir: Path | str, *,
                retry_failed: bool = False) -> JobState:
    """Open (or create) the job in ``out_dir``, add new inputs, make it resumable.

    Unreadable inputs become failed rows (keyed by their path) rather than stopping the job.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NeuronError(f"-o '{out}' is a file; a batch needs an output folder")
    state = JobState(out)
    try:
        state.bind_recipe(recipe.name, recipe.sha256, recipe.text)
        taken = state.outputs()
        new, unreadable = [], []
        inputs_seen = set()
        for path, rel in collect_inputs(inputs, out):
            inputs_seen.add(str(path.resolve()))
            try:
                key = state.key_of(path)
            except OSError as exc:
                unreadable.append((path, exc))
                continue
            dst = out / output_name(rel, recipe.export.params)
            if taken.get(str(dst), key) != key or str(dst.resolve()) in inputs_seen:
                dst = dst.with_name(f"{dst.stem}-{key[:8]}{dst.suffix}")
            taken.setdefault(str(dst), key)
            new.append((key, path, dst))
        added = state.add(new)
        for path, exc in unreadable:
            key = f"unreadable:{path}"
            state.add([(key, path, out / "-")])
            state.finish({"key": key, "status": "failed", "error": f"cannot read '{path}': "
                          f"{exc.strerror or exc}"})
        if not state.counts().total:
            raise NeuronError(f"no images found in {', '.join(map(str, inputs))}")
        state.recover(retry_failed)
        log.info("%d new inputs, %s", added, state.counts())
        shutil.rmtree(tmp_dir(out), ignore_errors=True)
        tmp_dir(out).mkdir()
        return state
    except BaseException:
        state.close()
        raise
