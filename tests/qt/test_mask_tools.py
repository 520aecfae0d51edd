"""Mask tools in the real window: lasso (freehand and polygon, add/subtract), grow/shrink/
feather by N px, brush size by Ctrl+drag, pen pressure (a synthesised tablet event)."""

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QPointingDevice, QTabletEvent
from PySide6.QtWidgets import QApplication


def _pt(w, x, y) -> QPoint:
    return w.canvas_point(x, y).toPoint()


def _wait_mask(qtbot, w, fn):
    with qtbot.waitSignal(w.mask_jobs.finished, timeout=20000):
        fn()


def _lasso_drag(qtbot, w, pts, mods=Qt.KeyboardModifier.NoModifier):
    o = w.mask_tools.overlay
    qtbot.mousePress(o, Qt.MouseButton.LeftButton, mods, _pt(w, *pts[0]))
    for p in pts[1:]:
        qtbot.mouseMove(o, _pt(w, *p))
    qtbot.mouseRelease(o, Qt.MouseButton.LeftButton, mods, _pt(w, *pts[-1]))


def _square(x0, y0, x1, y1, step=10):
    top = [(x, y0) for x in range(x0, x1 + 1, step)]
    right = [(x1, y) for y in range(y0, y1 + 1, step)]
    bottom = [(x, y1) for x in range(x1, x0 - 1, -step)]
    left = [(x0, y) for y in range(y1, y0 - 1, -step)]
    return top + right + bottom + left


def test_lasso_adds_and_alt_subtracts_one_step_each(photo_window, qtbot):
    w = photo_window
    mt = w.mask_tools
    qtbot.mouseClick(mt.panel.lasso, Qt.MouseButton.LeftButton)
    assert mt.act_lasso.isChecked() and mt.overlay.isVisible()
    _wait_mask(qtbot, w, lambda: _lasso_drag(qtbot, w, _square(100, 60, 200, 160)))
    assert w.history.undoText() == "Lasso: add"
    assert w.doc.mask[80:140, 120:180].min() == 1.0 and w.doc.mask[10, 10] == 0
    _wait_mask(qtbot, w, lambda: _lasso_drag(qtbot, w, _square(100, 60, 150, 160),
                                             Qt.KeyboardModifier.AltModifier))
    assert w.history.undoText() == "Lasso: subtract"
    assert w.doc.mask[80:140, 110:140].max() == 0.0 and w.doc.mask[80:140, 160:190].min() == 1
    w.history.undo()
    assert w.doc.mask[80:140, 120:180].min() == 1.0


def test_polygon_by_clicking_corners_and_double_click(photo_window, qtbot):
    w = photo_window
    w.mask_tools.act_lasso.trigger()
    o = w.mask_tools.overlay
    corners = [(50, 50), (250, 60), (150, 200)]
    for c in corners:
        qtbot.mouseClick(o, Qt.MouseButton.LeftButton, pos=_pt(w, *c))
    assert len(o.points) == 3 and not w.doc.has_mask
    _wait_mask(qtbot, w, lambda: qtbot.mouseDClick(o, Qt.MouseButton.LeftButton,
                                                   pos=_pt(w, *corners[-1])))
    assert w.doc.mask[100, 150] == 1.0 and w.doc.mask[190, 60] == 0.0


def test_grow_shrink_feather_buttons(photo_window, qtbot):
    w = photo_window
    w.doc.mask[100:120, 100:120] = 1.0
    p = w.mask_tools.panel
    p.amount.setValue(5)
    _wait_mask(qtbot, w, lambda: qtbot.mouseClick(p.grow, Qt.MouseButton.LeftButton))
    assert w.history.undoText() == "Grow mask 5 px"
    assert w.doc.mask[96, 110] == 1.0 and w.doc.mask[93, 110] == 0.0
    _wait_mask(qtbot, w, lambda: qtbot.mouseClick(p.shrink, Qt.MouseButton.LeftButton))
    _wait_mask(qtbot, w, lambda: qtbot.mouseClick(p.feather, Qt.MouseButton.LeftButton))
    assert w.history.undoText() == "Feather mask 5 px"
    assert 0.2 < w.doc.mask[100, 110] < 0.8
    assert w.doc.mask[110, 110] > 0.99


def test_ctrl_drag_resizes_the_brush_without_painting(photo_window, qtbot):
    w = photo_window
    w.set_tool("brush")
    w.brush_panel.size.setValue(20)
    c = w.canvas
    ctrl = Qt.KeyboardModifier.ControlModifier
    start = _pt(w, 200, 150)
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, ctrl, start)
    qtbot.mouseMove(c, start + QPoint(40, 0))
    qtbot.mouseMove(c, start + QPoint(70, 0))
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, ctrl, start + QPoint(70, 0))
    assert w.brush_panel.size.value() == round(20 * 1.01 ** 70)
    assert not w.doc.has_mask and w.history.count() == 0


def _tablet(canvas, kind, pos: QPoint, pressure: float):
    dev = QPointingDevice("pen", 1, QPointingDevice.DeviceType.Stylus,
                          QPointingDevice.PointerType.Pen,
                          QPointingDevice.Capability.Position
                          | QPointingDevice.Capability.Pressure, 1, 3)
    glob = QPointF(canvas.mapToGlobal(pos))
    ev = QTabletEvent(kind, dev, QPointF(pos), glob, pressure, 0.0, 0.0, 0.0, 0.0, 0.0,
                      Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton,
                      Qt.MouseButton.LeftButton)
    QApplication.sendEvent(canvas, ev)


def _painted_width(w, y=150):
    row = w.doc.mask[y]
    return int((row > 0.5).sum())


def test_pen_pressure_scales_the_brush(photo_window, qtbot):
    w = photo_window
    w.set_tool("brush")
    w.brush_panel.size.setValue(40)
    w.brush_panel.hardness.setValue(100)
    c = w.canvas
    a, b = _pt(w, 150, 100), _pt(w, 150, 200)
    _tablet(c, QTabletEvent.Type.TabletPress, a, 0.25)
    assert w.brush.pressure == 0.25
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=a)  # what Qt sends after it
    _tablet(c, QTabletEvent.Type.TabletMove, b, 0.25)
    qtbot.mouseMove(c, b)
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=b)
    assert w.brush.pressure == 1.0
    light = _painted_width(w)
    assert 6 <= light <= 14, light  # about a quarter of 40 px
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=_pt(w, 300, 100))
    qtbot.mouseMove(c, _pt(w, 300, 200))
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=_pt(w, 300, 200))
    assert _painted_width(w) - light >= 36  # the mouse paints at full size
    assert np.isclose(w.brush.radius, 20)
