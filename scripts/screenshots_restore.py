"""docs/screenshots/restore_split.png: the Restore operation applied to the bundled sepia
sample with the shipped restorer, shown in the before/after split view.

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. python scripts/screenshots_restore.py [OUT_DIR]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from screenshots import SAMPLES, close, shrink  # noqa: E402


def main(out_dir: str | None = None) -> int:
    from PySide6.QtCore import QSettings

    from neuron_desktop.qt.app import create_app, screenshot
    from neuron_desktop.qt.main_window import MainWindow

    app = create_app()
    out = Path(out_dir or ROOT / "docs" / "screenshots")
    tmp = Path(tempfile.mkdtemp(prefix="neuron-shots-"))
    w = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat),
                   recovery_dir=tmp / "recovery")
    w.resize(1400, 900)
    w.show()
    w.open_file(SAMPLES / "old_photo.jpg", wait=True)
    w._show_operation("Restore")
    steps = w.history.count()
    if w.run_capability("restore") is None:
        raise SystemExit("Restore did not start")
    t0 = time.time()  # the result lands once the worker has made the new layer
    while (w.jobs.busy or w.history.count() == steps) and time.time() - t0 < 120:
        app.processEvents()
        time.sleep(0.01)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)
    if w.history.count() == steps:
        raise SystemExit("Restore left no step in the history")
    w.act_split.setChecked(True)
    w.canvas.set_split(True)
    w.canvas.split_pos = 0.5
    path = screenshot(w, out / "restore_split.png")
    shrink(path)
    close(w)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
