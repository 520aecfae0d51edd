"""Kill -9 in the middle of a job, re-run the same command: it continues, never redoes a
finished photo and never leaves a half-written output."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from neuron_desktop.batch.state import DB_NAME
from neuron_desktop.core.imageio import load_image
from neuron_desktop.core.record import read_record

from .conftest import make_photos

ROOT = Path(__file__).resolve().parents[2]


def _command(recipe, inputs, out):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "neuron_desktop.cli", "batch", str(recipe), str(inputs),
            "-o", str(out), "--workers", "1", "-q"]
    return args, env


def _done(out: Path) -> dict[str, tuple[str, int]]:
    if not (out / DB_NAME).exists():
        return {}
    try:
        with sqlite3.connect(out / DB_NAME, timeout=5) as db:
            return {k: (o, a) for k, o, a in db.execute(
                "SELECT key, output, attempts FROM photos WHERE status = 'done'")}
    except sqlite3.OperationalError:  # the table is not created yet
        return {}


def test_sigkill_then_rerun(tmp_path, cheap_recipe):
    make_photos(tmp_path / "in", 24, size=(320, 240))
    out = tmp_path / "out"
    args, env = _command(cheap_recipe, tmp_path / "in", out)
    proc = subprocess.Popen(args, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while len(_done(out)) < 3:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "the job made no progress"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its worker, mid-job
    proc.wait()
    before = _done(out)
    assert 3 <= len(before) < 24, "killed too late to test a resume"
    # every output on disk is complete (atomic renames), and only finished rows have one
    finished = {Path(o) for o, _ in before.values()}
    for path in out.glob("*.png"):
        load_image(path)
        assert path in finished or path.stat().st_size > 0
    stamps = {o: Path(o).stat().st_mtime_ns for o, _ in before.values()}

    rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(before)} already done" in rerun.stderr
    after = _done(out)
    assert len(after) == 24
    for key, (output, attempts) in before.items():
        assert after[key] == (output, attempts) == (output, 1)  # never redone
        assert Path(output).stat().st_mtime_ns == stamps[output]
    assert len(list(out.glob("*.png"))) == 24
    assert not list(out.glob(".*.tmp")) and not list((out / ".neuron-batch-tmp").iterdir())
    assert read_record(out / "photo023.png").recipe == "cheap"
