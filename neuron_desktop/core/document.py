"""The editor's document model, without Qt: image + original + mask + hints, and tile diffs.

A :class:`Document` holds the current image (float32 (H, W, 3) RGB in [0, 1]), the original
as opened (never modified), the inpainting mask (float32 (H, W) in [0, 1]) and the colour
hints. Every change goes through :meth:`Document.apply_patch` / :meth:`Document.set_hints`,
which return what they replaced, and notifies listeners with the layer and rectangle that
changed, so views redraw only that area and undo stores only the touched rectangle.

:class:`TileDiff` records the old (and, once known, new) contents of the tiles of one layer
that an edit touched: the building block of memory-bounded undo.

:meth:`Document.snapshot` gives a worker thread the current layers without copying them on
the GUI thread: while a snapshot is pinned, the document copies a layer before writing to it
(copy-on-write). Every write bumps that layer's revision, so a result computed from a
snapshot can be checked against the document before it is committed.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from neuron_desktop.core.imageio import (
    LoadedImage,
    load_image,
    save_image,
    save_like,
)
from neuron_desktop.core.masks import Hint

LAYERS = ("image", "mask")


@dataclass(frozen=True)
class Rect:
    """Pixel rectangle [x0, x1) x [y0, y1)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return max(self.x1 - self.x0, 0)

    @property
    def height(self) -> int:
        return max(self.y1 - self.y0, 0)

    @property
    def empty(self) -> bool:
        return self.width == 0 or self.height == 0

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def union(self, other: Rect | None) -> Rect:
        if other is None or other.empty:
            return self
        if self.empty:
            return other
        return Rect(min(self.x0, other.x0), min(self.y0, other.y0),
                    max(self.x1, other.x1), max(self.y1, other.y1))

    def intersect(self, other: Rect) -> Rect:
        r = Rect(max(self.x0, other.x0), max(self.y0, other.y0),
                 min(self.x1, other.x1), min(self.y1, other.y1))
        return r if not r.empty else Rect(0, 0, 0, 0)

    def clip(self, width: int, height: int) -> Rect:
        return self.intersect(Rect(0, 0, width, height))


@dataclass
class Patch:
    """Contents of a rectangle of the image and/or mask (None: that layer not included)."""

    rect: Rect
    image: np.ndarray | None = None
    mask: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.image, self.mask) if a is not None)


Listener = Callable[[str, Rect | None], None]


class Snapshot:
    """The document's layers (``image``, ``mask``: the live arrays, not copies), hints and
    layer revisions at one moment. While pinned, the document copies a layer before writing
    it, so a worker may read or copy the arrays safely; it calls :meth:`release` (or leaves a
    ``with snapshot:`` block) once it holds what it needs. After release the arrays equal the
    document's as long as the layer revisions are unchanged (``unchanged(doc, layer)``)."""

    def __init__(self, doc: Document, layers: tuple[str, ...]) -> None:
        self.image = doc.image if "image" in layers else None
        self.mask = doc.mask if "mask" in layers else None
        self.hints = doc.hints
        self.revisions = dict(doc.revisions)
        self.pinned = True

    def release(self) -> None:
        self.pinned = False

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def shares(self, arr: np.ndarray) -> bool:
        return self.pinned and (self.image is arr or self.mask is arr)

    def unchanged(self, doc: Document, layer: str) -> bool:
        return doc.revisions[layer] == self.revisions[layer]


