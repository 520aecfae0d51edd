"""Whole-layer results as a layer swap: no 24 MP work on the GUI thread.

Detected scratches spread over the whole photo, and Refine, Colorize, Restore, Denoise and
Stylize change every pixel, so their tile diffs cover it all: applying one and re-encoding
the layer's display pyramid on the GUI thread stalled a 24 MP scan for 0.6–0.85 s (and as
long again on Undo). Instead the worker makes the new layer (for a mask: the detection added
to the painted mask) and its display pyramid (:func:`postprocess`); the step is a
:class:`~neuron_desktop.qt.geometry.GeometryCommand` whose two states share every other
layer: redo and undo swap references, in O(1) (:func:`commit`). A result that arrives after
the layer was edited meanwhile is applied on top as a new step, as before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from neuron_desktop.qt.canvas import MASK_FORMAT
from neuron_desktop.qt.geometry import GeometryCommand, image_swap_command
from neuron_desktop.qt.layers import Layers
from neuron_desktop.qt.qimage import Pyramid, mask_to_bgra, rgb_to_bgra

SWAPPED = ("refine", "colorize", "restore", "denoise", "stylize")  # image results: global

log = logging.getLogger(__name__)


@dataclass
class Swap:
    """A job's new layer (``layer``: "mask" or "image") with its display pyramid (None for
    an empty mask)."""

    array: np.ndarray
    pyramid: Pyramid | None
    changed: bool = True  # False: the layer would stay as it is
    layer: str = "mask"


class MaskLayers(Layers):
    """A state that differs from its neighbour only in the mask: its cost is the mask's."""

    @property
    def nbytes(self) -> int:
        pyr = self.pyramids.get("mask")
        return self.mask.nbytes + (pyr.nbytes if pyr is not None else 0)


def postprocess(snap, style: tuple, layer: str = "mask"):
    """Worker side: result tensor -> :class:`Swap`; a mask result (1, 1, H, W) is added to
    the snapshot's mask, an image result (1, 3, H, W) replaces the image."""

    def post(result) -> Swap:
        from neuron_desktop.core.imageio import from_tensor

        if layer == "image":
            arr = np.ascontiguousarray(np.clip(from_tensor(result), 0, 1), np.float32)
            with snap:
                if arr.shape != snap.image.shape:
                    raise ValueError(f"the result has shape {arr.shape}, expected "
                                     f"{snap.image.shape}")
                changed = not np.array_equal(arr, snap.image)
            pyr = Pyramid(arr.shape[1], arr.shape[0], lambda r: rgb_to_bgra(arr[r.slices]))
            return Swap(arr, pyr, changed, "image")
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
        return Swap(new, pyr, changed, "mask")

    return post


def commit(window, name: str, result: Swap, doc, snap, record: dict | None) -> None:
    """GUI side: push the swap as one undo step. If the layer (or, for a mask, the photo)
    changed while the job ran, the result is applied on top of the document as it is now
    instead, as a new step (the mask: added to it)."""
    from neuron_desktop.qt.commands import EditCommand

    w = window
    canvas = w.canvas
    if not result.changed:
        return
    layer = result.layer
    current = doc.layer(layer)
    if not (snap.unchanged(doc, layer) and snap.unchanged(doc, "image")
            and current.shape == result.array.shape):
        if current.shape != result.array.shape:
            w.statusBar().showMessage(f"{name}: the photo changed meanwhile; not applied", 8000)
            return
        new = np.maximum(result.array, current) if layer == "mask" else result.array
        cmd = EditCommand(doc, f"{name} (over later edits)", **{layer: new})
        cmd.record = record
        w.history.push(cmd)
        w.statusBar().showMessage(
            f"{name} finished after the photo was edited: its result was applied on top "
            "as a new step (Ctrl+Z removes it)", 15000)
        return
    if layer == "image":  # only the image differs (and its cost is the image's)
        new_image = Layers(result.array, None, None, (), {"image": result.pyramid})
        cmd = image_swap_command(canvas, doc, name, new_image)
    else:
        pyramids = canvas.pyramids()
        new_pyramids = {k: v for k, v in pyramids.items() if k != "mask"}
        if result.pyramid is not None:
            new_pyramids["mask"] = result.pyramid
        old = MaskLayers(doc.image, doc.original, doc.mask, doc.hints, pyramids)
        new = MaskLayers(doc.image, doc.original, result.array, doc.hints, new_pyramids)
        cmd = GeometryCommand(doc, canvas, name, old, new)
    cmd.record = record
    w.history.push(cmd)
