"""docs/screenshots/uncertain_areas.png: View ▸ Show uncertain areas over the live automatic
colorization of the bundled sepia sample, with the shipped colorizer, in the current layout.

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. python scripts/screenshots_uncertain.py [OUT_DIR]
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
    w._show_operation("Colorize")  # the Colorize form beside the overlay
    got = []
    w.live_preview.live.confidenceReady.connect(lambda *a: got.append(1))
    w.live_preview.act_uncertain.setChecked(True)
    t0 = time.time()
    while not got and time.time() - t0 < 120:
        app.processEvents()
        time.sleep(0.01)
    if not got:
        raise SystemExit("no confidence overlay within 120 s")
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)
    path = screenshot(w, out / "uncertain_areas.png")
    shrink(path)
    close(w)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
