"""The hint colour picker: the ab plane of CIELAB at the hint pixel's lightness, showing
only the colours a screen can display.

Colours outside the sRGB gamut at that lightness are drawn hatched grey and cannot be
picked: a click there does nothing (the picker says why), and a drag that leaves the gamut
snaps visibly to the nearest displayable colour (the marker stays on the edge). Near black
(L = 0) and near white (L = 100) almost no colour is displayable, so the picker shows the
nearest usable lightness instead (with a note) and zooms in on its small gamut, rather
than an empty square.
"""

from __future__ import annotations

import functools

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from neuron_desktop.core.color import lab_to_rgb_array, rgb_to_lab_array

AB_RANGE = 110.0
L_SHOWN = (15.0, 93.0)  # darker / lighter slices have (almost) no displayable colour
MIN_RANGE = 24.0  # the zoomed-in view's smallest half-width (ab units)
SIDE = 221


def gamut_image(lightness: float, side: int = SIDE,
                ab_range: float = AB_RANGE) -> tuple[np.ndarray, np.ndarray]:
    """The ab plane at ``lightness`` (L in [0, 100]) as (side, side, 3) sRGB and an in-gamut
    mask; x = a, y = -b, both spanning [-ab_range, ab_range]."""
    ab = np.linspace(-ab_range, ab_range, side, dtype=np.float32)
    a, b = np.meshgrid(ab, -ab)
    rgb = lab_to_rgb_array(np.stack([np.full_like(a, lightness), a, b], -1), clip=False)
    ok = np.all((rgb >= -1e-3) & (rgb <= 1 + 1e-3), axis=-1)
    return np.clip(rgb, 0, 1), ok


def shown_lightness(lightness: float) -> float:
    """The lightness the picker shows for a pixel of ``lightness``."""
    return float(np.clip(lightness, *L_SHOWN))


def view_range(lightness: float) -> float:
    """Half-width of the ab square shown at ``lightness``: the whole ±110 plane, or zoomed
    in on a small gamut (very dark or very light colours)."""
    return _view_range(round(float(lightness), 1))


@functools.lru_cache(maxsize=1024)
def _view_range(lightness: float) -> float:
    _, ok = gamut_image(lightness, 111)
    ab = np.linspace(-AB_RANGE, AB_RANGE, 111)
    ys, xs = np.nonzero(ok)
    if not len(xs):
        return MIN_RANGE
    extent = max(np.abs(ab[xs]).max(), np.abs(ab[ys]).max()) + 2 * AB_RANGE / 110
    return AB_RANGE if extent > 0.7 * AB_RANGE else max(MIN_RANGE, float(extent) * 1.15)


