"""Job building for the editor: capability runs on the document, on the worker pool.

Jobs get cheap copy-on-write snapshots of the document (copied on the worker) and hand back
tile diffs computed there, checked against the document's layer revisions before they become
one undoable step. Every capability runs through :meth:`JobsMixin.run_capability`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog

from neuron_desktop import capabilities
from neuron_desktop.capabilities import Inputs
from neuron_desktop.core import document as document_core
from neuron_desktop.core.device import is_out_of_memory
from neuron_desktop.core.document import Document, Snapshot, TileDiff
from neuron_desktop.core.errors import NeuronError
from neuron_desktop.core.imageio import load_mask, save_mask
from neuron_desktop.core.progress import Progress
from neuron_desktop.qt import layer_swap
from neuron_desktop.qt.commands import EditCommand
from neuron_desktop.qt.geometry import image_swap_command
from neuron_desktop.qt.layers import Layers
from neuron_desktop.qt.qimage import IMAGE_FILTER, Pyramid, rgb_to_bgra, to_qimage
from neuron_desktop.qt.workers import JobSpec, tensor_preview

log = logging.getLogger(__name__)

LIVE_PREVIEW_SIDE = 2048


def _to_array(result) -> np.ndarray:
    """Pipeline result (1, 3, H, W) tensor -> float32 (H, W, 3) in [0, 1] (worker thread)."""
    from neuron_desktop.core.imageio import from_tensor

    return np.ascontiguousarray(np.clip(from_tensor(result), 0.0, 1.0), dtype=np.float32)


def _to_mask(result) -> np.ndarray:
    from neuron_desktop.core.imageio import from_tensor

    m = from_tensor(result)
    return np.ascontiguousarray(np.clip(m if m.ndim == 2 else m[..., 0], 0, 1), np.float32)


@dataclass
class JobResult:
    """A job's output as prepared on the worker: tile diffs against the snapshot the job
    started from (``layer`` first), and for live colorization the preview to show."""

    layer: str
    diffs: list[TileDiff]
    preview: QImage | None = None
    swap: Layers | None = None  # a change of most of the image: the new layer + pyramid


SWAP_FRACTION = 0.5  # an image result changing this share of the tiles is swapped in whole



def _inputs(snap: Snapshot, convert):
    """``get()`` -> ``convert(snap)``, computed once on the worker, then the snapshot is
    released (later calls, e.g. out-of-memory retries, reuse the converted inputs)."""
    done = []

    def get():
        if not done:
            with snap:
                done.append(convert(snap))
        return done[0]

    return get


def _prepare_result(snap: Snapshot, layer: str, clear_mask: bool = False,
                    preview: bool = False, add: bool = False):
    """Worker-side postprocess: result tensor -> array -> tile diffs against ``snap``, or,
    for an image result that changes most tiles, the new layer and its display pyramid (a
    layer swap) (``add``: the result is added to the layer, e.g. a detected mask to the
    painted one)."""

    def post(result) -> JobResult:
        arr = (_to_array if layer == "image" else _to_mask)(result)
        base = getattr(snap, layer)
        if arr.shape != base.shape:
            raise ValueError(f"the result has shape {arr.shape}, expected {base.shape}")
        if add:
            arr = np.maximum(arr, base)
        shown = to_qimage(tensor_preview(arr, LIVE_PREVIEW_SIDE)) if preview else None
        if layer == "image" and not clear_mask:
            cells, (h, w) = document_core.changed_tiles(base, arr, 128), base.shape[:2]
            if len(cells) >= SWAP_FRACTION * -(-h // 128) * -(-w // 128):
                # the GUI thread then only swaps references: no 24 MP copy at commit (a
                # live colorization's too, when Apply commits it)
                pyr = Pyramid(w, h, lambda r: rgb_to_bgra(arr[r.slices]))
                return JobResult(layer, [], shown, Layers(arr, None, None, (), {"image": pyr}))
        diffs = [TileDiff.from_arrays(layer, base, arr)]
        if clear_mask:
            diffs.append(TileDiff.from_arrays("mask", snap.mask, np.zeros_like(snap.mask)))
        return JobResult(layer, [d for d in diffs if not d.empty], shown)

    return post


def chance_words(p: float) -> str:
    """A suggested colour's probability in words (the picker's tooltips)."""
    word = ("very likely" if p >= 0.5 else "likely" if p >= 0.2 else "possible" if p >= 0.05
            else "unlikely")
    return f"{word[0].upper()}{word[1:]} colour here (about {max(1, round(p * 100))} in 100)"


def step_entry(cap, params: dict) -> dict:
    """The edit-record entry of one capability run (projects, exports)."""
    return capabilities.record_entry(cap, params)


class JobsMixin:
    """MainWindow's job building and result handling (``self`` is the MainWindow)."""


    def device_pref(self) -> str:
        return self.device_combo.currentData() or "auto"

    def cancel_jobs(self) -> None:
        """Esc: stop the running job; the queued ones are dropped too (said in the
        status bar)."""
        waiting = self.job_queue.clear()
        self.load_jobs.cancel()
        self.jobs.cancel()
        if waiting:
            self.statusBar().showMessage(f"Job cancelled; {waiting} queued job(s) dropped",
                                         6000)

    def _submit(self, name: str, make, snap: Snapshot, *, layer: str = "image",
                clear_mask: bool = False, live: bool = False, add: bool = False,
                postprocess=None, **payload) -> int | None:
        """Run ``make`` (which reads its inputs from ``snap`` on the worker); the result
        comes back as a :class:`JobResult` with its tile diffs computed there too."""
        if self.doc is None:
            return None
        spec = JobSpec(name, make, device=self.device_pref(),
                       postprocess=postprocess or _prepare_result(snap, layer, clear_mask,
                                                                  preview=live, add=add),
                       payload={"doc": self.doc, "snap": snap, "live": live, **payload})
        self._job_started = time.perf_counter()
        return self.jobs.submit(spec)

    def run_capability(self, name: str, *, live: bool = False) -> int | None:
        """Run capability ``name`` with its form's values: inputs read from a snapshot on the
        worker, the result one undoable step on the capability's layer."""
        cap = capabilities.get(name)
        doc = self.doc
        params = self.capability_params(name)
        if doc is None or cap.available() is not None or any(
                p.required and params.get(p.name) is None for p in cap.params):
            return None
        if "mask" in cap.needs and not doc.has_mask:
            self.show_error(f"Nothing to {cap.title.lower()}",
                            "Paint over the scratches and damaged areas with the mask brush "
                            "(or import a mask) first.")
            return None
        return self.job_queue.request(cap.describe(params),
                                      lambda: self._start_capability(cap, params, live),
                                      live=live)

    def _start_capability(self, cap, params: dict, live: bool) -> int | None:
        """Submit ``cap`` now: its inputs are this moment's document (a queued job starts
        from the result of the jobs before it)."""
        import torch

        from neuron_desktop.core.imageio import to_tensor

        doc = self.doc
        if doc is None:
            return None
        with_mask = "mask" in cap.needs
        snap = doc.snapshot(*(("image", "mask") if with_mask or cap.target == "mask"
                              else ("image",)))
        hints = tuple(doc.hints) if "hints" in cap.needs else ()
        inputs = _inputs(snap, lambda s: Inputs(
            to_tensor(s.image), torch.from_numpy(s.mask.copy()) if with_mask else None,
            list(hints)))

        def make(device, cancel):
            return cap.pipeline(inputs().to(device), params, device=device, cancel=cancel)

        swap = None  # a whole-layer result: swapped in, not diffed (layer_swap.py)
        if cap.target == "mask" or (cap.name in layer_swap.SWAPPED and not live):
            swap = layer_swap.postprocess(snap, (self.canvas.mask_color,
                                                 self.canvas.mask_opacity), cap.target)
        return self._submit(cap.describe(params), make, snap, layer=cap.target,
                            clear_mask=bool(params.get("clear_mask")), live=live,
                            add=cap.target == "mask", hints=hints, params=params,
                            postprocess=swap,
                            record=step_entry(cap, params))

    def live_result_current(self) -> bool:
        """The pending live colorization is of this photo, these hints and these settings
        (a changed setting, say the colour reference, needs a new run)."""
        doc, pending = self.doc, self._pending_live
        return (doc is not None and pending is not None and pending[1].unchanged(doc, "image")
                and pending[2] == tuple(doc.hints)
                and pending[3] == self.capability_params("colorize"))

    def run_colorize(self, live: bool = False) -> int | None:
        """Colorize; a pending live result for the same photo and hints is committed as is."""
        if not self.colour_check.allows(live=live):  # a colour photo: asked first
            return None
        doc, pending = self.doc, self._pending_live
        if not live and self.live_result_current():
            assert doc is not None and pending is not None  # live_result_current checked
            self._commit_result("Colorize", pending[0], doc, pending[1],
                                step_entry(capabilities.get("colorize"),
                                           self.capability_params("colorize")))
            return None
        return self.run_capability("colorize", live=live)

    def run_inpaint(self) -> int | None:
        return self.run_capability("inpaint")

    def run_refine(self) -> int | None:
        return self.run_capability("refine")

    def run_stylize(self) -> int | None:
        return self.run_capability("stylize")

    def detect_scratches(self) -> int | None:
        return self.run_capability("detect-scratches")

    def request_suggestions(self, index: int, live: bool | None = None) -> None:
        """The model's likely colours at hint ``index`` (the picker's suggestions). For a
        hint just added they are computed without it, and the first one becomes its colour
        (``show_suggestions``). With Live update on (``live``) the live session answers;
        a worker job otherwise, or if that fails."""
        if not self.colorize_panel.available or self.doc is None:
            return
        from neuron_desktop.core.imageio import to_tensor
        from neuron_desktop.pipelines import colorize as pc

        snap = self.doc.snapshot("image")
        hints = list(snap.hints)
        hint = hints[index]
        point = (hint.x, hint.y)
        pending = self.hint_tool.pending
        auto = pending is not None and pending[0] == index
        if auto:
            del hints[index]  # what the model predicts there without this hint
        payload = {"index": index, "auto": auto, "doc": self.doc,
                   "new": (index, hint) if auto else None}  # its preview computed early
        if self.colorize_panel.live.isChecked() if live is None else live:  # milliseconds
            self.live_preview.suggest(snap, hints, point, payload)
            return
        image = _inputs(snap, lambda s: to_tensor(s.image))

        def make(device, cancel):
            yield Progress(0.0, "Suggesting colours")
            return pc.suggest_colors(image().to(device), hints, point, 8)

        self.suggest_jobs.submit(JobSpec("Suggest colours", make, device=self.device_pref(),
                                         payload=payload))

    def _suggestions(self, name, result, spec) -> None:
        self.show_suggestions(result, spec.payload)

    def show_suggestions(self, result, payload: dict) -> None:
        """The model's colours for hint ``payload["index"]`` in the picker; a new hint
        (``payload["auto"]``) takes the first."""
        if payload["doc"] is not self.doc:
            return  # asked on another photo
        colors = [tuple(float(c) for c in rgb) for rgb, _p in result]
        tips = [chance_words(p) for _rgb, p in result]
        self.hint_panel.suggested.set_colors(colors, tips)
        if payload.get("auto") and self.hint_tool.settle_new(
                payload["index"], colors[0] if colors else None) and colors:
            self.hint_panel.show_color(colors[0])

    def _suggestions_failed(self, name, exc, spec) -> None:
        log.warning("colour suggestions failed: %s", exc)
        if spec.payload.get("auto") and spec.payload["doc"] is self.doc:  # keeps its colour
            self.hint_tool.settle_new(spec.payload["index"], None)

    def live_suggestions_failed(self, message: str, payload: dict) -> None:
        """The live session could not answer: a worker job asks the model instead."""
        log.warning("live colour suggestions failed (%s): asking a worker", message)
        doc, index = self.doc, payload["index"]
        if payload["doc"] is doc and doc is not None and index < len(doc.hints):
            self.request_suggestions(index, live=False)

    # --------------------------------------------------------------------------------- mask

    def _mask_job(self, name: str, compute, wait: bool) -> bool:
        """Replace the whole mask by ``compute(mask)`` as one undoable step. The new mask and
        its tile diffs are computed on a worker (slow on big photos: docs/benchmarks.md,
        "Editor"), or here with
        ``wait``. Returns False if there is no photo (or, with ``wait``, the edit failed)."""
        doc = self.doc
        if doc is None:
            return False
        snap = doc.snapshot("mask")
        new_mask = _inputs(snap, lambda s: np.ascontiguousarray(compute(s.mask), np.float32))

        def make(device, cancel):
            import torch

            yield Progress(0.0, name)
            return torch.from_numpy(new_mask())[None, None]

        spec = JobSpec(name, make, device="cpu", postprocess=_prepare_result(snap, "mask"),
                       payload={"doc": doc, "snap": snap})
        self._job_started = time.perf_counter()
        return self._run_or_submit(self.mask_jobs, spec, self._mask_job_finished,
                                   self._job_error, wait)

    def _mask_job_finished(self, name: str, result: JobResult, spec: JobSpec) -> None:
        doc = spec.payload["doc"]
        if doc is self.doc and doc is not None:
            self._commit_result(name, result, doc, spec.payload["snap"])

    def clear_mask(self, wait: bool = False) -> bool:
        if self.doc is None or not self.doc.has_mask:
            return False
        return self._mask_job("Clear mask", np.zeros_like, wait)

    def invert_mask(self, wait: bool = False) -> bool:
        return self._mask_job("Invert mask", lambda m: 1.0 - m, wait)

    def import_mask(self, path: str | Path | None = None, wait: bool = False) -> bool:
        """Load a mask PNG (white = fill) on a worker; its size must match the photo."""
        if self.doc is None:
            return False
        if path is None:
            start = str(self.doc.path.parent) if self.doc.path else ""
            path, _ = QFileDialog.getOpenFileName(self, "Import mask", start, IMAGE_FILTER)
            if not path:
                return False
        size = (self.doc.width, self.doc.height)
        return self._mask_job("Import mask", lambda _m: load_mask(path, size), wait)

    def export_mask(self, path: str | Path | None = None) -> bool:
        if self.doc is None:
            return False
        if path is None:
            src = self.doc.path or Path.home() / "photo.png"
            path, _ = QFileDialog.getSaveFileName(self, "Export mask",
                                                  str(src.with_name(f"{src.stem}_mask.png")),
                                                  "PNG (*.png)")
            if not path:
                return False
        try:
            save_mask(path, self.doc.mask)
        except NeuronError as exc:
            self.show_error("Cannot export the mask", str(exc))
            return False
        self.statusBar().showMessage(f"Mask saved to {path}", 5000)
        return True

    def _job_started_slot(self, name: str, device: str) -> None:
        self.statusBar().showMessage(f"{name} on {device}…")

    def _job_progress(self, fraction: float, text: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.progress.setToolTip(text)

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.act_cancel.setEnabled(busy)
        if busy:
            self.progress.setValue(0)

    def _job_finished(self, name: str, result: JobResult, spec: JobSpec) -> None:
        doc, snap = spec.payload.get("doc"), spec.payload.get("snap")
        if name == "Colorize" and spec.payload.get("live"):
            if doc is self.doc and snap.unchanged(doc, "image"):
                self._pending_live = (result, snap, spec.payload["hints"],
                                      spec.payload.get("params"))
                self.canvas.set_preview(result.preview)
                self.statusBar().showMessage("Live colorization updated — Apply to keep it",
                                             5000)
            return
        self.canvas.set_preview(None)
        if doc is not self.doc or doc is None:
            return
        if isinstance(result, layer_swap.Swap):  # a whole-layer result: swapped in
            if result.layer == "image":
                self._pending_live = None
            took = time.perf_counter() - self._job_started
            self.statusBar().showMessage(f"{name} done in {took:.1f} s", 5000)
            layer_swap.commit(self, name, result, doc, snap, spec.payload.get("record"))
            return
        self._commit_result(name, result, doc, snap, spec.payload.get("record"))

    def _commit_result(self, name: str, result: JobResult, doc: Document,
                       snap: Snapshot, record: dict | None = None) -> None:
        """Push the worker-computed diffs as one step. If the layer they replace changed
        while the job ran (Ctrl+Z, painting...), the result is not thrown away: its tiles
        are applied on top of the document as it is now, as a new step (Ctrl+Z removes it),
        and the status bar says so."""
        over = not snap.unchanged(doc, result.layer)
        # a mask cleared with the result stays as it is if it was painted on meanwhile
        diffs = [d for d in result.diffs if d.layer == result.layer
                 or snap.unchanged(doc, d.layer)]
        if result.swap is not None and not over:
            cmd = image_swap_command(self.canvas, doc, name, result.swap)
        elif result.swap is not None:  # rare: the tiles on top of the edited photo
            d = TileDiff.from_arrays("image", snap.image, result.swap.image)
            cmd = EditCommand(doc, f"{name} (over later edits)", image=d.apply_new(doc.image))
        elif over:
            arrays = {d.layer: d.apply_new(doc.layer(d.layer)) for d in diffs}
            cmd = EditCommand(doc, f"{name} (over later edits)", **arrays)
        else:
            cmd = EditCommand(doc, name, diffs=diffs)
        cmd.record = record
        if result.layer == "image":
            self._pending_live = None
            self.canvas.set_preview(None)
        if not getattr(cmd, "changes_nothing", False):
            self.history.push(cmd)
        took = time.perf_counter() - self._job_started
        if over:
            self.statusBar().showMessage(
                f"{name} finished after the photo was edited: its result was applied on top "
                "as a new step (Ctrl+Z removes it)", 15000)
        else:
            self.statusBar().showMessage(f"{name} done in {took:.1f} s", 5000)

    def _pending_preview(self) -> QImage | None:
        return None if self._pending_live is None else self._pending_live[0].preview

    def _job_error(self, name: str, exc, spec: JobSpec | None = None) -> None:
        log.error("%s failed", name, exc_info=(type(exc), exc, exc.__traceback__))
        self.canvas.set_preview(self._pending_preview())
        if spec is not None and spec.payload.get("live"):  # no dialog storm while editing
            self.statusBar().showMessage(f"Live {name.lower()} failed: {exc}", 15000)
            return
        if is_out_of_memory(exc):
            text = (f"Not enough memory to run {name}, even on the CPU with small tiles. "
                    "Close other programs or work on a smaller photo.")
        elif isinstance(exc, NeuronError):
            text = str(exc)
        else:
            text = f"{type(exc).__name__}: {exc}"
        self.show_error(f"{name} failed", text + "\n\nThe photo was not changed.")

    def _job_cancelled(self, name: str) -> None:
        self.canvas.set_preview(self._pending_preview())
        self.statusBar().showMessage(f"{name} cancelled", 4000)
