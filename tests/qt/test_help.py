"""Help ▸ Keyboard shortcuts (generated, searchable), Help ▸ User guide, and operations
disabled while no photo is open."""

from PySide6.QtCore import Qt

from tests.qt.conftest import open_photo


def test_shortcuts_list_is_generated_and_searchable(window, qtbot):
    window.help_wiring.act_shortcuts.trigger()
    d = window.help_wiring.dialog
    names = [r[0] for r in d.rows]
    assert {"Mask brush", "Crop tool", "Lasso", "Rotate left", "Undo"} <= set(names)
    qtbot.keyClicks(d.search, "crop")
    shown = [d.rows[i][0] for i in range(len(d.rows)) if not d.table.isRowHidden(i)]
    assert "Crop tool" in shown and "Mask brush" not in shown
    d.search.clear()
    qtbot.keyClicks(d.search, "ctrl + drag")
    shown = [d.rows[i][0] for i in range(len(d.rows)) if not d.table.isRowHidden(i)]
    assert "Brush size" in shown and "Undo" not in shown
    d.close()


def test_user_guide_opens_with_its_pictures(window):
    d = window.help_wiring.show_guide()
    assert d is not None
    text = d.view.toPlainText()
    assert "Crop" in text and "Lasso" in text
    assert "screenshots/" in d.view.toHtml()
    d.close()


def test_operations_need_a_photo(window, qtbot):
    w = window
    assert w.undo_view.emptyLabel() == "No photo open"
    assert not w.panels["inpaint"].apply.isEnabled()
    assert not w.brush_panel.detect.isEnabled()
    open_photo(qtbot, w)
    assert w.undo_view.emptyLabel() == "Opened photo"
    assert w.panels["inpaint"].apply.isEnabled() and w.brush_panel.detect.isEnabled()
    assert not w.panels["colorize"].apply.isEnabled()  # its model is hidden in the tests
    qtbot.mouseClick(w.panels["denoise"].apply, Qt.MouseButton.LeftButton)  # enabled: runs
    qtbot.waitUntil(lambda: w.history.count() == 1, timeout=20000)
