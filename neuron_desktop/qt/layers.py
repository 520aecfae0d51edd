"""A document's whole state with its display pyramids (:class:`Layers`): what layer-swapping
undo steps hold, and how such a state is spilled to the undo disk cache and adopted back."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuron_desktop.core.document import Document
from neuron_desktop.core.masks import Hint
from neuron_desktop.core.undo_cache import ram_nbytes
from neuron_desktop.qt.qimage import Pyramid


@dataclass
class Layers:
    """A document's whole state at one size, with its display pyramids."""

    image: np.ndarray
    original: np.ndarray
    mask: np.ndarray
    hints: tuple[Hint, ...]
    pyramids: dict[str, Pyramid]

    shares: bool = False  # only the image (and its pyramid) differ from the other state

    def own(self) -> tuple[list[str], list[Pyramid]]:
        """The array attributes and pyramids this state holds alone (not shared with the
        other state of its step)."""
        if self.shares:
            return ["image"], [self.pyramids["image"]]
        names = ["image", "mask"] + ([] if self.original is self.image else ["original"])
        return names, list(self.pyramids.values())

    @property
    def nbytes(self) -> int:
        """Memory held (arrays spilled to the undo disk cache count nothing)."""
        names, pyramids = self.own()
        return sum(ram_nbytes(getattr(self, n)) for n in names) + sum(
            ram_nbytes(a) for p in pyramids for a in p.levels)

    @property
    def disk_nbytes(self) -> int:
        names, pyramids = self.own()
        arrays = [getattr(self, n) for n in names] + [a for p in pyramids for a in p.levels]
        return sum(a.nbytes for a in arrays if not ram_nbytes(a))


def spill_layers(state: Layers, cache) -> list[tuple[np.ndarray, np.ndarray]]:
    """Write the arrays ``state`` holds alone to ``cache`` (a worker's job): returns (array,
    its memory-mapped copy) pairs, put in place by :func:`adopt_spilled` on the GUI thread."""
    names, pyramids = state.own()
    arrays = [getattr(state, n) for n in names] + [a for p in pyramids for a in p.levels]
    return [(a, cache.spill(a)) for a in arrays if ram_nbytes(a)]


def adopt_spilled(states: list[Layers], pairs: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """Replace the spilled arrays by their memory-mapped copies wherever ``states`` refer to
    them: the state after one step is also the state before the next, two objects sharing
    the same arrays and pyramids."""
    swap = {id(a): (a, m) for a, m in pairs}

    def mapped(arr):
        hit = swap.get(id(arr))
        return hit[1] if hit is not None and hit[0] is arr else arr

    for st in states:
        for n in ("image", "original", "mask"):
            arr = getattr(st, n)
            if arr is not None:
                setattr(st, n, mapped(arr))
        for p in st.pyramids.values():
            levels = [mapped(a) for a in p.levels]
            if any(x is not y for x, y in zip(levels, p.levels, strict=True)):
                p.levels, p._views = levels, [None] * len(levels)


def current_layers(canvas, doc: Document) -> Layers:
    """The document's layers as shown by ``canvas``, with its display pyramids."""
    old = Layers(doc.image, doc.original, doc.mask, doc.hints, canvas.pyramids())
    if "original" not in old.pyramids:  # built lazily by the canvas: keep it so
        old.pyramids = {**old.pyramids, "original": canvas._original_pyramid()}
    return old
