"""Mask tools beyond the round brush: lasso/polygon (add or subtract), grow/shrink/feather
by N px, brush size by Ctrl+drag (or Alt+right-drag, as in Krita), pen pressure for size.

Whole-mask edits go through the window's ``_mask_job`` (computed on a worker, one undo
step). The lasso draws on a transparent overlay over the canvas that passes every other
input (pan, zoom, cursor readout) on to the canvas. Brush resizing and pen pressure are an
event filter on the canvas: the canvas itself has no code for them.
"""

from __future__ import annotations

import logging

import qtawesome as qta
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QSpinBox,
    QToolButton,
    QWidget,
)

from neuron_desktop.core import mask_ops

log = logging.getLogger(__name__)
CLOSE_PX = 8  # clicking this near the first vertex closes a polygon
FREEHAND_STEP_PX = 2.0
SIZE_DRAG_RATE = 1.01  # brush size factor per pixel of Ctrl+drag


class LassoOverlay(QWidget):
    """Freehand lasso (drag) and polygon (click the corners; double-click, Enter or click
    the first corner to close) over the canvas. Emits the closed outline in image pixels."""

    closed = Signal(list, object)  # [(x, y), ...], Qt.KeyboardModifiers at closing

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.points: list[QPointF] = []  # widget coordinates while drawing
        self._dragging = False
        self._hover: QPointF | None = None
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setGeometry(canvas.rect())
        canvas.installEventFilter(self)
        self.hide()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt API)
        if obj is self.canvas and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.canvas.rect())
        return False

    def activate(self, on: bool) -> None:
        self.points, self._dragging = [], False
        self.setVisible(on)
        if on:
            self.raise_()
            self.setFocus()
            self.setCursor(Qt.CursorShape.CrossCursor)
        self.update()

    def _finish(self, modifiers) -> None:
        pts = [self.canvas.widget_to_image(p) for p in self.points]
        self.points, self._dragging = [], False
        self.update()
        if len(pts) >= 3:
            self.closed.emit(pts, modifiers)

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if (event.button() != Qt.MouseButton.LeftButton or self.canvas.doc is None
                or self.canvas._space):
            self.canvas.mousePressEvent(event)
            return
        pos = event.position()
        if self.points and len(self.points) >= 3 and (
                (pos - self.points[0]).manhattanLength() <= CLOSE_PX):
            self._finish(event.modifiers())
            return
        if not self.points:
            self._dragging = True
        self.points.append(pos)
        self.update()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.canvas.mouseMoveEvent(event)
        pos = event.position()
        self._hover = pos
        if self._dragging and event.buttons() & Qt.MouseButton.LeftButton:
            if (pos - self.points[-1]).manhattanLength() >= FREEHAND_STEP_PX:
                self.points.append(pos)
        if self.points:
            self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.button() != Qt.MouseButton.LeftButton:
            self.canvas.mouseReleaseEvent(event)
            return
        if self._dragging:
            self._dragging = False
            if len(self.points) >= 3:  # a freehand outline: closes on release
                self._finish(event.modifiers())
            # else a click: the first polygon corner; later clicks add corners

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self.points:
            self._finish(event.modifiers())

    def wheelEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.canvas.wheelEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.canvas.leaveEvent(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.points:
            self._finish(event.modifiers())
        elif key == Qt.Key.Key_Escape and self.points:
            self.points = []
            self.update()
        elif key == Qt.Key.Key_Backspace and self.points:
            self.points.pop()
            self.update()
        else:
            self.canvas.keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.canvas.keyReleaseEvent(event)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if not self.points:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        path = QPainterPath(self.points[0])
        for q in self.points[1:]:
            path.lineTo(q)
        if self._hover is not None and not self._dragging:
            path.lineTo(self._hover)
        p.setPen(QPen(QColor(0, 0, 0, 180), 3))
        p.drawPath(path)
        p.setPen(QPen(QColor(255, 255, 255), 1, Qt.PenStyle.DashLine))
        p.drawPath(path)
        p.setBrush(QColor(255, 210, 0))
        p.drawEllipse(self.points[0], 4, 4)


class MaskShapesPanel(QGroupBox):
    """Lasso tool, add/subtract mode, grow/shrink/feather by N px, pen pressure."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Mask shapes", parent)
        grid = QGridLayout(self)
        self.lasso = QToolButton()
        self.lasso.setIcon(qta.icon("mdi6.lasso", color="#ddd"))
        self.lasso.setText("Lasso")
        self.lasso.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.lasso.setCheckable(True)
        self.lasso.setToolTip("Lasso (L): drag around an area, or click its corners and "
                              "double-click to close. Hold Shift to add, Alt to subtract")
        self.add = QPushButton("Add")
        self.subtract = QPushButton("Subtract")
        self.mode = QButtonGroup(self)
        for b, tip in ((self.add, "The lasso adds to the mask (or hold Shift)"),
                       (self.subtract, "The lasso removes from the mask (or hold Alt)")):
            b.setCheckable(True)
            b.setToolTip(tip)
            self.mode.addButton(b)
        self.add.setChecked(True)
        row = QHBoxLayout()
        row.addWidget(self.lasso)
        row.addWidget(self.add)
        row.addWidget(self.subtract)
        grid.addLayout(row, 0, 0, 1, 4)
        self.amount = QSpinBox()
        self.amount.setRange(1, 500)
        self.amount.setValue(4)
        self.amount.setSuffix(" px")
        self.amount.setToolTip("How many pixels Grow, Shrink and Feather change the mask by")
        self.grow = QPushButton("Grow")
        self.grow.setToolTip("Extend the mask outwards by this many pixels")
        self.shrink = QPushButton("Shrink")
        self.shrink.setToolTip("Pull the mask's edge in by this many pixels")
        self.feather = QPushButton("Feather")
        self.feather.setToolTip("Soften the mask's edge over about this many pixels")
        grid.addWidget(self.amount, 1, 0)
        grid.addWidget(self.grow, 1, 1)
        grid.addWidget(self.shrink, 1, 2)
        grid.addWidget(self.feather, 1, 3)
        # shown beside the brush size (MaskTools); Ctrl+drag resizing: the Size tooltip
        self.pressure = QCheckBox("Pen pressure")
        self.pressure.setChecked(True)
        self.pressure.setToolTip("Pen pressure sets the brush size: with a graphics tablet, "
                                 "pressing lightly paints thinner")


class MaskTools(QObject):
    """Wires the mask shapes panel, the lasso tool and brush resizing into the window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = w = window
        self.panel = MaskShapesPanel()
        layout = w.brush_panel.parentWidget().layout()
        layout.insertWidget(layout.indexOf(w.brush_panel) + 1, self.panel)
        w.brush_panel.size_row.addWidget(self.panel.pressure)
        self.overlay = LassoOverlay(w.canvas)
        self.overlay.closed.connect(self._lasso_closed)
        self.act_lasso = w._action("&Lasso", "mdi6.lasso", "L", None,
                                   "Select an area for the mask by drawing around it",
                                   checkable=True)
        w.act_brush.actionGroup().addAction(self.act_lasso)
        self.act_lasso.toggled.connect(self._lasso_toggled)
        self.act_lasso.toggled.connect(self.panel.lasso.setChecked)
        self.panel.lasso.clicked.connect(lambda on: self.act_lasso.setChecked(True) if on
                                         else w.set_tool("brush"))
        p = self.panel
        p.grow.clicked.connect(lambda: self.grow())
        p.shrink.clicked.connect(lambda: self.shrink())
        p.feather.clicked.connect(lambda: self.feather())
        self._resize: tuple[QPointF, float] | None = None
        w.canvas.installEventFilter(self)
        menus = {a.text(): a.menu() for a in w.menuBar().actions() if a.menu() is not None}
        menus["&Tools"].insertAction(w.act_eraser, self.act_lasso)

    # ------------------------------------------------------------------------------ lasso

    def _lasso_toggled(self, on: bool) -> None:
        if on:
            self.w.canvas.tool = "lasso"
            self.w.brush_panel.setVisible(True)
            self.w.hint_panel.setVisible(False)
            self.w.docks["tools"].raise_()
        self.overlay.activate(on)

    def _lasso_closed(self, points: list, modifiers) -> None:
        subtract = self.panel.subtract.isChecked()
        if modifiers & Qt.KeyboardModifier.AltModifier:
            subtract = True
        elif modifiers & Qt.KeyboardModifier.ShiftModifier:
            subtract = False
        self.lasso(points, subtract)

    def lasso(self, points: list, subtract: bool = False, wait: bool = False) -> bool:
        """Fill (or cut) the outline ``points`` (image px) in the mask: one undo step."""
        name = "Lasso: subtract" if subtract else "Lasso: add"
        return self.w._mask_job(name, lambda m: mask_ops.apply_polygon(m, points, subtract),
                                wait)

    def grow(self, px: int | None = None, wait: bool = False) -> bool:
        n = px or self.panel.amount.value()
        return self._edit(f"Grow mask {n} px", lambda m: mask_ops.grow(m, n), wait)

    def shrink(self, px: int | None = None, wait: bool = False) -> bool:
        n = px or self.panel.amount.value()
        return self._edit(f"Shrink mask {n} px", lambda m: mask_ops.shrink(m, n), wait)

    def feather(self, px: int | None = None, wait: bool = False) -> bool:
        n = px or self.panel.amount.value()
        return self._edit(f"Feather mask {n} px", lambda m: mask_ops.feather(m, n), wait)

    def _edit(self, name, compute, wait) -> bool:
        if self.w.doc is None or not self.w.doc.has_mask:
            self.w.statusBar().showMessage("The mask is empty: paint or detect first", 4000)
            return False
        return self.w._mask_job(name, compute, wait)

    # ------------------------------------------------- brush size by drag, pen pressure

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt API)
        t = event.type()
        canvas, brush = self.w.canvas, self.w.brush
        if t in (QEvent.Type.TabletPress, QEvent.Type.TabletMove):
            # not accepted: Qt then sends the mouse events that paint, at this size
            brush.pressure = (max(0.05, float(event.pressure()))
                              if self.panel.pressure.isChecked() else 1.0)
            return False
        if canvas.tool != "brush" or canvas.doc is None:
            return False
        if t == QEvent.Type.MouseButtonPress:
            mods, button = event.modifiers(), event.button()
            if ((button == Qt.MouseButton.LeftButton
                 and mods & Qt.KeyboardModifier.ControlModifier)
                    or (button == Qt.MouseButton.RightButton
                        and mods & Qt.KeyboardModifier.AltModifier)):
                self._resize = (event.position(), float(self.w.brush_panel.size.value()))
                return True
        elif t == QEvent.Type.MouseMove and self._resize is not None:
            start, size = self._resize
            dx = event.position().x() - start.x()
            self.w.brush_panel.size.setValue(max(1, round(size * SIZE_DRAG_RATE ** dx)))
            canvas._mouse = start  # the brush ring stays where the drag began
            canvas.update()
            return True
        elif t == QEvent.Type.MouseButtonRelease:
            brush.pressure = 1.0
            if self._resize is not None:
                self._resize = None
                return True
        return False


def install(window) -> MaskTools:
    window.mask_tools = MaskTools(window)
    return window.mask_tools
