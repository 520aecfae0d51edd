"""The undo history's disk cache: old steps' layers spilled out of memory (no Qt).

Deep undo on big scans cannot keep every step in memory: a full-image step of a 24 MP photo
holds a 288 MB float32 layer and its display pyramid. When the history's steps use more than
its memory budget, the layers of the oldest steps that are not on screen are written here,
one ``.npy`` file per array, and read back memory-mapped (copy-on-write: pages are read only
when shown, and an edit of a layer brought back never writes to the file). The files are
exact copies: undo through the cache is lossless.

Each editor window has one :class:`SpillCache`, a folder ``undo/<pid>-<random>`` in the
user's cache folder (``core.paths.user_cache_dir``). The folder is removed when the window
closes (:meth:`SpillCache.close`), at interpreter exit as a fallback, and, for a process that
crashed, by :func:`sweep_stale` at the next start (folders whose process is gone). A file is
deleted as soon as no step refers to its array any more (a finalizer on the array).
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import threading
import uuid
import weakref
from pathlib import Path

import numpy as np

from neuron_desktop.core.paths import user_cache_dir

log = logging.getLogger(__name__)


def cache_root() -> Path:
    return user_cache_dir() / "undo"


def ram_nbytes(arr: np.ndarray | None) -> int:
    """Bytes of ``arr`` held in memory (0 for a memory-mapped array: it lives on disk)."""
    if arr is None:
        return 0
    return 0 if isinstance(arr, np.memmap) or isinstance(arr.base, np.memmap) else arr.nbytes


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def sweep_stale(root: Path | None = None) -> int:
    """Remove the cache folders of processes that no longer run (a crash); returns how many."""
    root = root or cache_root()
    removed = 0
    if not root.is_dir():
        return 0
    for d in root.iterdir():
        pid = d.name.split("-", 1)[0]
        if d.is_dir() and pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(d, ignore_errors=True)
            removed += 1
    return removed


class SpillCache:
    """A folder of spilled arrays; ``disk_bytes`` is what its live files use."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or cache_root()
        self._dir: Path | None = None
        self._lock = threading.Lock()
        self._files: dict[str, int] = {}  # path -> bytes, live files only
        self._closed = False
        atexit.register(self.close)

    @property
    def folder(self) -> Path:
        if self._dir is None:
            self.root.mkdir(parents=True, exist_ok=True)
            sweep_stale(self.root)
            self._dir = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=self.root))
            log.info("undo disk cache in %s", self._dir)
        return self._dir

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def disk_bytes(self) -> int:
        with self._lock:
            return sum(self._files.values())

    def spill(self, arr: np.ndarray) -> np.ndarray:
        """Write ``arr`` to a new file (atomically) and return it memory-mapped
        (copy-on-write); the file goes when the returned array is garbage-collected.
        Safe to call from a worker thread."""
        if self._closed:
            raise RuntimeError("the undo cache is closed")
        path = self.folder / f"{uuid.uuid4().hex}.npy"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:  # a file object: np.save would append ".npy" to a name
            np.save(f, np.ascontiguousarray(arr), allow_pickle=False)
        os.replace(tmp, path)
        mapped = np.load(path, mmap_mode="c")
        with self._lock:
            self._files[str(path)] = path.stat().st_size
        weakref.finalize(mapped, self._remove, str(path))
        return mapped

    def _remove(self, path: str) -> None:
        with self._lock:
            self._files.pop(path, None)
        try:
            os.unlink(path)
        except OSError:
            pass

    def close(self) -> None:
        """Delete the folder and everything in it (the window is closing)."""
        self._closed = True
        with self._lock:
            self._files.clear()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            log.info("undo disk cache %s removed", self._dir)
            self._dir = None
