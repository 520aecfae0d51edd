"""Render the editor offscreen and write docs/screenshots/*.png.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py [OUT_DIR]

Uses throw-away settings, recovery and cache folders, the bundled samples, the shipped
weights and the real window.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLES = ROOT / "neuron_desktop" / "resources" / "samples"


def close(w) -> None:
    """Close without the save-changes prompt (it would wait for a click offscreen)."""
    w.history.setClean()
    w.close()


def sample_window(photo: str | Path):
    """(app, window): the editor at 1400x900 with fresh settings, the bundled ``photo`` (or
    a path) open (for the one-shot screenshot scripts)."""
    from PySide6.QtCore import QSettings

    from neuron_desktop.qt.app import create_app
    from neuron_desktop.qt.main_window import MainWindow

    app = create_app()
    tmp = Path(tempfile.mkdtemp(prefix="neuron-shots-"))
    w = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat),
                   recovery_dir=tmp / "recovery")
    w.resize(1400, 900)
    w.show()
    w.open_file(SAMPLES / photo, wait=True)
    return app, w


def gray_copy(photo: str) -> Path:
    """A black-and-white PNG of the bundled ``photo`` in a fresh temporary folder (the
    editor colorizes it without asking, as it would a colour photo)."""
    import cv2

    gray = cv2.cvtColor(cv2.imread(str(SAMPLES / photo)), cv2.COLOR_BGR2GRAY)
    path = Path(tempfile.mkdtemp(prefix="neuron-shots-")) / f"{Path(photo).stem}_bw.png"
    cv2.imwrite(str(path), cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    return path


def finish(w, out_dir: str | None, name: str) -> int:
    """The one-shot scripts' end: screenshot ``w`` to ``out_dir`` (default docs/screenshots)
    as ``name``, keep it small, close the window; 0 for ``sys.exit``."""
    from neuron_desktop.qt.app import screenshot

    path = screenshot(w, Path(out_dir or ROOT / "docs" / "screenshots") / name)
    shrink(path)
    close(w)
    print(f"wrote {path}")
    return 0


def wait_until(app, done, timeout: float, what: str) -> None:
    """Process events until ``done()`` (SystemExit naming ``what`` after ``timeout`` s), then
    a few more so the window has drawn the result."""
    t0 = time.time()
    while not done() and time.time() - t0 < timeout:
        app.processEvents()
        time.sleep(0.01)
    if not done():
        raise SystemExit(f"no {what} within {timeout:g} s")
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)


def main(out_dir: str | None = None) -> int:
    from PySide6.QtCore import QSettings

    from neuron_desktop.qt.app import create_app, screenshot
    from neuron_desktop.qt.main_window import MainWindow

    app = create_app()
    out = Path(out_dir or ROOT / "docs" / "screenshots")
    tmp = Path(tempfile.mkdtemp(prefix="neuron-shots-"))
    os.environ["XDG_CACHE_HOME"] = str(tmp / "cache")  # style thumbnails rendered afresh

    def window() -> MainWindow:
        w = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat),
                       recovery_dir=tmp / "recovery")
        w.resize(1400, 900)
        w.show()
        app.processEvents()
        return w

    def settle(w: MainWindow, timeout: float = 60.0) -> None:
        t0 = time.time()
        while ((w.jobs.busy or w.suggest_jobs.busy or w.styles_panel.busy)
               and time.time() - t0 < timeout):
            app.processEvents()
            time.sleep(0.01)
        for _ in range(5):
            app.processEvents()

    written = []
    # 1. main window
    w = window()
    w.open_file(SAMPLES / "old_photo.jpg", wait=True)
    written.append(screenshot(w, out / "main_window.png"))
    close(w)

    # 2. mask painting: imported scratch mask plus a brush stroke, brush cursor visible
    w = window()
    w.open_file(SAMPLES / "old_photo.jpg", wait=True)
    w.import_mask(SAMPLES / "old_photo_mask.png", wait=True)
    w.brush_panel.size.setValue(14)
    w.brush.begin(300, 60, False)
    for x in range(300, 380, 4):
        w.brush.move(x, 60 + (x - 300) * 0.6)
    w.brush.end()
    screenshot(w, out / "mask_painting.png")
    c = w.canvas
    c._mouse = c.image_to_widget(380, 108)
    written.append(screenshot(w, out / "mask_painting.png"))
    close(w)

    # 3. colour hints with the ab-gamut picker
    w = window()
    w.open_file(SAMPLES / "old_photo.jpg", wait=True)
    w.set_tool("hints")
    for (x, y), rgb in [((150, 120), (0.45, 0.62, 0.30)), ((300, 115), (0.40, 0.60, 0.35)),
                        ((225, 230), (0.80, 0.55, 0.50)), ((60, 40), (0.60, 0.55, 0.45))]:
        w.hint_tool.color = rgb
        w.hint_tool.add(x, y)
    w.hint_tool.remember_color((0.2, 0.3, 0.7))
    w._hint_selected(0)
    w.hint_panel.recent.set_colors(w.hint_tool.recent)
    w.canvas.selected_hint = 0
    settle(w)
    written.append(screenshot(w, out / "hints_gamut.png"))
    close(w)

    # 4. style gallery: thumbnails rendered by the shipped fast network on coffee.jpg, a
    # blend of two gallery styles applied to a sample photo
    w = window()
    w.open_file(SAMPLES / "astronaut.jpg", wait=True)
    w._show_operation("Stylize")  # raises the Styles dock, which renders the gallery
    settle(w)
    styles = ["matisse_woman_with_a_hat_1905", "van_gogh_starry_night_1889"]
    w.styles_panel.select("fast", styles)
    w.stylize_panel.weights[styles[0]].setValue(60)
    w.stylize_panel.strength.setValue(80)
    w.run_stylize()
    settle(w)
    written.append(screenshot(w, out / "style_gallery.png"))
    close(w)

    # 5. before/after split view of an inpainted photo
    w = window()
    w.open_file(SAMPLES / "old_photo.jpg", wait=True)
    w.import_mask(SAMPLES / "old_photo_mask.png", wait=True)
    w.run_inpaint()
    settle(w)
    w.act_split.setChecked(True)
    w.canvas.set_split(True)
    w.canvas.split_pos = 0.5
    written.append(screenshot(w, out / "before_after.png"))
    close(w)

    # 6. Detect scratches (learned detector) added to a painted stroke
    w = window()
    w.open_file(SAMPLES / "old_photo.jpg", wait=True)
    w.set_tool("brush")
    w.brush_panel.size.setValue(10)
    w.brush.begin(330, 200, False)
    for x in range(330, 400, 4):
        w.brush.move(x, 200 + (x - 330) * 0.3)
    w.brush.end()
    w.brush_panel.detector.setCurrentIndex(w.brush_panel.detector.findData("network"))
    w.detect_scratches()
    settle(w)
    written.append(screenshot(w, out / "detect_scratches.png"))
    close(w)

    # 7. scan basics: the Scan dock (histogram, curve) and the crop tool at 4:3
    w = window()
    written += scan_tools_shots(w, out, app)
    close(w)

    # 8. mask shapes (a lasso being drawn) and Help > Keyboard shortcuts
    w = window()
    written += toolset_shots(w, out, app)
    close(w)
    w.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)
    for p in written:
        shrink(Path(p))
        print(f"wrote {p} ({Path(p).stat().st_size // 1024} KB)")
    return 0


def shrink(path: Path, limit: int = 300_000) -> None:
    """Quantise a PNG over ``limit`` bytes to 256 colours, then downscale it while it is
    still over (screenshots stay small)."""
    from PIL import Image

    if path.suffix != ".png" or path.stat().st_size <= limit:
        return
    im = Image.open(path).convert("RGB")
    scale = 1.0
    while True:
        size = (round(im.width * scale), round(im.height * scale))
        small = im if scale == 1.0 else im.resize(size, Image.Resampling.LANCZOS)
        small.quantize(256, dither=Image.Dither.NONE).save(path, "PNG", optimize=True)
        if path.stat().st_size <= limit or scale < 0.5:
            return
        scale *= 0.85


def scan_tools_shots(w, out: Path, app) -> list[Path]:
    """The Scan dock with a curve being shaped, and the crop tool at 4:3."""
    from neuron_desktop.qt.app import screenshot

    w.open_file(SAMPLES / "old_photo.jpg", wait=True)
    st = w.scan_tools
    st.act_crop.setChecked(True)
    crop = st.panel.forms["crop"].widgets
    crop["aspect"].setCurrentIndex(crop["aspect"].findData("4:3"))
    st.panel.forms["levels"].widgets["black"].setValue(18)
    st.panel.forms["curves"].widgets["points"].setText("0,0 70,55 180,205 255,255")
    doc = w.doc
    st.overlay.set_crop((int(doc.width * 0.08), int(doc.height * 0.1),
                         int(doc.width * 0.8), int(doc.width * 0.6)), notify=True)
    for _ in range(5):
        app.processEvents()
    return [screenshot(w, out / "scan_tools.png")]


def toolset_shots(w, out: Path, app) -> list[Path]:
    """A lasso outline being drawn over the mask, and the searchable shortcut list."""
    from neuron_desktop.qt.app import screenshot

    w.open_file(SAMPLES / "old_photo.jpg", wait=True)
    w.import_mask(SAMPLES / "old_photo_mask.png", wait=True)
    w.mask_tools.act_lasso.setChecked(True)
    o = w.mask_tools.overlay
    o.points = [w.canvas_point(x, y) for x, y in
                ((120, 60), (200, 45), (260, 90), (240, 160), (150, 170))]
    o._hover = w.canvas_point(110, 120)
    o.update()
    for _ in range(5):
        app.processEvents()
    shots = [screenshot(w, out / "mask_lasso.png")]
    d = w.help_wiring.show_shortcuts()
    d.search.setText("mask")
    d.resize(700, 420)
    for _ in range(5):
        app.processEvents()
    d.grab().save(str(out / "shortcuts.png"))
    shots.append(out / "shortcuts.png")
    d.close()
    return shots


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
