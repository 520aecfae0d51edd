"""Issue 25: temp files of interrupted atomic writes (``.NAME.<hex>.tmp``) are removed
safely: a writer killed with SIGKILL leaves one; the sweep removes it, never one whose
writer is still alive, never a symlink or a fresh file, and the old output survives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from neuron_desktop.core.imageio import save_image, sweep_temp_files

REPO = Path(__file__).resolve().parents[2]

WRITER = r"""
import os, sys, time
import numpy as np
from neuron_desktop.core import imageio

real_fsync = os.fsync
def stuck_fsync(fd):  # the data is written; hang before the rename, as a slow disk would
    print("writing", flush=True)
    time.sleep(120)
imageio.os.fsync = stuck_fsync
imageio.save_image(sys.argv[1], np.random.default_rng(0).random((300, 400, 3)))
"""


def _start_writer(out: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(out)], stdout=subprocess.PIPE,
                            text=True, env=env)
    assert proc.stdout.readline().strip() == "writing"
    return proc


def _temps(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.tmp"))


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX only")
def test_killed_writer_leaves_a_temp_that_is_swept_safely(tmp_path):
    out = tmp_path / "result.png"
    old = save_image(out, np.zeros((8, 8, 3), np.float32)).read_bytes()
    proc = _start_writer(out)
    try:
        [tmp] = _temps(tmp_path)
        hour_ago = time.time() - 3600
        os.utime(tmp, (hour_ago, hour_ago))
        assert sweep_temp_files(tmp_path) == []  # its writer is alive: locked, kept
        assert tmp.exists()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert out.read_bytes() == old  # the old result is whole
    assert _temps(tmp_path) == [tmp] and tmp.stat().st_size > 0  # the kill left it
    assert sweep_temp_files(tmp_path) == [tmp]
    assert _temps(tmp_path) == [] and out.read_bytes() == old


def test_next_save_in_the_folder_sweeps_leftovers(tmp_path):
    proc = _start_writer(tmp_path / "a.png")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    [tmp] = _temps(tmp_path)
    os.utime(tmp, (time.time() - 10, time.time() - 10))
    save_image(tmp_path / "b.png", np.zeros((4, 4, 3), np.float32))
    assert _temps(tmp_path) == []


def test_sweep_leaves_fresh_files_symlinks_and_other_names(tmp_path):
    fresh = tmp_path / ".x.png.0123456789ab.tmp"
    fresh.write_bytes(b"in progress")
    target = tmp_path / "precious.jpg"
    target.write_bytes(b"data")
    link = tmp_path / ".y.png.0123456789ab.tmp"
    link.symlink_to(target)
    other = tmp_path / ".notes.tmp"
    other.write_bytes(b"mine")
    old = time.time() - 3600
    os.utime(other, (old, old))
    os.utime(link, (old, old), follow_symlinks=False)
    assert sweep_temp_files(tmp_path) == []  # fresh (may not be locked yet), link, other
    assert fresh.exists() and link.is_symlink() and target.exists() and other.exists()
    os.utime(fresh, (old, old))
    assert sweep_temp_files(tmp_path) == [fresh]
