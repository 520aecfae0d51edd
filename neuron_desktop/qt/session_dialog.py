"""File ▸ Restore session…: the kept recovery sessions, newest first, with a thumbnail."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from neuron_desktop.core.sessions import SessionInfo


def describe(s: SessionInfo) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.updated))
    state = "closed unexpectedly" if s.crashed else "closed"
    steps = f"{s.steps} step" + ("" if s.steps == 1 else "s")
    return f"{s.name}\n{when} · {steps} · {state}"


class SessionDialog(QDialog):
    """Lists ``sessions``; ``chosen`` carries the folder of the one to restore."""

    chosen = Signal(object)  # Path

    def __init__(self, sessions: list[SessionInfo], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Restore session")
        self.sessions = sessions
        self.list = QListWidget()
        self.list.setIconSize(QSize(96, 96))
        for s in sessions:
            item = QListWidgetItem(describe(s))
            item.setToolTip(str(s.record.get("photo", {}).get("path") or s.name))
            pix = QPixmap(str(s.thumb)) if s.thumb is not None else QPixmap()
            if not pix.isNull():
                item.setIcon(QIcon(pix))
            item.setData(Qt.ItemDataRole.UserRole, str(s.folder))
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        self.list.itemDoubleClicked.connect(lambda _i: self.accept())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.restore_button = buttons.addButton("Restore",
                                                QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Work autosaved by the editor (the newest 10, up to 7 days):"))
        lay.addWidget(self.list)
        lay.addWidget(buttons)
        self.resize(460, 420)

    def selected(self) -> Path | None:
        item = self.list.currentItem()
        return Path(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def accept(self) -> None:
        folder = self.selected()
        super().accept()
        if folder is not None:
            self.chosen.emit(folder)
