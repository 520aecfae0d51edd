"""Widgets of the scan tools: the canvas overlay (crop rectangle, straighten line,
neutral-colour eyedropper), the histogram and the curve editor.

The overlay is a transparent child of the canvas, shown while a scan tool is active. It
handles the left button itself and passes everything else (middle-button and Space pans,
wheel zoom, the cursor readout) on to the canvas, so the canvas needs no new tool code.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from neuron_desktop.core.adjust import curve_lut, format_points, line_angle, parse_points

HANDLE_PX = 10


def histogram_of_bgra(bgra: np.ndarray, bins: int = 256) -> np.ndarray:
    """(4, bins) counts of luma, R, G, B of a uint8 BGRA display image (a pyramid level)."""
    img = np.ascontiguousarray(bgra)
    luma = cv2.cvtColor(img, cv2.COLOR_BGRA2GRAY)
    planes = [luma, img[..., 2], img[..., 1], img[..., 0]]
    return np.stack([cv2.calcHist([np.ascontiguousarray(p)], [0], None, [bins],
                                  [0, 256]).ravel() for p in planes]).astype(np.float64)


def constrain(anchor: tuple[float, float], at: tuple[float, float], ratio: float | None,
              width: int, height: int) -> tuple[int, int, int, int]:
    """The crop (x, y, w, h) dragged from ``anchor`` to ``at`` (image pixels), kept inside
    the photo, with width / height = ``ratio`` (turned for a portrait drag) when given."""
    ax = min(max(anchor[0], 0.0), width)
    ay = min(max(anchor[1], 0.0), height)
    dx, dy = at[0] - ax, at[1] - ay
    if ratio is not None:
        r = max(ratio, 1 / ratio) if abs(dx) >= abs(dy) else min(ratio, 1 / ratio)
        w = max(abs(dx), abs(dy) * r)
        h = w / r
        room_w = ax if dx < 0 else width - ax
        room_h = ay if dy < 0 else height - ay
        s = min(1.0, room_w / max(w, 1e-9), room_h / max(h, 1e-9))
        w, h = w * s, h * s
        bx, by = (ax - w if dx < 0 else ax + w), (ay - h if dy < 0 else ay + h)
    else:
        bx, by = min(max(at[0], 0.0), width), min(max(at[1], 0.0), height)
    x0, x1 = sorted((ax, bx))
    y0, y1 = sorted((ay, by))
    x0, y0 = int(round(x0)), int(round(y0))
    return x0, y0, max(int(round(x1)) - x0, 0), max(int(round(y1)) - y0, 0)


class ScanOverlay(QWidget):
    """Transparent layer over the canvas for the crop, straighten and eyedropper tools."""

    cropChanged = Signal(tuple)  # (x, y, w, h) in image pixels; w == 0: none
    cropConfirmed = Signal()
    lineDrawn = Signal(float)  # the straighten angle (degrees, clockwise)
    neutralPicked = Signal(float, float)  # image x, y

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.mode: str | None = None  # "crop", "straighten", "eyedropper"
        self.crop: tuple[int, int, int, int] | None = None
        self.ratio: float | None = None
        self._anchor: tuple[float, float] | None = None
        self._move_from: tuple[float, float] | None = None
        self._line: tuple[QPointF, QPointF] | None = None
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setGeometry(canvas.rect())
        canvas.installEventFilter(self)
        self.hide()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if obj is self.canvas and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.canvas.rect())
        return False

    def set_mode(self, mode: str | None) -> None:
        self.mode = mode
        self._anchor = self._move_from = self._line = None
        self.setVisible(mode is not None)
        if mode is not None:
            self.raise_()
            self.setFocus()
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.update()

    def set_crop(self, box: tuple[int, int, int, int] | None, notify: bool = False) -> None:
        self.crop = box if box and box[2] > 0 and box[3] > 0 else None
        self.update()
        if notify:
            self.cropChanged.emit(self.crop or (0, 0, 0, 0))

    # ----------------------------------------------------------------------------- input

    def _image_pos(self, pos: QPointF) -> tuple[float, float]:
        return self.canvas.widget_to_image(pos)

    def _corner_hit(self, pos: QPointF) -> tuple[float, float] | None:
        """The opposite corner of the crop corner under ``pos`` (to drag it), or None."""
        if self.crop is None:
            return None
        x, y, w, h = self.crop
        corners = [(x, y), (x + w, y), (x, y + h), (x + w, y + h)]
        for i, (cx, cy) in enumerate(corners):
            p = self.canvas.image_to_widget(cx, cy)
            if abs(p.x() - pos.x()) <= HANDLE_PX and abs(p.y() - pos.y()) <= HANDLE_PX:
                return corners[3 - i]
        return None

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        doc = self.canvas.doc
        if (event.button() != Qt.MouseButton.LeftButton or doc is None or self.mode is None
                or self.canvas._space):
            self.canvas.mousePressEvent(event)
            return
        pos = event.position()
        x, y = self._image_pos(pos)
        if self.mode == "crop":
            opposite = self._corner_hit(pos)
            if opposite is not None:
                self._anchor = opposite
            elif self.crop is not None and QRectF(*self.crop).contains(QPointF(x, y)):
                self._move_from = (x, y)
            else:
                self._anchor = (x, y)
                self.set_crop(None)
        elif self.mode == "straighten":
            self._line = (pos, pos)
        elif self.mode == "eyedropper" and 0 <= x < doc.width and 0 <= y < doc.height:
            self.neutralPicked.emit(x, y)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.canvas.mouseMoveEvent(event)
        doc = self.canvas.doc
        if doc is None:
            return
        pos = event.position()
        x, y = self._image_pos(pos)
        if self._anchor is not None:
            self.set_crop(constrain(self._anchor, (x, y), self.ratio, doc.width, doc.height),
                          notify=True)
        elif self._move_from is not None and self.crop is not None:
            bx, by, w, h = self.crop
            nx = int(round(min(max(bx + x - self._move_from[0], 0), doc.width - w)))
            ny = int(round(min(max(by + y - self._move_from[1], 0), doc.height - h)))
            self._move_from = (self._move_from[0] + nx - bx, self._move_from[1] + ny - by)
            self.set_crop((nx, ny, w, h), notify=True)
        elif self._line is not None:
            self._line = (self._line[0], pos)
            self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.button() != Qt.MouseButton.LeftButton:
            self.canvas.mouseReleaseEvent(event)
            return
        self._anchor = self._move_from = None
        if self._line is not None:
            (p0, p1), self._line = self._line, None
            self.update()
            if (p1 - p0).manhattanLength() >= 10:
                a = self._image_pos(p0)
                b = self._image_pos(p1)
                self.lineDrawn.emit(line_angle(*a, *b))

    def wheelEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.canvas.wheelEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.canvas.leaveEvent(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self.mode == "crop" and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.cropConfirmed.emit()
        elif self.mode == "crop" and event.key() == Qt.Key.Key_Escape and self.crop:
            self.set_crop(None, notify=True)
        else:
            self.canvas.keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.canvas.keyReleaseEvent(event)

    # ---------------------------------------------------------------------------- drawing

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self.canvas.doc is None:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if self.mode == "crop" and self.crop is not None:
            x, y, w, h = self.crop
            r = QRectF(self.canvas.image_to_widget(x, y), self.canvas.image_to_widget(x + w,
                                                                                   y + h))
            outside = QPainterPath()
            outside.addRect(QRectF(self.rect()))
            inner = QPainterPath()
            inner.addRect(r)
            p.fillPath(outside.subtracted(inner), QColor(0, 0, 0, 140))
            p.setPen(QPen(QColor(255, 255, 255, 90), 1))
            for k in (1, 2):  # rule of thirds
                p.drawLine(QPointF(r.left() + r.width() * k / 3, r.top()),
                           QPointF(r.left() + r.width() * k / 3, r.bottom()))
                p.drawLine(QPointF(r.left(), r.top() + r.height() * k / 3),
                           QPointF(r.right(), r.top() + r.height() * k / 3))
            p.setPen(QPen(QColor(255, 255, 255, 230), 1.5))
            p.drawRect(r)
            p.setBrush(QColor(255, 255, 255))
            for c in (r.topLeft(), r.topRight(), r.bottomLeft(), r.bottomRight()):
                p.drawRect(QRectF(c.x() - 4, c.y() - 4, 8, 8))
            self._label(p, r.bottomLeft() + QPointF(0, 6), f"{w} × {h}  (Enter crops)")
        elif self.mode == "straighten" and self._line is not None:
            p0, p1 = self._line
            p.setPen(QPen(QColor(0, 0, 0, 160), 3))
            p.drawLine(p0, p1)
            p.setPen(QPen(QColor(255, 210, 0), 1.5))
            p.drawLine(p0, p1)
            a = self._image_pos(p0) + self._image_pos(p1)
            self._label(p, p1 + QPointF(10, 10), f"turn {line_angle(*a):+.1f}°")
        elif self.mode == "straighten":
            self._label(p, QPointF(10, 10), "Draw a line along the horizon or a wall")
        elif self.mode == "eyedropper":
            self._label(p, QPointF(10, 10), "Click something that should be grey or white")

    def _label(self, p: QPainter, at: QPointF, text: str) -> None:
        fm = p.fontMetrics()
        r = QRectF(at.x(), at.y(), fm.horizontalAdvance(text) + 12, fm.height() + 6)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 170))
        p.drawRoundedRect(r, 4, 4)
        p.setPen(QColor(240, 240, 240))
        p.drawText(r, Qt.AlignmentFlag.AlignCenter, text)


class HistogramView(QWidget):
    """Luma (filled grey) and R, G, B (lines) histograms; log-ish scaling so faint tails
    show. ``marks``: tone values (0..1) drawn as vertical lines (e.g. the levels)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hist: np.ndarray | None = None
        self.marks: tuple[float, ...] = ()
        self.setMinimumHeight(90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Histogram: how many pixels have each tone, dark on the left, "
                        "bright on the right")

    def set_histogram(self, hist: np.ndarray | None) -> None:
        self.hist = hist
        self.update()

    def set_marks(self, *marks: float) -> None:
        self.marks = marks
        self.update()

    def plot_rect(self) -> QRectF:
        return QRectF(self.rect()).adjusted(4, 4, -4, -4)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        p = QPainter(self)
        r = self.plot_rect()
        p.fillRect(r, QColor(24, 24, 26))
        if self.hist is not None:
            h = np.sqrt(self.hist)
            h = h / max(float(h.max()), 1.0)
            xs = r.left() + np.linspace(0, r.width(), h.shape[1])
            luma = QPainterPath(QPointF(r.left(), r.bottom()))
            for x, v in zip(xs, h[0], strict=True):
                luma.lineTo(QPointF(x, r.bottom() - v * r.height()))
            luma.lineTo(QPointF(r.right(), r.bottom()))
            p.fillPath(luma, QColor(170, 170, 170, 140))
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            for k, color in ((1, QColor(230, 80, 80, 160)), (2, QColor(80, 200, 80, 160)),
                             (3, QColor(90, 130, 240, 160))):
                path = QPainterPath(QPointF(xs[0], r.bottom() - h[k][0] * r.height()))
                for x, v in zip(xs[1:], h[k][1:], strict=True):
                    path.lineTo(QPointF(x, r.bottom() - v * r.height()))
                p.setPen(QPen(color, 1))
                p.drawPath(path)
        p.setPen(QPen(QColor(255, 210, 0, 200), 1))
        for m in self.marks:
            x = r.left() + m * r.width()
            p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()))
        self.paint_more(p, r)

    def paint_more(self, p: QPainter, r: QRectF) -> None:
        pass


