"""Output planning: decide every output path of a run *before any work starts*.

Rules (docs/reliability.md):

- An output never lands on an input of the run (photos, masks, style images, guides, hint
  files), compared by resolved path (symlinks followed) and by file identity (st_dev, st_ino:
  hard links). The one exception is ``--overwrite`` with an output that is its *own* source
  (processing in place: the file is read before it is written).
- Two outputs never land on the same file. In folder mode a clashing output (two inputs with
  the same name, or a name that is another input) gets a distinct name ``STEM-2.EXT``
  (logged); in single-file mode the run is refused.
- The output's folder must exist (or be creatable, in folder mode) and be writable, its name
  must fit the file system (255 bytes) and its extension must be one the writer knows.

Every refusal raises :class:`OutputClashError` (exit code 3) or :class:`ImageSaveError`
before anything is computed. Qt-free; the CLI calls :func:`plan_outputs` once per command.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from neuron_desktop.core.errors import ImageSaveError, OutputClashError

log = logging.getLogger(__name__)

MAX_NAME_BYTES = 255


def file_identity(path: Path) -> tuple[int, int] | None:
    """(st_dev, st_ino) of the file ``path`` points to (symlinks followed), None if absent."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def _key(path: Path) -> str:
    try:
        return str(Path(os.path.abspath(path)).resolve())
    except (OSError, RuntimeError):  # symlink loop and the like: compare as written
        return os.path.abspath(path)


def same_file(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` are one file: same resolved path, or the same inode (a hard
    link or a symlink to it)."""
    if _key(a) == _key(b):
        return True
    ia = file_identity(a)
    return ia is not None and ia == file_identity(b)


class _Inputs:
    """The inputs of a run, looked up by resolved path and by inode."""

    def __init__(self, inputs: Iterable[tuple[Path, str]]) -> None:
        self.by_key: dict[str, tuple[Path, str]] = {}
        self.by_id: dict[tuple[int, int], tuple[Path, str]] = {}
        for path, role in inputs:
            self.by_key.setdefault(_key(path), (path, role))
            if (ident := file_identity(path)) is not None:
                self.by_id.setdefault(ident, (path, role))

    def find(self, path: Path) -> tuple[Path, str] | None:
        hit = self.by_key.get(_key(path))
        if hit is None and (ident := file_identity(path)) is not None:
            hit = self.by_id.get(ident)
        return hit


def check_output_path(dst: Path, *, extensions: Sequence[str] | None = None,
                      create_parent: bool = False) -> None:
    """Refuse an output path that cannot be written, with the reason (ImageSaveError)."""
    if extensions is not None and dst.suffix.lower() not in extensions:
        raise ImageSaveError(f"cannot save '{dst}': unsupported extension "
                             f"'{dst.suffix or '(none)'}' (use {', '.join(extensions)})")
    if len(os.fsencode(dst.name)) > MAX_NAME_BYTES:
        raise ImageSaveError(f"cannot save '{dst}': the file name is "
                             f"{len(os.fsencode(dst.name))} bytes long (at most "
                             f"{MAX_NAME_BYTES})")
    if dst.is_dir():
        raise ImageSaveError(f"cannot save '{dst}': it is a folder; give a file name")
    parent = dst.parent
    ancestor = parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ImageSaveError(f"cannot save '{dst}': '{ancestor}' is a file, not a folder")
    if ancestor != parent and not create_parent:
        raise ImageSaveError(f"cannot save '{dst}': folder '{parent}' does not exist")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ImageSaveError(f"cannot save '{dst}': no permission to write in '{ancestor}'")


def _renamed(dst: Path, taken: set[str], inputs: _Inputs) -> Path:
    for k in range(2, 100_000):
        cand = dst.with_name(f"{dst.stem}-{k}{dst.suffix}")
        if _key(cand) not in taken and inputs.find(cand) is None:
            return cand
    raise OutputClashError(f"cannot find a free name for '{dst}'")


def plan_outputs(pairs: Sequence[tuple[Path, Path]], *,
                 extra_inputs: Iterable[tuple[Path, str]] = (), overwrite: bool = False,
                 batch: bool | None = None, suffix: str | None = None,
                 extensions: Sequence[str] | None = None) -> list[tuple[Path, Path]]:
    """Checked (source, output) pairs for a run, decided before any work.

    ``pairs``: (photo, wanted output); ``extra_inputs``: (path, role) of the other files the
    run reads ("mask", "style image", "guide", "hints"). ``suffix`` replaces each output's
    extension (e.g. ".png" for masks); ``batch`` (default: more than one pair) gives clashing
    outputs distinct names instead of refusing. Raises OutputClashError / ImageSaveError.
    """
    batch = len(pairs) > 1 if batch is None else batch
    inputs = _Inputs([(src, "photo") for src, _ in pairs] + list(extra_inputs))
    wanted = [(Path(src), Path(dst).with_suffix(suffix) if suffix else Path(dst))
              for src, dst in pairs]
    if suffix and not batch and wanted and Path(pairs[0][1]).suffix.lower() != suffix:
        raise ImageSaveError(f"cannot save '{pairs[0][1]}': this command writes "
                             f"{suffix.lstrip('.').upper()} files; use -o "
                             f"'{wanted[0][1]}'")
    out: list[tuple[Path, Path] | None] = [None] * len(wanted)
    taken: set[str] = set()
    refused: list[str] = []
    # Outputs that are their own source keep their name (in place, with --overwrite).
    for i, (src, dst) in enumerate(wanted):
        if same_file(src, dst):
            if not overwrite:
                refused.append(f"'{dst}' is the input photo itself (pass --overwrite to "
                               "replace it)")
            elif _key(dst) not in taken:
                out[i] = (src, dst)
                taken.add(_key(dst))
    for i, (src, dst) in enumerate(wanted):
        if out[i] is not None or (same_file(src, dst) and not overwrite):
            continue
        hit = inputs.find(dst)
        clash = hit is not None and not same_file(hit[0], src)
        if clash or _key(dst) in taken or same_file(src, dst):
            if not batch:
                what = (f"{hit[1]} '{hit[0]}' of this run" if hit is not None
                        else "another output of this run")
                refused.append(f"'{dst}' is the {what}; choose another output name")
                continue
            new = _renamed(dst, taken, inputs)
            reason = (f"the {hit[1]} '{hit[0]}'" if clash and hit is not None
                      else "another result")
            log.warning("'%s' would write over %s; writing the result of '%s' to '%s'",
                        dst, reason, src, new.name)
            dst = new
        out[i] = (src, dst)
        taken.add(_key(dst))
    if refused:
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        raise OutputClashError(f"refusing to write over an input: {refused[0]}{more}; "
                               "nothing was done")
    planned = [p for p in out if p is not None]
    for _, dst in planned:
        check_output_path(dst, extensions=extensions, create_parent=batch)
    return planned