class Document:
    """An open photo being restored. Not thread-safe: change it from one thread only.

    Listeners are called as ``listener(layer, rect)`` with layer in ``"image"``, ``"mask"``,
    ``"hints"`` (rect None), ``"all"`` (everything replaced, rect None) or ``"geometry"``
    (new layers of a new size, :meth:`replace_layers`).
    """

    def __init__(self, rgb: np.ndarray, *, source: LoadedImage | None = None,
                 path: str | Path | None = None) -> None:
        rgb = np.ascontiguousarray(rgb, dtype=np.float32)
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) image, got {rgb.shape}")
        self.original = rgb
        self.original.setflags(write=False)
        self.image = rgb.copy()
        self.mask = np.zeros(rgb.shape[:2], np.float32)
        self.hints: tuple[Hint, ...] = ()
        self.source = source
        self.path = Path(path) if path is not None else (source.path if source else None)
        self._listeners: list[Listener] = []
        self.revisions = {name: 0 for name in LAYERS}  # bumped by every write of a layer
        self.revision = 0  # bumped on every change notification of any layer
        self.swaps = 0  # bumped by every replace_layers (undo's disk cache checks it)
        self._snapshots: weakref.WeakSet[Snapshot] = weakref.WeakSet()
        self._lock = threading.Lock()  # snapshots are created here and released by workers

    # ------------------------------------------------------------------ construction / info

    @classmethod
    def open(cls, path: str | Path) -> Document:
        """Load a photo (raises ImageLoadError with a clear message on a bad file)."""
        loaded = load_image(path)
        return cls(loaded.rgb, source=loaded, path=path)

    @property
    def width(self) -> int:
        return self.image.shape[1]

    @property
    def height(self) -> int:
        return self.image.shape[0]

    @property
    def bounds(self) -> Rect:
        return Rect(0, 0, self.width, self.height)

    @property
    def image_revision(self) -> int:
        return self.revisions["image"]

    @property
    def has_mask(self) -> bool:
        return bool(self.mask.any())

    # ---------------------------------------------------------------------------- listeners

    def add_listener(self, fn: Listener) -> None:
        self._listeners.append(fn)

    def remove_listener(self, fn: Listener) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def notify(self, layer: str, rect: Rect | None = None) -> None:
        self.revision += 1
        for fn in list(self._listeners):
            fn(layer, rect)

    # ------------------------------------------------------------------------------ changes

    def layer(self, name: str) -> np.ndarray:
        if name == "image":
            return self.image
        if name == "mask":
            return self.mask
        raise KeyError(f"unknown layer {name!r}")

    def writable(self, name: str) -> np.ndarray:
        """Layer ``name`` for writing in place: bumps its revision and, when a pinned
        snapshot shares the array or it is read-only (the original, swapped in by undo),
        replaces it with a copy first (copy-on-write)."""
        arr = self.layer(name)
        with self._lock:
            shared = any(s.shares(arr) for s in self._snapshots)
        if shared or not arr.flags.writeable:  # read-only: e.g. the original shown as is
            arr = arr.copy()
            setattr(self, name, arr)
        self.revisions[name] += 1
        return arr

    def snapshot(self, *layers: str) -> Snapshot:
        """Cheap (no copy) pinned view of ``layers`` (default: image and mask) for a worker."""
        snap = Snapshot(self, layers or LAYERS)
        with self._lock:
            self._snapshots.add(snap)
        return snap

    def read(self, name: str, rect: Rect) -> np.ndarray:
        """A copy of ``rect`` of layer ``name``."""
        return self.layer(name)[rect.slices].copy()

    def apply_patch(self, rect: Rect, *, image: np.ndarray | None = None,
                    mask: np.ndarray | None = None, notify: bool = True) -> Patch:
        """Write ``image`` (h, w, 3) and/or ``mask`` (h, w) into ``rect``; return the old
        contents of exactly those layers as a :class:`Patch` (so undo stores only ``rect``)."""
        rect = rect.clip(self.width, self.height)
        old = Patch(rect)
        for name, new in (("image", image), ("mask", mask)):
            if new is None:
                continue
            if new.shape[:2] != (rect.height, rect.width):
                raise ValueError(f"{name} patch {new.shape[:2]} does not fit {rect}")
            target = self.writable(name)[rect.slices]
            setattr(old, name, target.copy())
            target[...] = new
        if notify:
            for name in ("image", "mask"):
                if getattr(old, name) is not None:
                    self.notify(name, rect)
        return old

    def write_tiles(self, name: str, tiles: Iterable[tuple[Rect, np.ndarray]]) -> Rect | None:
        """Write several patches into one layer, notifying once with their union."""
        union = None
        for rect, data in tiles:
            self.apply_patch(rect, notify=False, **{name: data})
            union = rect if union is None else rect.union(union)
        if union is not None:
            self.notify(name, union)
        return union

    def replace_layers(self, image: np.ndarray, original: np.ndarray, mask: np.ndarray,
                       hints: Iterable[Hint]) -> tuple:
        """Swap in new layers, possibly of another size (a crop, turn or straighten: the
        arrays are taken, not copied); returns the old ``(image, original, mask, hints)``.
        Listeners hear ``("geometry", None)``."""
        if image.shape[:2] != mask.shape or original.shape != image.shape:
            raise ValueError(f"layer shapes differ: {image.shape}, {original.shape}, "
                             f"{mask.shape}")
        old = (self.image, self.original, self.mask, self.hints)
        self.swaps += 1
        self.image, self.original, self.mask = image, original, mask
        self.original.setflags(write=False)
        self.hints = tuple(hints)
        for name in LAYERS:
            self.revisions[name] += 1
        self.notify("geometry", None)
        return old

    def set_hints(self, hints: Iterable[Hint]) -> tuple[Hint, ...]:
        """Replace the hints (copies are stored); return the old ones."""
        old = self.hints
        self.hints = tuple(replace(h, rgb=(h.rgb[0], h.rgb[1], h.rgb[2])) for h in hints)
        self.notify("hints", None)
        return old

    def hint_at(self, x: float, y: float, radius: float) -> int | None:
        """Index of the topmost hint whose centre is within ``radius`` px of (x, y)."""
        best, best_d = None, radius * radius
        for i in range(len(self.hints) - 1, -1, -1):
            h = self.hints[i]
            d = (h.x + 0.5 - x) ** 2 + (h.y + 0.5 - y) ** 2
            if d <= best_d:
                best, best_d = i, d
        return best

    # --------------------------------------------------------------------------------- save

    def save(self, path: str | Path, *, overwrite: bool = False, quality: int = 95) -> Path:
        """Save the current image at full resolution, atomically, keeping EXIF/ICC/alpha of
        the source; the original file is never overwritten unless ``overwrite``."""
        if self.source is not None:
            return save_like(path, self.image, self.source, overwrite=overwrite, quality=quality)
        return save_image(path, self.image, source=self.path, overwrite=overwrite,
                          quality=quality)


