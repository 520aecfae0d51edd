"""Screenshots of the live scratch preview, Protect faces, progress with time left and the
plain-word forms (issue 24). QWidget.grab() of the real window, offscreen.

Run from the repository root: ``QT_QPA_PLATFORM=offscreen python
scripts/screenshots_issue24.py``; writes docs/screenshots/ (PNG, downscaled to stay small).
"""

import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QRect, QSettings, Qt

from neuron_desktop.core.paths import samples_dir
from neuron_desktop.core.progress import Progress
from neuron_desktop.qt.app import create_app
from neuron_desktop.qt.main_window import MainWindow
from neuron_desktop.qt.workers import JobSpec

OUT = Path("docs/screenshots")


def settle(app, seconds=0.3):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.005)


def wait(app, cond, timeout=60):
    end = time.perf_counter() + timeout
    while not cond() and time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)
    settle(app)


def save(widget, name, width=None):
    """Grab ``widget`` and save it as a 256-colour PNG (under 300 KB for the docs)."""
    from PIL import Image

    img = widget.grab().toImage()
    if width and img.width() > width:
        img = img.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
    path = OUT / name
    img.save(str(path))
    Image.open(path).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(
        path, optimize=True)


def main() -> int:
    app = create_app(sys.argv)  # the editor's dark theme and icons
    tmp = Path(tempfile.mkdtemp())
    w = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat),
                   recovery_dir=tmp / "rec")
    w.resize(1280, 800)
    w.show()
    w.open_file(samples_dir() / "astronaut.jpg", wait=True)
    settle(app)
    w.canvas.fit()
    sp = w.scratch_preview
    form = sp.form.widgets
    form["method"].setCurrentIndex(form["method"].findData("classical"))
    shown = []
    sp.shown.connect(lambda *a: shown.append(a))
    form["sensitivity"].setValue(80)
    wait(app, lambda: shown and not sp.worker.pending)
    save(w, "scratch_preview.png", 1100)
    n = len(shown)
    form["protect_faces"].setChecked(True)
    wait(app, lambda: len(shown) > n and not sp.worker.pending)
    save(w, "protect_faces.png", 1100)
    form["protect_faces"].setChecked(False)

    def slow(device, cancel):  # a stand-in long job, to show the progress words
        for i in range(1, 41):
            time.sleep(0.1)
            cancel.check()
            yield Progress(i / 100, "Colorizing")
        return None

    w.jobs.submit(JobSpec("Colorize", slow))
    wait(app, lambda: "left" in w.progress_text.label.text(), 30)
    bar, label = w.statusBar(), w.progress_text.label
    x = max(0, label.x() - 8)
    bar.grab(QRect(x, 0, bar.width() - x, bar.height())).save(
        str(OUT / "progress_time_left.png"))
    w.cancel_jobs()
    settle(app)
    w._show_operation("Refine", focus=True)
    settle(app)
    save(w.docks["operations"], "plain_labels_refine.png")
    w._show_operation("Inpaint", focus=True)
    combo = w.inpaint_panel.widgets["method"]
    combo.showPopup()
    settle(app, 0.5)
    view = combo.view().window()
    save(view, "plain_labels_inpaint_methods.png")
    combo.hidePopup()
    w.history.setClean()
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
