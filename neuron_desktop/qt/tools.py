"""Tool controllers: turn the canvas's requests into undo commands on the current document.

The canvas asks (signals), the tools decide: a brush drag becomes one merged
:class:`StrokeCommand`; hint clicks, drags, right-clicks and wheel steps become
:class:`HintsCommand` s (a drag or a run of wheel steps on one hint is one undo step).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QObject, Signal

from neuron_desktop.core.document import Document
from neuron_desktop.core.masks import Hint, clamp_spread, segment_bounds
from neuron_desktop.qt.canvas import Canvas
from neuron_desktop.qt.commands import HintsCommand, History, StrokeCommand, new_gesture_id


class BrushTool(QObject):
    """Mask painting: size (diameter, px), hardness in [0, 1], eraser mode."""

    strokeFinished = Signal()

    def __init__(self, canvas: Canvas, history: History,
                 document: Callable[[], Document | None]) -> None:
        super().__init__(canvas)
        self.canvas, self.history, self.document = canvas, history, document
        self.size = 40
        self.hardness = 0.7
        self.pressure = 1.0  # a pen's pressure scales the size (qt/mask_tools.py)
        self._gesture: int | None = None
        self._last: tuple[float, float] | None = None
        self._erase = False
        canvas.strokeStarted.connect(self.begin)
        canvas.strokeMoved.connect(self.move)
        canvas.strokeFinished.connect(self.end)

    @property
    def radius(self) -> float:
        return self.size / 2 * self.pressure

    def begin(self, x: float, y: float, erase: bool) -> None:
        if self.document() is None:
            return
        self._gesture, self._last, self._erase = new_gesture_id(), (x, y), erase
        self._push((x, y), (x, y))

    def move(self, x: float, y: float) -> None:
        if self._gesture is None or self._last is None:
            return
        if math.hypot(x - self._last[0], y - self._last[1]) < max(0.5, self.radius * 0.05):
            return
        self._push(self._last, (x, y))
        self._last = (x, y)

    def end(self) -> None:
        if self._gesture is not None:
            self._gesture = self._last = None
            self.strokeFinished.emit()

    def _push(self, p0, p1) -> None:
        doc = self.document()
        if self._erase:  # erasing where there is no mask changes nothing: no step, no "•"
            box = segment_bounds(p0, p1, self.radius, doc.mask.shape)
            if box is None or not doc.mask[box[1]:box[3], box[0]:box[2]].any():
                return
        self.history.push(StrokeCommand(doc, p0, p1, self.radius, self.hardness,
                                        self._erase, self._gesture))


class HintTool(QObject):
    """Colour hints: add with the current colour, move, delete, resize, recolour, spread.

    With ``auto_color`` (a colorization model is installed) a new hint waits for its colour:
    ``pending`` holds (index, gesture) until :meth:`settle_new` gives it the model's most
    likely colour there, merged into the same "Add hint" step (issue 20, bug 6)."""

    selectionChanged = Signal(int)
    hintsEdited = Signal()
    spreadChanged = Signal(float)  # the selected hint's spread, changed on the canvas

    def __init__(self, canvas: Canvas, history: History,
                 document: Callable[[], Document | None]) -> None:
        super().__init__(canvas)
        self.canvas, self.history, self.document = canvas, history, document
        self.color: tuple[float, float, float] = (0.5, 0.5, 0.5)
        self.size = 9
        self.spread = 1.0  # reach of new hints (and the selected one's, set_spread)
        self._spread_key: tuple[int, int] | None = None  # (index, gesture): one step a drag
        self.recent: list[tuple[float, float, float]] = []
        self._move_gesture: int | None = None
        self._resize_key: tuple[int, int] | None = None
        self.auto_color: Callable[[], bool] = lambda: False
        self.pending: tuple[int, int] | None = None  # (index, gesture) of a new hint
        canvas.hintAddRequested.connect(self.add)
        canvas.hintMoveRequested.connect(self.move)
        canvas.hintDeleteRequested.connect(self.delete)
        canvas.hintResizeRequested.connect(self.resize)
        canvas.hintSpreadRequested.connect(self.spread_by)
        canvas.hintSelected.connect(self._selected)

    @property
    def selected(self) -> int:
        return self.canvas.selected_hint

    def _selected(self, index: int) -> None:
        self._resize_key = self._spread_key = None
        self.selectionChanged.emit(index)

    def _push(self, hints, text, gesture=None) -> None:
        self.history.push(HintsCommand(self.document(), hints, text, gesture))
        self.hintsEdited.emit()

    def add(self, x: int, y: int) -> None:
        doc = self.document()
        if doc is None:
            return
        gesture = new_gesture_id()
        self.pending = (len(doc.hints), gesture) if self.auto_color() else None
        self._push([*doc.hints, Hint(int(x), int(y), tuple(self.color), self.size, self.spread)],
                   "Add hint", gesture)
        self.canvas.selected_hint = len(doc.hints) - 1
        self._selected(self.canvas.selected_hint)
        self.remember_color(self.color)

    def move(self, index: int, x: int, y: int, finished: bool) -> None:
        doc = self.document()
        if doc is None or not 0 <= index < len(doc.hints):
            return
        if finished:
            self._move_gesture = None
            return
        h = doc.hints[index]
        if (h.x, h.y) == (x, y):
            return
        if self._move_gesture is None:
            self._move_gesture = new_gesture_id()
        self.pending = None
        hints = list(doc.hints)
        hints[index] = replace(h, x=x, y=y)
        self._push(hints, "Move hint", self._move_gesture)

    def delete(self, index: int) -> None:
        doc = self.document()
        if doc is None or not 0 <= index < len(doc.hints):
            return
        self.pending = None
        hints = list(doc.hints)
        del hints[index]
        self.canvas.selected_hint = -1
        self._push(hints, "Delete hint")
        self._selected(-1)

    def resize(self, index: int, steps: int) -> None:
        doc = self.document()
        if doc is None or not 0 <= index < len(doc.hints):
            return
        h = doc.hints[index]
        size = max(1, min(200, h.size + steps * max(1, h.size // 8)))
        if size == h.size:
            return
        if self._resize_key is None or self._resize_key[0] != index:
            self._resize_key = (index, new_gesture_id())
        hints = list(doc.hints)
        hints[index] = replace(h, size=size)
        self._push(hints, "Resize hint", self._resize_key[1])

    def set_color(self, rgb: tuple[float, float, float]) -> None:
        """Current colour for new hints; also recolours the selected hint (one undo step)."""
        self.color = tuple(float(c) for c in rgb)
        self.pending = None  # the user chose: no automatic colour
        doc = self.document()
        if doc is not None and 0 <= self.selected < len(doc.hints):
            h = doc.hints[self.selected]
            if tuple(h.rgb) != self.color:
                hints = list(doc.hints)
                hints[self.selected] = replace(h, rgb=self.color)
                self._push(hints, "Recolour hint")
                self.remember_color(self.color)

    def settle_new(self, index: int, rgb) -> bool:
        """The new hint ``index`` takes ``rgb`` (None: keeps its colour), merged into its
        "Add hint" step; hint edits then go on as usual. False if it is no longer new."""
        doc, pending = self.document(), self.pending
        if doc is None or pending is None or pending[0] != index or index >= len(doc.hints):
            return False  # an earlier new hint's answer: the latest one still waits for its own
        self.pending = None
        h = doc.hints[index]
        if rgb is not None and tuple(h.rgb) != tuple(rgb):
            hints = list(doc.hints)
            hints[index] = replace(h, rgb=tuple(float(c) for c in rgb))
            self._push(hints, "Add hint", pending[1])
        else:
            self.hintsEdited.emit()
        return True

    def set_size(self, size: int) -> None:
        self.size = int(size)
        doc = self.document()
        if doc is not None and 0 <= self.selected < len(doc.hints):
            h = doc.hints[self.selected]
            if h.size != self.size:
                hints = list(doc.hints)
                hints[self.selected] = replace(h, size=self.size)
                self._push(hints, "Resize hint")

    def set_spread(self, spread: float) -> None:
        """Reach of new hints; also the selected hint's ("Spread hint": consecutive changes
        to one hint are one undo step, as a spin box's or the wheel's steps)."""
        self.spread = clamp_spread(spread)
        doc = self.document()
        if doc is None or not 0 <= self.selected < len(doc.hints):
            return
        h = doc.hints[self.selected]
        if h.spread == self.spread:
            return
        if self._spread_key is None or self._spread_key[0] != self.selected:
            self._spread_key = (self.selected, new_gesture_id())
        hints = list(doc.hints)
        hints[self.selected] = replace(h, spread=self.spread)
        self._push(hints, "Spread hint", self._spread_key[1])

    def spread_by(self, index: int, steps: int) -> None:
        """Shift+wheel over a hint: its spread up or down by 10 % a step (selects it)."""
        doc = self.document()
        if doc is None or not 0 <= index < len(doc.hints):
            return
        if self.selected != index:
            self.canvas.selected_hint = index
            self._selected(index)
        self.set_spread(round(doc.hints[index].spread * 1.1 ** steps, 3))
        self.spreadChanged.emit(self.spread)

    def clear(self) -> None:
        doc = self.document()
        if doc is not None and doc.hints:
            self.canvas.selected_hint = -1
            self._push([], "Remove all hints")
            self._selected(-1)

    def remember_color(self, rgb) -> None:
        rgb = tuple(round(float(c), 4) for c in rgb)
        self.recent = [rgb, *[c for c in self.recent if c != rgb]][:10]
