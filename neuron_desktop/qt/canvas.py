"""The canvas: draws the document (image, preview, mask overlay, hints) and asks for edits.

It holds view state only (zoom, pan, before/after, split position, layer visibility). User
edits are *requests* emitted as signals (stroke started/moved/finished, hint add/move/delete/
resize); the window decides what to do with them and changes the document, whose change
events the canvas listens to, redrawing only what changed.

Rendering at any size stays cheap: each layer has a display pyramid (see ``qimage.Pyramid``)
and a repaint draws only the visible part of the level closest to the zoom. Opening a photo
builds the pyramids on a worker (:func:`build_pyramids`), not here.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QWidget

from neuron_desktop.core.document import Document, Rect
from neuron_desktop.qt.qimage import Pyramid, mask_to_bgra, qimage_view, rgb_to_bgra

MIN_ZOOM, MAX_ZOOM = 0.01, 64.0
BACKGROUND = QColor(32, 33, 36)
SPLIT_GRAB_PX = 6
MASK_FORMAT = QImage.Format.Format_ARGB32_Premultiplied


def build_pyramids(doc: Document, mask_style: tuple[tuple[int, int, int], float],
                   original: bool = True) -> dict[str, Pyramid]:
    """Display pyramids of ``doc``'s image, original (when ``original``; copied from the
    image's while the image is unedited) and mask (when not empty). Plain NumPy work, so it
    runs on a worker when a photo is opened."""
    pyr = {"image": Pyramid(doc.width, doc.height, lambda r: rgb_to_bgra(doc.image[r.slices]))}
    if original:
        encode = lambda r: rgb_to_bgra(doc.original[r.slices])  # noqa: E731
        pyr["original"] = (pyr["image"].copy(encode) if doc.revisions["image"] == 0
                           else Pyramid(doc.width, doc.height, encode))
    if doc.has_mask:
        pyr["mask"] = Pyramid(doc.width, doc.height,
                              lambda r: mask_to_bgra(doc.mask[r.slices], *mask_style),
                              MASK_FORMAT)
    return pyr


def _premultiplied(image: QImage | np.ndarray | None) -> QImage | None:
    """An overlay as a QImage: (h, w, 4) uint8 BGRA premultiplied arrays are copied in."""
    if isinstance(image, np.ndarray):
        return qimage_view(image, QImage.Format.Format_ARGB32_Premultiplied).copy()
    return image


class Canvas(QWidget):
    """Zoomable, pannable view of a :class:`Document`."""

    strokeStarted = Signal(float, float, bool)  # image x, y, erase
    strokeMoved = Signal(float, float)
    strokeFinished = Signal()
    hintAddRequested = Signal(int, int)
    hintMoveRequested = Signal(int, int, int, bool)  # index, x, y, finished
    hintDeleteRequested = Signal(int)
    hintResizeRequested = Signal(int, int)  # index, wheel steps (+/-)
    hintSpreadRequested = Signal(int, int)  # index, Shift+wheel steps (+/-)
    hintSelected = Signal(int)  # -1: none
    cursorMoved = Signal(float, float)  # image coordinates; -1, -1 when outside
    zoomChanged = Signal(float)  # device pixels per image pixel (1.0 = 100 %)
    fileDropped = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setAcceptDrops(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumSize(200, 150)
        self.doc: Document | None = None
        self.zoom = 1.0
        self.offset = QPointF(0, 0)
        self.tool = "brush"  # "brush", "hints" or "pan"
        self.eraser = False
        self.brush_radius = 20.0
        self.show_image = self.show_mask = self.show_hints = True
        self.show_original = False
        self.original_pinned = False  # View > Show original: a \ tap returns to it
        self.split = False
        self.split_pos = 0.5  # fraction of the widget width
        self.selected_hint = -1
        self.mask_color = (255, 64, 64)
        self.mask_opacity = 0.5
        self._image_pyr: Pyramid | None = None
        self._orig_pyr: Pyramid | None = None
        self._mask_pyr: Pyramid | None = None
        self._preview: QImage | None = None
        self._overlay: QImage | None = None  # e.g. the colorizer's uncertain areas
        self._reach: QImage | None = None  # where the selected hint's colour reaches
        self._space = False
        self._drag: str | None = None  # "pan", "stroke", "hint", "split"
        self._last_pos = QPointF()
        self._mouse: QPointF | None = None
        self._fitted = True
        self._shown_size = (0, 0)
        self.last_paint_level = 0

    # --------------------------------------------------------------------------- document

    def set_document(self, doc: Document | None,
                     pyramids: dict[str, Pyramid] | None = None) -> None:
        """Show ``doc``; ``pyramids`` from :func:`build_pyramids` (else built here)."""
        if self.doc is not None:
            self.doc.remove_listener(self._on_change)
        self.doc = doc
        self._preview = None
        self._image_pyr = self._orig_pyr = self._mask_pyr = None
        self.selected_hint = -1
        if doc is not None:
            doc.add_listener(self._on_change)
            if pyramids is None:
                pyramids = build_pyramids(doc, (self.mask_color, self.mask_opacity), False)
            self._image_pyr = pyramids["image"]
            self._orig_pyr = pyramids.get("original")
            self._mask_pyr = pyramids.get("mask")
            if self._mask_pyr is not None:
                self._mask_pyr.encode = self._encode_mask  # follows set_mask_style
            self._shown_size = (doc.width, doc.height)
            self.fit()
        self.update()

    def pyramids(self) -> dict[str, Pyramid]:
        """The display pyramids shown now (a geometry change swaps them)."""
        return {k: v for k, v in (("image", self._image_pyr), ("original", self._orig_pyr),
                                  ("mask", self._mask_pyr)) if v is not None}

    def set_pyramids(self, pyramids: dict[str, Pyramid]) -> None:
        """Show these pyramids (made for the document's next layers, e.g. on a worker);
        their encoders are pointed at this canvas's document."""
        self._image_pyr = pyramids["image"]
        self._image_pyr.encode = lambda r: rgb_to_bgra(self.doc.image[r.slices])
        self._orig_pyr = pyramids.get("original")
        if self._orig_pyr is not None:
            self._orig_pyr.encode = lambda r: rgb_to_bgra(self.doc.original[r.slices])
        self._mask_pyr = pyramids.get("mask")
        if self._mask_pyr is not None:
            self._mask_pyr.encode = self._encode_mask
        self._preview = self._overlay = self._reach = None

    def _encode_mask(self, r: Rect) -> np.ndarray:
        return mask_to_bgra(self.doc.mask[r.slices], self.mask_color, self.mask_opacity)

    def _original_pyramid(self) -> Pyramid:
        if self._orig_pyr is None:
            doc = self.doc
            self._orig_pyr = Pyramid(doc.width, doc.height,
                                     lambda r: rgb_to_bgra(doc.original[r.slices]))
        return self._orig_pyr

    def _on_change(self, layer: str, rect: Rect | None) -> None:
        doc = self.doc
        if layer == "geometry":  # new layers: the pyramids were swapped (set_pyramids)
            if (doc.width, doc.height) != self._shown_size:
                self.selected_hint = -1
                self.fit()
            self._shown_size = (doc.width, doc.height)
            self.update()
            return
        rect = rect or doc.bounds
        if layer in ("image", "all") and self._image_pyr is not None:
            self._image_pyr.update(rect)
        if layer in ("mask", "all"):
            if self._mask_pyr is None and doc.mask[rect.slices].any():
                # the mask was empty until now: zero levels are right outside ``rect``
                self._mask_pyr = Pyramid(doc.width, doc.height, self._encode_mask,
                                         MASK_FORMAT, build=False)
            if self._mask_pyr is not None:
                self._mask_pyr.update(rect)
        if layer in ("hints", "all") and self.selected_hint >= len(doc.hints):
            self.selected_hint = -1
        if layer == "mask" and rect is not None:
            self.update(self._widget_rect(rect).toAlignedRect().adjusted(-2, -2, 2, 2))
        else:
            self.update()

    def set_mask_style(self, color: tuple[int, int, int], opacity: float) -> None:
        self.mask_color, self.mask_opacity = tuple(color), float(opacity)
        if self._mask_pyr is not None:
            self._mask_pyr.update(self.doc.bounds)
        self.update()

    def set_preview(self, image: QImage | np.ndarray | None) -> None:
        """Show ``image`` (a QImage, made on the worker, or float RGB (h, w, 3)), any size,
        stretched over the photo; None hides it."""
        if isinstance(image, np.ndarray):
            image = qimage_view(rgb_to_bgra(image)).copy()
        self._preview = image
        self.update()

    def set_overlay(self, image: QImage | np.ndarray | None) -> None:
        """Draw ``image`` (QImage, or (h, w, 4) uint8 BGRA premultiplied) over the photo,
        stretched to it; None hides it."""
        self._overlay = _premultiplied(image)
        self.update()

    @property
    def has_overlay(self) -> bool:
        return self._overlay is not None

    def set_reach(self, image: QImage | np.ndarray | None) -> None:
        """Draw ``image`` (as :meth:`set_overlay`) over the photo with the hints: where the
        selected hint's colour reaches; None hides it."""
        self._reach = _premultiplied(image)
        self.update()

    @property
    def has_reach(self) -> bool:
        return self._reach is not None

    @property
    def has_preview(self) -> bool:
        return self._preview is not None

    # ------------------------------------------------------------------------------- view

    def image_to_widget(self, x: float, y: float) -> QPointF:
        return QPointF(x * self.zoom + self.offset.x(), y * self.zoom + self.offset.y())

    def widget_to_image(self, p: QPointF) -> tuple[float, float]:
        return ((p.x() - self.offset.x()) / self.zoom, (p.y() - self.offset.y()) / self.zoom)

    def _widget_rect(self, r: Rect) -> QRectF:
        return QRectF(r.x0 * self.zoom + self.offset.x(), r.y0 * self.zoom + self.offset.y(),
                      r.width * self.zoom, r.height * self.zoom)

    def device_zoom(self) -> float:
        return self.zoom * self.devicePixelRatioF()

    def fit(self) -> None:
        if self.doc is None:
            return
        margin = 16
        w, h = max(self.width() - 2 * margin, 1), max(self.height() - 2 * margin, 1)
        z = min(w / self.doc.width, h / self.doc.height)
        self._set_zoom_raw(z)
        self.offset = QPointF((self.width() - self.doc.width * z) / 2,
                              (self.height() - self.doc.height * z) / 2)
        self._fitted = True
        self.update()

    def actual_size(self) -> None:
        """100 %: one image pixel per device pixel, about the widget centre."""
        self.set_zoom(1.0 / self.devicePixelRatioF(), QPointF(self.width() / 2,
                                                              self.height() / 2))

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping the image point under ``anchor`` (widget coords) fixed."""
        if self.doc is None:
            return
        anchor = anchor or QPointF(self.width() / 2, self.height() / 2)
        ix, iy = self.widget_to_image(anchor)
        self._set_zoom_raw(zoom)
        self.offset = QPointF(anchor.x() - ix * self.zoom, anchor.y() - iy * self.zoom)
        self._fitted = False
        self.update()

    def show_point(self, x: float, y: float) -> None:
        """Pan (zoom kept) so the image point (x, y) is in view, centred if it was not."""
        p = self.image_to_widget(x, y)
        if self.doc is None or (0 <= p.x() < self.width() and 0 <= p.y() < self.height()):
            return
        self.offset = QPointF(self.width() / 2 - x * self.zoom, self.height() / 2 - y * self.zoom)
        self._fitted = False
        self.update()

    def _set_zoom_raw(self, zoom: float) -> None:
        zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        if zoom != self.zoom:
            self.zoom = zoom
        self.zoomChanged.emit(self.device_zoom())

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        self.set_zoom(self.zoom * factor, anchor)

    def pin_original(self, on: bool) -> None:
        """Show the original until unpinned (the View menu's checkable action)."""
        self.original_pinned = bool(on)
        self.set_show_original(on)

    def set_show_original(self, on: bool) -> None:
        self.show_original = bool(on)
        self.update()

    def set_split(self, on: bool) -> None:
        self.split = bool(on)
        self.update()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self._fitted:
            self.fit()
        super().resizeEvent(event)

    # ---------------------------------------------------------------------------- drawing

    def _visible_image_rect(self) -> Rect:
        x0, y0 = self.widget_to_image(QPointF(0, 0))
        x1, y1 = self.widget_to_image(QPointF(self.width(), self.height()))
        return Rect(math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1)).clip(
            self.doc.width, self.doc.height)

    def _draw_pyramid(self, p: QPainter, pyr: Pyramid, vis: Rect) -> None:
        k = pyr.level_for(self.device_zoom())
        self.last_paint_level = k
        s = 1 << k
        level = pyr.levels[k]
        sx0, sy0 = vis.x0 // s, vis.y0 // s
        sx1 = min(-(-vis.x1 // s), level.shape[1])
        sy1 = min(-(-vis.y1 // s), level.shape[0])
        if sx1 <= sx0 or sy1 <= sy0:
            return
        z = self.zoom * s
        target = QRectF(sx0 * z + self.offset.x(), sy0 * z + self.offset.y(),
                        (sx1 - sx0) * z, (sy1 - sy0) * z)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.device_zoom() * s < 2)
        p.drawImage(target, pyr.image(k), QRectF(sx0, sy0, sx1 - sx0, sy1 - sy0))

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        p = QPainter(self)
        p.fillRect(event.rect(), BACKGROUND)
        if self.doc is None:
            p.setPen(QColor(150, 150, 150))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                       "Open a photo (Ctrl+O) or drop one here")
            return
        vis = self._visible_image_rect()
        if vis.empty:
            return
        p.setClipRect(event.rect())
        if self.show_image:
            if self.show_original:
                self._draw_pyramid(p, self._original_pyramid(), vis)
            elif self._preview is not None:
                p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
                p.drawImage(self._widget_rect(self.doc.bounds), self._preview)
            else:
                self._draw_pyramid(p, self._image_pyr, vis)
            if self.split and not self.show_original:
                x = self.split_pos * self.width()
                p.save()
                p.setClipRect(QRectF(0, 0, x, self.height()).intersected(QRectF(event.rect())))
                p.fillRect(QRectF(0, 0, x, self.height()), BACKGROUND)
                self._draw_pyramid(p, self._original_pyramid(), vis)
                p.restore()
        p.save()
        if self.split and not self.show_original:  # mask and hints: the result side only
            x = self.split_pos * self.width()
            p.setClipRect(QRectF(x, 0, self.width() - x, self.height())
                          .intersected(QRectF(event.rect())))
        if self._overlay is not None and not self.show_original:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            p.drawImage(self._widget_rect(self.doc.bounds), self._overlay)
        if self.show_mask and self._mask_pyr is not None and not self.show_original:
            self._draw_pyramid(p, self._mask_pyr, vis)
        if self.show_hints and not self.show_original:
            if self._reach is not None and self.tool == "hints":  # with the hint tool only
                p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
                p.drawImage(self._widget_rect(self.doc.bounds), self._reach)
            self._draw_hints(p)
        p.restore()
        if self.split and not self.show_original:
            self._draw_split(p)
        if self.show_original:
            self._draw_badge(p, "Original")
        if self.tool == "brush" and self._mouse is not None and self._drag != "pan":
            r = self.brush_radius * self.zoom
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(QColor(0, 0, 0, 160), 3))
            p.drawEllipse(self._mouse, r, r)
            p.setPen(QPen(QColor(255, 255, 255, 220), 1))
            p.drawEllipse(self._mouse, r, r)

    def _draw_hints(self, p: QPainter) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for i, h in enumerate(self.doc.hints):
            c = self.image_to_widget(h.x + 0.5, h.y + 0.5)
            side = max(h.size * self.zoom, 12.0)
            r = QRectF(c.x() - side / 2, c.y() - side / 2, side, side)
            p.setBrush(QColor.fromRgbF(*h.rgb))
            sel = i == self.selected_hint
            p.setPen(QPen(QColor(0, 0, 0), 4 if sel else 3))
            p.drawRect(r)
            p.setPen(QPen(QColor(255, 255, 255) if not sel else QColor(255, 200, 0),
                          2 if sel else 1))
            p.drawRect(r)

    def _draw_split(self, p: QPainter) -> None:
        x = self.split_pos * self.width()
        p.setPen(QPen(QColor(255, 255, 255, 220), 2))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setBrush(QColor(255, 255, 255, 230))
        p.drawEllipse(QPointF(x, self.height() / 2), 9, 9)
        self._draw_badge(p, "Original", QPointF(x - 8, 10), right=True)
        self._draw_badge(p, "Result", QPointF(x + 8, 10))

    def _draw_badge(self, p: QPainter, text: str, at: QPointF | None = None,
                    right: bool = False) -> None:
        fm = p.fontMetrics()
        w, h = fm.horizontalAdvance(text) + 14, fm.height() + 6
        at = at or QPointF(10, 10)
        r = QRectF(at.x() - (w if right else 0), at.y(), w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 150))
        p.drawRoundedRect(r, 4, 4)
        p.setPen(QColor(235, 235, 235))
        p.drawText(r, Qt.AlignmentFlag.AlignCenter, text)

    # ----------------------------------------------------------------------------- input

    def _hint_under(self, pos: QPointF) -> int | None:
        if self.doc is None or not self.show_hints:
            return None
        x, y = self.widget_to_image(pos)
        radius = max(max((h.size for h in self.doc.hints), default=5) / 2, 8.0 / self.zoom)
        return self.doc.hint_at(x, y, radius)

    def _inside(self, x: float, y: float) -> bool:
        return self.doc is not None and 0 <= x < self.doc.width and 0 <= y < self.doc.height

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        pos = event.position()
        self._last_pos = pos
        button = event.button()
        if self.doc is None:
            return
        if button == Qt.MouseButton.MiddleButton or (
                button == Qt.MouseButton.LeftButton and (self._space or self.tool == "pan")):
            self._drag = "pan"
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if (self.split and button == Qt.MouseButton.LeftButton
                and abs(pos.x() - self.split_pos * self.width()) <= SPLIT_GRAB_PX):
            self._drag = "split"
            return
        x, y = self.widget_to_image(pos)
        if self.tool == "brush" and button in (Qt.MouseButton.LeftButton,
                                               Qt.MouseButton.RightButton):
            self._drag = "stroke"
            self.strokeStarted.emit(x, y, self.eraser or button == Qt.MouseButton.RightButton)
        elif self.tool == "hints":
            hit = self._hint_under(pos)
            if button == Qt.MouseButton.LeftButton:
                if hit is not None:
                    self.selected_hint = hit
                    self.hintSelected.emit(hit)
                    self._drag = "hint"
                    self.update()
                elif self._inside(x, y):
                    self.hintAddRequested.emit(int(x), int(y))
            elif button == Qt.MouseButton.RightButton and hit is not None:
                self.hintDeleteRequested.emit(hit)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        pos = event.position()
        old_mouse, self._mouse = self._mouse, pos
        if self.doc is None:
            return
        x, y = self.widget_to_image(pos)
        if self._inside(x, y):
            self.cursorMoved.emit(x, y)
        else:
            self.cursorMoved.emit(-1.0, -1.0)
        if self._drag == "pan":
            self.offset += pos - self._last_pos
            self._fitted = False
            self.update()
        elif self._drag == "split":
            self.split_pos = min(max(pos.x() / max(self.width(), 1), 0.0), 1.0)
            self.update()
        elif self._drag == "stroke":
            self.strokeMoved.emit(x, y)
        elif self._drag == "hint" and self.selected_hint >= 0:
            self.hintMoveRequested.emit(self.selected_hint, int(min(max(x, 0), self.doc.width - 1)),
                                        int(min(max(y, 0), self.doc.height - 1)), False)
        self._last_pos = pos
        if self.tool == "brush":
            r = self.brush_radius * self.zoom + 4
            for c in (old_mouse, pos):
                if c is not None:
                    self.update(QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r).toAlignedRect())

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt API)
        drag, self._drag = self._drag, None
        if drag == "pan":
            self.unsetCursor()
        elif drag == "stroke":
            self.strokeFinished.emit()
        elif drag == "hint" and self.selected_hint >= 0 and self.doc is not None:
            h = self.doc.hints[self.selected_hint]
            self.hintMoveRequested.emit(self.selected_hint, h.x, h.y, True)

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self._mouse = None
        self.cursorMoved.emit(-1.0, -1.0)
        self.update()

    def wheelEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self.doc is None:
            return
        delta = event.angleDelta().y() or event.angleDelta().x()
        if self.tool == "hints":
            hit = self._hint_under(event.position())
            if hit is not None:
                step = 1 if delta > 0 else -1
                if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                    self.hintSpreadRequested.emit(hit, step)
                else:
                    self.hintResizeRequested.emit(hit, step)
                return
        self.zoom_by(1.0015 ** delta, event.position())

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.isAutoRepeat():
            return
        if event.key() == Qt.Key.Key_Space:
            self._space = True
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        elif event.key() == Qt.Key.Key_Backslash:
            self.set_show_original(True)
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.isAutoRepeat():
            return
        if event.key() == Qt.Key.Key_Space:
            self._space = False
            self.unsetCursor()
        elif event.key() == Qt.Key.Key_Backslash:
            self.set_show_original(self.original_pinned)
        else:
            super().keyReleaseEvent(event)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt API)
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.fileDropped.emit(urls[0])
            event.acceptProposedAction()
