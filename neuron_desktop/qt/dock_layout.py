"""The docks' layout: one operation's form at a time, each Apply button in view.

:class:`PagedPanel` shows a compact selector (a grid of buttons with icon and name) over
the selected page only; pages that are not shown take no room, so the panel is exactly as
tall as the selected form and its Apply button. The Operations dock (Restore, Colorize,
Inpaint, ...) and the Scan dock (Crop and turn, Levels, Curves, Colour cast) are such panels.
:func:`install` sizes the docks so that at 1366×768 (and the same logical size at 200 %
scaling) every operation's Apply button is visible without scrolling: the Operations dock
keeps the height its selected form needs and the tabbed Tools/Styles/Scan docks take the
rest. The Tools dock's groups are laid out compactly and the mask-only groups (Mask shapes,
Fill as you paint) show only with the mask brush, so no dock scrolls at 1366×768. History
rows wrap instead of being cut, with the full name and time in a tooltip.
"""

from __future__ import annotations

import logging
import time

import qtawesome as qta
from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QGroupBox,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QToolButton,
    QToolTip,
    QUndoView,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)
SELECTOR_COLUMNS = 3
RIGHT_DOCK_WIDTH = 350
HISTORY_DOCK_WIDTH = 210


class PagedPanel(QWidget):
    """Pages chosen with a grid of buttons; only the selected page is shown and sized.

    Offers the part of QTabWidget's interface the window uses (``currentIndex``,
    ``setCurrentIndex``, ``currentChanged``, ``count``, ``widget``)."""

    currentChanged = Signal(int)

    def __init__(self, columns: int = SELECTOR_COLUMNS, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.columns = columns
        v = QVBoxLayout(self)
        v.setContentsMargins(4, 4, 4, 4)
        v.setSpacing(8)
        self.selector = QGridLayout()
        self.selector.setSpacing(2)
        v.addLayout(self.selector)
        self.stack = QStackedWidget()
        v.addWidget(self.stack)
        v.addStretch(1)
        self.buttons = QButtonGroup(self)
        self.buttons.setExclusive(True)
        self.buttons.idClicked.connect(self.setCurrentIndex)
        self.names: list[str] = []
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.setStyleSheet("QToolButton[page=true] { padding: 3px 6px; border-radius: 4px; }"
                           "QToolButton[page=true]:checked { background: #2f4f86; "
                           "color: white; }")

    def add_page(self, name: str, page: QWidget, icon: str | None = None,
                 tip: str | None = None) -> QToolButton:
        i = len(self.names)
        b = QToolButton()
        b.setText(name)
        if icon:
            b.setIcon(qta.icon(icon, color="#dddddd"))
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        b.setCheckable(True)
        b.setAutoRaise(True)
        b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        b.setToolTip((tip[:1].upper() + tip[1:]) if tip else name)
        b.setObjectName(f"page_{name}")
        b.setProperty("page", True)
        self.buttons.addButton(b, i)
        self.selector.addWidget(b, i // self.columns, i % self.columns)
        self.names.append(name)
        if page.layout() is not None:  # the selector above is the page's top margin
            m = page.layout().contentsMargins()
            page.layout().setContentsMargins(m.left(), 0, m.right(), 0)
        self.stack.addWidget(page)
        if i == 0:
            b.setChecked(True)
        self._fit()
        return b

    def count(self) -> int:
        return self.stack.count()

    def widget(self, i: int) -> QWidget:
        return self.stack.widget(i)

    def currentIndex(self) -> int:  # noqa: N802 (QTabWidget's name)
        return self.stack.currentIndex()

    def current_page(self) -> QWidget:
        return self.stack.currentWidget()

    def setCurrentIndex(self, i: int) -> None:  # noqa: N802 (QTabWidget's name)
        if not 0 <= i < self.count():
            return
        self.buttons.button(i).setChecked(True)
        if i == self.stack.currentIndex():
            return
        self.stack.setCurrentIndex(i)
        self._fit()
        self.currentChanged.emit(i)

    def show_page(self, name: str) -> None:
        self.setCurrentIndex(self.names.index(name))

    def _fit(self) -> None:
        """Only the shown page counts for the panel's size."""
        for j in range(self.stack.count()):
            page = self.stack.widget(j)
            policy = (QSizePolicy.Policy.Preferred if j == self.stack.currentIndex()
                      else QSizePolicy.Policy.Ignored)
            page.setSizePolicy(QSizePolicy.Policy.Preferred, policy)
        self.stack.updateGeometry()
        self.updateGeometry()


# ------------------------------------------------------------------------------- history


class HistoryDelegate(QStyledItemDelegate):
    """History rows wrap onto a second line instead of being cut; the tooltip has the
    full step name and when it was done."""

    def __init__(self, view: QUndoView) -> None:
        super().__init__(view)
        self.view = view
        self.times: dict[int, float] = {}  # id of the QUndoCommand -> time it was pushed
        self._keep: list = []
        stack = view.stack()
        stack.indexChanged.connect(self._stamp)
        self._stamp()

    def _stamp(self, *_args) -> None:
        stack = self.view.stack()
        if stack is None:
            return
        now = time.time()
        live = set()
        for i in range(stack.count()):
            cmd = stack.command(i)
            live.add(id(cmd))
            self.times.setdefault(id(cmd), getattr(cmd, "created_at", None) or now)
        self.times = {k: v for k, v in self.times.items() if k in live}

    def step_time(self, row: int) -> float | None:
        """When History row ``row`` (0 = the opened photo) was done."""
        stack = self.view.stack()
        if row < 1 or stack is None or row > stack.count():
            return None
        return self.times.get(id(stack.command(row - 1)))

    def tooltip(self, row: int) -> str:
        index = self.view.model().index(row, 0)
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        t = self.step_time(row)
        if t is None:
            return text
        return f"{text}\n{time.strftime('%H:%M:%S', time.localtime(t))}"

    def initStyleOption(self, option, index) -> None:  # noqa: N802 (Qt API)
        super().initStyleOption(option, index)
        option.features |= option.ViewItemFeature.WrapText
        option.textElideMode = Qt.TextElideMode.ElideNone

    def sizeHint(self, option, index) -> QSize:  # noqa: N802 (Qt API)
        width = self.view.viewport().width()
        option.rect.setWidth(width)
        s = super().sizeHint(option, index)
        return QSize(min(s.width(), width), s.height())

    def helpEvent(self, event, view, option, index) -> bool:  # noqa: N802 (Qt API)
        if event is not None and event.type() == QEvent.Type.ToolTip and index.isValid():
            QToolTip.showText(event.globalPos(), self.tooltip(index.row()), view)
            return True
        return super().helpEvent(event, view, option, index)


def readable_history(view: QUndoView) -> HistoryDelegate:
    view.setWordWrap(True)
    view.setUniformItemSizes(False)
    view.setTextElideMode(Qt.TextElideMode.ElideNone)
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.setResizeMode(QUndoView.ResizeMode.Adjust)
    delegate = HistoryDelegate(view)
    view.setItemDelegate(delegate)
    return delegate


# -------------------------------------------------------------------------------- window


def _fit_width(dock) -> None:
    """A scrolled dock is at least as wide as its contents (no sideways scrolling)."""
    area = dock.widget()
    if isinstance(area, QScrollArea) and area.widget() is not None:
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar = area.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        area.setMinimumWidth(area.widget().minimumSizeHint().width() + bar + 2)


class _FollowBrushPanel(QObject):
    """Shows the mask-only groups (Mask shapes, Fill as you paint) with the Mask brush
    group: the Colour hints and Clone tools get the Tools dock to themselves."""

    def __init__(self, brush_panel: QWidget, panels: list[QWidget]) -> None:
        super().__init__(brush_panel)
        self.panels = panels
        brush_panel.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt API)
        if event.type() in (QEvent.Type.Show, QEvent.Type.Hide) and not obj.isHidden() \
                != any(not p.isHidden() for p in self.panels):
            for p in self.panels:
                p.setVisible(not obj.isHidden())
        return False


def _compact_tools(window) -> None:
    """Tighter spacing in the Tools dock, mask-only groups only with the mask brush."""
    w = window
    content = w.docks["tools"].widget().widget()
    content.layout().setContentsMargins(4, 4, 4, 4)
    content.layout().setSpacing(2)
    content.setStyleSheet("QGroupBox { margin-top: 12px; padding-top: 2px; }")
    for box in content.findChildren(QGroupBox):
        layout = box.layout()
        if layout is not None:
            layout.setContentsMargins(6, 4, 6, 4)
            layout.setSpacing(4)
    panels = [p for p in (getattr(getattr(w, name, None), "panel", None)
                          for name in ("mask_tools", "live_fill")) if p is not None]
    w.tools_context = _FollowBrushPanel(w.brush_panel, panels)
    for p in panels:
        p.setVisible(not w.brush_panel.isHidden())


def install(window) -> None:
    """Lay out the built window's docks (after the Scan dock exists)."""
    w = window
    d = w.docks
    _compact_tools(w)
    for name in ("tools", "scan"):
        if name in d:
            _fit_width(d[name])
    w.history_delegate = readable_history(w.undo_view)
    right = [d["tools"], d["operations"]]
    w.resizeDocks([d["tools"]], [RIGHT_DOCK_WIDTH], Qt.Orientation.Horizontal)
    w.resizeDocks([d["history"]], [HISTORY_DOCK_WIDTH], Qt.Orientation.Horizontal)
    ops = w.op_tabs.sizeHint().height()
    w.resizeDocks(right, [max(200, 900 - ops), ops], Qt.Orientation.Vertical)