class CurveEditor(HistogramView):
    """A tone curve over the histogram: drag points, click to add, right-click to remove."""

    pointsChanged = Signal(str)  # "x,y x,y ..." in 0..255

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.points = parse_points("0,0 255,255")
        self._drag: int | None = None
        self.setMinimumHeight(170)
        self.setToolTip("Tone curve: drag a point (or click to add one) to map the tones "
                        "below to new ones; right-click removes a point. Raising the middle "
                        "brightens, an S shape adds contrast")

    def set_points(self, text: str) -> None:
        try:
            self.points = parse_points(text or "0,0 255,255")
        except Exception:  # noqa: BLE001 - a half-typed value: keep the curve drawn
            return
        self.update()

    def _to_widget(self, x: float, y: float) -> QPointF:
        r = self.plot_rect()
        return QPointF(r.left() + x * r.width(), r.bottom() - y * r.height())

    def _to_curve(self, pos: QPointF) -> tuple[float, float]:
        r = self.plot_rect()
        return (min(max((pos.x() - r.left()) / r.width(), 0.0), 1.0),
                min(max((r.bottom() - pos.y()) / r.height(), 0.0), 1.0))

    def _hit(self, pos: QPointF) -> int | None:
        for i, (x, y) in enumerate(self.points):
            q = self._to_widget(x, y)
            if abs(q.x() - pos.x()) <= 7 and abs(q.y() - pos.y()) <= 7:
                return i
        return None

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        pos = event.position()
        hit = self._hit(pos)
        if event.button() == Qt.MouseButton.RightButton:
            if hit is not None and 0 < hit < len(self.points) - 1:
                del self.points[hit]
                self._changed()
            return
        if hit is None:
            x, y = self._to_curve(pos)
            self.points.append((x, y))
            self.points.sort()
            hit = self.points.index((x, y))
            self._changed()
        self._drag = hit

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self._drag is None:
            return
        x, y = self._to_curve(event.position())
        i = self._drag
        lo = self.points[i - 1][0] + 0.01 if i > 0 else 0.0
        hi = self.points[i + 1][0] - 0.01 if i < len(self.points) - 1 else 1.0
        if i == 0:
            hi = min(hi, 0.99)
        self.points[i] = (min(max(x, lo), hi), y)
        self._changed()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self._drag = None

    def _changed(self) -> None:
        self.update()
        self.pointsChanged.emit(format_points(self.points))

    def paint_more(self, p: QPainter, r: QRectF) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(QPen(QColor(255, 255, 255, 50), 1, Qt.PenStyle.DashLine))
        p.drawLine(QPointF(r.left(), r.bottom()), QPointF(r.right(), r.top()))
        lut = curve_lut(self.points, 128)
        path = QPainterPath(self._to_widget(0, float(lut[0])))
        for i, v in enumerate(lut[1:], 1):
            path.lineTo(self._to_widget(i / (len(lut) - 1), float(v)))
        p.setPen(QPen(QColor(240, 240, 240), 1.5))
        p.drawPath(path)
        p.setBrush(QColor(255, 210, 0))
        for x, y in self.points:
            p.drawEllipse(self._to_widget(x, y), 4, 4)
