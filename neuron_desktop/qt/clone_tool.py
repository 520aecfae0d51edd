"""The clone / heal brush: Alt+click sets the source, then painting copies from the source
at the same offset (the offset stays until the next Alt+click, as in GIMP and Photoshop).

Modes: Clone (a plain copy), Heal (seamless: the copy takes the colours of its new
surroundings) and Match colour (the copy shifted by the mean colour difference). The pixel
operation is ``core.clone.CloneStroke``: each mouse-move segment writes only its box; a
Heal or Match colour stroke is blended once it ends, on a worker. Each stroke is one undo
step (its tile diff, never the whole photo). The canvas has no code for the tool: an event
filter takes its mouse input while the tool is active, and the brush ring and source mark
are drawn on the live-fill :class:`~neuron_desktop.qt.live_fill.PatchOverlay`.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSlider,
    QSpinBox,
    QWidget,
)

from neuron_desktop.core.clone import CloneStroke, blend, stroke_diff
from neuron_desktop.core.document import Rect
from neuron_desktop.core.progress import Progress
from neuron_desktop.qt.commands import EditCommand
from neuron_desktop.qt.workers import JobManager, JobSpec

log = logging.getLogger(__name__)

MODE_WORDS = {"clone": "Clone", "heal": "Heal (blend into the surroundings)",
              "match": "Match colour"}
MODE_TIPS = {"clone": "Copy the source's pixels as they are",
             "heal": "Copy the source's texture with the colours and brightness around the "
                     "stroke (seamless blending, computed when the stroke ends)",
             "match": "Copy the source shifted by the difference of the average colours "
                      "around the stroke"}


class CloneToolPanel(QGroupBox):
    """The Tools dock's "Clone and heal" group (shown while the tool is active)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Clone and heal", parent)
        form = QFormLayout(self)
        self.mode = QComboBox()
        for m, words in MODE_WORDS.items():
            self.mode.addItem(words, m)
            self.mode.setItemData(self.mode.count() - 1, MODE_TIPS[m],
                                  Qt.ItemDataRole.ToolTipRole)
        self.mode.setCurrentIndex(1)
        self.mode.setToolTip("How the copied pixels are blended in")
        form.addRow("Mode", self.mode)
        self.size = QSpinBox()
        self.size.setRange(1, 1000)
        self.size.setValue(40)
        self.size.setSuffix(" px")
        self.size.setToolTip("Brush diameter ([ and ] change it)")
        form.addRow("Size", self.size)
        self.hardness = QSlider(Qt.Orientation.Horizontal)
        self.hardness.setRange(0, 100)
        self.hardness.setValue(60)
        self.hardness.setToolTip("How sharp the brush's edge is")
        form.addRow("Edge hardness", self.hardness)
        self.source = QLabel("Alt+click the photo to choose where to copy from")
        self.source.setWordWrap(True)
        self.source.setStyleSheet("color: #999")
        form.addRow(self.source)


