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
