"""Help ▸ Keyboard shortcuts (a searchable list generated from the window's actions) and
Help ▸ User guide (the packaged resources/user_guide.md shown in the editor, or opened with
the system's viewer); plus the "no photo open" state: operations that need a photo are disabled.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
)

log = logging.getLogger(__name__)

# gestures on the canvas that are not menu actions
GESTURES = (
    ("Pan", "Space + drag, or middle-button drag", "Move the photo in the window"),
    ("Zoom", "Mouse wheel", "Zoom about the pointer"),
    ("Show the original", "Hold \\", "The photo as opened, while the key is down"),
    ("Erase the mask", "Right-button drag", "With the mask brush"),
    ("Brush size", "Ctrl + drag, or Alt + right-button drag", "Drag right to enlarge"),
    ("Lasso: add / subtract", "Shift / Alt while closing the outline", "With the lasso"),
    ("Crop", "Enter", "With the crop tool: crop to the rectangle; Esc forgets it"),
    ("Fill as you paint: keep / drop", "Enter / Esc", "While a fill is shown on the photo"),
    ("Clone source", "Alt + click", "With the clone / heal brush: where to copy from"),
    ("Hint patch size / spread", "Wheel / Shift + wheel over a hint",
     "With the hint tool: its patch, or how far its colour reaches"),
)


def user_guide_path() -> Path | None:
    """The user guide shipped in the package (None if it is missing)."""
    from neuron_desktop.core.paths import user_guide

    path = user_guide()
    return path if path.is_file() else None


_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")


def guide_markdown(path: Path) -> str:
    """The guide's text; a picture whose file is absent (an installed app ships no
    screenshots) becomes its caption in italics instead of a broken image."""

    def picture(m: re.Match) -> str:
        return m.group(0) if (path.parent / m.group(2)).is_file() else f"*(Picture: {m.group(1)})*"

    return _IMAGE.sub(picture, path.read_text(encoding="utf-8"))


def shortcut_rows(window) -> list[tuple[str, str, str]]:
    """(action, keys, what it does) for every action of ``window`` with a shortcut, then
    the canvas gestures."""
    rows, seen = [], set()
    for a in window.findChildren(QAction):
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText)
                         for s in a.shortcuts())
        name = a.text().replace("&", "").rstrip("…").strip()
        if a in (getattr(window, "act_undo", None), getattr(window, "act_redo", None)):
            name = name.split()[0]  # "Undo Paint mask" -> "Undo"
        if not keys or not name or (name, keys) in seen:
            continue
        seen.add((name, keys))
        tip = a.toolTip().replace("&", "")
        tip = tip.removesuffix(f" ({a.shortcut().toString()})")
        tip = "" if tip.split()[:1] == name.split()[:1] and len(tip) <= len(name) + 2 else tip
        rows.append((name, keys, tip))
    rows.sort(key=lambda r: r[0].lower())
    return rows + list(GESTURES)


class ShortcutsDialog(QDialog):
    """A searchable table of the shortcuts (typing filters by action, key or words)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(640, 520)
        v = QVBoxLayout(self)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search (e.g. brush, Ctrl, crop)")
        self.search.setClearButtonEnabled(True)
        v.addWidget(self.search)
        self.rows = shortcut_rows(window)
        self.table = QTableWidget(len(self.rows), 3)
        self.table.setHorizontalHeaderLabels(["Action", "Keys", "What it does"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        for i, row in enumerate(self.rows):
            for j, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(i, j, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        v.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        v.addWidget(buttons)
        self.search.textChanged.connect(self.filter)

    def filter(self, text: str) -> int:
        """Show the rows containing every word of ``text``; returns how many are shown."""
        words = text.lower().split()
        shown = 0
        for i, row in enumerate(self.rows):
            hay = " ".join(row).lower()
            ok = all(w in hay for w in words)
            self.table.setRowHidden(i, not ok)
            shown += ok
        return shown


class UserGuideDialog(QDialog):
    """The user guide rendered (Markdown, with its screenshots when present) in the editor."""

    def __init__(self, window, path: Path) -> None:
        super().__init__(window)
        self.setWindowTitle("Neuron Desktop — User guide")
        self.resize(860, 760)
        v = QVBoxLayout(self)
        self.view = QTextBrowser()
        self.view.setOpenExternalLinks(True)
        self.view.setSearchPaths([str(path.parent)])
        self.view.document().setBaseUrl(QUrl.fromLocalFile(str(path.parent) + "/"))
        self.view.setMarkdown(guide_markdown(path))
        v.addWidget(self.view)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        external = QPushButton("Open the file")
        external.setToolTip(str(path))
        external.clicked.connect(
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))))
        buttons.addButton(external, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        v.addWidget(buttons)


class HelpWiring(QObject):
    """Help menu entries and the no-photo state of the window's operations."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = w = window
        self.act_shortcuts = w._action("&Keyboard shortcuts", "mdi6.keyboard-outline",
                                       "Ctrl+F1", self.show_shortcuts,
                                       "Every shortcut, searchable")
        self.act_guide = w._action("&User guide", "mdi6.book-open-variant", "F1",
                                   self.show_guide, "How to restore a photo, step by step")
        menus = {a.text(): a.menu() for a in w.menuBar().actions() if a.menu() is not None}
        menus["&Help"].insertActions(menus["&Help"].actions()[0],
                                     [self.act_guide, self.act_shortcuts])
        menus["&Help"].insertSeparator(menus["&Help"].actions()[2])
        self.dialog: QDialog | None = None
        w.documentOpened.connect(lambda _d: self.update_state())
        w.history.indexChanged.connect(lambda _i: self.update_state())
        self.update_state()

    def show_shortcuts(self) -> ShortcutsDialog:
        self.dialog = ShortcutsDialog(self.w)
        self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.dialog.show()
        return self.dialog

    def show_guide(self) -> QDialog | None:
        path = user_guide_path()
        if path is None:
            self.w.show_error("User guide not found",
                              "The user guide is missing from this installation.")
            return None
        self.dialog = UserGuideDialog(self.w, path)
        self.dialog.show()
        return self.dialog

    def update_state(self) -> None:
        """Operations that need a photo are disabled without one (History says so too)."""
        w = self.w
        has = w.doc is not None
        label = "Opened photo" if has else "No photo open"
        if w.undo_view.emptyLabel() != label:  # setting it re-lays out the History list
            w.undo_view.setEmptyLabel(label)
        w.brush_panel.detect.setEnabled(has)
        for b in [*w.brush_panel.findChildren(QPushButton),  # Clear, Invert, Import, ...
                  *w.hint_panel.findChildren(QPushButton)]:  # Remove all hints
            if b is not w.brush_panel.color:
                b.setEnabled(has)
        shapes = getattr(getattr(w, "mask_tools", None), "panel", None)
        for b in (shapes.grow, shapes.shrink, shapes.feather) if shapes is not None else ():
            b.setEnabled(has)
        if hasattr(w, "act_save_recipe"):
            w.act_save_recipe.setEnabled(has)
        for panel in w.panels.values():
            if not has:
                panel.apply.setEnabled(False)
            elif hasattr(panel, "_refresh"):  # the Stylize tab decides for itself
                panel._refresh()
            else:
                panel.apply.setEnabled(panel.available and panel.status.isHidden())


def install(window) -> HelpWiring:
    window.help_wiring = HelpWiring(window)
    return window.help_wiring