def hatched(rgb: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """``rgb`` with the cells outside the gamut drawn as neutral grey hatching."""
    out = rgb.copy()
    stripe = _stripes(ok.shape)
    out[~ok] = 0.16
    out[~ok & stripe] = 0.27
    return out


@functools.lru_cache(maxsize=4)
def _stripes(shape: tuple[int, int]) -> np.ndarray:
    yy, xx = np.indices(shape)
    return (xx + yy) % 8 < 2


def rgb_to_lab_px(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    return tuple(float(v) for v in rgb_to_lab_array(np.clip(rgb, 0, 1)))


def lab_px_to_rgb(L: float, a: float, b: float) -> tuple[float, float, float]:
    return tuple(float(v) for v in lab_to_rgb_array((L, a, b)))


class GamutPicker(QWidget):
    """Pick a colour in the ab plane at a fixed lightness (the hint pixel's L)."""

    colorPicked = Signal(tuple)  # (r, g, b) in [0, 1]

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(160, 160)
        self.setMaximumHeight(200)  # the hints panel fits the Tools dock at 1366×768
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setToolTip("Colours at the selected hint's lightness: click or drag to choose "
                        "its colour. Hatched areas cannot be shown at this lightness.")
        self.lightness = 50.0  # the pixel's
        self.shown = 50.0  # the slice drawn (and picked from)
        self.range = AB_RANGE
        self.ab = (0.0, 0.0)
        self.note = ""
        self.flash = ""  # a short message after a click outside the gamut
        self._flash_timer = QTimer(self)
        self._flash_timer.setSingleShot(True)
        self._flash_timer.setInterval(2500)
        self._flash_timer.timeout.connect(self._clear_flash)
        self._img: QImage | None = None
        self._dragging = False
        self._render()

    def heightForWidth(self, w: int) -> int:  # noqa: N802 (Qt API)
        return w

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt API)
        return True

    def set_state(self, lightness: float, rgb: tuple[float, float, float] | None) -> None:
        changed = abs(lightness - self.lightness) > 0.25
        self.lightness = float(np.clip(lightness, 0, 100))
        if rgb is not None:
            _, a, b = rgb_to_lab_px(rgb)
            self.ab = (a, b)
        if changed or self._img is None:
            self._render()
        self.update()

    def _render(self) -> None:
        self.shown = shown_lightness(self.lightness)
        self.range = view_range(self.shown)
        rgb, self.ok = gamut_image(self.shown, SIDE, self.range)
        self._arr = np.ascontiguousarray((hatched(rgb, self.ok) * 255).round().astype(np.uint8))
        self._img = QImage(self._arr.data, SIDE, SIDE, SIDE * 3,
                           QImage.Format.Format_RGB888).copy()
        if self.shown != round(self.lightness, 1) and abs(self.shown - self.lightness) > 0.05:
            kind = "dark" if self.lightness < self.shown else "light"
            self.note = (f"Very {kind} pixel (L = {self.lightness:.0f}): few colours exist "
                         f"there; shown at L = {self.shown:.0f}")
        else:
            self.note = ""
        self.setStatusTip(self.note)

    # -------------------------------------------------------------------------- geometry

    def _square(self) -> tuple[float, float, float]:
        side = min(self.width(), self.height())
        return (self.width() - side) / 2, (self.height() - side) / 2, side

    def cell_at(self, pos: QPointF) -> tuple[int, int]:
        """(row, col) of the gamut image under widget position ``pos`` (clamped)."""
        x0, y0, side = self._square()
        col = round((pos.x() - x0) / side * SIDE - 0.5)
        row = round((pos.y() - y0) / side * SIDE - 0.5)
        return int(np.clip(row, 0, SIDE - 1)), int(np.clip(col, 0, SIDE - 1))

    def cell_ab(self, row: int, col: int) -> tuple[float, float]:
        step = 2 * self.range / (SIDE - 1)
        return -self.range + col * step, self.range - row * step

    def ab_pos(self, a: float, b: float) -> QPointF:
        """Widget position of (a, b) (for the marker, and tests)."""
        x0, y0, side = self._square()
        step = 2 * self.range / (SIDE - 1)
        col, row = (a + self.range) / step, (self.range - b) / step
        return QPointF(x0 + (col + 0.5) / SIDE * side, y0 + (row + 0.5) / SIDE * side)

    def nearest_displayable(self, row: int, col: int) -> tuple[int, int]:
        ys, xs = np.nonzero(self.ok)
        i = int(np.argmin((ys - row) ** 2 + (xs - col) ** 2))
        return int(ys[i]), int(xs[i])

    # ----------------------------------------------------------------------------- paint

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        p = QPainter(self)
        x0, y0, side = self._square()
        p.drawImage(QRectF(x0, y0, side, side), self._img)
        p.setPen(QPen(QColor(255, 255, 255, 60), 1))
        centre = self.ab_pos(0.0, 0.0)
        p.drawLine(QPointF(centre.x(), y0), QPointF(centre.x(), y0 + side))
        p.drawLine(QPointF(x0, centre.y()), QPointF(x0 + side, centre.y()))
        c = self.ab_pos(*self.ab)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor(0, 0, 0), 3))
        p.drawEllipse(c, 6, 6)
        p.setPen(QPen(QColor(255, 255, 255), 1.5))
        p.drawEllipse(c, 6, 6)
        p.setPen(QColor(220, 220, 220))
        label = f"L = {self.lightness:.0f}"
        if self.note:
            label += f" (shown at {self.shown:.0f})"
        if self.range < AB_RANGE:
            label += f", zoomed ±{self.range:.0f}"
        p.drawText(int(x0 + 4), int(y0 + 14), label)
        message = self.flash or (self.note and "Few colours exist at this lightness")
        if message:
            r = QRectF(x0 + 4, y0 + side - 38, side - 8, 34)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(0, 0, 0, 170))
            p.drawRoundedRect(r, 4, 4)
            p.setPen(QColor(240, 220, 160))
            p.drawText(r.adjusted(4, 0, -4, 0), Qt.AlignmentFlag.AlignCenter
                       | Qt.TextFlag.TextWordWrap, message)

    # ----------------------------------------------------------------------------- input

    def _clear_flash(self) -> None:
        self.flash = ""
        self.update()

    def _pick(self, pos: QPointF, snap: bool) -> bool:
        """Choose the colour under ``pos``; outside the gamut: snap to the nearest
        displayable colour (``snap``, while dragging) or do nothing. True if picked."""
        row, col = self.cell_at(pos)
        if not self.ok[row, col]:
            if not snap:
                self.flash = "Not displayable at this lightness: pick inside the colours"
                self._flash_timer.start()
                self.update()
                return False
            row, col = self.nearest_displayable(row, col)
        a, b = self.cell_ab(row, col)
        self.ab = (a, b)
        self.update()
        self.colorPicked.emit(lab_px_to_rgb(self.shown, a, b))
        return True

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.button() == Qt.MouseButton.LeftButton:
            self._dragging = self._pick(event.position(), snap=False)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.buttons() & Qt.MouseButton.LeftButton and self._dragging:
            self._pick(event.position(), snap=True)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self._dragging = False
