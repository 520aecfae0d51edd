"""The clone / heal brush's pixel operation, without Qt.

A :class:`CloneStroke` is one drag of the brush: every segment (a "dab") copies pixels from
``offset`` px away (source = target + offset) into the brush's footprint, blended by its
soft coverage. Pixels are always read from the image *as it was before the stroke* (the
stroke keeps the first copy of every tile it writes, ``before``), so a stroke never copies
what it has just painted, and only the touched boxes are read or written: a dab on a 24 MP
photo costs what it costs on a small one.

Modes (``MODES``):

- ``clone``: a plain copy (the source's pixels as they are).
- ``heal``: seamless (Poisson) blending: the copy keeps the source's texture but takes the
  colour and brightness of the target's surroundings; the difference target - source is
  interpolated harmonically from the stroke's border into it (``core.fill.harmonic_fill``),
  which is the solution of the Poisson equation with the source's gradients as guidance.
- ``match``: the copy shifted by the difference of the mean colours of a ring around the
  stroke at the target and at the source (cheap; good on flat areas).

During a drag the dabs show the plain copy; :meth:`CloneStroke.finish` blends a ``heal`` or
``match`` stroke once, over the stroke's bounding box.
"""

from __future__ import annotations

import logging

import numpy as np

from neuron_desktop.core.document import TileDiff
from neuron_desktop.core.masks import brush_alpha, segment_bounds

log = logging.getLogger(__name__)

MODES = ("clone", "heal", "match")
TILE = 64  # the granularity of the kept "before" pixels (and of the undo diff)
RING = 3  # px: the ring around a stroke whose colours a ``match`` stroke compares

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (end-exclusive)


