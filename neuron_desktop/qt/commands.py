"""Undo commands: every change to a document is one of these, pushed on a :class:`History`.

Commands change the document only through its public API and store tile diffs of what
changed (never whole images unless the whole image changed). A brush drag is one
:class:`StrokeCommand`: each mouse-move segment is pushed and merged into it (``mergeWith``),
and it remembers the rectangle it touched. :class:`History` bounds the memory the steps use:
it spills whole-layer steps to a disk cache, then merges the oldest steps into one.
"""

from __future__ import annotations

import functools
import itertools
import logging
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from neuron_desktop.core.document import Document, Rect, TileDiff
from neuron_desktop.core.masks import Hint, paint_segment, segment_bounds
from neuron_desktop.core.undo_cache import SpillCache, ram_nbytes
from neuron_desktop.qt.layers import Layers, adopt_spilled, current_layers, spill_layers
from neuron_desktop.qt.qimage import rgb_to_bgra

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
    """A QUndoStack whose steps stay within a memory budget (``byte_limit``) and a disk
    budget (``disk_limit``). Over the memory budget, the layers of the oldest whole-layer
    steps that are not on screen are written to the undo disk cache on a worker
    (:mod:`core.undo_cache`) and read back memory-mapped when needed. Steps are dropped
    only when both budgets are spent (the newest step always stays): the dropped steps are
    merged into one first step, :class:`EarlierStepsCommand`,
    so the first row still shows the photo as opened, and ``stepsDropped`` says how many.
    The stack is rebuilt from clones of the kept commands, without re-applying them."""

    stepsDropped = Signal(int)
    _spilled = Signal(object, object, int)  # state, (array, memory-mapped copy) pairs, swaps

    def __init__(self, parent=None, byte_limit: int = 1024 * 2**20,
                 disk_limit: int = 16 * 2**30) -> None:
        super().__init__(parent)
        self.byte_limit, self.disk_limit = byte_limit, disk_limit
        self.canvas = None  # the window's canvas (the merged first step swaps its pyramids)
        self._commands: list[DocCommand] = []  # Python references for every live command
        self.dropped: list[dict] = []  # edit-record entries of the steps dropped so far
        self.dropped_total = 0  # steps dropped since the document was opened
        self.cache = SpillCache()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="undo-spill")
        self._spilling: dict[int, int] = {}  # id(state) -> bytes being written
        self._futures: list = []
        self._spilled.connect(self._adopt)
        self.indexChanged.connect(lambda _i: self._schedule_spills())

    def push(self, cmd: QUndoCommand) -> None:  # type: ignore[override]
        super().push(cmd)
        self._sync()
        self.enforce_limit()

    def clear(self) -> None:  # type: ignore[override]
        super().clear()
        self.dropped_total = 0

    def _sync(self) -> None:
        self._commands = [self.command(i) for i in range(self.count())]

    @property
    def nbytes(self) -> int:
        """Memory the steps hold (spilled layers count nothing)."""
        return sum(getattr(c, "nbytes", 0) for c in self._commands)

    @property
    def disk_nbytes(self) -> int:
        return self.cache.disk_bytes

    # ---------------------------------------------------------------------- disk cache

    def _plan(self, cmds: list) -> tuple[int, int, list]:
        """(memory, disk, states to spill) for ``cmds`` once the oldest hidden whole-layer
        states that fit in the disk budget are spilled."""
        ram = disk = 0
        candidates = []
        for c in cmds:
            hidden = getattr(c, "hidden", None)
            state = hidden() if hidden is not None else None
            disk += getattr(c, "disk_nbytes", 0)
            if state is not None and id(state) in self._spilling:
                disk += self._spilling[id(state)]
                continue
            n = getattr(c, "nbytes", 0)
            ram += n
            if state is not None and n and not getattr(state, "spill_failed", False):
                candidates.append((state, n))
        chosen = []
        for state, n in candidates:
            if ram <= self.byte_limit or disk + n > self.disk_limit:
                break
            ram, disk = ram - n, disk + n
            chosen.append((state, n))
        return ram, disk, chosen

    def _schedule_spills(self) -> None:
        if self.cache.closed or not self._commands:
            return
        swaps = self._commands[0].doc.swaps
        for state, n in self._plan(self._commands)[2]:
            self._spilling[id(state)] = n
            self._futures.append(self._pool.submit(self._spill, state, swaps))

    def _spill(self, state, swaps: int) -> None:  # worker thread
        try:
            self._spilled.emit(state, spill_layers(state, self.cache), swaps)
        except Exception:  # disk full, cache closed...: the state stays in memory
            log.warning("could not write an undo step to the disk cache", exc_info=True)
            self._spilled.emit(state, None, swaps)

    def _states(self) -> list:
        """Every whole-layer state the steps hold (shown or not)."""
        out = []
        for c in self._commands:
            out += [s for s in (getattr(c, "old", None), getattr(c, "new", None),
                                getattr(c, "after", None)) if hasattr(s, "pyramids")]
        return out

    def _adopt(self, state, pairs: list | None, swaps: int) -> None:
        self._spilling.pop(id(state), None)
        if pairs is None:
            state.spill_failed = True
            self.enforce_limit()
        elif not self._commands or self._commands[0].doc.swaps != swaps:
            # layers were swapped on screen meanwhile: the arrays written may have been
            # shown (and edited); the files are dropped and the spill is tried again
            QTimer.singleShot(0, self, self._schedule_spills)
        else:
            adopt_spilled(self._states(), pairs)
            log.debug("undo step spilled; memory %d MB, disk %d MB", self.nbytes >> 20,
                      self.disk_nbytes >> 20)

    def wait_spills(self) -> None:
        """Block until the disk cache writes are done and adopted (tests, benchmarks)."""
        from PySide6.QtCore import QCoreApplication

        for f in self._futures:
            f.result()
        self._futures = []
        QCoreApplication.sendPostedEvents(self)
        QCoreApplication.processEvents()

    def close_cache(self) -> None:
        """The window closes: finish the writes and delete the disk cache."""
        self._pool.shutdown(wait=True)
        self.cache.close()

    # ----------------------------------------------------------------------- dropping

    def enforce_limit(self) -> int:
        """Spill, then merge the oldest steps while over the budgets; returns how many
        steps were merged away."""
        self._schedule_spills()
        if self.index() != self.count() or self.count() <= 1:
            return 0
        cmds = self._commands
        drop = 0
        while drop < len(cmds) - 1:
            ram, disk, _ = self._plan(cmds[drop:])
            if ram <= self.byte_limit and disk <= self.disk_limit:
                break
            drop += 1
        first = cmds[0] if isinstance(cmds[0], EarlierStepsCommand) else None
        if drop == 0 or (drop == 1 and first is not None):
            return 0
        merged = sum(c.count if isinstance(c, EarlierStepsCommand) else 1 for c in cmds[:drop])
        newly = merged - (first.count if first is not None else 0)
        clean = self.cleanIndex()
        for c in cmds[:drop]:  # the record keeps them (projects, exports)
            if c.text() != "Opened project" and not isinstance(c, EarlierStepsCommand):
                self.dropped.append(c.record or {"name": c.text()})
        base = EarlierStepsCommand(cmds[0].doc, self.canvas, merged)
        kept = [base]
        for c in cmds[drop:]:
            kept.append(c.clone())
            kept[-1].record = c.record
        total = self.dropped_total + newly
        super().clear()
        self.dropped_total = total
        for i, c in enumerate(kept):
            c.silent = True
            super().push(c)
            c.silent = False
            if clean == drop + i:  # the saved state is still in the history
                self.setClean()
        if clean < 0 or 0 < clean < drop:  # the saved state is gone
            self.resetClean()
        self._sync()
        del cmds, c  # the dropped steps' cache files go with them
        self._schedule_spills()
        log.info("undo budget: %d oldest step(s) merged (%d MB in memory, %d MB on disk)",
                 newly, self.nbytes >> 20, self.disk_nbytes >> 20)
        self.stepsDropped.emit(newly)
        return newly


