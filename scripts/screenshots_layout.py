"""Screenshots of the dock layout, split view, gamut picker and export options (issue 24).

Run from the repository root: ``QT_QPA_PLATFORM=offscreen python
scripts/screenshots_layout.py [OUT_DIR]``; writes docs/screenshots/ (each under 300 KB:
a 256-colour PNG, or a JPEG when that is still too big).
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

LIMIT = 300_000


def save_small(image, path: Path) -> Path:
    """Write a QImage/QPixmap as PNG (palette) or, if over the limit, JPEG."""
    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice

    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    im = Image.open(io.BytesIO(bytes(buf.data()))).convert("RGB")
    out = io.BytesIO()
    im.quantize(256, dither=Image.Dither.NONE).save(out, "PNG", optimize=True)
    if out.tell() > LIMIT:
        path = path.with_suffix(".jpg")
        out = io.BytesIO()
        im.save(out, "JPEG", quality=88, optimize=True)
    path.write_bytes(out.getvalue())
    assert path.stat().st_size < LIMIT, path
    return path


def settle(app, n: int = 12) -> None:
    for _ in range(n):
        app.processEvents()


def main(out_dir: str | None = None) -> int:
    from PySide6.QtCore import QSettings

    from neuron_desktop.core.document import Hint
    from neuron_desktop.core.paths import samples_dir
    from neuron_desktop.qt.app import create_app
    from neuron_desktop.qt.commands import EditCommand
    from neuron_desktop.qt.main_window import MainWindow

    app = create_app()
    out = Path(out_dir or ROOT / "docs" / "screenshots")
    tmp = Path(tempfile.mkdtemp(prefix="neuron-shots-"))
    samples = samples_dir()

    def window(w_: int = 1366, h_: int = 768) -> MainWindow:
        w = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat),
                       recovery_dir=tmp / "recovery")
        w.resize(w_, h_)
        w.show()
        settle(app)
        w.open_file(samples / "old_photo.jpg", wait=True)
        settle(app)
        return w

    def close(w: MainWindow) -> None:
        w.history.setClean()
        w.close()

    written = []
    # 1. the window at 1366×768: Inpaint's form and Apply under the mask tools
    w = window()
    w.import_mask(samples / "old_photo_mask.png", wait=True)
    w._show_operation("Inpaint")
    settle(app)
    written.append(save_small(w.grab(), out / "layout_1366x768.png"))
    # the Scan dock: the crop tool at 4:3 (Crop and turn), then the Levels section
    st = w.scan_tools
    st.act_crop.setChecked(True)
    crop = st.panel.forms["crop"].widgets
    crop["aspect"].setCurrentIndex(crop["aspect"].findData("4:3"))
    d = w.doc
    st.overlay.set_crop((int(d.width * 0.08), int(d.height * 0.1), int(d.width * 0.8),
                         int(d.width * 0.6)), notify=True)
    settle(app)
    written.append(save_small(w.grab(), out / "scan_tools.png"))
    w.set_tool("brush")
    st.overlay.set_crop(None, notify=True)
    st.panel.forms["levels"].widgets["black"].setValue(18)
    w.docks["scan"].raise_()
    w.scan_tools.panel.pages.show_page("Levels")
    w.scan_tools.refresh_histogram()
    settle(app)
    written.append(save_small(w.grab(), out / "layout_scan_levels.png"))
    close(w)

    # 2. split view: mask and hints on the result side only
    w = window()
    w.import_mask(samples / "old_photo_mask.png", wait=True)
    doc = w.doc
    hints = (Hint(110, 150, (0.2, 0.5, 0.9), 15), Hint(340, 150, (0.2, 0.5, 0.9), 15))
    w.history.push(EditCommand(doc, "Hints", hints=hints))
    w.act_split.setChecked(True)
    w.canvas.set_split(True)
    w.canvas.split_pos = 0.5
    w.canvas.update()
    settle(app)
    written.append(save_small(w.canvas.grab(), out / "split_view.png"))
    close(w)

    # 3. gamut picker: a hint on a mid-grey pixel, then on a black one
    w = window()
    w.set_tool("hints")
    w.hint_tool.color = (0.55, 0.4, 0.3)
    w.hint_tool.add(225, 150)
    w._hint_selected(0)
    settle(app)
    written.append(save_small(w.hint_panel.grab(), out / "gamut_picker.png"))
    w.hint_panel.picker.set_state(0.0, None)
    settle(app)
    written.append(save_small(w.hint_panel.picker.grab(), out / "gamut_picker_black.png"))

    # 4. export options, and a before/after export (the file itself)
    d = w.export_wiring.show_options()
    d.resize(420, d.sizeHint().height())
    settle(app)
    written.append(save_small(d.grab(), out / "export_options.png"))
    d.reject()
    close(w)
    w = window()
    w.import_mask(samples / "old_photo_mask.png", wait=True)
    w.inpaint_panel.set_method("telea")
    steps = w.history.count()
    w.run_capability("inpaint")
    end = time.monotonic() + 120
    while w.history.count() == steps and time.monotonic() < end:
        settle(app, 1)
        time.sleep(0.02)
    target = out / "before_after_export.jpg"
    w.export_wiring.export_before_after(target, wait=True)
    assert target.stat().st_size < LIMIT
    written.append(target)
    close(w)
    w.shutdown()
    for p in written:
        print(f"wrote {p} ({p.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
