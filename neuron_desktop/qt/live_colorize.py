"""Live colorization while hints are edited: a preview on screen while the hint is still
being placed (target and measured latency: docs/benchmarks.md, "Live colorization hints").

:class:`LiveColorize` keeps one :class:`~neuron_desktop.pipelines.colorize.LiveColorizer`
per photo revision on its own thread (the encoder runs once per photo; each hint edit costs
the decoder and a screen-sized preview). Requests replace any pending one (latest wins);
results come back as Qt signals with the time from the request. The full-resolution result
(for Apply/Export) is the window's ordinary Colorize job.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import replace

import numpy as np
import qtawesome as qta
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from neuron_desktop.qt.qimage import reach_to_bgra, to_qimage, uncertainty_to_bgra

log = logging.getLogger(__name__)
LIVE_PARAMS = ("render_size", "temperature", "reference", "reference_strength", "clean_view")
PER_EDIT_PARAMS = ("vividness",)  # change the decoding only: the photo's session stays


class LiveColorize(QObject):
    previewReady = Signal(QImage, tuple, float, int)  # preview, hints, seconds, revision
    confidenceReady = Signal(object, int)  # BGRA overlay (h, w, 4) uint8, revision
    reachReady = Signal(object, int, tuple, int)  # BGRA overlay, revision, hints, hint index
    suggestionsReady = Signal(object, object)  # [(rgb, probability)], the request's payload
    suggestionsFailed = Signal(str, object)  # message, payload
    spotReady = Signal(object, object)  # (x, y) where a hint would help most (or None), payload
    spotFailed = Signal(str)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None, preview_size: int = 900) -> None:
        super().__init__(parent)
        self.preview_size = preview_size
        self._cond = threading.Condition()
        self._request: tuple | None = None
        self._question: tuple | None = None  # a question to the session: before previews
        self._session = None
        self._session_key: tuple | None = None
        self._last_preview: tuple | None = None  # (session, hints and settings), QImage
        self._reference: tuple | None = None  # (path, the colour reference read from it)
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="live-colorize", daemon=True)
        self._thread.start()

    def request(self, snapshot, revision: int, hints: tuple, params: dict,
                confidence: bool = False) -> None:
        """Preview ``hints`` on the photo of ``snapshot`` (document image, pinned until the
        worker has read it) at ``revision``; ``params``: LIVE_PARAMS (the reference as a
        path, read on the worker), PER_EDIT_PARAMS and ``preview_size`` (the long side; the
        session's ``preview_size`` when absent) and ``reach`` (a hint's index: its reach
        follows the preview, as ``reachReady``)."""
        with self._cond:
            old, self._request = self._request, (snapshot, revision, tuple(hints), dict(params),
                                                 confidence, time.perf_counter())
            if old is not None:
                old[0].release()
            self._cond.notify()

    def suggest(self, snapshot, revision: int, hints: tuple, point: tuple[int, int],
                params: dict, payload: dict) -> None:
        """The model's likely colours at ``point`` with ``hints`` (the picker's suggestions;
        a new hint's colour), from the photo's session: no encoder pass once it is built.
        Answered by ``suggestionsReady(result, payload)``. For a new hint (``payload["new"]``:
        its index and the hint) the preview with that colour is computed next, while the window
        settles the hint and asks for it."""
        hints = tuple(hints)

        def answer(session) -> None:
            result = session.suggest(list(hints), point, 8)
            self.suggestionsReady.emit(result, payload)
            if payload.get("new") is not None and result and not self._waiting():
                index, hint = payload["new"]
                rgb = tuple(float(c) for c in result[0][0])
                self._preview_image((*hints[:index], replace(hint, rgb=rgb), *hints[index:]),
                                    params)

        self._ask(snapshot, revision, params, answer,
                  lambda message: self.suggestionsFailed.emit(message, payload))

    def find_spot(self, snapshot, revision: int, hints: tuple, params: dict,
                  payload: dict) -> None:
        """Where a new hint would help most with ``hints`` in place (``hint_spot``), answered
        by ``spotReady(spot, payload)``."""
        self._ask(snapshot, revision, params,
                  lambda session: self.spotReady.emit(session.hint_spot(list(hints)), payload),
                  self.spotFailed.emit)

    def _ask(self, snapshot, revision: int, params: dict, answer, failed) -> None:
        """A quick question to the photo's session, ``answer(session)`` on the worker (the
        session's caches see one thread), served before previews; a newer question replaces
        a waiting one (as a worker job would be cancelled). ``failed(message)`` on error."""
        with self._cond:
            old, self._question = self._question, (snapshot, revision, dict(params), answer,
                                                   failed)
            if old is not None:
                old[0].release()
            self._cond.notify()

    def _waiting(self) -> bool:
        with self._cond:
            return self._question is not None or self._request is not None

    def warm(self, snapshot, revision: int, params: dict) -> None:
        """Build the photo's session ahead of its first edit (the encoder's pass, about a
        second), showing nothing; a pending request does that already and is kept."""
        with self._cond:
            if self._request is not None:
                snapshot.release()
                return
            self._request = (snapshot, revision, (), dict(params), False, time.perf_counter(),
                             False)
            self._cond.notify()

    def _read_reference(self, path: str):
        from neuron_desktop.capabilities.colorize import read_reference

        if self._reference is None or self._reference[0] != path:
            self._reference = (path, read_reference(path))
        return self._reference[1]

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._request is None and self._question is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                if self._question is not None:
                    req, self._question = self._question, None
                    serve, failed = self._answer, req[-1]
                else:
                    req, self._request = self._request, None
                    serve, failed = self._serve, self.failed.emit
            try:
                serve(*req)
            except Exception as exc:  # noqa: BLE001 - reported to the window, and logged
                log.exception("live colorization failed")
                failed(str(exc))
            finally:
                req[0].release()

    def _session_for(self, snapshot, revision: int, params: dict, warm: bool = False):
        """The photo's :class:`LiveColorizer` (built on a new photo, revision or setting);
        the snapshot is released once read."""
        import torch

        from neuron_desktop.core.imageio import to_tensor
        from neuron_desktop.pipelines.colorize import LiveColorizer, load_colorizer

        key = (id(snapshot.image), revision, *(params.get(k) for k in LIVE_PARAMS))
        if self._session_key != key:
            settings = {k: params[k] for k in LIVE_PARAMS if params.get(k) is not None}
            if "reference" in settings:  # a path: read here, off the GUI thread, once per file
                settings["reference"] = self._read_reference(settings["reference"])
            with torch.no_grad():
                self._session = LiveColorizer(
                    to_tensor(snapshot.image), load_colorizer(), preview_size=self.preview_size,
                    **settings)
            self._session_key = key
        snapshot.release()
        if warm:
            with torch.no_grad():
                self._session.warm(params.get("preview_size"))
        return self._session

    def _answer(self, snapshot, revision, params, answer, _failed) -> None:
        import torch

        session = self._session_for(snapshot, revision, params)
        with torch.no_grad():
            answer(session)

    def _preview_image(self, hints: tuple, params: dict) -> QImage:
        """The session's preview of ``hints``; the latest one is kept, so a request the
        window makes for what was just computed costs nothing."""
        import torch

        for k in PER_EDIT_PARAMS:
            if params.get(k) is not None:
                setattr(self._session, k, params[k])
        size = params.get("preview_size")
        key = (self._session_key, hints, size, *(params.get(k) for k in PER_EDIT_PARAMS))
        if self._last_preview is None or self._last_preview[0] != key:
            with torch.no_grad():
                rgb = self._session.preview(list(hints), size)[0].permute(1, 2, 0).numpy()
            self._last_preview = (key, to_qimage(np.clip(rgb, 0, 1)))
        return self._last_preview[1]

    def _serve(self, snapshot, revision, hints, params, confidence, t0, show=True) -> None:
        import torch

        self._session_for(snapshot, revision, params, warm=not show)
        if not show:  # warmed up: the first edit costs what the others do
            return
        image = self._preview_image(hints, params)
        self.previewReady.emit(image, hints, time.perf_counter() - t0, revision)
        if confidence:
            with torch.no_grad():
                conf = self._session.confidence(list(hints))[0, 0].numpy()
            self.confidenceReady.emit(uncertainty_to_bgra(conf), revision)
        index = params.get("reach", -1)
        if 0 <= index < len(hints):
            with torch.no_grad():
                share = self._session.reach(list(hints), index, params.get("preview_size"))
            self.reachReady.emit(reach_to_bgra(share.numpy()), revision, hints, index)


class LivePreviewWiring(QObject):
    """Connects :class:`LiveColorize` to an editor window: a preview on every hint edit, the
    confidence overlay behind View ▸ Show uncertain areas, the selected hint's reach behind
    View ▸ Show the selected hint's reach, the measured latency in the status bar
    (``last_latency`` for the GUI benchmark)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        from PySide6.QtGui import QAction

        self.window = window
        self.live = LiveColorize(self)
        self.last_latency: float | None = None
        self.previews = 0
        self.act_uncertain = QAction("Show &uncertain areas", window)
        self.act_uncertain.setCheckable(True)
        self.act_uncertain.setShortcut("Ctrl+U")
        self.act_uncertain.setToolTip("Shade the areas whose colour the model is unsure of: "
                                      "a colour hint there helps most")
        self.act_uncertain.toggled.connect(self._toggle_uncertain)
        self.act_reach = QAction("Show the selected hint's &reach", window)
        self.act_reach.setCheckable(True)
        self.act_reach.setShortcut("Ctrl+R")
        self.act_reach.setToolTip("Outline where the selected colour hint's colour reaches "
                                  "(inside the line it wins); lower its Spread if it spills "
                                  "onto a neighbouring object")
        self.act_reach.toggled.connect(lambda _on: self.show_reach())
        self.live.reachReady.connect(self._reach)
        self.live.previewReady.connect(self._preview)
        self.live.confidenceReady.connect(self._confidence)
        self.live.failed.connect(lambda m: window.statusBar().showMessage(
            f"Live colorization failed: {m}", 10000))
        self.live.suggestionsReady.connect(self._suggestions)
        self.live.suggestionsFailed.connect(self._suggestions_failed)
        self.live.spotReady.connect(self._spot)
        self.live.spotFailed.connect(lambda m: window.statusBar().showMessage(
            f"Could not find a place for a hint: {m}", 10000))
        self.act_spot = QAction("&Add a hint where the model is least sure", window)
        self.act_spot.setShortcut("Shift+H")
        self.act_spot.setIconText("Hint where unsure")
        self.act_spot.setIcon(qta.icon("mdi6.target", color="#ddd"))
        self.act_spot.setToolTip("Add a hint where the model is least sure of the colour (a "
                                 "hint helps most there), then pick its colour")
        self.act_spot.triggered.connect(self.add_hint_where_unsure)
        self._last_hints: tuple | None = None
        self._spot_note: str | None = None  # shown with the next preview (_spot)
        self._closed = False  # previews arriving after the window closed are dropped
        # undo/redo of hint edits re-runs the live preview too (no stale colours on screen)
        window.history.indexChanged.connect(self._history_moved)

    def _params(self) -> dict:
        p = self.window.capability_params("colorize")
        return {**{k: p.get(k) for k in LIVE_PARAMS + PER_EDIT_PARAMS},
                "preview_size": self.preview_size(), "reach": self._reach_index()}

    def _reach_index(self) -> int:
        """The selected hint's index if its reach is to be shown, else -1."""
        doc, sel = self.window.doc, self.window.canvas.selected_hint
        ok = self.act_reach.isChecked() and doc is not None and 0 <= sel < len(doc.hints)
        return sel if ok else -1

    def show_reach(self) -> None:
        """The selection, its hint or View ▸ Show the selected hint's reach changed: ask for
        the reach (with a preview, as the uncertain areas) or hide it. A new hint waiting
        for its colour gets it with its first preview."""
        w = self.window
        if self._reach_index() >= 0 and not self._closed and w.colorize_panel.available and \
                w.hint_tool.pending is None and w.colour_check.allows(live=True):
            self.request()
        else:  # nothing selected, or a new hint's own outline comes with its colour
            w.canvas.set_reach(None)

    def preview_size(self) -> int:
        """The preview's long side: what the canvas shows of the photo, in device pixels (in
        steps of 32, at least 256), at most the session's ``preview_size``. Zoomed in
        further, the full-resolution result that follows shows the detail."""
        canvas, doc, cap = self.window.canvas, self.window.doc, self.live.preview_size
        if doc is None:
            return cap
        shown = max(doc.width, doc.height) * canvas.device_zoom()
        return int(min(cap, max(256, math.ceil(shown / 32) * 32)))

    def request(self, confidence: bool | None = None) -> None:
        doc = self.window.doc
        if doc is None:
            return
        want = self.act_uncertain.isChecked() if confidence is None else confidence
        self._last_hints = tuple(doc.hints)
        self.live.request(doc.snapshot("image"), doc.image_revision, tuple(doc.hints),
                          self._params(), confidence=want)

    def suggest(self, snapshot, hints: list, point: tuple[int, int], payload: dict) -> None:
        """The picker's suggestions (and a new hint's colour) from the photo's session; the
        answer goes to the window's ``show_suggestions``."""
        doc = self.window.doc
        self.live.suggest(snapshot, doc.image_revision, tuple(hints), point, self._params(),
                          payload)

    def _suggestions(self, result, payload: dict) -> None:
        if not self._closed:
            self.window.show_suggestions(result, payload)

    def _suggestions_failed(self, message: str, payload: dict) -> None:
        if not self._closed:
            self.window.live_suggestions_failed(message, payload)

    def add_hint_where_unsure(self) -> None:
        """Ask the live session where a hint would help most; :meth:`_spot` adds it there."""
        w = self.window
        doc = w.doc
        if doc is None or self._closed or not w.colorize_panel.available:
            return
        w.statusBar().showMessage("Looking for where the model is least sure…", 3000)
        self.live.find_spot(doc.snapshot("image"), doc.image_revision, tuple(doc.hints),
                            self._params(), {"doc": doc, "hints": tuple(doc.hints)})

    def _spot(self, spot, payload: dict) -> None:
        w = self.window
        if self._closed or payload["doc"] is not w.doc or tuple(w.doc.hints) != payload["hints"]:
            return  # the photo or its hints changed meanwhile
        if spot is None:
            w.statusBar().showMessage("No room for another hint: every area already has one "
                                      "close by", 6000)
            return
        if w.canvas.tool != "hints":
            w.set_tool("hints")
        w.canvas.show_point(*spot)
        w.hint_tool.add(*spot)
        note = ("Hint added where the model is least sure, with its best guess: pick the right "
                "colour (the suggested colours are its other guesses)")
        w.statusBar().showMessage(note, 8000)
        if w.colorize_panel.live.isChecked():  # the preview's message would hide it: joined
            self._spot_note = note

    def warm(self) -> None:
        """Prepare the open photo's session in the background (the hint tool was chosen), so
        the first hint's preview comes as fast as the next ones."""
        doc, panel = self.window.doc, self.window.colorize_panel
        if doc is not None and not self._closed and panel.available and panel.live.isChecked():
            self.live.warm(doc.snapshot("image"), doc.image_revision, self._params())

    def _history_moved(self, _index: int) -> None:
        w = self.window
        if w.doc is None or self._last_hints is None or tuple(w.doc.hints) == self._last_hints:
            return
        panel = w.colorize_panel
        if panel.available and panel.live.isChecked():
            w._hints_edited()

    def _preview(self, image: QImage, hints: tuple, seconds: float, revision: int) -> None:
        doc = self.window.doc
        if self._closed or doc is None or revision != doc.image_revision or \
                hints != tuple(doc.hints):
            return  # stale: a newer edit is on its way
        self.window.canvas.set_preview(image)
        self.last_latency = seconds
        self.previews += 1
        text, timeout = (f"Live preview in {seconds * 1000:.0f} ms — the full-resolution "
                         "result follows; Apply to keep it"), 4000
        if self._spot_note is not None:  # a hint just placed for the user: say what next
            text, timeout = f"{self._spot_note} (preview in {seconds * 1000:.0f} ms)", 8000
            self._spot_note = None
        self.window.statusBar().showMessage(text, timeout)

    def _confidence(self, overlay, revision: int) -> None:
        doc = self.window.doc
        if not self._closed and self.act_uncertain.isChecked() and doc is not None and \
                revision == doc.image_revision:
            self.window.canvas.set_overlay(overlay)

    def _reach(self, overlay, revision: int, hints: tuple, index: int) -> None:
        doc = self.window.doc
        if not self._closed and doc is not None and revision == doc.image_revision and \
                hints == tuple(doc.hints) and index == self._reach_index():
            self.window.canvas.set_reach(overlay)

    def _toggle_uncertain(self, on: bool) -> None:
        if on and self.window.colour_check.allows(live=True):
            self.request(confidence=True)
        else:
            self.window.canvas.set_overlay(None)

    def close(self) -> None:
        self._closed = True
        self.live.close()
