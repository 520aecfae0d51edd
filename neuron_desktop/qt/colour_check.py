"""Asking before colorizing a photo that already has colour (issue 25).

Colorize replaces a photo's colours with predicted ones: right for a black-and-white or toned
(sepia, cyanotype) photo, a loss for a colour one. Before the first Colorize of a colour
photo — Apply, or the first live preview when a hint is placed — the editor asks "This photo
already has colour… Colorize anyway / Cancel", with "Don't ask again for this photo".

- The photo as opened (``Document.original``) is classified with the core's
  ``detect_monochrome`` (once per document); only ``kind == "color"`` asks.
- "Colorize anyway" holds for the open document; with the box ticked the photo's path is
  remembered in the settings (``colorize/colour_photos_ok``, newest 200) and never asked
  about again.
- Cancel: Apply does nothing; for live previews the answer holds for the document (placing
  more hints does not ask again) until Apply is pressed, which asks again.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import QCheckBox, QMessageBox

log = logging.getLogger(__name__)

SETTINGS_KEY = "colorize/colour_photos_ok"
REMEMBERED = 200
ANYWAY = "Colorize &anyway"
DONT_ASK = "&Don't ask again for this photo"


def _key(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return str(Path(path).resolve())
    except OSError:
        return str(path)


class ColourPhotoCheck:
    """The window's "already in colour" question (``window``: the MainWindow, whose ``_ask``
    runs a box modally and whose ``settings`` keep the remembered photos)."""

    def __init__(self, window) -> None:
        self.window = window
        self._doc = None  # the document the fields below are about
        self._kind: str | None = None
        self._chroma = 0.0
        self._decision: bool | None = None  # True: go ahead; False: cancelled (live)

    def _remembered(self) -> list[str]:
        value = self.window.settings.value(SETTINGS_KEY, [])
        if isinstance(value, str):  # QSettings gives one element back as a string
            value = [value]
        return [str(v) for v in value or []]

    def _remember(self, key: str) -> None:
        keep = [k for k in self._remembered() if k != key][-(REMEMBERED - 1):]
        self.window.settings.setValue(SETTINGS_KEY, [*keep, key])

    def _classify(self, doc) -> str:
        if self._doc is not doc:
            from neuron_desktop.core.imageio import detect_monochrome

            self._doc, self._decision = doc, None
            try:
                o = doc.original  # a strided view: the GUI thread never reads 24 MP here
                step = max(1, -(-max(o.shape[:2]) // 512))  # at most 512 px a side
                info = detect_monochrome(o[::step, ::step])
                self._kind, self._chroma = info.kind, info.mean_chroma
            except Exception:  # noqa: BLE001 - never block colorizing on the check itself
                log.exception("could not tell whether the photo has colour")
                self._kind = "unknown"
        return self._kind or "unknown"

    def allows(self, *, live: bool) -> bool:
        """True when Colorize may run on the open photo (asking first when it is a colour
        photo); ``live``: for a live preview (a hint edit) rather than Apply."""
        doc = self.window.doc
        if doc is None or self._classify(doc) != "color" or self._decision is True:
            return True
        if live and self._decision is False:
            return False
        key = _key(doc.path)
        if key is not None and key in self._remembered():
            self._decision = True
            return True
        go, remember = self._ask(doc)
        self._decision = go
        if go and remember and key is not None:
            self._remember(key)
        log.info("colorize a colour photo (%s, mean chroma %.0f): %s%s", key, self._chroma,
                 "yes" if go else "cancelled", ", don't ask again" if go and remember else "")
        if not go:
            self.window.statusBar().showMessage(
                "Colorize cancelled: this photo already has colour", 6000)
        return go

    def _ask(self, doc) -> tuple[bool, bool]:
        name = doc.path.name if doc.path is not None else "This photo"
        box = QMessageBox(QMessageBox.Icon.Question, "Colorize a colour photo?",
                          f"This photo already has colour (“{name}”). Colorizing replaces its "
                          "colours with predicted ones.",
                          QMessageBox.StandardButton.Cancel, self.window)
        box.setInformativeText("Colorize is made for black-and-white and toned (sepia) "
                               "photos. To recolour this one, colorize anyway; Undo brings "
                               "the colours back.")
        anyway = box.addButton(ANYWAY, QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        dont_ask = QCheckBox(DONT_ASK, box)
        box.setCheckBox(dont_ask)
        clicked = self.window._ask(box)
        return clicked is anyway, dont_ask.isChecked()