class EarlierStepsCommand(DocCommand):
    """The oldest steps, merged when History had to drop them to stay within its budget
    (its first row stays the photo as opened). Undo shows the original (the current
    original: a dropped crop stays cropped), with no mask and no hints; redo the state after
    the merged steps. It holds nothing while done: undo swaps the document's layers out
    (O(1)) and keeps them for redo, as the edits after it are always undone first."""

    def __init__(self, doc: Document, canvas, count: int) -> None:
        super().__init__(doc, "")
        self.canvas, self.after = canvas, None
        self.set_count(count)

    def set_count(self, count: int) -> None:
        self.count = count
        self.setText(f"{count} earlier step{'s' if count != 1 else ''} (merged: undo budget)")

    @_guarded
    def undo(self) -> None:
        if self.silent:
            return
        doc, canvas = self.doc, self.canvas
        if canvas is None or canvas.doc is not doc:  # no view of this document
            self.after = Layers(doc.image, doc.original, doc.mask, doc.hints, {})
        else:
            self.after = current_layers(canvas, doc)
            orig = self.after.pyramids["original"]
            canvas.set_pyramids({"image": orig.copy(lambda r: rgb_to_bgra(doc.image[r.slices])),
                                 "original": orig})
        # the original itself (read-only: the document copies it before a first edit)
        doc.replace_layers(doc.original, doc.original, np.zeros(doc.mask.shape, np.float32), ())

    @_guarded
    def redo(self) -> None:
        if self.silent or self.after is None:
            return
        s, self.after = self.after, None
        if s.pyramids and self.canvas is not None and self.canvas.doc is self.doc:
            self.canvas.set_pyramids(s.pyramids)
        self.doc.replace_layers(s.image, s.original, s.mask, s.hints)

    @property
    def nbytes(self) -> int:
        a = self.after  # its original (and that pyramid) is the document's own
        if a is None:
            return 0
        pyrs = [p for k, p in a.pyramids.items() if k != "original"]
        return ram_nbytes(a.image) + ram_nbytes(a.mask) + sum(
            ram_nbytes(x) for p in pyrs for x in p.levels)

    def clone(self) -> EarlierStepsCommand:
        c = EarlierStepsCommand(self.doc, self.canvas, self.count)
        c.after = self.after
        return c
