"""Inpainting while painting, the compare view and the clone / heal brush, in the real
window with real mouse and key events."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from neuron_desktop.pipelines import local_fill

FAST = ["telea", "ns", "harmonic"]


@pytest.fixture
def fast_methods(monkeypatch):
    """The compare view shows the classical methods only (the networks take seconds each
    on a test machine's CPU; they go through the same code)."""
    monkeypatch.setattr(local_fill, "compare_methods", lambda device=None: list(FAST))


def _pt(w, x, y) -> QPoint:
    return w.canvas_point(x, y).toPoint()


def _stroke(qtbot, w, points, mods=Qt.KeyboardModifier.NoModifier):
    c = w.canvas
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, mods, _pt(w, *points[0]))
    for p in points[1:]:
        qtbot.mouseMove(c, _pt(w, *p))
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, mods, _pt(w, *points[-1]))


SCRATCH = [(120 + 4 * i, 100 + i) for i in range(16)]  # a short stroke, 60 x 15 px


def _paint_and_wait(qtbot, w, points=SCRATCH):
    lf = w.live_fill
    old = lf.pending
    _stroke(qtbot, w, points)
    assert w.history.undoText() == "Paint mask"
    qtbot.waitUntil(lambda: lf.pending is not None and lf.pending is not old, timeout=20000)
    return lf.pending


def test_fill_as_you_paint_previews_applies_as_one_step_and_undoes(photo_window, qtbot):
    w = photo_window
    w.brush_panel.size.setValue(10)
    lf = w.live_fill
    assert lf.panel.enabled.isChecked() and lf.method == "telea"
    before = w.doc.image.copy()
    fill = _paint_and_wait(qtbot, w)
    x0, y0, x1, y1 = fill.box
    assert (x1 - x0) * (y1 - y0) < 20000  # the stroke's box, not the photo
    assert lf.overlay.patch is not None and lf.overlay.patch[0] == fill.box
    np.testing.assert_array_equal(w.doc.image, before)  # a preview only
    steps = w.history.count()
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_Return)  # Enter keeps it
    assert w.history.count() == steps + 1 and w.history.undoText() == "Fill: Fast (Telea)"
    step = w.edit_steps()[-1]  # the edit record says what was done where
    assert step["capability"] == "inpaint" and step["params"]["method"] == "telea"
    assert step["params"]["region"] == list(fill.box)
    hole = before[y0:y1, x0:x1] != w.doc.image[y0:y1, x0:x1]
    assert hole.any() and not w.doc.mask[y0:y1, x0:x1].any()  # filled, mask cleared there
    assert np.array_equal(w.doc.image[:y0], before[:y0])  # nothing else changed
    assert lf.pending is None and lf.overlay.patch is None
    w.history.undo()
    np.testing.assert_array_equal(w.doc.image, before)
    assert w.doc.mask[y0:y1, x0:x1].any()  # the painted mask is back


def test_another_stroke_updates_the_fill_and_esc_or_undo_drops_it(photo_window, qtbot):
    w = photo_window
    w.brush_panel.size.setValue(10)
    lf = w.live_fill
    before = w.doc.image.copy()
    first = _paint_and_wait(qtbot, w)
    second = _paint_and_wait(qtbot, w, [(200 + 3 * i, 180) for i in range(10)])
    assert second.box[0] <= first.box[0] and second.box[3] >= 180  # both strokes
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_Escape)
    assert lf.pending is None and lf.overlay.patch is None
    np.testing.assert_array_equal(w.doc.image, before)
    _paint_and_wait(qtbot, w, [(60, 60), (80, 70)])
    w.act_undo.trigger()  # Ctrl+Z: the stroke and its fill go
    assert lf.pending is None and lf.overlay.patch is None
    # with the option off a stroke is just a stroke
    lf.panel.enabled.setChecked(False)
    _stroke(qtbot, w, [(60, 200), (90, 210)])
    qtbot.wait(300)
    assert lf.pending is None and not lf.jobs.busy
    np.testing.assert_array_equal(w.doc.image, before)


def test_a_large_stroke_is_not_filled_as_you_paint(window, qtbot, tmp_path):
    from PIL import Image

    from tests.qt.conftest import open_photo

    path = tmp_path / "big.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (900, 1200, 3), np.uint8)).save(path)
    w = open_photo(qtbot, window, path)
    w.brush_panel.size.setValue(200)
    _stroke(qtbot, w, [(100, 100), (800, 600)])
    assert not w.live_fill.jobs.busy and w.live_fill.pending is None
    assert "too large" in w.live_fill.panel.status.text()


