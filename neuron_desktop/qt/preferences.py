"""Edit ▸ Preferences: the undo budget, the compute device, the default methods, the autosave
interval and the edit record, kept in QSettings and applied at once (no restart).

Keys: ``history/limit_mb`` (memory for undo steps), ``history/disk_limit_gb`` (their disk
cache), ``device`` (auto / cpu / cuda...), ``inpaint/method`` and ``stylize/method`` (the
forms' saved values: the method an operation tab shows), ``autosave/minutes``,
``export/record`` (the XMP edit record in exports). :func:`install` adds the menu item (the
platform's usual place: the application menu on macOS) and tells the user in the status
bar when History had to merge old steps to stay within the budget.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
)

from neuron_desktop import capabilities

log = logging.getLogger(__name__)

DEFAULT_LIMIT_MB = 1024
DEFAULT_DISK_GB = 16
METHODS = ("inpaint", "stylize")  # capabilities whose default method is a preference


def undo_budget(settings) -> tuple[int, int]:
    """(memory bytes, disk bytes) for History from the saved preferences."""
    mb = int(settings.value("history/limit_mb", DEFAULT_LIMIT_MB))
    gb = float(settings.value("history/disk_limit_gb", DEFAULT_DISK_GB))
    return max(mb, 16) * 2**20, int(max(gb, 0.0) * 2**30)


class PreferencesDialog(QDialog):
    """The preferences of ``window`` (a MainWindow); OK applies and saves them."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.setWindowTitle("Preferences")
        self.setObjectName("preferences")
        lay = QVBoxLayout(self)
        form = QFormLayout()
        lay.addLayout(form)
        h = window.history
        self.undo_mb = QSpinBox()
        self.undo_mb.setRange(64, 1 << 20)
        self.undo_mb.setSingleStep(256)
        self.undo_mb.setSuffix(" MB")
        self.undo_mb.setValue(h.byte_limit >> 20)
        self.undo_mb.setToolTip("Memory the undo steps may use. Over it, older whole-image "
                                "steps move to the disk cache")
        form.addRow("Undo memory budget", self.undo_mb)
        self.undo_disk = QDoubleSpinBox()
        self.undo_disk.setRange(0, 4096)
        self.undo_disk.setDecimals(1)
        self.undo_disk.setSuffix(" GB")
        self.undo_disk.setValue(h.disk_limit / 2**30)
        self.undo_disk.setToolTip("Disk space in the cache folder for undo steps that do not "
                                  "fit in memory (0: none). Over both budgets the oldest "
                                  "steps are merged into one; the photo as opened stays")
        form.addRow("Undo disk cache", self.undo_disk)
        self.device = QComboBox()
        src = window.device_combo
        for i in range(src.count()):
            self.device.addItem(src.itemText(i), src.itemData(i))
        self.device.setCurrentIndex(src.currentIndex())
        form.addRow("Compute device", self.device)
        self.methods: dict[str, QComboBox] = {}
        for name in METHODS:
            cap = capabilities.get(name)
            combo = QComboBox()
            for choice in cap.param("method").choices:
                combo.addItem(choice.label, choice.value)
            combo.setCurrentIndex(max(0, combo.findData(window.panels[name].params()
                                                        ["method"])))
            self.methods[name] = combo
            form.addRow(f"{cap.title} method", combo)
        self.autosave = QDoubleSpinBox()
        self.autosave.setRange(0.5, 120)
        self.autosave.setDecimals(1)
        self.autosave.setSuffix(" min")
        self.autosave.setValue(window.autosave_timer.interval() / 60_000)
        self.autosave.setToolTip("Crash recovery: the longest time between autosaves (edits "
                                 "also trigger one after a short pause)")
        form.addRow("Autosave at least every", self.autosave)
        self.record = QCheckBox("Embed the edit record (XMP) in exports")
        self.record.setChecked(window.act_record.isChecked())
        form.addRow(self.record)
        self.usage = QLabel()
        self.usage.setObjectName("undo_usage")
        form.addRow("Undo now", self.usage)
        self.usage.setText(f"{len(h._commands)} step(s), {h.nbytes / 2**20:.0f} MB in memory, "
                           f"{h.disk_nbytes / 2**20:.0f} MB on disk")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)

    def accept(self) -> None:
        self.apply()
        super().accept()

    def apply(self) -> None:
        w, s = self.window, self.window.settings
        s.setValue("history/limit_mb", self.undo_mb.value())
        s.setValue("history/disk_limit_gb", self.undo_disk.value())
        w.history.byte_limit, w.history.disk_limit = undo_budget(s)
        w.history.enforce_limit()
        w.device_combo.setCurrentIndex(self.device.currentIndex())
        s.setValue("device", w.device_pref())
        for name, combo in self.methods.items():
            w.panels[name].set_method(combo.currentData())
            s.setValue(f"{name}/method", combo.currentData())
        s.setValue("autosave/minutes", self.autosave.value())
        w.autosave_timer.setInterval(max(int(self.autosave.value() * 60_000), 1000))
        w.act_record.setChecked(self.record.isChecked())
        s.setValue("export/record", self.record.isChecked())
        s.sync()
        log.info("preferences saved")


def _steps_dropped(window, count: int) -> None:
    h = window.history
    window.undo_notice.setText(f"⚠ Undo: {h.dropped_total} oldest step(s) merged")
    window.undo_notice.show()
    window.statusBar().showMessage(
        f"Undo budget reached: {count} more old step(s) merged into "
        f"“{h.command(0).text() if h.count() else ''}”; the first History row is still the "
        "photo as opened (budget: Edit ▸ Preferences)", 15000)


def open_preferences(window) -> PreferencesDialog:
    dlg = PreferencesDialog(window)
    window.preferences_dialog = dlg
    dlg.open()
    return dlg


def install(window) -> None:
    """Add Edit ▸ Preferences… and the History budget notice to ``window``."""
    h = window.history
    h.canvas = window.canvas
    h.byte_limit, h.disk_limit = undo_budget(window.settings)
    act = QAction("Pre&ferences…", window)
    act.setShortcut(QKeySequence(QKeySequence.StandardKey.Preferences))
    act.setMenuRole(QAction.MenuRole.PreferencesRole)  # the app menu on macOS
    act.triggered.connect(lambda: open_preferences(window))
    window.act_preferences = act
    window.addAction(act)
    edit = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Edit")
    edit.addSeparator()
    edit.addAction(act)
    window.undo_notice = QLabel()  # stays until another photo is opened
    window.undo_notice.setObjectName("undo_notice")
    window.undo_notice.setStyleSheet("color: #ffb454;")
    window.undo_notice.setToolTip("History had to merge its oldest steps to stay within the "
                                  "undo budget (Edit ▸ Preferences); its first row is still "
                                  "the photo as opened")
    window.undo_notice.hide()
    window.statusBar().addPermanentWidget(window.undo_notice)
    window.documentOpened.connect(lambda _doc: window.undo_notice.hide())
    # after the step's own "done" message (the push that dropped steps comes first)
    h.stepsDropped.connect(lambda n: QTimer.singleShot(0, window, lambda: _steps_dropped(
        window, n)))
