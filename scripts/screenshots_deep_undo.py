"""Screenshots of deep undo on a big scan and of the Preferences dialog (issue 20).

A 24 MP (6000×4000) scan made from the bundled sample, 22 whole-image steps through the real
window (Levels and Auto contrast from the Scan dock, each computed off the GUI thread path
the editor uses), with a 1 GB memory and 3 GB disk undo budget so the History shows steps
spilled to disk and the oldest merged (its first row still the photo as opened).

Run from the repository root: ``QT_QPA_PLATFORM=offscreen python
scripts/screenshots_deep_undo.py``; writes docs/screenshots/history_big_scan.png and
preferences.png (and prints the History's memory and disk use).
"""

import os
import sys
import tempfile
from pathlib import Path

import cv2
from PySide6.QtCore import QSettings, Qt

from neuron_desktop.core.imageio import load_image, save_image
from neuron_desktop.core.paths import samples_dir
from neuron_desktop.qt.app import create_app
from neuron_desktop.qt.main_window import MainWindow

OUT = Path("docs/screenshots")


def settle(app, n=20):
    for _ in range(n):
        app.processEvents()


def save_small(pixmap, path: Path) -> None:
    """A screenshot as a 256-colour PNG (docs screenshots stay under 300 KB)."""
    from PIL import Image

    pixmap.save(str(path))
    Image.open(path).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(
        path, optimize=True)


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="neuron-shots-"))
    os.environ["XDG_CACHE_HOME"] = str(tmp / "cache")  # the undo disk cache, removed on close
    app = create_app(sys.argv)
    scan = tmp / "big_scan.png"
    small = load_image(samples_dir() / "old_photo.jpg").rgb
    save_image(scan, cv2.resize(small, (6000, 4000), interpolation=cv2.INTER_CUBIC))
    s = QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat)
    s.setValue("history/limit_mb", 1024)
    s.setValue("history/disk_limit_gb", 3)
    w = MainWindow(s, recovery_dir=tmp / "rec")
    w.resize(1280, 800)
    w.show()
    w.open_file(scan, wait=True)
    settle(app)
    st = w.scan_tools
    w.docks["history"].raise_()
    for i in range(22):
        if i % 4 == 3:
            st.runner.run_tone("auto-contrast", wait=True)
        else:
            st.panel.forms["levels"].widgets["black"].setValue(2 + i % 5)
            st.runner.run_tone("levels", wait=True)
        w.history.wait_spills()
        settle(app)
        print(f"step {i + 1}: {w.history.count()} rows, {w.history.nbytes >> 20} MB in "
              f"memory, {w.history.disk_nbytes >> 20} MB on disk", flush=True)
    w.resizeDocks([w.docks["history"]], [330], Qt.Orientation.Horizontal)
    w.undo_view.scrollToTop()
    settle(app, 40)
    save_small(w.grab(), OUT / "history_big_scan.png")
    from neuron_desktop.qt.preferences import open_preferences

    dlg = open_preferences(w)
    settle(app, 30)
    save_small(dlg.grab(), OUT / "preferences.png")
    dlg.reject()
    w.history.setClean()
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
