"""Live preview of Detect scratches while its settings move, and the "Protect faces" option.

Moving the sensitivity slider (or changing the detector or Protect faces) asks
:class:`ScratchPreviewWorker` for a preview: its own thread runs the detector on a copy of
the photo at most PREVIEW_SIDE px long (made once per photo revision), so a 24 MP scan never
blocks the GUI. Requests replace any pending one and a result that a newer request has
overtaken is dropped (latest wins). The learned detector's logits are computed once per
photo revision; a new sensitivity then only moves the cut. The marks found are drawn in
cyan over the photo by :class:`MaskPreviewOverlay` (a transparent child of the canvas: the
canvas has no code for it). "Detect scratches" (Apply) runs the full-resolution detection
as before, one undoable step, and hides the preview.
"""

from __future__ import annotations

import logging
import threading
import time

import cv2
import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QWidget

from neuron_desktop.core.progress import run_pipeline
from neuron_desktop.qt.qimage import mask_to_bgra, qimage_view

log = logging.getLogger(__name__)

PREVIEW_SIDE = 1024  # px: the preview's detection runs on a copy at most this long
PREVIEW_COLOR = (0, 220, 255)  # cyan: not the mask's colour, so new marks stand out
PREVIEW_OPACITY = 0.85
DEBOUNCE_MS = 30  # slider moves within this are one request


class ScratchPreviewWorker(QObject):
    """A thread that turns (photo snapshot, settings) into a preview overlay, latest wins."""

    ready = Signal(QImage, tuple, float, int)  # overlay, request key, seconds, marked px
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None, side: int = PREVIEW_SIDE) -> None:
        super().__init__(parent)
        self.side = side
        self._cond = threading.Condition()
        self._request: tuple | None = None
        self._closed = False
        self._photo_key: tuple | None = None
        self._cache: dict = {}
        self._thread = threading.Thread(target=self._loop, name="scratch-preview", daemon=True)
        self._thread.start()

    def request(self, snapshot, key: tuple, params: dict) -> None:
        """Preview ``params`` (method, sensitivity, protect_faces) on ``snapshot``'s image
        (pinned until read); ``key`` = (photo id, image revision, ...) comes back with it."""
        with self._cond:
            old, self._request = self._request, (snapshot, key, dict(params),
                                                 time.perf_counter())
            if old is not None:
                old[0].release()  # dropped: a newer request replaces it
            self._cond.notify()

    @property
    def pending(self) -> bool:
        with self._cond:
            return self._request is not None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            if self._request is not None:
                self._request[0].release()
                self._request = None
            self._cond.notify()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        from neuron_desktop.qt.workers import lower_thread_priority

        lower_thread_priority()
        while True:
            with self._cond:
                while self._request is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                req, self._request = self._request, None
            try:
                self._serve(*req)
            except Exception as exc:  # noqa: BLE001 - reported to the window, and logged
                log.exception("scratch preview failed")
                self.failed.emit(str(exc))
            finally:
                req[0].release()

    def _small(self, snapshot, photo_key: tuple) -> np.ndarray:
        if self._photo_key != photo_key:
            with snapshot:
                image = snapshot.image
                h, w = image.shape[:2]
                f = min(1.0, self.side / max(h, w))
                small = image if f >= 1 else cv2.resize(
                    image, (max(1, round(w * f)), max(1, round(h * f))),
                    interpolation=cv2.INTER_AREA)
                small = np.ascontiguousarray(small, np.float32)
            self._photo_key, self._cache = photo_key, {"small": small}
        return self._cache["small"]

    def _network_cut(self, small: np.ndarray, sensitivity: float) -> np.ndarray:
        import torch

        from neuron_desktop.pipelines import scratches as ps

        if "logits" not in self._cache:
            net, prep = ps.load_scratch_net("cpu")
            x = torch.from_numpy(np.ascontiguousarray(small.transpose(2, 0, 1)))[None]
            logits = run_pipeline(ps.network_logits(net, x))
            self._cache["logits"], self._cache["prep"] = logits[0, 0].numpy(), prep
        prep = self._cache["prep"]
        mask = self._cache["logits"] > ps.logit_cut(float(prep.get("threshold", 0.5)),
                                                    sensitivity)
        return ps.dilate_1px(mask) if prep.get("dilate") else mask

    def detect(self, small: np.ndarray, params: dict) -> np.ndarray:
        """(h, w) bool marks of ``small`` for ``params`` (the preview's detection)."""
        from neuron_desktop.pipelines import faces
        from neuron_desktop.pipelines import scratches as ps

        method, s = params.get("method", "auto"), float(params["sensitivity"])
        if method == "auto":
            method = ("network" if ps.PREFER_NETWORK and ps.network_available()
                      else "classical")

        def marks_at(sens: float) -> np.ndarray:
            if method == "network":
                return self._network_cut(small, sens)
            return ps.scratch_mask(small, sens)

        marks = marks_at(s)
        if params.get("protect_faces"):
            if "faces" not in self._cache:
                self._cache["faces"] = faces.face_boxes(small)
            boxes = self._cache["faces"]
            if boxes:
                strict = marks_at(max(0.0, s - faces.STRICT_DROP))
                marks = faces.protect(marks, boxes, strict)
        return marks

    def _serve(self, snapshot, key: tuple, params: dict, t0: float) -> None:
        small = self._small(snapshot, key[:2])
        marks = self.detect(small, params)
        if self.pending:  # overtaken while it ran: the newer request is served next
            return
        bgra = mask_to_bgra(marks.astype(np.float32), PREVIEW_COLOR, PREVIEW_OPACITY)
        image = qimage_view(bgra, QImage.Format.Format_ARGB32_Premultiplied).copy()
        self.ready.emit(image, key, time.perf_counter() - t0, int(marks.sum()))


