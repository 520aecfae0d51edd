"""The Scan dock in the real window: crop (drag, aspect), turns and flips, straighten (draw
a line), levels/curves/auto-contrast, white balance with the eyedropper; each one undo step
computed on a worker, the mask and hints moving with the photo."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from neuron_desktop.core.imageio import save_image
from neuron_desktop.core.masks import Hint
from tests.qt.conftest import open_photo


def _photo(tmp_path, h=240, w=320, cast=(1.0, 1.0, 1.0)):
    """A generated scan: a grey ramp, a dark square, a white patch, a colour cast."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.repeat((0.25 + 0.5 * x / w)[..., None], 3, axis=2)
    img[40:80, 40:80] = 0.1
    img[150:190, 200:260] = 0.9  # something white
    img *= np.float32(cast)
    path = tmp_path / "scan.png"
    save_image(path, np.clip(img, 0, 1), bit_depth=16)
    return path


@pytest.fixture
def scan_window(window, qtbot, tmp_path):
    return open_photo(qtbot, window, _photo(tmp_path))


def _point(w, x, y) -> QPoint:
    return w.canvas_point(x, y).toPoint()


def _drag(qtbot, widget, points):
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=points[0])
    for p in points[1:]:
        qtbot.mouseMove(widget, p)
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=points[-1])


def _wait_scan(qtbot, w, fn):
    with qtbot.waitSignal(w.scan_tools.jobs.finished, timeout=20000):
        fn()


def test_rotate_and_flip_move_mask_and_hints_one_undo_step_each(scan_window, qtbot):
    w = scan_window
    doc = w.doc
    doc.mask[10:20, 30:50] = 1.0
    doc.set_hints([Hint(300, 5, (1.0, 0.0, 0.0), 9)])
    image, mask = doc.image.copy(), doc.mask.copy()
    p = w.scan_tools.panel
    _wait_scan(qtbot, w, lambda: qtbot.mouseClick(p.rotate_right, Qt.MouseButton.LeftButton))
    assert (w.doc.width, w.doc.height) == (240, 320)
    np.testing.assert_array_equal(w.doc.image, np.rot90(image, -1))
    np.testing.assert_array_equal(w.doc.mask, np.rot90(mask, -1))
    np.testing.assert_array_equal(w.doc.original, np.rot90(image, -1))
    h = w.doc.hints[0]
    assert (h.x, h.y) == (240 - 1 - 5, 300)
    assert w.history.undoText() == "Rotate right"
    assert w.canvas.pyramids()["image"].width == 240
    _wait_scan(qtbot, w, lambda: qtbot.mouseClick(p.flip_h, Qt.MouseButton.LeftButton))
    np.testing.assert_array_equal(w.doc.mask, np.rot90(mask, -1)[:, ::-1])
    w.history.undo()
    w.history.undo()
    assert w.doc.image.shape == image.shape
    np.testing.assert_array_equal(w.doc.image, image)
    np.testing.assert_array_equal(w.doc.mask, mask)
    assert w.doc.hints[0].x == 300
    w.history.redo()
    assert (w.doc.width, w.doc.height) == (240, 320)
    w.canvas.repaint()  # draws at the new size


def test_crop_by_dragging_a_square_then_enter(scan_window, qtbot):
    w = scan_window
    st = w.scan_tools
    w.doc.set_hints([Hint(150, 100, (0.0, 1.0, 0.0), 9), Hint(5, 5, (1.0, 0.0, 0.0), 9)])
    qtbot.mouseClick(st.panel.crop_tool, Qt.MouseButton.LeftButton)
    assert st.act_crop.isChecked() and st.overlay.isVisible()
    crop_form = st.panel.forms["crop"].widgets
    crop_form["aspect"].setCurrentIndex(crop_form["aspect"].findData("1:1"))
    before = w.doc.image.copy()
    _drag(qtbot, st.overlay, [_point(w, 100, 50), _point(w, 180, 100), _point(w, 220, 120)])
    x, y, cw, ch = st.overlay.crop
    assert cw == ch and (x, y) == (100, 50) and 100 <= cw <= 125
    assert crop_form["width"].value() == cw  # the form follows the drag
    st.overlay.setFocus()
    _wait_scan(qtbot, w, lambda: qtbot.keyClick(st.overlay, Qt.Key.Key_Return))
    assert (w.doc.width, w.doc.height) == (cw, ch)
    np.testing.assert_array_equal(w.doc.image, before[y:y + ch, x:x + cw])
    assert [(h.x, h.y) for h in w.doc.hints] == [(50, 50)]  # the cut-off hint is gone
    assert w.history.undoText() == f"Crop to {cw}×{ch}"
    w.history.undo()
    assert w.doc.image.shape == before.shape and len(w.doc.hints) == 2
    qtbot.keyClick(w, Qt.Key.Key_B)  # back to the brush: the overlay goes away
    w.set_tool("brush")
    assert not st.overlay.isVisible() and w.canvas.tool == "brush"


