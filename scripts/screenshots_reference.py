"""docs/screenshots/colour_reference.png: Colorize with a colour reference chosen in the
panel. The photo is the bundled coffee sample made black and white; the reference is the
left half of its colour original (a stand-in for "a colour photo of the same scene").

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. python scripts/screenshots_reference.py [OUT_DIR]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from screenshots import SAMPLES, finish, wait_until  # noqa: E402


def main(out_dir: str | None = None) -> int:
    import cv2
    from PySide6.QtCore import QSettings

    from neuron_desktop.qt.app import create_app
    from neuron_desktop.qt.main_window import MainWindow

    tmp = Path(tempfile.mkdtemp(prefix="neuron-shots-"))
    colour = cv2.imread(str(SAMPLES / "coffee.jpg"))
    gray = cv2.cvtColor(cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    cv2.imwrite(str(tmp / "coffee_bw.png"), gray)
    cv2.imwrite(str(tmp / "coffee_reference.png"), colour[:, : colour.shape[1] // 2])
    app = create_app()
    w = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat),
                   recovery_dir=tmp / "recovery")
    w.resize(1400, 900)
    w.show()
    w.open_file(tmp / "coffee_bw.png", wait=True)
    w._show_operation("Colorize")
    w.colorize_panel.reference.setText(str(tmp / "coffee_reference.png"))
    done = []
    w.jobs.finished.connect(lambda *a: done.append(1))
    w.run_colorize()
    wait_until(app, lambda: bool(done), 120, "colorization")
    return finish(w, out_dir, "colour_reference.png")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