class CloneTool(QObject):
    """Wires the clone / heal brush into the window (``window.clone_tool``)."""

    def __init__(self, window, overlay, pool) -> None:
        super().__init__(window)
        self.w = w = window
        self.overlay = overlay
        self.panel = CloneToolPanel()
        self.panel.hide()
        layout = w.brush_panel.parentWidget().layout()
        layout.insertWidget(layout.indexOf(w.brush_panel), self.panel)
        self.source: tuple[float, float] | None = None
        self.offset: tuple[float, float] | None = None  # source - target, once painting
        self.stroke: CloneStroke | None = None
        self._last: tuple[float, float] | None = None
        self._mouse: QPointF | None = None
        self.blending = False  # a heal stroke's blend is being computed
        self.last_blend_seconds: float | None = None
        self.segment_ms: list[float] = []  # time of each segment of the last stroke
        self.jobs = JobManager(self, pool=pool)
        self.jobs.finished.connect(self._blended)
        self.jobs.error.connect(self._blend_failed)
        self.act = w._action("Clone / &heal brush", "mdi6.stamper", "J", None,
                             "Copy pixels from another place: Alt+click the source, then "
                             "paint", checkable=True)
        w.act_brush.actionGroup().addAction(self.act)
        self.act.toggled.connect(self._toggled)
        menus = {a.text(): a.menu() for a in w.menuBar().actions() if a.menu() is not None}
        menus["&Tools"].insertAction(w.act_eraser, self.act)
        self.panel.size.valueChanged.connect(lambda _v: overlay.update())
        w.act_smaller.triggered.connect(lambda: self._resize(1 / 1.2))  # [ and ]
        w.act_bigger.triggered.connect(lambda: self._resize(1.2))
        w.canvas.installEventFilter(self)
        overlay.drawers.append(self._paint)
        w.documentOpened.connect(lambda _d: self._reset())
        self.act.setEnabled(w.doc is not None)  # no photo: nothing to clone

    @property
    def active(self) -> bool:
        return self.w.canvas.tool == "clone"

    @property
    def radius(self) -> float:
        return self.panel.size.value() / 2

    def _resize(self, factor: float) -> None:
        if self.active:
            s = self.panel.size
            s.setValue(max(1, round(s.value() * factor + (0.5 if factor > 1 else -0.5))))

    def _reset(self) -> None:
        self.act.setEnabled(True)
        self.source = self.offset = None
        self.stroke = None
        self.panel.source.setText("Alt+click the photo to choose where to copy from")

    def _toggled(self, on: bool) -> None:
        w = self.w
        if on:
            w.canvas.tool = "clone"
            w.canvas.setCursor(Qt.CursorShape.CrossCursor)
            w.brush_panel.setVisible(False)
            w.hint_panel.setVisible(False)
            w.docks["tools"].raise_()
        self.panel.setVisible(on)
        self.overlay.update()

    # ------------------------------------------------------------------------------ input

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt API)
        t = event.type()
        canvas = self.w.canvas
        if not self.active or canvas.doc is None:
            return False
        if t == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
            if canvas._space:
                return False  # Space+drag pans
            x, y = canvas.widget_to_image(event.position())
            if event.modifiers() & Qt.KeyboardModifier.AltModifier:
                self.set_source(x, y)
            else:
                self.begin(x, y)
            return True
        if t == QEvent.Type.MouseMove:
            self._mouse = event.position()
            if self.stroke is not None:
                self.move(*canvas.widget_to_image(event.position()))
            self.overlay.update()
            return False  # the canvas still shows the position
        if t == QEvent.Type.MouseButtonRelease and event.button() == Qt.MouseButton.LeftButton:
            if self.stroke is not None:
                self.end()
                return True
        if t == QEvent.Type.Leave:
            self._mouse = None
            self.overlay.update()
        return False

    def set_source(self, x: float, y: float) -> None:
        """Copy from image pixel (x, y): the next stroke's start is copied from here."""
        self.source = (x, y)
        self.offset = None
        self.panel.source.setText(f"Source: x {int(x)}, y {int(y)} — paint to copy from "
                                  "there (Alt+click again to move it)")
        self.overlay.update()

    def begin(self, x: float, y: float) -> bool:
        doc = self.w.doc
        if doc is None or self.blending:
            if self.blending:
                self.w.statusBar().showMessage("Blending the last stroke…", 2000)
            return False
        if self.source is None:
            self.w.statusBar().showMessage("Alt+click the photo first to choose where to "
                                           "copy from", 5000)
            return False
        if self.offset is None:
            self.offset = (self.source[0] - x, self.source[1] - y)
        self.stroke = CloneStroke((doc.height, doc.width), self.offset,
                                  mode=self.panel.mode.currentData(), radius=self.radius,
                                  hardness=self.panel.hardness.value() / 100)
        self.segment_ms = []
        self._last = (x, y)
        self._dab((x, y), (x, y))
        return True

    def move(self, x: float, y: float) -> None:
        if self.stroke is None or self._last is None:
            return
        lx, ly = self._last
        if (x - lx) ** 2 + (y - ly) ** 2 < max(0.5, self.radius * 0.1) ** 2:
            return
        self._dab(self._last, (x, y))
        self._last = (x, y)

    def _dab(self, p0, p1) -> None:
        t0 = time.perf_counter()
        doc = self.w.doc
        box = self.stroke.dab(doc.writable("image"), p0, p1)
        if box is not None:
            doc.notify("image", Rect(*box))
        self.segment_ms.append((time.perf_counter() - t0) * 1000)

    def end(self, wait: bool = False) -> None:
        """End the stroke: it becomes one undo step now; a Heal or Match colour stroke's
        blend is computed on a worker and then written into that same step."""
        stroke, self.stroke, self._last = self.stroke, None, None
        doc = self.w.doc
        if stroke is None or doc is None or stroke.box is None:
            return
        inputs = stroke.blend_inputs(doc.image)
        cmd = self._push(stroke)
        if inputs is None or cmd is None:
            return
        box, target, source, hole = inputs
        mode = stroke.mode

        def make(device, cancel):
            yield Progress(0.0, "Blending the stroke")
            return blend(mode, target, source, hole)

        self.blending = True
        self._t0 = time.perf_counter()
        self.w.statusBar().showMessage("Blending the stroke…")
        self.jobs.submit(JobSpec("Blend stroke", make, device="cpu",
                                 payload={"doc": doc, "stroke": stroke, "box": box,
                                          "cmd": cmd}))
        if wait:
            self.jobs.wait()

    def _blended(self, _name, fill, spec: JobSpec) -> None:
        self.blending = False
        doc, stroke, cmd = spec.payload["doc"], spec.payload["stroke"], spec.payload["cmd"]
        h = self.w.history
        if doc is not self.w.doc or h.index() == 0 or h.command(h.index() - 1) is not cmd:
            self.w.statusBar().showMessage("The photo changed while the stroke was being "
                                           "blended: the plain copy was kept", 6000)
            return
        self.last_blend_seconds = time.perf_counter() - self._t0
        box = spec.payload["box"]
        stroke.apply_blend(doc.writable("image"), box, fill)
        doc.notify("image", Rect(*box))
        cmd.diffs = [stroke_diff(stroke, doc.image)]  # the same step, now blended
        self.w.statusBar().showMessage(
            f"Stroke blended in {self.last_blend_seconds:.2f} s", 3000)

    def _blend_failed(self, _name, exc, spec: JobSpec) -> None:
        self.blending = False
        log.error("blending a stroke failed: %s", exc)
        self.w.statusBar().showMessage(f"Blending failed ({exc}): the plain copy was kept",
                                       8000)

    def _push(self, stroke: CloneStroke) -> EditCommand | None:
        doc = self.w.doc
        diff = stroke_diff(stroke, doc.image)
        if diff.empty:
            return None
        name = {"clone": "Clone stroke", "heal": "Heal stroke", "match": "Clone stroke "
                "(match colour)"}[stroke.mode]
        cmd = EditCommand(doc, name, diffs=[diff])
        cmd.record = {"name": name, "params": {
            "tool": "clone brush", "mode": stroke.mode, "offset": list(stroke.offset),
            "size": round(stroke.radius * 2), "box": [int(v) for v in stroke.box or ()]}}
        cmd.silent = True  # already painted
        self.w.history.push(cmd)
        cmd.silent = False
        return cmd

    # ---------------------------------------------------------------------------- drawing

    def _paint(self, p: QPainter) -> None:
        if not self.active or self.w.canvas.doc is None:
            return
        c = self.w.canvas
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setBrush(Qt.BrushStyle.NoBrush)
        r = self.radius * c.zoom
        if self._mouse is not None:
            for color, width in ((QColor(0, 0, 0, 160), 3), (QColor(255, 255, 255, 220), 1)):
                p.setPen(QPen(color, width))
                p.drawEllipse(self._mouse, r, r)
        src = None
        if self.offset is not None and self._mouse is not None:
            x, y = c.widget_to_image(self._mouse)
            src = c.image_to_widget(x + self.offset[0], y + self.offset[1])
        elif self.source is not None:
            src = c.image_to_widget(*self.source)
        if src is not None:
            for color, width in ((QColor(0, 0, 0, 180), 3), (QColor(80, 200, 255), 1.5)):
                p.setPen(QPen(color, width))
                p.drawEllipse(src, r, r)
                p.drawLine(QPointF(src.x() - 6, src.y()), QPointF(src.x() + 6, src.y()))
                p.drawLine(QPointF(src.x(), src.y() - 6), QPointF(src.x(), src.y() + 6))

    def shutdown(self) -> None:
        self.jobs.shutdown()
