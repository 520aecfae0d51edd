"""Save-changes prompts and file drops: unsaved work is never discarded without asking.

Before a photo or project replaces the document (File ▸ Open, Open recent, a drop) and
before the window closes (Ctrl+Q, the close button), a document with unsaved edits ("•" in
the title) gets Save / Discard / Cancel, as in GIMP and Krita. Save writes the project when
the document came from one (or was saved as one), else exports the result; Cancel, or a
Save that did not happen, stops the action.

A file dropped on the canvas opens as the photo, on the Styles dock it becomes a style;
dropped anywhere else (e.g. the Tools dock) the user is asked which it is.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

log = logging.getLogger(__name__)

Button = QMessageBox.StandardButton


class PromptsMixin:
    """MainWindow's save-changes prompts and drops (``self`` is the MainWindow)."""

    prompt_box: QMessageBox | None = None

    @property
    def has_unsaved_changes(self) -> bool:
        return self.doc is not None and not self.history.isClean()

    def _ask(self, box: QMessageBox):
        """Run ``box`` modally (kept in ``self.prompt_box`` while it shows); returns the
        clicked button."""
        box.setWindowModality(Qt.WindowModality.WindowModal)
        self.prompt_box = box
        try:
            box.exec()
            return box.clickedButton()
        finally:
            self.prompt_box = None

    def confirm_discard(self, action: str) -> bool:
        """True when the current document may be replaced or closed for ``action``
        ("opening x.jpg", "closing"): it has no unsaved edits, or the user saved them or
        chose to discard them. False: the user cancelled (or the save did not happen)."""
        if not self.has_unsaved_changes:
            return True
        name = self.doc.path.name if self.doc.path else "this photo"
        if getattr(self, "project_path", None) is not None:
            name = self.project_path.name
        box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes",
                          f"Save the changes to “{name}” before {action}?",
                          Button.Save | Button.Discard | Button.Cancel, self)
        box.setInformativeText("If you don't save, your edits since the last save are lost.")
        box.setDefaultButton(Button.Save)
        box.button(Button.Save).setText(
            "&Save project…" if getattr(self, "project_path", None) else "&Export…")
        box.button(Button.Discard).setText("&Don't save")
        answer = box.standardButton(self._ask(box))
        if answer == Button.Save:
            saved = self.save_changes()
            log.info("save before %s: %s", action, "done" if saved else "not saved")
            return saved
        if answer == Button.Discard:
            log.info("unsaved changes discarded before %s", action)
            return True
        return False

    def save_changes(self) -> bool:
        """Save: into the document's project when it has one, else an export."""
        if getattr(self, "project_path", None) is not None:
            return self.save_project(self.project_path)
        return self.save_as()

    # ----------------------------------------------------------------------------- drops

    def _dropped(self, path: str) -> None:
        self.open_any(path)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt API)
        """On the Styles dock files become styles, on the canvas the first one opens;
        elsewhere (the Tools or Operations dock...) the user is asked."""
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if not urls:
            return
        event.acceptProposedAction()
        pos = self.mapToGlobal(event.position().toPoint())
        styles = self.docks["styles"]
        if styles.isVisible() and styles.rect().contains(styles.mapFromGlobal(pos)):
            self.styles_panel.add_files(urls)
        elif self.canvas.rect().contains(self.canvas.mapFromGlobal(pos)):
            self.open_any(urls[0])
        else:
            self.ask_drop(urls)

    def ask_drop(self, urls: list[str]) -> None:
        """A drop off the canvas and the Styles dock: open it as the photo, or add it to
        the styles?"""
        if Path(urls[0]).suffix.lower() == ".neuron":
            self.open_any(urls[0])
            return
        name = Path(urls[0]).name + (f" (and {len(urls) - 1} more)" if len(urls) > 1 else "")
        box = QMessageBox(QMessageBox.Icon.Question, "Dropped image",
                          f"What should “{name}” be used for?", Button.Cancel, self)
        photo = box.addButton("Open as &photo", QMessageBox.ButtonRole.AcceptRole)
        style = box.addButton("Add to &styles", QMessageBox.ButtonRole.ActionRole)
        box.setDefaultButton(Button.Cancel)
        clicked = self._ask(box)
        if clicked is photo:
            self.open_any(urls[0])
        elif clicked is style:
            self.styles_panel.add_files(urls)
            self.docks["styles"].raise_()

    # ------------------------------------------------------------------ export over original

    def ask_save_as_copy(self, path: Path) -> Path | None:
        """Export aimed at the original photo (after Qt's "Replace?"): originals are never
        overwritten, so offer a copy beside it with a free name (None: cancelled)."""
        copy = free_copy_name(path)
        box = QMessageBox(QMessageBox.Icon.Information, "Keep the original",
                          f"“{path.name}” is the original photo; Neuron never overwrites an "
                          f"original.\n\nSave the result as “{copy.name}” beside it?",
                          Button.Cancel, self)
        save = box.addButton("Save as &copy", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(save)
        return copy if self._ask(box) is save else None


def free_copy_name(path: Path) -> Path:
    """``photo_restored.EXT`` beside ``path``, or ``photo_restored-2.EXT``... if taken."""
    candidate = path.with_name(f"{path.stem}_restored{path.suffix}")
    n = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}_restored-{n}{path.suffix}")
        n += 1
    return candidate