def test_compare_methods_shows_each_fill_and_applies_the_one_clicked(photo_window, qtbot,
                                                                     fast_methods):
    w = photo_window
    w.brush_panel.size.setValue(10)
    w.live_fill.panel.enabled.setChecked(False)
    _stroke(qtbot, w, SCRATCH)
    before = w.doc.image.copy()
    qtbot.mouseClick(w.live_fill.panel.compare, Qt.MouseButton.LeftButton)
    d = w.live_fill.compare_dialog
    assert d is not None and d.isVisible() and list(d.tiles) == FAST
    qtbot.waitUntil(lambda: len(d.fills) == len(FAST), timeout=30000)
    assert all(b.isEnabled() and not b.icon().isNull() for b in d.tiles.values())
    fills = {m: f.pixels for m, f in d.fills.items()}
    assert not np.array_equal(fills["telea"], fills["harmonic"])  # really different fills
    steps = w.history.count()
    qtbot.mouseClick(d.tiles["telea"], Qt.MouseButton.LeftButton)
    assert not d.isVisible()
    assert w.history.count() == steps + 1 and w.history.undoText() == "Fill: Fast (Telea)"
    x0, y0, x1, y1 = d.fills["telea"].box
    np.testing.assert_array_equal(w.doc.image[y0:y1, x0:x1], fills["telea"])
    assert not w.doc.has_mask  # the whole mask was compared, filled and cleared
    w.history.undo()
    np.testing.assert_array_equal(w.doc.image, before)


def test_compare_methods_can_be_stopped(photo_window, qtbot, monkeypatch):
    w = photo_window
    monkeypatch.setattr(local_fill, "compare_methods",
                        lambda device=None: ["telea", "exemplar", "exemplar"])
    w.doc.mask[100:140, 100:200] = 1.0
    d = w.live_fill.compare()
    qtbot.waitUntil(lambda: "telea" in d.fills, timeout=30000)
    qtbot.mouseClick(d.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not d.running, timeout=30000)
    assert "telea" in d.fills and len(d.fills) < 3
    d.close()


def test_clone_brush_alt_click_then_paint_copies_pixels(photo_window, qtbot):
    w = photo_window
    ct = w.clone_tool
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_J)  # the tool's shortcut
    assert ct.active and ct.panel.isVisible()
    ct.panel.mode.setCurrentIndex(ct.panel.mode.findData("clone"))
    ct.panel.size.setValue(20)
    qtbot.keyClick(w.canvas, Qt.Key.Key_BracketRight)  # ] enlarges the clone brush
    assert ct.panel.size.value() == 24
    ct.panel.size.setValue(20)
    ct.panel.hardness.setValue(100)
    before = w.doc.image.copy()
    steps = w.history.count()
    # painting before choosing a source does nothing (and says why)
    _stroke(qtbot, w, [(100, 60), (140, 60)])
    np.testing.assert_array_equal(w.doc.image, before)
    qtbot.mouseClick(w.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier,
                     _pt(w, 300, 200))  # the source
    assert ct.source is not None and w.history.count() == steps
    _stroke(qtbot, w, [(100 + 4 * i, 60) for i in range(11)])
    assert w.history.count() == steps + 1 and w.history.undoText() == "Clone stroke"
    assert w.edit_steps()[-1]["params"]["mode"] == "clone"
    ox, oy = ct.offset
    assert abs(ox - 200) <= 1 and abs(oy - 140) <= 1
    ox, oy = round(ox), round(oy)
    np.testing.assert_array_equal(w.doc.image[60, 104:137],
                                  before[60 + oy, 104 + ox:137 + ox])  # pixels moved
    assert np.array_equal(w.doc.image[150:], before[150:])
    w.history.undo()
    np.testing.assert_array_equal(w.doc.image, before)


def test_heal_brush_blends_on_a_worker_as_one_step(photo_window, qtbot):
    w = photo_window
    ct = w.clone_tool
    ct.act.trigger()
    assert ct.panel.mode.currentData() == "heal"  # the default
    ct.panel.size.setValue(16)
    before = w.doc.image.copy()
    steps = w.history.count()
    qtbot.mouseClick(w.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier,
                     _pt(w, 60, 250))
    _stroke(qtbot, w, [(200 + 5 * i, 120) for i in range(8)])
    assert w.history.count() == steps + 1 and w.history.undoText() == "Heal stroke"
    copied = w.doc.image.copy()  # the plain copy, while the blend is computed
    qtbot.waitUntil(lambda: not ct.blending, timeout=30000)
    assert w.history.count() == steps + 1 and ct.last_blend_seconds is not None
    assert not np.array_equal(w.doc.image, copied)  # blended into the same step
    changed = np.abs(w.doc.image - before).max(-1) > 1e-6
    ys, xs = np.nonzero(changed)
    assert changed.any() and xs.min() >= 185 and xs.max() <= 250 and ys.min() >= 105
    healed = w.doc.image.copy()
    w.history.undo()
    np.testing.assert_array_equal(w.doc.image, before)
    w.history.redo()
    np.testing.assert_array_equal(w.doc.image, healed)
    # another tool: the clone tool lets go of the mouse
    w.set_tool("brush")
    assert not ct.active and not ct.panel.isVisible()


def test_without_a_photo_the_retouch_tools_are_disabled(window, qtbot):
    from tests.qt.conftest import open_photo

    assert not window.live_fill.panel.compare.isEnabled()
    assert not window.clone_tool.act.isEnabled()
    open_photo(qtbot, window)
    assert window.live_fill.panel.compare.isEnabled() and window.clone_tool.act.isEnabled()
