"""Issue 20 regressions driven through the real window."""

from PySide6.QtCore import QPoint, Qt


def test_erasing_where_there_is_no_mask_adds_no_step(photo_window, qtbot):
    """Bug 9: a right-drag over an empty mask added an "Erase mask" step and a "•"."""
    w = photo_window
    w.set_tool("brush")
    a, b = w.canvas_point(100, 100).toPoint(), w.canvas_point(180, 140).toPoint()
    qtbot.mousePress(w.canvas, Qt.MouseButton.RightButton, pos=a)
    for t in range(1, 6):
        qtbot.mouseMove(w.canvas, a + (b - a) * (t / 5))
    qtbot.mouseRelease(w.canvas, Qt.MouseButton.RightButton, pos=b)
    assert w.history.count() == 0
    assert "•" not in w.windowTitle()
    # painting, then erasing over the paint, are real steps
    qtbot.mousePress(w.canvas, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(w.canvas, b)
    qtbot.mouseRelease(w.canvas, Qt.MouseButton.LeftButton, pos=b)
    assert w.history.count() == 1 and w.doc.mask.any()
    qtbot.mousePress(w.canvas, Qt.MouseButton.RightButton, pos=a)
    qtbot.mouseMove(w.canvas, b + QPoint(1, 0))
    qtbot.mouseRelease(w.canvas, Qt.MouseButton.RightButton, pos=b)
    assert w.history.count() == 2 and w.history.undoText() == "Erase mask"


def test_a_backslash_tap_keeps_view_show_original(photo_window, qtbot):
    """Bug 8: with View > Show original checked, a tap of \\ hid the original while the
    menu item stayed checked."""
    w = photo_window
    w.act_before.trigger()
    assert w.act_before.isChecked() and w.canvas.show_original
    w.canvas.setFocus()
    qtbot.keyPress(w.canvas, Qt.Key.Key_Backslash)
    qtbot.keyRelease(w.canvas, Qt.Key.Key_Backslash)
    assert w.act_before.isChecked() and w.canvas.show_original
    w.act_before.trigger()
    assert not w.canvas.show_original
    qtbot.keyPress(w.canvas, Qt.Key.Key_Backslash)
    assert w.canvas.show_original  # held: the original
    qtbot.keyRelease(w.canvas, Qt.Key.Key_Backslash)
    assert not w.canvas.show_original
