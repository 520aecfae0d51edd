"""Job state: one SQLite database (WAL) beside the output, one row per input photo.

Rows are keyed by the sha256 of the input's bytes, so a renamed or moved file is still
recognised as done, and duplicates are processed once. Only the driver process writes; a
row becomes ``done`` only after its output file has been renamed into place, so a crash at
any moment loses at most the photos in flight, which are re-run on resume.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from neuron_desktop.core.errors import NeuronError

log = logging.getLogger(__name__)

DB_NAME = "neuron-batch.sqlite"
PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS photos (
    key      TEXT PRIMARY KEY,            -- sha256 of the input file's bytes
    input    TEXT NOT NULL,               -- where it was found (first seen)
    output   TEXT NOT NULL,               -- where its result goes
    status   TEXT NOT NULL DEFAULT 'pending'
             CHECK (status IN ('pending', 'running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    error    TEXT,
    started  REAL,                        -- unix time of the last attempt
    seconds  REAL,                        -- wall time of the last attempt
    steps    TEXT                         -- JSON {"wall": {step: s}, "cpu": {step: s}}
);
CREATE INDEX IF NOT EXISTS photos_status ON photos (status);
CREATE TABLE IF NOT EXISTS files (        -- hash cache: a re-run does not re-read files
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, key TEXT NOT NULL
);
"""


class StateError(NeuronError):
    """The job's state database is missing, unreadable or belongs to another recipe."""


@dataclass(frozen=True)
class Counts:
    pending: int = 0
    running: int = 0
    done: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.running + self.done + self.failed


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


class JobState:
    """The state database of one output folder. Use from one thread (the driver)."""

    def __init__(self, out_dir: Path | str, *, create: bool = True) -> None:
        self.path = Path(out_dir) / DB_NAME
        if not create and not self.path.is_file():
            raise StateError(f"no batch job in '{out_dir}' (no {DB_NAME} there)")
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")  # with WAL: never corrupt
            self.db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StateError(f"cannot open the job state '{self.path}': {exc}") from exc

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> JobState:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- recipe binding ----------------------------------------------------------------

    def bind_recipe(self, name: str, sha256: str, text: str) -> None:
        """Remember the recipe of this job; a different recipe on the same OUT is refused."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'recipe_sha256'").fetchone()
        if row and row[0] != sha256:
            old = self.db.execute("SELECT value FROM meta WHERE key = 'recipe_name'").fetchone()
            raise StateError(f"'{self.path.parent}' holds a job of another recipe "
                             f"({old[0] if old else '?'}); use a new output folder")
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
                ("recipe_sha256", sha256), ("recipe_name", name), ("recipe", text)])

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    # --- adding inputs -----------------------------------------------------------------

    def key_of(self, path: Path) -> str:
        """The content hash of ``path``, from the cache when size and mtime are unchanged."""
        st = path.stat()
        row = self.db.execute("SELECT size, mtime_ns, key FROM files WHERE path = ?",
                              (str(path),)).fetchone()
        if row and row[0] == st.st_size and row[1] == st.st_mtime_ns:
            return row[2]
        key = file_sha256(path)
        self.db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)",
                        (str(path), st.st_size, st.st_mtime_ns, key))
        return key

    def add(self, items: Iterable[tuple[str, Path, Path]]) -> int:
        """Add (key, input, output) rows not yet known; returns how many were new."""
        before = self.db.total_changes
        with self.db:
            self.db.executemany(
                "INSERT OR IGNORE INTO photos (key, input, output) VALUES (?, ?, ?)",
                ((k, str(i), str(o)) for k, i, o in items))
        return self.db.total_changes - before

    def outputs(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT output, key FROM photos"))

    # --- running -------------------------------------------------------------------------

    def recover(self, retry_failed: bool = False) -> int:
        """Make a stopped job runnable: ``running`` rows (a crash) and ``done`` rows whose
        output vanished go back to ``pending``; with ``retry_failed`` failures too."""
        with self.db:
            n = self.db.execute("UPDATE photos SET status = 'pending' WHERE status = 'running'"
                                ).rowcount
            gone = [k for k, o in self.db.execute(
                "SELECT key, output FROM photos WHERE status = 'done'") if not os.path.exists(o)]
            self.db.executemany("UPDATE photos SET status = 'pending' WHERE key = ?",
                                ((k,) for k in gone))
            if retry_failed:
                n += self.db.execute("UPDATE photos SET status = 'pending', error = NULL "
                                     "WHERE status = 'failed'").rowcount
        if gone:
            log.warning("%d finished outputs are missing; they will be redone", len(gone))
        return n + len(gone)

    def pending(self) -> list[dict]:
        return [{"key": k, "input": i, "output": o} for k, i, o in self.db.execute(
            "SELECT key, input, output FROM photos WHERE status = 'pending' ORDER BY input")]

    def start(self, keys: list[str]) -> None:
        with self.db:
            self.db.executemany("UPDATE photos SET status = 'running', started = ?, "
                                "attempts = attempts + 1 WHERE key = ?",
                                ((time.time(), k) for k in keys))

    def finish(self, result: dict) -> None:
        """Record one result (``status`` done/failed, error, seconds, steps)."""
        import json

        with self.db:
            self.db.execute("UPDATE photos SET status = ?, error = ?, seconds = ?, steps = ? "
                            "WHERE key = ?",
                            (result["status"], result.get("error"), result.get("seconds"),
                             json.dumps(result.get("steps") or {}), result["key"]))

    def release(self, keys: list[str]) -> None:
        """Put rows that were started but not finished (cancel) back to pending."""
        with self.db:
            self.db.executemany("UPDATE photos SET status = 'pending' WHERE key = ? "
                                "AND status = 'running'", ((k,) for k in keys))

    # --- reporting -----------------------------------------------------------------------

    def counts(self) -> Counts:
        rows = dict(self.db.execute("SELECT status, COUNT(*) FROM photos GROUP BY status"))
        return Counts(**{k: rows.get(k, 0) for k in (PENDING, RUNNING, DONE, FAILED)})

    def failures(self) -> list[tuple[str, str]]:
        return list(self.db.execute(
            "SELECT input, error FROM photos WHERE status = 'failed' ORDER BY input"))

    def step_seconds(self, kind: str = "wall") -> dict[str, float]:
        """Mean seconds per photo and step over the done rows: ``wall`` time, or ``cpu``
        (the worker's process CPU time, all threads: independent of other load)."""
        import json

        total: dict[str, float] = {}
        n = 0
        for (steps,) in self.db.execute("SELECT steps FROM photos WHERE status = 'done'"):
            n += 1
            for k, v in json.loads(steps or "{}").get(kind, {}).items():
                total[k] = total.get(k, 0.0) + v
        return {k: v / n for k, v in total.items()} if n else {}


def open_state(out_dir: Path | str) -> JobState:
    """The state of an existing job (StateError if there is none)."""
    return JobState(out_dir, create=False)
