"""Edit ▸ Preferences in the real window: undo budget, device, default methods, autosave
interval and the edit record; applied at once, kept in QSettings for the next start."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox


def _open(qtbot, w):
    edit = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Edit")
    act = next(a for a in edit.actions() if a.text() == "Pre&ferences…")
    act.trigger()
    dlg = w.preferences_dialog
    qtbot.waitExposed(dlg)
    return dlg


def _press(qtbot, dlg, which):
    qtbot.mouseClick(dlg.buttons.button(which), Qt.MouseButton.LeftButton)


def test_preferences_apply_at_once_and_are_kept(make_window, qtbot, settings):
    w = make_window()
    dlg = _open(qtbot, w)
    assert dlg.undo_mb.value() == 1024 and dlg.record.isChecked()
    dlg.undo_mb.setValue(512)
    dlg.undo_disk.setValue(2.0)
    dlg.device.setCurrentIndex(dlg.device.findData("cpu"))
    dlg.methods["inpaint"].setCurrentIndex(dlg.methods["inpaint"].findData("telea"))
    dlg.methods["stylize"].setCurrentIndex(dlg.methods["stylize"].findData("gatys"))
    dlg.autosave.setValue(1.5)
    dlg.record.setChecked(False)
    _press(qtbot, dlg, QDialogButtonBox.StandardButton.Ok)
    assert not dlg.isVisible()
    # in effect now, without a restart
    assert w.history.byte_limit == 512 * 2**20 and w.history.disk_limit == 2 * 2**30
    assert w.device_pref() == "cpu"
    assert w.panels["inpaint"].params()["method"] == "telea"
    assert w.panels["stylize"].params()["method"] == "gatys"
    assert w.autosave_timer.interval() == 90_000
    assert not w.act_record.isChecked()
    # and at the next start
    w2 = make_window(settings)
    assert w2.history.byte_limit == 512 * 2**20 and w2.history.disk_limit == 2 * 2**30
    assert w2.device_pref() == "cpu" and w2.autosave_timer.interval() == 90_000
    assert w2.panels["inpaint"].params()["method"] == "telea"
    assert w2.panels["stylize"].params()["method"] == "gatys"
    assert not w2.act_record.isChecked()


def test_cancel_changes_nothing(window, qtbot):
    w = window
    dlg = _open(qtbot, w)
    dlg.undo_mb.setValue(128)
    dlg.record.setChecked(False)
    _press(qtbot, dlg, QDialogButtonBox.StandardButton.Cancel)
    assert w.history.byte_limit == 1024 * 2**20 and w.act_record.isChecked()
    assert w.settings.value("history/limit_mb") is None