# ---------------------------------------------------------------------------------- diffs


def tile_grid(rect: Rect, tile: int) -> list[tuple[int, int]]:
    """(tx, ty) indices of the ``tile``-sized grid cells that overlap ``rect``."""
    if rect.empty:
        return []
    return [(tx, ty)
            for ty in range(rect.y0 // tile, (rect.y1 - 1) // tile + 1)
            for tx in range(rect.x0 // tile, (rect.x1 - 1) // tile + 1)]


def changed_tiles(old: np.ndarray, new: np.ndarray, tile: int) -> list[tuple[int, int]]:
    """Grid cells (tx, ty) where two equally shaped arrays differ (bit-exact comparison)."""
    if old.shape != new.shape:
        raise ValueError(f"shapes differ: {old.shape} vs {new.shape}")
    diff = old != new
    while diff.ndim > 2:
        diff = diff.any(axis=-1)
    h, w = diff.shape
    th, tw = -(-h // tile), -(-w // tile)
    padded = np.zeros((th * tile, tw * tile), bool)
    padded[:h, :w] = diff
    cells = padded.reshape(th, tile, tw, tile).any(axis=(1, 3))
    return [(int(tx), int(ty)) for ty, tx in zip(*np.nonzero(cells), strict=True)]


class TileDiff:
    """Old and new contents of the tiles of one layer that an edit touched.

    Incremental use (a brush stroke): call :meth:`remember` with each segment's rectangle
    *before* changing it; only the first touch of a tile is stored. The new contents are read
    from the document by :meth:`capture_new` (at the first undo). Whole-result use:
    :meth:`from_arrays` stores only tiles that differ.
    """

    def __init__(self, layer: str, tile: int = 64) -> None:
        if layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}")
        self.layer, self.tile = layer, tile
        self.old: dict[tuple[int, int], np.ndarray] = {}
        self.new: dict[tuple[int, int], np.ndarray] | None = None

    @classmethod
    def from_arrays(cls, layer: str, old: np.ndarray, new: np.ndarray,
                    tile: int = 128) -> TileDiff:
        d = cls(layer, tile)
        d.new = {}
        h, w = old.shape[:2]
        for cell in changed_tiles(old, new, tile):
            r = d.cell_rect(cell, w, h)
            d.old[cell] = old[r.slices].copy()
            d.new[cell] = new[r.slices].copy()
        return d

    def cell_rect(self, cell: tuple[int, int], width: int, height: int) -> Rect:
        tx, ty = cell
        return Rect(tx * self.tile, ty * self.tile, (tx + 1) * self.tile,
                    (ty + 1) * self.tile).clip(width, height)

    def remember(self, doc: Document, rect: Rect) -> None:
        """Store the current contents of not-yet-stored tiles overlapping ``rect``."""
        data = doc.layer(self.layer)
        for cell in tile_grid(rect.clip(doc.width, doc.height), self.tile):
            if cell not in self.old:
                self.old[cell] = data[self.cell_rect(cell, doc.width, doc.height).slices].copy()

    def merge(self, later: TileDiff) -> None:
        """Absorb a later diff of the same layer (its old tiles count where ours are absent)."""
        for cell, data in later.old.items():
            self.old.setdefault(cell, data)
        if later.new is not None:
            self.new = {**(self.new or {}), **later.new}

    def capture_new(self, doc: Document) -> None:
        data = doc.layer(self.layer)
        self.new = {cell: data[self.cell_rect(cell, doc.width, doc.height).slices].copy()
                    for cell in self.old}

    def restore(self, doc: Document, which: str) -> Rect | None:
        """Write the ``"old"`` or ``"new"`` tiles back; returns the union rectangle."""
        tiles = self.old if which == "old" else self.new
        if tiles is None:
            raise RuntimeError("new contents were never captured")
        return doc.write_tiles(self.layer, ((self.cell_rect(c, doc.width, doc.height), d)
                                            for c, d in tiles.items()))

    def apply_new(self, base: np.ndarray) -> np.ndarray:
        """A copy of ``base`` (a layer of the same size) with the new tiles written in:
        the edit applied on top of a layer that changed since it was computed."""
        out = base.copy()
        h, w = base.shape[:2]
        for cell, data in (self.new or {}).items():
            out[self.cell_rect(cell, w, h).slices] = data
        return out

    def rect(self, width: int, height: int) -> Rect | None:
        union = None
        for cell in self.old:
            r = self.cell_rect(cell, width, height)
            union = r if union is None else union.union(r)
        return union

    @property
    def empty(self) -> bool:
        return not self.old

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.old.values()) + sum(
            a.nbytes for a in (self.new or {}).values())
