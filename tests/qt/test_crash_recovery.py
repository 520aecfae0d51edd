"""Issue 25's audit scenarios with a real kill -9 of the editor process: the editor runs in a
subprocess (tests/qt/editor_driver.py drives the real entry point with mouse events), is
killed seconds after the last edit — long before the 3-minute autosave timer — and a new
window must offer the work and restore it exactly: (a) as it is, (b) after the original
photo was moved, (c) after it was changed, and (d) with a full disk the user was told."""

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from neuron_desktop.core.imageio import load_image, save_image
from neuron_desktop.core.masks import Hint
from neuron_desktop.core.sessions import list_sessions
from tests.qt.conftest import SAMPLES

REPO = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("editor_driver.py")


class Editor:
    """The editor in a subprocess of its own session, its stdout read line by line."""

    def __init__(self, tmp: Path, photo: Path, *extra: str) -> None:
        self.rec, self.out, self.data = tmp / "recovery", tmp / "out", tmp / "data"
        self.out.mkdir()
        env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen",
               "NEURON_RECOVERY_DIR": str(self.rec), "NEURON_SETTINGS_DIR": str(tmp / "set"),
               "XDG_DATA_HOME": str(self.data), "XDG_CACHE_HOME": str(tmp / "cache"),
               "XDG_CONFIG_HOME": str(tmp / "config"), "NEURON_DEVICE": "cpu",
               "OMP_NUM_THREADS": "1"}
        self.stderr = open(tmp / "stderr.txt", "w+")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, str(DRIVER), "edit", str(photo), str(self.out), *extra],
            env=env, stdout=subprocess.PIPE, stderr=self.stderr, text=True,
            start_new_session=True, stdin=subprocess.DEVNULL)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def expect(self, word: str, timeout: float = 240) -> list[str]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.proc.poll() is None, self.log()
                continue
            assert not line.startswith("DRIVER-ERROR"), json.loads(line.split(" ", 1)[1])
            if line.startswith(word):
                return line.split(" ", 1)[1:]
        pytest.fail(f"no {word} from the editor in {timeout} s\n{self.log()}")

    def log(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()[-4000:]

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        assert self.proc.returncode == -signal.SIGKILL
        self.stderr.close()


def _written(rec: Path, revision: int) -> bool:
    return any(s.record.get("revision") == revision for s in list_sessions(rec))


def _edit_and_kill(tmp_path, photo, before_kill=None):
    ed = Editor(tmp_path, photo)
    revision = int(ed.expect("EDITED")[0].split()[0])
    edited = time.monotonic()
    if before_kill is not None:
        before_kill()
    deadline = edited + 45  # debounced: written about 1.5 s after the last edit (slower loaded)
    while not _written(ed.rec, revision) and time.monotonic() < deadline:
        time.sleep(0.1)
    written = _written(ed.rec, revision)
    log = ed.log()
    ed.kill()
    assert time.monotonic() - edited < 60, "not killed before the 3-minute timer"
    revisions = [s.record.get("revision") for s in list_sessions(ed.rec)]
    assert written, (f"revision {revision} not autosaved 45 s after the edit (on disk: "
                     f"{revisions})\n{log}")
    return ed


def _restore(make_window, qtbot, ed):
    w = make_window(recovery_dir=ed.rec)
    box = w.offer_recovery()
    assert box is not None, "nothing offered after the crash"
    with qtbot.waitSignal(w.documentOpened, timeout=30000):
        box.button(QMessageBox.StandardButton.Yes).click()
    exp = np.load(ed.out / "expected.npz")
    doc = w.doc
    assert np.abs(doc.image - exp["image"]).max() <= 0.5 / 65535 + 1e-6
    assert np.abs(doc.mask - exp["mask"]).max() <= 0.5 / 255 + 1e-6
    assert np.array_equal(doc.original, exp["original"])
    hints = json.loads((ed.out / "hints.json").read_text())
    assert doc.hints == tuple(Hint.from_dict(h) for h in hints) and len(hints) == 1
    assert doc.mask.any() and not np.array_equal(doc.image, doc.original)  # inpainted
    assert w.history.count() == 1
    return w


@pytest.fixture
def photo(tmp_path):
    """The sample with EXIF and an ICC profile (kept by the session, for export)."""
    from PIL import Image, ImageCms

    p = tmp_path / "photos" / "scan.jpg"
    p.parent.mkdir()
    exif = Image.Exif()
    exif[0x013B] = "A. Restorer"  # Artist
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.open(SAMPLES / "old_photo.jpg").save(p, quality=95, exif=exif.tobytes(),
                                               icc_profile=icc)
    return p


def test_kill_before_the_timer_fired(make_window, qtbot, tmp_path, photo):
    """(a) paint, inpaint, paint, hint, kill -9 within seconds: offered and restored."""
    ed = _edit_and_kill(tmp_path, photo)
    w = _restore(make_window, qtbot, ed)
    assert w.doc.path == photo and "scan.jpg" in w.windowTitle()


def test_kill_then_original_moved(make_window, qtbot, tmp_path, photo):
    """(b) the photo is moved after the crash: restored from the session's own copy."""
    src = load_image(photo)
    assert src.exif and src.icc_profile
    ed = _edit_and_kill(tmp_path, photo)
    photo.rename(tmp_path / "moved.jpg")
    w = _restore(make_window, qtbot, ed)
    assert "moved or deleted" in w.statusBar().currentMessage()
    assert (w.doc.source.exif, w.doc.source.icc_profile) == (src.exif, src.icc_profile)
    out = w.doc.save(tmp_path / "export.png")  # exported with the photo's metadata
    assert load_image(out).icc_profile == src.icc_profile


def test_original_changed_then_kill(make_window, qtbot, tmp_path, photo):
    """(c) the photo is overwritten while the editor runs, then the editor is killed: the
    session's original and result are restored, not the new file."""
    def overwrite():
        save_image(photo, np.full((40, 50, 3), 0.9, np.float32))

    ed = _edit_and_kill(tmp_path, photo, overwrite)
    w = _restore(make_window, qtbot, ed)
    assert "has changed" in w.statusBar().currentMessage()
    assert w.doc.width == 451  # not the 50×40 file now at that path


def test_full_disk_is_told_then_kill(make_window, tmp_path, photo):
    """(d) every recovery write fails with ENOSPC: the running editor tells the user and
    logs it; after kill -9 nothing half-written is offered."""
    ed = Editor(tmp_path, photo, "--full-disk")
    ed.expect("EDITED")
    notice = json.loads(ed.expect("NOTICE", timeout=30)[0])
    assert "No space left on device" in notice and "crash" in notice
    ed.kill()
    log = (ed.data / "neuron-desktop" / "logs" / "neuron-desktop.log").read_text()
    assert "autosave to" in log and "No space left on device" in log
    assert "Traceback" in log  # logged with the cause
    assert make_window(recovery_dir=ed.rec).offer_recovery() is None
