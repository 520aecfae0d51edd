"""Fill as you paint: when a small mask stroke ends, a fast inpainting method fills it on a
worker and the result shows on the canvas as a preview layer (Enter or Apply keeps it as
one undo step, Esc, Discard or Ctrl+Z drops it, another stroke updates it).

Only a context crop around the strokes is filled (``pipelines.local_fill``), never the
whole photo; requests replace one another (latest wins, the older job is cancelled); the
GUI thread only receives the filled pixels and their QImage, both made on the worker. The
preview layer is a :class:`PatchOverlay` over the canvas (the canvas itself has no code
for it). "Compare methods…" opens :class:`qt.compare_fills.CompareFills`.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from PySide6.QtCore import QEvent, QObject, QRectF, QRunnable, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QWidget,
)

from neuron_desktop.core.clone import union
from neuron_desktop.core.document import Rect
from neuron_desktop.pipelines.local_fill import MARGIN_FACTOR, MIN_MARGIN, context_box
from neuron_desktop.qt.commands import StrokeCommand
from neuron_desktop.qt.fills import METHOD_WORDS, Fill, commit_fill, fill_name
from neuron_desktop.qt.qimage import to_qimage
from neuron_desktop.qt.workers import JobManager, JobSpec, lower_thread_priority

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]
LIVE_MAX_PIXELS = 250_000  # strokes whose box is smaller are filled as they end
LIVE_MAX_REGION = 500_000  # strokes awaiting Apply are filled together up to this size
LIVE_MARGIN = 256  # px of context around them, at most (the crop is copied on this thread)
LIVE_METHODS = ("telea", "harmonic", "ns", "exemplar", "network-fast", "network")


def box_area(box: Box) -> int:
    return max(0, box[2] - box[0]) * max(0, box[3] - box[1])


class PatchOverlay(QWidget):
    """Draws a patch of pixels (a fill's result) at its place on the photo, and whatever
    ``drawers`` add (the clone brush's marks), over the canvas; transparent to the
    mouse. Hidden while the original is shown; in split view only on the result side."""

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.patch: tuple[Box, QImage] | None = None
        self.drawers: list = []
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setGeometry(canvas.rect())
        canvas.installEventFilter(self)
        self.show()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt API)
        if obj is self.canvas and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.canvas.rect())
        return False

    def set_patch(self, box: Box | None, image: QImage | None = None) -> None:
        self.patch = None if box is None or image is None else (box, image)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        c = self.canvas
        if c.doc is None or c.show_original:
            return
        p = QPainter(self)
        if self.patch is not None and c.show_image:
            (x0, y0, x1, y1), image = self.patch
            if c.split:
                x = c.split_pos * c.width()
                p.setClipRect(QRectF(x, 0, c.width() - x, c.height()))
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, c.device_zoom() < 2)
            p.drawImage(c._widget_rect(Rect(x0, y0, x1, y1)), image)
            p.setClipping(False)
        for paint in self.drawers:
            paint(p)


class _Status(QLabel):
    """A label that takes no room while it has nothing to say."""

    def setText(self, text: str) -> None:  # noqa: N802 (Qt API)
        super().setText(text)
        self.setVisible(bool(text))


class LiveFillPanel(QGroupBox):
    """The Tools dock's "Fill as you paint" group."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Fill as you paint", parent)
        grid = QGridLayout(self)
        self.enabled = QCheckBox("Fill as I paint, with")
        self.enabled.setChecked(True)
        self.enabled.setToolTip("When a mask stroke smaller than about 500 × 500 px "
                                "ends, fill it in the background and show the result; "
                                "Enter keeps it, Esc drops it")
        grid.addWidget(self.enabled, 0, 0, 1, 1)
        self.method = QComboBox()
        self.method.setToolTip("How the painted area is filled while you paint")
        grid.addWidget(self.method, 0, 1, 1, 2)
        self.apply = QPushButton("Apply fill")
        self.apply.setToolTip("Keep the fill shown on the photo (Enter): one undo step")
        self.discard = QPushButton("Discard")
        self.discard.setToolTip("Drop the fill shown on the photo (Esc)")
        self.compare = QPushButton("Compare methods…")
        self.compare.setToolTip("Fill the masked area with every method, side by side, "
                                "and apply the one you click")
        grid.addWidget(self.apply, 1, 0)
        grid.addWidget(self.discard, 1, 1)
        grid.addWidget(self.compare, 1, 2)
        self.status = _Status()
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #999")
        grid.addWidget(self.status, 2, 0, 1, 3)
        self.status.hide()

    def set_methods(self, methods: list[str], current: str) -> None:
        self.method.clear()
        for m in methods:
            self.method.addItem(METHOD_WORDS.get(m, m), m)
        i = self.method.findData(current)
        self.method.setCurrentIndex(max(i, 0))

    def set_pending(self, pending: bool) -> None:
        self.apply.setEnabled(pending)
        self.discard.setEnabled(pending)


class _WarmUp(QRunnable):
    """Import the inpainting pipeline and fill a tiny hole once, on a worker, when a photo
    opens (about 2 s of first-use cost that would otherwise delay the first stroke's fill).
    """

    def __init__(self, method: str) -> None:
        super().__init__()
        self.method = method

    def run(self) -> None:
        from neuron_desktop.core.progress import run_pipeline
        from neuron_desktop.pipelines.local_fill import fill_box

        lower_thread_priority()
        image = np.zeros((48, 48, 3), np.float32)
        mask = np.zeros((48, 48), np.float32)
        mask[20:28, 20:28] = 1
        method = self.method if self.method in ("telea", "ns", "harmonic") else "telea"
        try:
            run_pipeline(fill_box(image, mask, (16, 16, 32, 32), method=method))
        except Exception:  # noqa: BLE001 - a warm-up only; a real fill reports its errors
            log.debug("fill warm-up failed", exc_info=True)


class LiveFill(QObject):
    """Wires fill-as-you-paint into the window (``window.live_fill``)."""

    def __init__(self, window, pool) -> None:
        super().__init__(window)
        self.w = w = window
        self.panel = LiveFillPanel()
        layout = w.brush_panel.parentWidget().layout()
        after = getattr(w, "mask_tools", None)
        anchor = after.panel if after is not None else w.brush_panel
        layout.insertWidget(layout.indexOf(anchor) + 1, self.panel)
        self.overlay = PatchOverlay(w.canvas)
        self.jobs = JobManager(self, pool=pool)
        self.jobs.finished.connect(self._done)
        self.jobs.error.connect(self._failed)
        self.pending: Fill | None = None
        self.region: Box | None = None  # the strokes' box being (or last) filled
        self._requested: dict | None = None  # the revisions the job in flight started from
        self._t0 = 0.0
        self.last_latency: float | None = None  # stroke end -> preview shown (s)
        self.compare_dialog = None
        self._warm = False
        from neuron_desktop.pipelines.local_fill import compare_methods

        methods = [m for m in LIVE_METHODS if m in compare_methods()]
        saved = str(w.settings.value("live_fill/method", "telea"))  # the fastest
        self.panel.set_methods(methods, saved)
        self.panel.enabled.setChecked(w.settings.value("live_fill/enabled", True, bool))
        self.panel.enabled.toggled.connect(self._toggled)
        self.panel.method.currentIndexChanged.connect(self._method_changed)
        self.panel.apply.clicked.connect(lambda: self.apply())
        self.panel.discard.clicked.connect(lambda: self.discard())
        self.panel.compare.clicked.connect(lambda: self.compare())
        self.panel.set_pending(False)
        w.brush.strokeFinished.connect(self._stroke_ended)
        w.history.indexChanged.connect(self._history_moved)
        w.documentOpened.connect(self._opened)
        self.panel.compare.setEnabled(w.doc is not None)
        w.act_cancel.triggered.connect(lambda: self.discard(quiet=True))
        w.canvas.installEventFilter(self)

    def _opened(self, _doc) -> None:
        self.discard(quiet=True)
        self.panel.compare.setEnabled(True)
        if self.panel.enabled.isChecked() and not self._warm:
            self._warm = True  # the first stroke's fill need not wait for imports
            self.jobs.pool.start(_WarmUp(self.method))

    @property
    def method(self) -> str:
        return self.panel.method.currentData() or "telea"

    def _toggled(self, on: bool) -> None:
        self.w.settings.setValue("live_fill/enabled", on)
        if not on:
            self.discard(quiet=True)

    def _method_changed(self) -> None:
        self.w.settings.setValue("live_fill/method", self.method)
        if self.region is not None and (self.pending is not None or self.jobs.busy):
            self.request(self.region)  # the shown fill follows the method chosen

    # ---------------------------------------------------------------------------- requests

    def _stroke_ended(self) -> None:
        w = self.w
        if not self.panel.enabled.isChecked() or w.doc is None or w.history.index() == 0:
            return
        cmd = w.history.command(w.history.index() - 1)
        if not isinstance(cmd, StrokeCommand) or cmd.rect is None:
            return
        box = (cmd.rect.x0, cmd.rect.y0, cmd.rect.x1, cmd.rect.y1)
        if cmd.erase:  # erasing inside the area being filled updates the fill
            if self.region is not None and (self.pending is not None or self.jobs.busy):
                self.request(self.region)
            return
        if box_area(box) > LIVE_MAX_PIXELS:
            self.discard(quiet=True)
            self.panel.status.setText("That stroke is too large to fill as you paint: use "
                                      "Inpaint ▸ Apply, or Compare methods")
            return
        region = box
        if self.region is not None and (self.pending is not None or self.jobs.busy):
            joint = union(self.region, box)
            region = joint if box_area(joint) <= LIVE_MAX_REGION else box
        self.request(region)

    def request(self, region: Box) -> int | None:
        """Fill the mask inside ``region`` (image px) on a worker (latest request wins)."""
        from neuron_desktop.pipelines.local_fill import fill_box

        doc = self.w.doc
        if doc is None:
            return None
        self.region = region
        method = self.method
        params = self.w.capability_params("inpaint")
        revisions = dict(doc.revisions)
        side = max(region[2] - region[0], region[3] - region[1])
        ctx = context_box(region, (doc.height, doc.width),
                          min(LIVE_MARGIN, max(MIN_MARGIN, round(MARGIN_FACTOR * side))))
        x0, y0 = ctx[:2]
        rel = (region[0] - x0, region[1] - y0, region[2] - x0, region[3] - y0)
        # the crop (at most a few MB: a few ms) is copied here rather than pinning the
        # whole layers in a snapshot: nothing is copied on write while the fill runs
        image = doc.image[ctx[1]:ctx[3], ctx[0]:ctx[2]].copy()
        mask = doc.mask[ctx[1]:ctx[3], ctx[0]:ctx[2]].copy()

        def make(device, cancel):
            if not (mask[rel[1]:rel[3], rel[0]:rel[2]] > 0.5).any():
                from neuron_desktop.core.errors import MaskError

                raise MaskError("nothing to fill there")
            return fill_box(image, mask, rel, method=method, radius=params.get("radius", 3),
                            grain=params.get("grain", "off"), device=device, cancel=cancel,
                            context=(0, 0, image.shape[1], image.shape[0]))

        def post(pixels: np.ndarray) -> Fill:
            return Fill(region, pixels, method, revisions, to_qimage(pixels))

        self._requested = revisions
        self._t0 = time.perf_counter()
        self.panel.status.setText(f"Filling… ({METHOD_WORDS.get(method, method)})")
        return self.jobs.submit(JobSpec(f"Fill as you paint ({method})", make,
                                        device=self.w.device_pref(), postprocess=post,
                                        payload={"doc": doc}))

    def _current(self, revisions: dict | None) -> bool:
        doc = self.w.doc
        return doc is not None and revisions is not None and all(
            doc.revisions[k] == v for k, v in revisions.items())

    def _done(self, _name: str, fill: Fill, spec: JobSpec) -> None:
        if spec.payload.get("doc") is not self.w.doc or not self._current(fill.revisions):
            return  # stale: the photo or mask changed while it ran (a newer one follows)
        fill.seconds = time.perf_counter() - self._t0
        self.last_latency = fill.seconds
        self.pending = fill
        self.overlay.set_patch(fill.box, fill.image)
        self.panel.set_pending(True)
        text = (f"Filled in {fill.seconds * 1000:.0f} ms — Enter or Apply fill keeps it, "
                "Esc drops it")
        self.panel.status.setText(text)
        self.w.statusBar().showMessage(text, 5000)

    def _failed(self, _name: str, exc, _spec) -> None:
        self.panel.status.setText(f"Could not fill: {exc}")

    # ------------------------------------------------------------------------ apply, drop

    def apply(self) -> bool:
        """Keep the fill shown as one undo step."""
        fill = self.pending
        if fill is None:
            return False
        self.pending = None
        self.region = None
        self.overlay.set_patch(None)
        self.panel.set_pending(False)
        ok = commit_fill(self.w, fill, fill_name(fill.method))
        self.panel.status.setText("Applied: Ctrl+Z undoes it" if ok else "")
        return ok

    def discard(self, quiet: bool = False) -> None:
        """Drop the fill shown (and any fill being computed)."""
        had = self.pending is not None or self.jobs.busy
        self.jobs.cancel()
        self.pending = None
        self.region = None
        self._requested = None
        self.overlay.set_patch(None)
        self.panel.set_pending(False)
        if had and not quiet:
            self.panel.status.setText("Fill discarded")
        elif had:
            self.panel.status.setText("")

    def _history_moved(self, _index: int) -> None:
        """Undo, redo or another edit: a fill made from another state is dropped (strokes
        being painted keep it shown; their end updates it)."""
        if self.pending is None and not self.jobs.busy:
            return
        if self.w.brush._gesture is not None:
            return
        made_from = self.pending.revisions if self.pending is not None else self._requested
        if not self._current(made_from):
            self.discard(quiet=True)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt API)
        t = event.type()
        if self.pending is None or t not in (QEvent.Type.ShortcutOverride,
                                             QEvent.Type.KeyPress):
            return False
        key = event.key()
        if key not in (Qt.Key.Key_Escape, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            return False
        event.accept()  # Esc here drops the fill (not "Cancel job")
        if t == QEvent.Type.KeyPress:
            if key == Qt.Key.Key_Escape:
                self.discard()
            else:
                self.apply()
        return True

    # ----------------------------------------------------------------------------- compare

    def compare(self, region: Box | None = None):
        """Open the compare view on ``region``, else the strokes being filled, else the
        whole mask."""
        from neuron_desktop.qt.compare_fills import CompareFills

        if self.w.doc is None:
            return None
        if self.compare_dialog is not None:
            self.compare_dialog.close()
        self.compare_dialog = CompareFills(self.w, self, region or self.region)
        self.compare_dialog.show()
        return self.compare_dialog

    def shutdown(self) -> None:
        if self.compare_dialog is not None:
            self.compare_dialog.stop()
        self.jobs.shutdown()