def test_straighten_by_drawing_a_line_along_the_horizon(scan_window, qtbot):
    w = scan_window
    st = w.scan_tools
    w.doc.mask[100:140, 100:200] = 1.0
    qtbot.mouseClick(st.panel.straighten_tool, Qt.MouseButton.LeftButton)
    assert st.overlay.mode == "straighten"
    # a horizon sloping down to the right by 5 %: the photo turns anticlockwise
    _wait_scan(qtbot, w, lambda: _drag(qtbot, st.overlay, [
        _point(w, 20, 100), _point(w, 160, 107), _point(w, 300, 114)]))
    angle = st.panel.forms["straighten"].widgets["angle"].value()
    assert angle == pytest.approx(-np.degrees(np.arctan(14 / 280)), abs=0.3)
    assert w.doc.width < 320 and w.doc.height < 240
    assert w.doc.mask.shape == (w.doc.height, w.doc.width) and w.doc.mask.max() > 0.9
    assert w.history.undoText().startswith("Straighten")
    w.history.undo()
    assert (w.doc.width, w.doc.height) == (320, 240)


def test_levels_curves_and_auto_contrast_are_undo_steps(scan_window, qtbot):
    w = scan_window
    st = w.scan_tools
    w.docks["scan"].show()
    w.docks["scan"].raise_()
    qtbot.waitUntil(lambda: st.panel.histogram.hist is not None)
    levels = st.panel.forms["levels"].widgets
    levels["black"].setValue(40)
    before, hist = w.doc.image.copy(), st.panel.histogram.hist.copy()
    view = (w.canvas.zoom, w.canvas.offset)
    with qtbot.waitSignal(st.jobs.finished, timeout=20000):
        qtbot.mouseClick(st.panel.applies["levels"], Qt.MouseButton.LeftButton)
    assert (w.canvas.zoom, w.canvas.offset) == view  # same size: the view stays
    assert w.history.undoText() == "Levels"
    assert float(w.doc.image.min()) == 0.0 and not np.array_equal(w.doc.image, before)
    assert not np.array_equal(st.panel.histogram.hist, hist)  # the histogram follows
    # drag the curve's middle up with the mouse: the form's points follow
    curve = st.panel.curve
    r = curve.plot_rect()
    mid = QPoint(int(r.left() + r.width() / 2), int(r.bottom() - r.height() / 2))
    _drag(qtbot, curve, [mid, mid - QPoint(0, 20), mid - QPoint(0, 30)])
    points = st.panel.forms["curves"].widgets["points"].text()
    assert len(points.split()) == 3
    with qtbot.waitSignal(st.jobs.finished, timeout=20000):
        qtbot.mouseClick(st.panel.applies["curves"], Qt.MouseButton.LeftButton)
    assert w.history.undoText() == "Curves"
    with qtbot.waitSignal(st.jobs.finished, timeout=20000):
        w.scan_tools.act_auto_contrast.trigger()
    assert w.history.undoText() == "Auto contrast"
    w.brush.begin(50, 50, False)  # a stroke after the tone steps, undone first
    w.brush.move(90, 60)
    w.brush.end()
    for _ in range(4):
        w.history.undo()
    np.testing.assert_array_equal(w.doc.image, before)
    assert not w.doc.has_mask
    w.history.redo()
    assert w.history.undoText() == "Levels" and float(w.doc.image.min()) == 0.0


def test_eyedropper_removes_a_colour_cast(window, qtbot, tmp_path):
    w = open_photo(qtbot, window, _photo(tmp_path, cast=(1.0, 0.9, 0.7)))
    st = w.scan_tools
    qtbot.mouseClick(st.panel.eyedropper, Qt.MouseButton.LeftButton)
    assert st.overlay.mode == "eyedropper"
    r, g, b = w.doc.image[170, 230]
    assert r - b > 0.2
    with qtbot.waitSignal(st.jobs.finished, timeout=20000):
        qtbot.mouseClick(st.overlay, Qt.MouseButton.LeftButton, pos=_point(w, 230, 170))
    r, g, b = w.doc.image[170, 230]
    assert abs(r - b) < 0.02 and abs(r - g) < 0.02
    assert st.panel.forms["white-balance"].widgets["neutral"].text().count(",") == 2
    assert w.history.undoText() == "White balance"


def test_scan_actions_disabled_without_a_photo(window):
    st = window.scan_tools
    assert not st.act_rotate_left.isEnabled() and not st.panel.applies["levels"].isEnabled()
    assert not st.rotate("left")


def test_a_cropped_photo_survives_a_crash(make_window, qtbot, tmp_path):
    from PySide6.QtWidgets import QMessageBox

    w = open_photo(qtbot, make_window(), _photo(tmp_path))
    w.scan_tools.runner.run("crop", {"x": 10, "y": 20, "width": 100, "height": 80}, wait=True)
    w.doc.apply_patch(w.doc.bounds, mask=np.pad(np.ones((5, 5), np.float32),
                                                ((5, 70), (5, 90))))
    assert w.autosave(wait=True)
    w.stop_autosave()  # what kill -9 leaves: the lock dropped, nothing more written
    w.session.lock.release()
    w2 = make_window()
    box = w2.offer_recovery()
    assert box is not None
    with qtbot.waitSignal(w2.documentOpened, timeout=20000):
        box.button(QMessageBox.StandardButton.Yes).click()
    doc = w2.doc
    assert (doc.width, doc.height) == (100, 80) and doc.mask[7, 7] == 1.0
