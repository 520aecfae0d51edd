"""Undo commands: every change to a document is one of these, pushed on a :class:`History`.

Commands change the document only through its public API and store tile diffs of what
changed (never whole images unless the whole image changed). A brush drag is one
:class:`StrokeCommand`: each mouse-move segment is pushed and merged into it (``mergeWith``),
and it remembers the rectangle it touched. :class:`History` bounds the memory the stored
diffs use by dropping the oldest steps.
"""

from __future__ import annotations

import functools
import itertools
import logging

import numpy as np
from PySide6.QtGui import QUndoCommand, QUndoStack

from neuron_desktop.core.document import Document, Rect, TileDiff
from neuron_desktop.core.masks import Hint, paint_segment, segment_bounds

log = logging.getLogger(__name__)

STROKE_ID, HINT_ID = 1001, 1002
_ids = itertools.count(1)


def _guarded(method):
    """Qt calls redo()/undo(); a Python exception escaping into Qt would abort the app, so
    it is logged and recorded on the command (``error``) instead."""

    @functools.wraps(method)
    def wrapper(self, *args):
        try:
            return method(self, *args)
        except Exception as exc:
            self.error = exc
            log.exception("%s of %r failed", method.__name__, getattr(self, "text", lambda: "")())

    return wrapper


def new_gesture_id() -> int:
    """A fresh id tying the segments of one drag together (merging stops at a new id)."""
    return next(_ids)


class DocCommand(QUndoCommand):
    """Base: ``nbytes`` for the memory budget, ``silent`` to re-push without re-applying."""

    def __init__(self, doc: Document, text: str) -> None:
        super().__init__(text)
        self.doc = doc
        self.silent = False
        self.error: Exception | None = None
        self.record: dict | None = None  # the edit-record entry of a capability step

    @property
    def nbytes(self) -> int:
        return 0

    def clone(self) -> DocCommand:
        raise NotImplementedError


class StrokeCommand(DocCommand):
    """A mask brush stroke (paint or erase); later segments of the same drag merge in."""

    def __init__(self, doc: Document, p0: tuple[float, float], p1: tuple[float, float],
                 radius: float, hardness: float, erase: bool, gesture: int) -> None:
        super().__init__(doc, "Erase mask" if erase else "Paint mask")
        self.segments = [(p0, p1)]
        self.radius, self.hardness, self.erase, self.gesture = radius, hardness, erase, gesture
        self.diff = TileDiff("mask", tile=64)
        self.rect: Rect | None = None
        self._painted = False  # segments already applied to the document

    def id(self) -> int:  # noqa: A003 (Qt API)
        return STROKE_ID

    @_guarded
    def redo(self) -> None:
        if self.silent:
            return
        if not self._painted:
            for p0, p1 in self.segments:
                self._paint(p0, p1)
            self._painted = True
        else:
            self.diff.restore(self.doc, "new")

    def _paint(self, p0, p1) -> None:
        box = segment_bounds(p0, p1, self.radius, self.doc.mask.shape)
        if box is None:
            return
        rect = Rect(*box)
        self.diff.remember(self.doc, rect)
        paint_segment(self.doc.writable("mask"), p0, p1, self.radius, self.hardness, self.erase)
        self.rect = rect.union(self.rect)
        self.doc.notify("mask", rect)

    @_guarded
    def undo(self) -> None:
        if self.silent:
            return
        if self.diff.new is None:
            self.diff.capture_new(self.doc)
        self.diff.restore(self.doc, "old")

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 (Qt API)
        if not isinstance(other, StrokeCommand) or other.gesture != self.gesture:
            return False
        self.segments += other.segments
        self.diff.merge(other.diff)
        self.rect = other.rect.union(self.rect) if other.rect else self.rect
        self.diff.new = None  # re-captured at undo
        return True

    @property
    def nbytes(self) -> int:
        return self.diff.nbytes

    def clone(self) -> StrokeCommand:
        c = StrokeCommand(self.doc, *self.segments[0], self.radius, self.hardness, self.erase,
                          self.gesture)
        c.segments, c.diff, c.rect, c._painted = self.segments, self.diff, self.rect, True
        return c


