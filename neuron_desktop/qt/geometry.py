"""Geometry changes in the editor (crop, turn, flip, straighten) and global tone changes
(levels, curves, auto contrast, white balance): computed on a worker, applied as one undo
step that swaps whole layers (a tone change swaps only the image and its pyramid).

The photo's size changes, so tile diffs cannot describe the step. The worker applies the
capability's :class:`core.adjust.Geometry` to the image, the original, the mask and the hint
positions (hints cut off by a crop are dropped) and builds the new display pyramids; the GUI
thread then only swaps references (:class:`GeometryCommand`), in O(1), for redo and undo
alike. Both states stay referenced by the command: undo needs no recomputation, and the edits
made after the step are always undone before it (the undo stack's order), so the arrays it
holds are exactly the layers as they were. Its memory counts against the history budget.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np

from neuron_desktop import capabilities
from neuron_desktop.core.document import Document
from neuron_desktop.core.progress import Progress
from neuron_desktop.qt.canvas import MASK_FORMAT
from neuron_desktop.qt.commands import DocCommand, _guarded
from neuron_desktop.qt.layers import Layers, current_layers
from neuron_desktop.qt.qimage import Pyramid, mask_to_bgra, rgb_to_bgra
from neuron_desktop.qt.workers import JobSpec

log = logging.getLogger(__name__)


def transform(doc_layers: tuple, geometry, mask_style) -> Layers:
    """``geometry`` applied to ``(image, original, mask, hints)`` with new pyramids (plain
    NumPy work: runs on a worker)."""
    image, original, mask, hints = doc_layers
    new_image = geometry.apply(image)
    new_original = geometry.apply(original)
    new_mask = geometry.apply(mask)
    moved = []
    for h in hints:
        p = geometry.map_point(h.x, h.y)
        if p is not None:
            moved.append(replace(h, x=int(round(p[0])), y=int(round(p[1]))))
    w, h = new_image.shape[1], new_image.shape[0]
    pyr = {"image": Pyramid(w, h, lambda r: rgb_to_bgra(new_image[r.slices]))}
    pyr["original"] = Pyramid(w, h, lambda r: rgb_to_bgra(new_original[r.slices]))
    if new_mask.any():
        pyr["mask"] = Pyramid(w, h, lambda r: mask_to_bgra(new_mask[r.slices], *mask_style),
                              MASK_FORMAT)
    return Layers(new_image, new_original, new_mask, tuple(moved), pyr)


class GeometryCommand(DocCommand):
    """One geometry step: swaps the document's layers and the canvas's pyramids."""

    def __init__(self, doc: Document, canvas, text: str, old: Layers, new: Layers) -> None:
        super().__init__(doc, text)
        self.canvas, self.old, self.new = canvas, old, new
        self.done = False

    def hidden(self) -> Layers:
        """The state not on screen (the one the undo disk cache may hold)."""
        return self.old if self.done else self.new

    @property
    def disk_nbytes(self) -> int:
        return self.hidden().disk_nbytes

    def _show(self, state: Layers) -> None:
        if self.canvas.doc is self.doc:
            self.canvas.set_pyramids(state.pyramids)
        self.doc.replace_layers(state.image, state.original, state.mask, state.hints)

    @_guarded
    def redo(self) -> None:
        if not self.silent:
            self._show(self.new)
        self.done = True

    @_guarded
    def undo(self) -> None:
        if not self.silent:
            self._show(self.old)
        self.done = False

    @property
    def nbytes(self) -> int:
        return self.hidden().nbytes

    def clone(self) -> GeometryCommand:
        c = GeometryCommand(self.doc, self.canvas, self.text(), self.old, self.new)
        c.done = self.done
        return c


def image_swap_command(canvas, doc: Document, name: str, new: Layers) -> GeometryCommand:
    """A step that swaps in a new image layer and its pyramid (``new.image``,
    ``new.pyramids["image"]``, made on a worker): O(1) on the GUI thread for redo and undo.
    The other layers are shared by both states."""
    old = current_layers(canvas, doc)
    new = Layers(new.image, doc.original, doc.mask, doc.hints,
                 {**old.pyramids, "image": new.pyramids["image"]})
    new.shares = old.shares = True
    return GeometryCommand(doc, canvas, name, old, new)


class GeometryRunner:
    """Runs geometry capabilities for a window: the work on ``jobs`` (a JobManager of its
    own), the result pushed as a :class:`GeometryCommand` if the document is unchanged."""

    def __init__(self, window, jobs) -> None:
        self.window, self.jobs = window, jobs
        jobs.finished.connect(self._finished)
        jobs.error.connect(lambda name, exc, spec: window._job_error(name, exc, spec))

    def run(self, name: str, params: dict | None = None, *, wait: bool = False) -> bool:
        """Apply geometry capability ``name`` (its form's values unless ``params``)."""
        w = self.window
        doc = w.doc
        if doc is None:
            return False
        cap = capabilities.get(name)
        params = cap.resolve(params if params is not None else w.capability_params(name))
        geometry = cap.geometry(params, doc.width, doc.height)
        if geometry.identity:
            return False
        snap = doc.snapshot("image", "mask")
        original, hints = doc.original, doc.hints
        style = (w.canvas.mask_color, w.canvas.mask_opacity)

        def make(device, cancel):
            yield Progress(0.0, geometry.describe())
            with snap:  # apply() makes new arrays: nothing shared outlives the block
                return transform((snap.image, original, snap.mask, hints), geometry, style)

        spec = JobSpec(geometry.describe(), make, device="cpu",
                       payload={"doc": doc, "snap": snap, "started": time.perf_counter()})
        return w._run_or_submit(self.jobs, spec, self._finished, w._job_error, wait)

    def run_tone(self, name: str, *, wait: bool = False) -> bool:
        """Apply tone capability ``name`` (levels, curves, ...) with its form's values: the
        worker computes the new image and its display pyramid; the step swaps the image
        layer (a global change: no cheaper as tile diffs, and no 24 MP copy on the GUI
        thread)."""
        w = self.window
        doc = w.doc
        if doc is None:
            return False
        cap = capabilities.get(name)
        params = cap.resolve(w.capability_params(name))
        snap = doc.snapshot("image")

        def make(device, cancel):
            from neuron_desktop.capabilities import Inputs
            from neuron_desktop.core.imageio import from_tensor, to_tensor
            from neuron_desktop.core.progress import run_pipeline

            yield Progress(0.0, cap.title)
            with snap:
                image = to_tensor(snap.image)
            out = run_pipeline(cap.pipeline(Inputs(image), params, prepared=True))
            arr = np.ascontiguousarray(np.clip(from_tensor(out), 0, 1), np.float32)
            yield Progress(0.7, "Preparing the display")
            pyr = Pyramid(arr.shape[1], arr.shape[0], lambda r: rgb_to_bgra(arr[r.slices]))
            return Layers(arr, None, None, (), {"image": pyr})

        spec = JobSpec(cap.describe(params), make, device="cpu",
                       payload={"doc": doc, "snap": snap, "started": time.perf_counter(),
                                "tone": True})
        return w._run_or_submit(self.jobs, spec, self._finished, w._job_error, wait)

    def _finished(self, name: str, new: Layers, spec: JobSpec) -> None:
        w, doc, snap = self.window, spec.payload["doc"], spec.payload["snap"]
        if doc is not w.doc:
            return
        tone = spec.payload.get("tone", False)
        if not (snap.unchanged(doc, "image") and (tone or snap.unchanged(doc, "mask"))):
            w.statusBar().showMessage(f"{name}: the photo changed meanwhile; not applied",
                                      8000)
            return
        if tone:
            w.history.push(image_swap_command(w.canvas, doc, name, new))
        else:
            w.history.push(GeometryCommand(doc, w.canvas, name, current_layers(w.canvas, doc),
                                           new))
        took = time.perf_counter() - spec.payload["started"]
        w.statusBar().showMessage(f"{name} done in {took:.1f} s — {doc.width}×{doc.height}",
                                  5000)
