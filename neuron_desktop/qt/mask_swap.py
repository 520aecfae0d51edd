"""Whole-mask results (Detect scratches) as a layer swap: no 24 MP work on the GUI thread.

Detected scratches spread over the whole photo, so their tile diff covers it all: applying
it and re-encoding the mask's display pyramid on the GUI thread stalled a 24 MP scan for
0.6–0.85 s. Instead the worker makes the new mask (the detection added to the painted mask)
and its display pyramid (:func:`postprocess`); the step is a
:class:`~neuron_desktop.qt.geometry.GeometryCommand` whose two states share the image,
the original and the hints and differ only in the mask: redo and undo swap references, in
O(1) (:func:`commit`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from neuron_desktop.qt.canvas import MASK_FORMAT
from neuron_desktop.qt.geometry import GeometryCommand, Layers
from neuron_desktop.qt.qimage import Pyramid, mask_to_bgra

log = logging.getLogger(__name__)


@dataclass
class MaskSwap:
    """A job's new mask with its display pyramid (None when the mask is empty)."""

    mask: np.ndarray
    pyramid: Pyramid | None
    changed: bool = True  # False: nothing found beyond what was painted
    layer: str = "mask"


class MaskLayers(Layers):
    """A state that differs from its neighbour only in the mask: its cost is the mask's."""

    @property
    def nbytes(self) -> int:
        pyr = self.pyramids.get("mask")
        return self.mask.nbytes + (pyr.nbytes if pyr is not None else 0)


def postprocess(snap, style: tuple):
    """Worker side: result tensor (1, 1, H, W) -> :class:`MaskSwap` of the result added to
    the snapshot's mask."""

    def post(result) -> MaskSwap:
        from neuron_desktop.core.imageio import from_tensor

        m = from_tensor(result)
        m = np.clip(m if m.ndim == 2 else m[..., 0], 0, 1)
        with snap:
            if m.shape != snap.mask.shape:
                raise ValueError(f"the result has shape {m.shape}, expected "
                                 f"{snap.mask.shape}")
            changed = bool((m > snap.mask).any())
            new = np.ascontiguousarray(np.maximum(m, snap.mask), np.float32)
        h, w = new.shape
        pyr = (Pyramid(w, h, lambda r: mask_to_bgra(new[r.slices], *style), MASK_FORMAT)
               if changed and new.any() else None)
        return MaskSwap(new, pyr, changed)

    return post


def commit(window, name: str, result: MaskSwap, doc, snap, record: dict | None) -> None:
    """GUI side: push the swap as one undo step. If the mask or the photo changed while the
    job ran, the detection is added to the mask as it is now instead (a tile-diff step)."""
    from neuron_desktop.qt.commands import EditCommand

    w = window
    canvas = w.canvas
    if not result.changed:  # nothing found beyond what was painted
        return
    if not (snap.unchanged(doc, "mask") and snap.unchanged(doc, "image")
            and doc.mask.shape == result.mask.shape):
        if doc.mask.shape != result.mask.shape:
            w.statusBar().showMessage(f"{name}: the photo changed meanwhile; not applied", 8000)
            return
        cmd = EditCommand(doc, f"{name} (over later edits)",
                          mask=np.maximum(result.mask, doc.mask))
        cmd.record = record
        w.history.push(cmd)
        return
    pyramids = canvas.pyramids()
    old = MaskLayers(doc.image, doc.original, doc.mask, doc.hints, pyramids)
    new_pyramids = {k: v for k, v in pyramids.items() if k != "mask"}
    if result.pyramid is not None:
        new_pyramids["mask"] = result.pyramid
    new = MaskLayers(doc.image, doc.original, result.mask, doc.hints, new_pyramids)
    cmd = GeometryCommand(doc, canvas, name, old, new)
    cmd.record = record
    w.history.push(cmd)
