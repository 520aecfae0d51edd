"""Test-only probe: where every operation's Apply button lies in the real window.

    layout_probe.py WIDTH HEIGHT OUT.json

opens the bundled sample in the real window at WIDTH×HEIGHT (logical pixels), shows each
operation (and each Scan section) in turn and writes what :func:`apply_buttons` reports.
Run with QT_SCALE_FACTOR=2 and an offscreen screen of twice the size to check 200 %
scaling (test_layout.py). Never shipped.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QPoint, QRect  # noqa: E402
from PySide6.QtWidgets import QAbstractScrollArea  # noqa: E402


def settle(app, n: int = 8) -> None:
    for _ in range(n):
        app.processEvents()


def in_view(window, button) -> dict:
    """Whether ``button`` is wholly visible: shown, not clipped by a scroll area or its
    dock, and inside the window."""
    top_left = button.mapTo(window, QPoint(0, 0))
    rect = QRect(top_left, button.size())
    visible = button.visibleRegion().boundingRect() == button.rect()
    scrolled = False
    p = button.parentWidget()
    while p is not None and p is not window:
        if isinstance(p, QAbstractScrollArea):
            bar = p.verticalScrollBar()
            vp = p.viewport()
            origin = button.mapTo(vp, QPoint(0, 0))
            scrolled = scrolled or bar.value() != 0 or not vp.rect().contains(
                QRect(origin, button.size()))
        p = p.parentWidget()
    return {"rect": [rect.x(), rect.y(), rect.width(), rect.height()],
            "visible": bool(button.isVisible() and visible and not scrolled
                            and window.rect().contains(rect)),
            "shown": button.isVisible(), "clipped": not visible, "scrolled": scrolled}


def apply_buttons(window, app) -> dict[str, dict]:
    """Each operation's and each Scan section's Apply button, shown in turn."""
    w = window
    out = {}
    for name, panel in w.operations.items():
        w._show_operation(name)
        settle(app)
        out[f"Operations/{name}"] = in_view(w, panel.apply)
    w.set_tool("brush")
    w.docks["tools"].raise_()
    settle(app)
    out["Tools/Detect scratches"] = in_view(w, w.brush_panel.detect)
    scan = w.scan_tools.panel
    w.docks["scan"].raise_()
    for i, section in enumerate(scan.pages.names):
        scan.pages.setCurrentIndex(i)
        settle(app)
        for cap, b in scan.applies.items():
            if scan.pages.current_page().isAncestorOf(b):
                out[f"Scan/{section}/{cap}"] = in_view(w, b)
    w.docks["tools"].raise_()
    return out


def main(width: int, height: int, out_path: str) -> int:
    from PySide6.QtCore import QSettings

    from neuron_desktop.core.paths import samples_dir
    from neuron_desktop.qt.app import create_app
    from neuron_desktop.qt.main_window import MainWindow

    app = create_app()
    tmp = Path(tempfile.mkdtemp(prefix="neuron-layout-"))
    w = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat),
                   recovery_dir=tmp / "recovery")
    w.resize(width, height)
    w.show()
    settle(app)
    w.open_file(samples_dir() / "old_photo.jpg", wait=True)
    settle(app)
    report = {"window": [w.width(), w.height()], "dpr": w.devicePixelRatio(),
              "grab": [w.grab().width(), w.grab().height()],
              "buttons": apply_buttons(w, app)}
    Path(out_path).write_text(json.dumps(report, indent=1))
    w.history.setClean()
    w.close()
    w.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))
