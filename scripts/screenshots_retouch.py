"""Render the retouching tools offscreen into docs/screenshots/ (each under 300 KB):
fill_as_you_paint.png, compare_methods.png, clone_brush.png.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots_retouch.py [OUT_DIR]

The real window on the bundled sample (throw-away settings and recovery folder), driven
with real mouse events on the canvas.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLES = ROOT / "neuron_desktop" / "resources" / "samples"
MAX_BYTES = 300_000
# the sample's left scratch (from old_photo_mask.png), and part of the long right one
SCRATCH = [(168, 28), (164, 36), (159, 44), (155, 52), (152, 60), (147, 76), (145, 84),
           (138, 100), (134, 108), (130, 116), (126, 124), (122, 132), (119, 140), (115, 148),
           (113, 156), (110, 164), (106, 172), (102, 180), (100, 188), (99, 196), (91, 212),
           (87, 220)]
RIGHT = [(264, 214), (269, 222), (274, 230), (278, 238), (282, 246), (287, 254)]


def save_small(widget, path: Path) -> Path:
    """``widget.grab()`` as a PNG under MAX_BYTES (palette-reduced when needed)."""
    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice

    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    widget.grab().save(buf, "PNG")
    data = bytes(buf.data())
    path.parent.mkdir(parents=True, exist_ok=True)
    if len(data) > MAX_BYTES:
        img = Image.open(io.BytesIO(data)).convert("RGB")
        img = img.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        out = io.BytesIO()
        img.save(out, "PNG", optimize=True)
        data = out.getvalue()
    path.write_bytes(data)
    return path


def main(out_dir: str | None = None) -> int:
    from PySide6.QtCore import QPointF, QSettings, Qt
    from PySide6.QtTest import QTest

    from neuron_desktop.qt.app import create_app
    from neuron_desktop.qt.main_window import MainWindow

    app = create_app()
    out = Path(out_dir or ROOT / "docs" / "screenshots")
    tmp = Path(tempfile.mkdtemp(prefix="neuron-shots-"))

    def wait(cond, timeout=120.0) -> None:
        t0 = time.time()
        while not cond() and time.time() - t0 < timeout:
            app.processEvents()
            time.sleep(0.01)
        for _ in range(5):
            app.processEvents()

    def window() -> MainWindow:
        w = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat),
                       recovery_dir=tmp / "recovery")
        w.resize(1200, 768)  # the Tools dock unscrolled
        w.show()
        app.processEvents()
        w.open_file(SAMPLES / "old_photo.jpg", wait=True)
        app.processEvents()
        w.canvas.set_zoom(2.0, w.canvas.image_to_widget(150, 130))
        app.processEvents()
        return w

    def drag(w, points, mods=Qt.KeyboardModifier.NoModifier) -> None:
        c = w.canvas
        pts = [c.image_to_widget(x, y).toPoint() for x, y in points]
        QTest.mousePress(c, Qt.MouseButton.LeftButton, mods, pts[0])
        for p in pts[1:]:
            QTest.mouseMove(c, p)
        QTest.mouseRelease(c, Qt.MouseButton.LeftButton, mods, pts[-1])

    written = []
    # 1. fill as you paint: the left scratch painted over, its fill shown (not applied)
    w = window()
    w.brush_panel.size.setValue(7)
    drag(w, SCRATCH)
    wait(lambda: w.live_fill.pending is not None)
    w.canvas._mouse = w.canvas.image_to_widget(*SCRATCH[-1])
    w.act_split.trigger()  # split view: the original on the left, the fill on the right
    w.canvas.split_pos = (w.canvas.image_to_widget(128, 0).x()) / w.canvas.width()
    w.canvas.update()
    w.docks["tools"].widget().ensureWidgetVisible(w.live_fill.panel)
    app.processEvents()
    written.append(save_small(w, out / "fill_as_you_paint.png"))

    # 2. compare methods on the same stroke
    d = w.live_fill.compare()
    wait(lambda: not d.running, 600)
    d.resize(d.sizeHint())
    app.processEvents()
    written.append(save_small(d, out / "compare_methods.png"))
    d.close()
    w.history.setClean()
    w.close()

    # 3. clone / heal brush: the source chosen by Alt+click, a heal stroke over the lower
    # part of the long scratch, the brush ring and its source mark shown
    w = window()
    ct = w.clone_tool
    ct.act.trigger()
    ct.panel.size.setValue(10)
    c = w.canvas
    QTest.mouseClick(c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier,
                     c.image_to_widget(RIGHT[0][0] - 24, RIGHT[0][1]).toPoint())
    drag(w, RIGHT)
    wait(lambda: not ct.blending)
    ct._mouse = QPointF(c.image_to_widget(RIGHT[-1][0] + 2, RIGHT[-1][1] + 6))
    ct.overlay.update()
    app.processEvents()
    written.append(save_small(w, out / "clone_brush.png"))
    w.history.setClean()
    w.close()
    for p in written:
        print(p, p.stat().st_size)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
