"""Dock panels: tool parameters, hint colours (the picker: ``qt/gamut.py``), layers
(operation forms are generated in ``qt/forms.py``).

Panels hold widget state only and emit requests; the main window acts on them.
"""

from __future__ import annotations

import qtawesome as qta
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from neuron_desktop import capabilities
from neuron_desktop.core.masks import SPREAD_RANGE
from neuron_desktop.qt.forms import ParamForm, slider
from neuron_desktop.qt.gamut import (  # noqa: F401 (re-exported)
    AB_RANGE,
    GamutPicker,
    gamut_image,
    lab_px_to_rgb,
    rgb_to_lab_px,
)


def _swatch_icon(rgb: tuple[float, float, float], side: int = 18) -> QIcon:
    pm = QPixmap(side, side)
    pm.fill(QColor.fromRgbF(*rgb))
    return QIcon(pm)


class SwatchRow(QWidget):
    """A row of clickable colour swatches (suggested or recent colours)."""

    picked = Signal(tuple)

    def __init__(self, max_items: int = 8, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.max_items = max_items
        self.layout_ = QHBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setSpacing(3)
        self.colors: list[tuple[float, float, float]] = []
        self._tips: list[str] = []
        self._buttons: list[QToolButton] = []  # reused; those past len(colors) hidden
        self.empty_label = QLabel("—")
        self.empty_label.setStyleSheet("color: #777")
        self.layout_.addWidget(self.empty_label)
        self.layout_.addStretch(1)
        probe = QToolButton()
        probe.setIconSize(QSize(18, 18))
        probe.setAutoRaise(True)
        self.setMinimumHeight(probe.sizeHint().height())  # same height with swatches or not

    def set_colors(self, colors, tips=None) -> None:
        """Show ``colors`` (RGB in [0, 1]) with ``tips``; the buttons are reused and an
        unchanged row is left alone (a new hint updates it while its preview computes)."""
        colors = [tuple(c) for c in colors][: self.max_items]
        tips = list(tips[: len(colors)]) if tips else [
            "rgb({}, {}, {})".format(*(round(v * 255) for v in c)) for c in colors]
        if colors == self.colors and tips == self._tips:
            return
        self.colors, self._tips = colors, tips
        while len(self._buttons) < len(colors):
            b = QToolButton()
            b.setIconSize(QSize(18, 18))
            b.setAutoRaise(True)
            i = len(self._buttons)
            b.clicked.connect(lambda _=False, i=i: self.picked.emit(self.colors[i]))
            self.layout_.insertWidget(self.layout_.count() - 2, b)
            self._buttons.append(b)
        for i, b in enumerate(self._buttons):
            if i < len(colors):
                b.setIcon(_swatch_icon(colors[i]))
                b.setToolTip(tips[i])
            b.setVisible(i < len(colors))
        self.empty_label.setVisible(not colors)

    def buttons(self) -> list[QToolButton]:
        """The swatches shown, in order."""
        return self._buttons[: len(self.colors)]


# --------------------------------------------------------------------------------- tools


class BrushPanel(QGroupBox):
    """Mask brush settings and mask actions."""

    settingsChanged = Signal()
    clearRequested = Signal()
    invertRequested = Signal()
    importRequested = Signal()
    exportRequested = Signal()
    detectRequested = Signal()
    overlayChanged = Signal(tuple, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Mask brush", parent)
        form = QFormLayout(self)
        self.size = QSpinBox()
        self.size.setRange(1, 2000)
        self.size.setValue(40)
        self.size.setSuffix(" px")
        self.size.setToolTip("Brush diameter in image pixels ( [ and ] change it, or "
                             "Ctrl+drag / Alt+right-drag on the photo)")
        self.hardness = slider(0, 100, 70, "Edge hardness: low values give a feathered edge")
        self.eraser = QCheckBox("Eraser")
        self.eraser.setToolTip("Erase the mask (E); the right mouse button always erases")
        self.color = QPushButton()
        self.color.setToolTip("Mask overlay colour")
        self.opacity = slider(5, 100, 50, "Mask overlay opacity")
        self._overlay_rgb = (255, 64, 64)
        self._set_color_button()
        self.size_row = QHBoxLayout()  # compact: the Tools dock fits 1366×768 unscrolled
        self.size_row.addWidget(self.size, 1)
        self.size_row.addWidget(self.eraser)  # and Pen pressure (mask_tools.py)
        form.addRow("Size", self.size_row)
        form.addRow("Hardness", self.hardness)
        row = QHBoxLayout()
        row.addWidget(self.color)
        row.addWidget(self.opacity, 1)
        form.addRow("Overlay", row)
        grid = QGridLayout()
        buttons = [
            ("Clear", "mdi6.close-box-outline", self.clearRequested, "Clear the whole mask"),
            ("Invert", "mdi6.invert-colors", self.invertRequested, "Invert the mask"),
            ("Import…", "mdi6.import", self.importRequested, "Load a mask from a PNG"),
            ("Export…", "mdi6.export", self.exportRequested, "Save the mask as a PNG"),
        ]
        for i, (text, icon, signal, tip) in enumerate(buttons):
            b = QPushButton(qta.icon(icon, color="#ddd"), text)
            b.setToolTip(tip)
            b.clicked.connect(lambda _=False, s=signal: s.emit())
            grid.addWidget(b, 0, i)
        self.detect = QPushButton(qta.icon("mdi6.magnify-scan", color="#ddd"), "Detect scratches")
        self.detect.setToolTip("Add what the detector finds to the painted mask")
        self.detect.clicked.connect(lambda: self.detectRequested.emit())
        grid.addWidget(self.detect, 1, 0, 1, 2)
        form.addRow(grid)
        # the detector's options come from its capability declaration
        self.detection = ParamForm(capabilities.get("detect-scratches"), form, self)
        self.detector = self.detection.widgets["method"]
        # the detector choice beside its button: one row less in the Tools dock
        label = form.labelForField(self.detector)
        form.takeRow(self.detector)
        if label is not None:
            label.deleteLater()
        grid.addWidget(self.detector, 1, 2, 1, 2)
        for w in (self.size, self.hardness):
            w.valueChanged.connect(lambda _v: self.settingsChanged.emit())
        self.eraser.toggled.connect(lambda _on: self.settingsChanged.emit())
        self.opacity.valueChanged.connect(self._emit_overlay)
        self.color.clicked.connect(self._choose_color)

    def _set_color_button(self) -> None:
        pm = QPixmap(16, 16)
        pm.fill(QColor(*self._overlay_rgb))
        self.color.setIcon(QIcon(pm))

    def _choose_color(self) -> None:
        c = QColorDialog.getColor(QColor(*self._overlay_rgb), self, "Mask overlay colour")
        if c.isValid():
            self.set_overlay((c.red(), c.green(), c.blue()), self.opacity.value() / 100)

    def set_overlay(self, rgb: tuple[int, int, int], opacity: float) -> None:
        self._overlay_rgb = tuple(int(v) for v in rgb)
        self._set_color_button()
        self.opacity.blockSignals(True)
        self.opacity.setValue(round(opacity * 100))
        self.opacity.blockSignals(False)
        self._emit_overlay()

    def _emit_overlay(self) -> None:
        self.overlayChanged.emit(self._overlay_rgb, self.opacity.value() / 100)

    @property
    def overlay(self) -> tuple[tuple[int, int, int], float]:
        return self._overlay_rgb, self.opacity.value() / 100


class HintPanel(QGroupBox):
    """Colour-hint settings: patch size, spread (and its overlay), the gamut picker,
    suggested and recent colours."""

    colorPicked = Signal(tuple)
    sizeChanged = Signal(int)
    spreadChanged = Signal(float)  # 1 = the default reach
    clearRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Colour hints", parent)
        v = QVBoxLayout(self)
        help_ = QLabel("Click adds a hint; drag moves it, right-click deletes, wheel resizes.")
        help_.setWordWrap(True)
        help_.setStyleSheet("color: #999")
        v.addWidget(help_)
        form = QFormLayout()
        self.size = QSpinBox()
        self.size.setRange(1, 200)
        self.size.setValue(9)
        self.size.setSuffix(" px")
        self.size.setToolTip("Side of the square patch a new (or the selected) hint covers")
        self.spread = QSpinBox()
        self.spread.setRange(round(SPREAD_RANGE[0] * 100), round(SPREAD_RANGE[1] * 100))
        self.spread.setSingleStep(10)
        self.spread.setValue(100)
        self.spread.setSuffix(" %")
        self.spread.setToolTip("Spread: how far a new (or the selected) hint's colour reaches, "
                               "against the default (100 %); less keeps it off a neighbouring "
                               "object of the same shade (Shift+wheel over a hint)")
        self.current = QLabel()  # the chosen colour, beside the patch size (saves a row)
        row = QHBoxLayout()
        row.addWidget(self.size, 1)
        row.addWidget(self.spread, 1)
        row.addWidget(self.current)
        form.addRow("Size, spread", row)
        v.addLayout(form)
        self.picker = GamutPicker()
        v.addWidget(self.picker)
        swatches = QFormLayout()  # a label beside each row: fits the Tools dock at 1366×768
        self.suggested = SwatchRow(8)
        swatches.addRow("Suggested", self.suggested)
        self.recent = SwatchRow(10)
        swatches.addRow("Recent", self.recent)
        swatches.labelForField(self.suggested).setToolTip("Colours the model suggests for "
                                                          "the selected hint")
        swatches.labelForField(self.recent).setToolTip("Colours you used last")
        v.addLayout(swatches)
        clear = QPushButton(qta.icon("mdi6.delete-sweep", color="#ddd"), "Remove all")
        clear.setToolTip("Remove all hints")
        clear.clicked.connect(lambda: self.clearRequested.emit())
        self.where = QToolButton()  # the window gives it its action (Tools menu, Shift+H)
        self.where.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.where.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.show_reach = QCheckBox("Show reach")  # the window gives it its action's state
        self.show_reach.setToolTip("Outline where the selected hint's colour reaches (Ctrl+R)")
        buttons = QHBoxLayout()
        buttons.addWidget(self.where, 1)
        buttons.addWidget(self.show_reach)
        buttons.addWidget(clear)
        v.addLayout(buttons)
        self.picker.colorPicked.connect(self.colorPicked.emit)
        self.suggested.picked.connect(self.colorPicked.emit)
        self.recent.picked.connect(self.colorPicked.emit)
        self.size.valueChanged.connect(self.sizeChanged.emit)
        self.spread.valueChanged.connect(lambda v: self.spreadChanged.emit(v / 100))
        self.show_color((0.5, 0.5, 0.5))

    def show_spread(self, spread: float) -> None:
        """Show ``spread`` (the selected hint's) without emitting spreadChanged."""
        self.spread.blockSignals(True)
        self.spread.setValue(round(spread * 100))
        self.spread.blockSignals(False)

    def show_color(self, rgb) -> None:
        r, g, b = (round(c * 255) for c in rgb)
        self.current.setText(f"<span style='background: rgb({r},{g},{b})'>&nbsp;&nbsp;&nbsp;"
                             f"&nbsp;&nbsp;</span>&nbsp; rgb({r}, {g}, {b})")


# ------------------------------------------------------------------------------- layers


class LayersPanel(QWidget):
    """Visibility of the image, mask and hints layers."""

    visibilityChanged = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        v = QVBoxLayout(self)
        self.boxes = {}
        for name, icon in (("image", "mdi6.image"), ("mask", "mdi6.draw"),
                           ("hints", "mdi6.map-marker")):
            box = QCheckBox(name.capitalize())
            box.setIcon(qta.icon(icon, color="#ddd"))
            box.setChecked(True)
            box.toggled.connect(lambda on, n=name: self.visibilityChanged.emit(n, on))
            v.addWidget(box)
            self.boxes[name] = box
        v.addStretch(1)