def tiles_of(box: Box, tile: int = TILE) -> list[tuple[int, int]]:
    """(tx, ty) of the ``tile`` grid cells overlapping ``box``."""
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return []
    return [(tx, ty) for ty in range(y0 // tile, (y1 - 1) // tile + 1)
            for tx in range(x0 // tile, (x1 - 1) // tile + 1)]


def tile_box(cell: tuple[int, int], shape: tuple[int, int], tile: int = TILE) -> Box:
    tx, ty = cell
    h, w = shape
    return tx * tile, ty * tile, min((tx + 1) * tile, w), min((ty + 1) * tile, h)


def _overlap(a: Box, b: Box) -> Box | None:
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None


def union(a: Box | None, b: Box | None) -> Box | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


class CloneStroke:
    """One clone/heal stroke on an (H, W, C) float32 image.

    ``offset`` (dx, dy): where the source lies relative to the brush (source = target +
    offset). ``radius`` and ``hardness`` as for the mask brush (``core.masks.brush_alpha``).
    Call :meth:`dab` for each segment (it writes into the array it is given, which must be
    the image the stroke started on, possibly re-allocated by copy-on-write), then
    :meth:`finish`. ``before`` then holds the old contents of every tile written
    ((tx, ty) -> (h, w, C) array): the undo diff.
    """

    def __init__(self, shape: tuple[int, int], offset: tuple[float, float], *,
                 mode: str = "clone", radius: float = 20.0, hardness: float = 0.7) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown clone mode {mode!r} (expected one of {MODES})")
        self.shape = (int(shape[0]), int(shape[1]))
        self.offset = (int(round(offset[0])), int(round(offset[1])))
        self.mode, self.radius, self.hardness = mode, float(radius), float(hardness)
        self.before: dict[tuple[int, int], np.ndarray] = {}
        self.cover: dict[tuple[int, int], np.ndarray] = {}  # coverage per tile, float32
        self.box: Box | None = None  # union of the dabs' boxes

    # ----------------------------------------------------------------------- pixel access

    def read_before(self, image: np.ndarray, box: Box) -> np.ndarray:
        """A copy of ``box`` of ``image`` as it was before this stroke."""
        x0, y0, x1, y1 = box
        return self._paste(self.before, image[y0:y1, x0:x1].copy(), box)

    def coverage(self, box: Box) -> np.ndarray:
        """The stroke's coverage (h, w) float32 in ``box``."""
        x0, y0, x1, y1 = box
        return self._paste(self.cover, np.zeros((y1 - y0, x1 - x0), np.float32), box)

    def _paste(self, tiles: dict, out: np.ndarray, box: Box) -> np.ndarray:
        """``out`` (the content of ``box``) with the parts of ``tiles`` inside ``box``."""
        x0, y0 = box[:2]
        for cell in tiles_of(box):
            tile = tiles.get(cell)
            if tile is None:
                continue
            tb = tile_box(cell, self.shape)
            o = _overlap(tb, box)
            if o is not None:
                out[o[1] - y0:o[3] - y0, o[0] - x0:o[2] - x0] = \
                    tile[o[1] - tb[1]:o[3] - tb[1], o[0] - tb[0]:o[2] - tb[0]]
        return out

    def _remember(self, image: np.ndarray, box: Box) -> None:
        for cell in tiles_of(box):
            if cell not in self.before:
                x0, y0, x1, y1 = tile_box(cell, self.shape)
                self.before[cell] = image[y0:y1, x0:x1].copy()

    def _add_coverage(self, box: Box, alpha: np.ndarray) -> None:
        x0, y0 = box[:2]
        for cell in tiles_of(box):
            tb = tile_box(cell, self.shape)
            o = _overlap(tb, box)
            if o is None:
                continue
            cov = self.cover.get(cell)
            if cov is None:
                cov = self.cover[cell] = np.zeros((tb[3] - tb[1], tb[2] - tb[0]), np.float32)
            part = cov[o[1] - tb[1]:o[3] - tb[1], o[0] - tb[0]:o[2] - tb[0]]
            np.maximum(part, alpha[o[1] - y0:o[3] - y0, o[0] - x0:o[2] - x0], out=part)

    def source_valid(self, box: Box) -> Box | None:
        """The part of ``box`` whose source pixels lie inside the photo."""
        dx, dy = self.offset
        h, w = self.shape
        return _overlap(box, (-dx, -dy, w - dx, h - dy))

    def _source(self, image: np.ndarray, box: Box) -> np.ndarray:
        dx, dy = self.offset
        return self.read_before(image, (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy))

    # ---------------------------------------------------------------------------- editing

    def dab(self, image: np.ndarray, p0: tuple[float, float],
            p1: tuple[float, float]) -> Box | None:
        """Paint the segment p0 -> p1 (image px): the plain copy, blended by the brush's
        coverage; returns the box written (x0, y0, x1, y1) or None (off the photo, or no
        source there)."""
        box = segment_bounds(p0, p1, self.radius, self.shape)
        box = None if box is None else self.source_valid(box)
        if box is None:
            return None
        self._remember(image, box)
        self._add_coverage(box, brush_alpha(p0, p1, self.radius, self.hardness, box))
        self.box = union(self.box, box)
        self._blend(image, box, self._source(image, box))
        return box

    def _blend(self, image: np.ndarray, box: Box, fill: np.ndarray) -> None:
        x0, y0, x1, y1 = box
        target = self.read_before(image, box)
        a = self.coverage(box)[..., None]
        image[y0:y1, x0:x1] = target + a * (fill - target)

    def blend_inputs(self, image: np.ndarray
                     ) -> tuple[Box, np.ndarray, np.ndarray, np.ndarray] | None:
        """What a ``heal`` or ``match`` stroke's blend needs, read here (cheap copies of the
        stroke's box): (box, target before the stroke, source, hole); None for ``clone``
        or an empty stroke. :func:`blend` computes the fill (on a worker for big strokes),
        :meth:`apply_blend` writes it."""
        if self.box is None or self.mode == "clone":
            return None
        h, w = self.shape
        x0, y0, x1, y1 = self.box
        pad = RING + 1  # the border the blend reads its boundary values from
        box = self.source_valid((max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad),
                                 min(h, y1 + pad)))
        assert box is not None  # it contains self.box, whose sources are valid
        return (box, self.read_before(image, box), self._source(image, box),
                self.coverage(box) > 0)

    def apply_blend(self, image: np.ndarray, box: Box, fill: np.ndarray) -> None:
        """Write a blended ``fill`` of ``box`` (from :func:`blend`), weighted by the
        brush's coverage."""
        self._remember(image, box)
        self._blend(image, box, fill)

    def finish(self, image: np.ndarray) -> Box | None:
        """End the stroke: a ``heal`` or ``match`` stroke is blended now over its bounding
        box. Returns the box the stroke changed (None if it changed nothing)."""
        inputs = self.blend_inputs(image)
        if inputs is not None:
            box, target, source, hole = inputs
            self.apply_blend(image, box, blend(self.mode, target, source, hole))
        return self.box


def patch_diff(layer: str, array: np.ndarray, box: Box, new: np.ndarray,
               tile: int = TILE) -> TileDiff:
    """The :class:`~neuron_desktop.core.document.TileDiff` of writing ``new`` (the
    contents of ``box``) into ``array`` (a whole layer), touching only the tiles of
    ``box``: an undo step for a local edit without comparing the whole photo."""
    d = TileDiff(layer, tile)
    d.new = {}
    x0, y0, x1, y1 = box
    h, w = array.shape[:2]
    for cell in tiles_of(box, tile):
        tb = tile_box(cell, (h, w), tile)
        old = array[tb[1]:tb[3], tb[0]:tb[2]]
        o = _overlap(tb, box)
        assert o is not None
        mine = new[o[1] - y0:o[3] - y0, o[0] - x0:o[2] - x0]
        part = old[o[1] - tb[1]:o[3] - tb[1], o[0] - tb[0]:o[2] - tb[0]]
        if np.array_equal(part, mine):
            continue
        d.old[cell] = old.copy()
        d.new[cell] = old.copy()
        d.new[cell][o[1] - tb[1]:o[3] - tb[1], o[0] - tb[0]:o[2] - tb[0]] = mine
    return d


def stroke_diff(stroke: CloneStroke, image: np.ndarray) -> TileDiff:
    """The undo diff of a finished stroke: its ``before`` tiles and ``image``'s now."""
    d = TileDiff("image", TILE)
    d.new = {}
    for cell, old in stroke.before.items():
        x0, y0, x1, y1 = tile_box(cell, stroke.shape)
        now = image[y0:y1, x0:x1]
        if not np.array_equal(old, now):
            d.old[cell], d.new[cell] = old, now.copy()
    return d


# ------------------------------------------------------------------------------- blending


def blend(mode: str, target: np.ndarray, source: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The ``heal`` or ``match`` fill of ``hole`` (see :func:`heal`, :func:`match_mean`)."""
    return heal(target, source, hole) if mode == "heal" else match_mean(target, source, hole)


HEAL_EXACT_PIXELS = 3000  # bigger strokes solve the blend on a coarser grid


def heal(target: np.ndarray, source: np.ndarray, hole: np.ndarray,
         exact_pixels: int = HEAL_EXACT_PIXELS) -> np.ndarray:
    """Poisson (seamless) blend: ``source`` inside ``hole`` with the gradients of the source
    and the border values of ``target``. target/source (h, w, C) float32, hole (h, w) bool;
    pixels outside the hole are the target's. The solution is source + the harmonic
    interpolant of (target - source) from the hole's border. A hole of more than
    ``exact_pixels`` pixels solves that smooth correction on a grid 2, 4... times coarser
    (at most ``exact_pixels`` unknowns) and upsamples it: the same smooth shift of colour
    and brightness, without the fine noise of the border copied in, in a fraction of the
    time (0.1 s instead of seconds for a 40 px brush's stroke)."""
    import cv2
    import torch

    from neuron_desktop.core.fill import harmonic_fill

    if not hole.any():
        return target.copy()
    diff = target - source
    h, w = hole.shape
    f = 1
    while int(hole.sum()) > exact_pixels * f * f and min(h, w) // (2 * f) >= 4:
        f *= 2
    known = (~hole).astype(np.float32)
    if f > 1:  # mask-weighted area averages: a cell with any known pixel is known
        size = (max(1, -(-w // f)), max(1, -(-h // f)))
        weight = cv2.resize(known, size, interpolation=cv2.INTER_AREA)
        small = cv2.resize(diff * known[..., None], size, interpolation=cv2.INTER_AREA)
        small = small.reshape(size[1], size[0], -1) / np.maximum(weight, 1e-6)[..., None]
        small_hole = weight <= 0
    else:
        small, small_hole = diff, hole
    d = torch.from_numpy(np.ascontiguousarray(small.transpose(2, 0, 1), np.float32))[None]
    m = torch.from_numpy(small_hole.astype(np.float32))[None, None]
    with torch.no_grad():
        smooth = harmonic_fill(d, m)[0].numpy().transpose(1, 2, 0)
    if f > 1:
        smooth = cv2.resize(np.ascontiguousarray(smooth), (w, h), interpolation=cv2.INTER_LINEAR)
        smooth = smooth.reshape(h, w, -1)
    out = target.copy()
    out[hole] = np.clip(source[hole] + smooth[hole], 0.0, 1.0)
    return out


def match_mean(target: np.ndarray, source: np.ndarray, hole: np.ndarray,
               ring: int = RING) -> np.ndarray:
    """``source`` inside ``hole`` shifted by mean(target) - mean(source) over a ``ring`` px
    band around the hole (the whole box when the hole leaves no ring)."""
    import cv2

    if not hole.any():
        return target.copy()
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring + 1, 2 * ring + 1))
    band = cv2.dilate(hole.astype(np.uint8), k).astype(bool) & ~hole
    if not band.any():
        band = np.ones_like(hole)
    shift = target[band].mean(0) - source[band].mean(0)
    out = target.copy()
    out[hole] = np.clip(source[hole] + shift, 0.0, 1.0)
    return out
