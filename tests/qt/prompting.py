"""Test helper: answer the window's modal prompts (QMessageBox) through their real buttons."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

Std = QMessageBox.StandardButton


def answer(window, *choices, seen: list | None = None, tries: int = 200) -> list:
    """Click, in turn, one button of each modal box that shows: ``choices`` are standard
    buttons or button texts (e.g. "Open as &photo"). The texts of the boxes answered are
    appended to ``seen`` (returned)."""
    seen = [] if seen is None else seen
    todo = list(choices)

    def poll(left: int = tries) -> None:
        box = getattr(window, "prompt_box", None) or QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox) or not box.isVisible():
            if left > 0:
                QTimer.singleShot(25, lambda: poll(left - 1))
            return
        choice = todo.pop(0)
        seen.append(box.text())
        button = box.button(choice) if isinstance(choice, Std) else next(
            b for b in box.buttons() if b.text() == choice)
        button.click()
        if todo:
            QTimer.singleShot(25, poll)

    QTimer.singleShot(0, poll)
    return seen