class MaskPreviewOverlay(QWidget):
    """Draws a preview mask image stretched over the photo, on top of the canvas; passes all
    input through to it."""

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.image: QImage | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setGeometry(canvas.rect())
        canvas.installEventFilter(self)
        self.hide()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt API)
        from PySide6.QtCore import QEvent

        if obj is self.canvas and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.canvas.rect())
        return False

    def set_image(self, image: QImage | None) -> None:
        self.image = image
        self.setVisible(image is not None)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        doc = self.canvas.doc
        if self.image is None or doc is None or self.canvas.show_original:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        p.drawImage(self.canvas._widget_rect(doc.bounds), self.image)


class ScratchPreview(QObject):
    """Wires the detector's settings in the brush panel to the live preview."""

    shown = Signal(float, int)  # seconds from the request, marked px (at preview size)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = w = window
        self.worker = ScratchPreviewWorker(self)
        self.overlay = MaskPreviewOverlay(w.canvas)
        self.form = form = w.brush_panel.detection
        self._key: tuple | None = None  # the latest request's key
        self.seconds: float | None = None
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self.request)
        form.widgets["sensitivity"].valueChanged.connect(lambda _v: self.schedule())
        form.widgets["method"].currentIndexChanged.connect(lambda _i: self.schedule())
        box = form.widgets["protect_faces"]
        box.toggled.connect(lambda _on: self.schedule())
        from neuron_desktop.pipelines import faces

        reason = faces.unavailable()
        if reason:
            box.setEnabled(False)
            box.setToolTip(reason)
        self.worker.ready.connect(self._ready)
        self.worker.failed.connect(
            lambda m: w.statusBar().showMessage(f"Scratch preview failed: {m}", 10000))
        w.documentOpened.connect(lambda _doc: self.clear())
        w.history.indexChanged.connect(lambda _i: self._edited())
        w.jobs.finished.connect(self._job_finished)
        w.brush_panel.detect.setToolTip(
            "Add the scratches the detector finds to the mask, at full resolution (one "
            "undo step). Moving Sensitivity previews them in cyan first")

    @property
    def visible(self) -> bool:
        return self.overlay.image is not None

    def schedule(self) -> None:
        if self.w.doc is not None:
            self.timer.start()

    def request(self) -> None:
        doc = self.w.doc
        if doc is None:
            return
        params = self.form.values()
        self._key = (id(doc), doc.image_revision, tuple(sorted(params.items())))
        if self.seconds is None and not self.visible:
            self.w.statusBar().showMessage("Previewing scratches…", 3000)
        self.worker.request(doc.snapshot("image"), self._key, params)

    def _ready(self, image: QImage, key: tuple, seconds: float, marked: int) -> None:
        if key != self._key or self.w.doc is None:
            return  # overtaken, or the photo changed meanwhile
        self.seconds = seconds
        self.overlay.set_image(image)
        self.w.statusBar().showMessage(
            "Scratch preview (cyan): click Detect scratches to add them to the mask"
            if marked else "Scratch preview: nothing found at this sensitivity", 8000)
        self.shown.emit(seconds, marked)

    def _edited(self) -> None:
        doc = self.w.doc
        if self.visible and doc is not None and self._key is not None \
                and self._key[1] != doc.image_revision:
            self.schedule()  # the photo changed under the preview: preview it again

    def _job_finished(self, name: str, _result, _spec) -> None:
        if name == "Detect scratches":
            self.clear()

    def clear(self) -> None:
        self.timer.stop()
        self._key = None
        self.overlay.set_image(None)

    def close(self) -> None:
        self.clear()
        self.worker.close()


def install(window) -> ScratchPreview:
    window.scratch_preview = ScratchPreview(window)
    return window.scratch_preview