class HintsCommand(DocCommand):
    """Replace the hint list (add / move / delete / resize / recolour). Tiny: hints are
    stored whole. Moves of one drag merge through ``gesture``."""

    def __init__(self, doc: Document, new: list[Hint] | tuple[Hint, ...], text: str,
                 gesture: int | None = None) -> None:
        super().__init__(doc, text)
        self.old = tuple(doc.hints)
        self.new = tuple(new)
        self.gesture = gesture

    def id(self) -> int:  # noqa: A003 (Qt API)
        return HINT_ID if self.gesture is not None else -1

    @_guarded
    def redo(self) -> None:
        if not self.silent:
            self.doc.set_hints(self.new)

    @_guarded
    def undo(self) -> None:
        if not self.silent:
            self.doc.set_hints(self.old)

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 (Qt API)
        if not isinstance(other, HintsCommand) or other.gesture != self.gesture:
            return False
        self.new = other.new
        return True

    def clone(self) -> HintsCommand:
        c = HintsCommand(self.doc, self.new, self.text(), self.gesture)
        c.old = self.old
        return c


class EditCommand(DocCommand):
    """A whole edit (an applied result, clear/invert/import mask): tile diffs of the image
    and mask, plus optionally the hints, undone and redone together. ``diffs`` computed
    elsewhere (a worker) may be given instead of the new arrays."""

    def __init__(self, doc: Document, text: str, *, image: np.ndarray | None = None,
                 mask: np.ndarray | None = None, hints: tuple[Hint, ...] | None = None,
                 diffs: list[TileDiff] | None = None) -> None:
        super().__init__(doc, text)
        self.diffs = list(diffs or [])
        if image is not None:
            self.diffs.append(TileDiff.from_arrays("image", doc.image, image))
        if mask is not None:
            self.diffs.append(TileDiff.from_arrays("mask", doc.mask, mask))
        self.diffs = [d for d in self.diffs if not d.empty]
        self.old_hints = tuple(doc.hints)
        self.new_hints = None if hints is None else tuple(hints)

    @property
    def changes_nothing(self) -> bool:
        return not self.diffs and (self.new_hints is None or self.new_hints == self.old_hints)

    @_guarded
    def redo(self) -> None:
        if self.silent:
            return
        for d in self.diffs:
            d.restore(self.doc, "new")
        if self.new_hints is not None:
            self.doc.set_hints(self.new_hints)

    @_guarded
    def undo(self) -> None:
        if self.silent:
            return
        for d in self.diffs:
            d.restore(self.doc, "old")
        if self.new_hints is not None:
            self.doc.set_hints(self.old_hints)

    @property
    def nbytes(self) -> int:
        return sum(d.nbytes for d in self.diffs)

    def clone(self) -> EditCommand:
        c = EditCommand(self.doc, self.text())
        c.diffs, c.old_hints, c.new_hints = self.diffs, self.old_hints, self.new_hints
        return c


class History(QUndoStack):
    """A QUndoStack whose stored diffs stay under ``byte_limit`` (the newest step always
    stays). Over the limit, the oldest steps are dropped (the stack is rebuilt from clones
    of the kept commands, without re-applying them)."""

    def __init__(self, parent=None, byte_limit: int = 1024 * 2**20) -> None:
        super().__init__(parent)
        self.byte_limit = byte_limit
        self._commands: list[DocCommand] = []  # Python references for every live command
        self.dropped: list[dict] = []  # edit-record entries of the steps dropped so far

    def push(self, cmd: QUndoCommand) -> None:  # type: ignore[override]
        super().push(cmd)
        self._sync()
        self.enforce_limit()

    def _sync(self) -> None:
        self._commands = [self.command(i) for i in range(self.count())]

    @property
    def nbytes(self) -> int:
        return sum(getattr(c, "nbytes", 0) for c in self._commands)

    def enforce_limit(self) -> int:
        """Drop the oldest steps while over the byte limit; returns how many were dropped."""
        if self.index() != self.count() or self.count() <= 1:
            return 0
        sizes = [getattr(c, "nbytes", 0) for c in self._commands]
        total, drop = sum(sizes), 0
        while total > self.byte_limit and drop < len(sizes) - 1:
            total -= sizes[drop]
            drop += 1
        if drop == 0:
            return 0
        clean = self.cleanIndex()
        for c in self._commands[:drop]:  # the record keeps them (projects, exports)
            if c.text() != "Opened project":
                self.dropped.append(c.record or {"name": c.text()})
        kept = []
        for c in self._commands[drop:]:
            kept.append(c.clone())
            kept[-1].record = c.record
        self.clear()
        for c in kept:
            c.silent = True
            super().push(c)
            c.silent = False
        if clean == drop + len(kept):
            self.setClean()
        self._sync()
        return drop
