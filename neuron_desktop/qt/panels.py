"""Dock panels: tool parameters, the ab-gamut colour picker, operations, styles, layers.

Panels hold widget state only and emit requests; the main window acts on them.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import qtawesome as qta
import torch
from PySide6.QtCore import QPointF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from neuron_desktop.core.color import lab_to_rgb
from neuron_desktop.pipelines.stylize import style_title

AB_RANGE = 110.0


def _slider(lo: int, hi: int, value: int, tip: str) -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal)
    s.setRange(lo, hi)
    s.setValue(value)
    s.setToolTip(tip)
    return s


def _swatch_icon(rgb: tuple[float, float, float], side: int = 18) -> QIcon:
    pm = QPixmap(side, side)
    pm.fill(QColor.fromRgbF(*rgb))
    return QIcon(pm)


# ---------------------------------------------------------------------------- gamut picker


def gamut_image(lightness: float, side: int = 221) -> tuple[np.ndarray, np.ndarray]:
    """The ab plane at ``lightness`` (L in [0, 100]) as (side, side, 3) sRGB and an in-gamut
    mask; x = a, y = -b, both spanning [-110, 110]."""
    ab = np.linspace(-AB_RANGE, AB_RANGE, side, dtype=np.float32)
    a, b = np.meshgrid(ab, -ab)
    lab = torch.from_numpy(np.stack([np.full_like(a, lightness), a, b]))[None]
    rgb = lab_to_rgb(lab, clip=False)[0].permute(1, 2, 0).numpy()
    ok = np.all((rgb >= -1e-3) & (rgb <= 1 + 1e-3), axis=-1)
    return np.clip(rgb, 0, 1), ok


def rgb_to_lab_px(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    from neuron_desktop.core.color import rgb_to_lab

    lab = rgb_to_lab(torch.tensor(rgb, dtype=torch.float32).clamp(0, 1).view(1, 3, 1, 1))
    return tuple(float(v) for v in lab[0, :, 0, 0])


def lab_px_to_rgb(L: float, a: float, b: float) -> tuple[float, float, float]:
    rgb = lab_to_rgb(torch.tensor([L, a, b], dtype=torch.float32).view(1, 3, 1, 1))
    return tuple(float(v) for v in rgb[0, :, 0, 0].clamp(0, 1))


class GamutPicker(QWidget):
    """Pick a colour in the ab plane at a fixed lightness (the hint pixel's L)."""

    colorPicked = Signal(tuple)  # (r, g, b) in [0, 1]

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(160, 160)
        self.setMaximumHeight(260)  # keeps the hints panel whole in a wide dock
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setToolTip("ab colour gamut at the selected hint's lightness: click or drag to "
                        "choose its colour; grey areas are not displayable at this lightness")
        self.lightness = 50.0
        self.ab = (0.0, 0.0)
        self._img: QImage | None = None
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
        rgb, ok = gamut_image(self.lightness)
        rgb[~ok] = 0.16
        self._arr = np.ascontiguousarray((rgb * 255).round().astype(np.uint8))
        h, w = ok.shape
        self._img = QImage(self._arr.data, w, h, w * 3, QImage.Format.Format_RGB888).copy()

    def _square(self):
        side = min(self.width(), self.height())
        return (self.width() - side) / 2, (self.height() - side) / 2, side

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        p = QPainter(self)
        x0, y0, side = self._square()
        from PySide6.QtCore import QRectF

        p.drawImage(QRectF(x0, y0, side, side), self._img)
        p.setPen(QPen(QColor(255, 255, 255, 60), 1))
        p.drawLine(QPointF(x0 + side / 2, y0), QPointF(x0 + side / 2, y0 + side))
        p.drawLine(QPointF(x0, y0 + side / 2), QPointF(x0 + side, y0 + side / 2))
        a, b = self.ab
        cx = x0 + (a / AB_RANGE + 1) / 2 * side
        cy = y0 + (1 - (b / AB_RANGE + 1) / 2) * side
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor(0, 0, 0), 3))
        p.drawEllipse(QPointF(cx, cy), 6, 6)
        p.setPen(QPen(QColor(255, 255, 255), 1.5))
        p.drawEllipse(QPointF(cx, cy), 6, 6)
        p.setPen(QColor(220, 220, 220))
        p.drawText(int(x0 + 4), int(y0 + 14), f"L = {self.lightness:.0f}")

    def _pick(self, pos: QPointF) -> None:
        x0, y0, side = self._square()
        a = ((pos.x() - x0) / side * 2 - 1) * AB_RANGE
        b = (1 - (pos.y() - y0) / side * 2) * AB_RANGE
        a, b = float(np.clip(a, -AB_RANGE, AB_RANGE)), float(np.clip(b, -AB_RANGE, AB_RANGE))
        self.ab = (a, b)
        self.update()
        self.colorPicked.emit(lab_px_to_rgb(self.lightness, a, b))

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self._pick(event.position())

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._pick(event.position())


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
        self.empty_label = QLabel("—")
        self.empty_label.setStyleSheet("color: #777")
        self.layout_.addWidget(self.empty_label)
        self.layout_.addStretch(1)

    def set_colors(self, colors, tips=None) -> None:
        while self.layout_.count() > 2:
            item = self.layout_.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self.colors = [tuple(c) for c in colors][: self.max_items]
        self.empty_label.setVisible(not self.colors)
        for i, c in enumerate(self.colors):
            b = QToolButton()
            b.setIconSize(QSize(18, 18))
            b.setIcon(_swatch_icon(c))
            b.setAutoRaise(True)
            r, g, bl = (round(v * 255) for v in c)
            b.setToolTip(tips[i] if tips else f"rgb({r}, {g}, {bl})")
            b.clicked.connect(lambda _=False, c=c: self.picked.emit(c))
            self.layout_.insertWidget(self.layout_.count() - 2, b)


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
        self.size.setToolTip("Brush diameter in image pixels ( [ and ] change it)")
        self.hardness = _slider(0, 100, 70, "Edge hardness: low values give a feathered edge")
        self.eraser = QCheckBox("Eraser")
        self.eraser.setToolTip("Erase the mask (E); the right mouse button always erases")
        self.color = QPushButton()
        self.color.setToolTip("Mask overlay colour")
        self.opacity = _slider(5, 100, 50, "Mask overlay opacity")
        self._overlay_rgb = (255, 64, 64)
        self._set_color_button()
        form.addRow("Size", self.size)
        form.addRow("Hardness", self.hardness)
        form.addRow("", self.eraser)
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
            grid.addWidget(b, i // 2, i % 2)
        self.detect = QPushButton(qta.icon("mdi6.magnify-scan", color="#ddd"), "Detect scratches")
        self.detect.clicked.connect(lambda: self.detectRequested.emit())
        self.detector = QComboBox()
        for text, name, tip in (
                ("Auto", "auto", "The learned detector when installed, else the classical one"),
                ("Learned", "network", "Small network trained on synthetic scratches, dust, "
                                       "folds and craquelure, on modern photos and toned old "
                                       "prints: the more precise and the default"),
                ("Classical", "classical", "Morphological line and speck detector: needs no "
                                           "weights; sees bright and dark lines anywhere")):
            self.detector.addItem(text, name)
            self.detector.setItemData(self.detector.count() - 1, tip,
                                      Qt.ItemDataRole.ToolTipRole)
        self.detector.setToolTip("Which scratch detector Detect scratches uses; what it finds "
                                 "is added to the painted mask")
        grid.addWidget(self.detect, 2, 0)
        grid.addWidget(self.detector, 2, 1)
        form.addRow(grid)
        self.sensitivity = _slider(0, 100, 50, "Scratch detection sensitivity: higher finds "
                                               "fainter marks (and more false ones)")
        form.addRow("Sensitivity", self.sensitivity)
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
    """Colour-hint settings: patch size, the gamut picker, suggested and recent colours."""

    colorPicked = Signal(tuple)
    sizeChanged = Signal(int)
    clearRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Colour hints", parent)
        v = QVBoxLayout(self)
        help_ = QLabel("Click to add a hint, drag to move it, right-click to delete, wheel over "
                       "it to resize.")
        help_.setWordWrap(True)
        help_.setStyleSheet("color: #999")
        v.addWidget(help_)
        form = QFormLayout()
        self.size = QSpinBox()
        self.size.setRange(1, 200)
        self.size.setValue(9)
        self.size.setSuffix(" px")
        self.size.setToolTip("Side of the square patch a new (or the selected) hint covers")
        form.addRow("Patch size", self.size)
        v.addLayout(form)
        self.picker = GamutPicker()
        v.addWidget(self.picker)
        self.current = QLabel()
        v.addWidget(self.current)
        v.addWidget(QLabel("Suggested colours"))
        self.suggested = SwatchRow(8)
        v.addWidget(self.suggested)
        v.addWidget(QLabel("Recent colours"))
        self.recent = SwatchRow(10)
        v.addWidget(self.recent)
        clear = QPushButton(qta.icon("mdi6.delete-sweep", color="#ddd"), "Remove all hints")
        clear.clicked.connect(lambda: self.clearRequested.emit())
        v.addWidget(clear)
        self.picker.colorPicked.connect(self.colorPicked.emit)
        self.suggested.picked.connect(self.colorPicked.emit)
        self.recent.picked.connect(self.colorPicked.emit)
        self.size.valueChanged.connect(self.sizeChanged.emit)
        self.show_color((0.5, 0.5, 0.5))

    def show_color(self, rgb) -> None:
        r, g, b = (round(c * 255) for c in rgb)
        self.current.setText(f"<span style='background: rgb({r},{g},{b})'>&nbsp;&nbsp;&nbsp;"
                             f"&nbsp;&nbsp;</span>&nbsp; rgb({r}, {g}, {b})")


# ----------------------------------------------------------------------------- operations


class OperationPanel(QWidget):
    """Base for Colorize / Inpaint / Refine / Stylize: a form plus an Apply button."""

    applyRequested = Signal()

    def __init__(self, title: str, icon: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.v = QVBoxLayout(self)
        self.form = QFormLayout()
        self.v.addLayout(self.form)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #e0a050")
        self.status.hide()
        self.v.addWidget(self.status)
        self.apply = QPushButton(qta.icon(icon, color="#fff"), f"Apply {title.lower()}")
        self.apply.setObjectName("primary")
        self.apply.clicked.connect(lambda: self.applyRequested.emit())
        self.v.addWidget(self.apply)
        self.v.addStretch(1)

    def set_unavailable(self, text: str) -> None:
        self.status.setText(text)
        self.status.show()
        self.apply.setEnabled(False)
        self.apply.setToolTip(text)

    def params(self) -> dict:
        return {}


INPAINT_TIPS = {
    "telea": "Fast marching (Telea 2004): quick and smooth; best for thin scratches and dust",
    "ns": "Navier-Stokes based fill (Bertalmio et al. 2001): smooth; for thin scratches",
    "harmonic": "Smooth membrane fill from the hole's border: fast, the best classical fill "
                "for thin scratches and plain areas",
    "exemplar": "Copies real texture from around each hole (multi-scale PatchMatch); slower, "
                "for larger damaged areas",
    "network": "Inpainting network (coarse-to-fine with contextual attention): shows a coarse "
               "fill, then the refined one; the best fill for larger holes",
    "network-fast": "The inpainting network's narrower version: about 1.7x faster on a CPU, "
                    "slightly softer fills",
    "network-best": "The inpainting network run on four mirrored copies of the photo, fills "
                    "averaged: about 0.1 dB closer to the truth, 4x the time",
    "auto": "Harmonic fill for thin scratches, a network for larger areas (network on a GPU, "
            "network-fast on a CPU; exemplar when neither is installed)",
}


class InpaintPanel(OperationPanel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Inpaint", "mdi6.auto-fix", parent)
        from neuron_desktop.pipelines import inpaint

        self.method = QComboBox()
        tips = []
        for name in inpaint.INPAINT_METHODS:
            tip = INPAINT_TIPS.get(name, "Inpainting method")
            text = name
            if name in inpaint.NETWORK_WEIGHTS and not inpaint.network_available(name):
                text, tip = f"{name} (not installed)", f"{tip}. Its weights are not installed."
            self.method.addItem(text, name)
            self.method.setItemData(self.method.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
            tips.append(f"<b>{text}</b>: {tip}")
        self.method.setToolTip("<br>".join(tips))
        self.set_method("auto")
        self.radius = QSpinBox()
        self.radius.setRange(1, 50)
        self.radius.setValue(3)
        self.radius.setToolTip("Neighbourhood radius (px) the telea and ns fills sample from")
        self.clear_mask = QCheckBox("Clear the mask after inpainting")
        self.clear_mask.setChecked(True)
        self.clear_mask.setToolTip("Clear the mask in the same undoable step as the result")
        self.form.addRow("Method", self.method)
        self.form.addRow("Radius", self.radius)
        self.form.addRow(self.clear_mask)

    def set_method(self, name: str) -> None:
        i = self.method.findData(name)
        if i >= 0:
            self.method.setCurrentIndex(i)

    def params(self) -> dict:
        return {"method": self.method.currentData(), "radius": self.radius.value()}


class RefinePanel(OperationPanel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Refine", "mdi6.blur", parent)
        self.radius = QSpinBox()
        self.radius.setRange(1, 400)
        self.radius.setValue(40)
        self.radius.setToolTip("Guided-filter radius in pixels: larger smooths colour more")
        self.eps = QDoubleSpinBox()
        self.eps.setDecimals(5)
        self.eps.setRange(1e-5, 1.0)
        self.eps.setSingleStep(1e-4)
        self.eps.setValue(1e-4)
        self.eps.setToolTip("Regularisation: smaller keeps colour edges on luminance edges")
        self.subsample = QSpinBox()
        self.subsample.setRange(1, 16)
        self.subsample.setValue(1)
        self.subsample.setToolTip("Fast guided filter subsampling (1 = exact)")
        self.form.addRow("Radius", self.radius)
        self.form.addRow("ε", self.eps)
        self.form.addRow("Subsample", self.subsample)

    def params(self) -> dict:
        return {"radius": self.radius.value(), "eps": self.eps.value(),
                "subsample": self.subsample.value()}


def load_colorize_module():
    """The colorization pipeline module, or None when it is not installed yet."""
    try:
        return importlib.import_module("neuron_desktop.pipelines.colorize")
    except ImportError:
        return None


def colorize_model():
    """The network passed as ``model=`` to ``colorize`` / ``suggest_colors``; None lets the
    pipeline load its shipped weights. Called on the worker thread; tests monkeypatch it."""
    return None


class ColorizePanel(OperationPanel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Colorize", "mdi6.palette", parent)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.01, 1.0)
        self.temperature.setSingleStep(0.02)
        self.module = load_colorize_module()
        default_t = getattr(self.module, "DEFAULT_TEMPERATURE", 0.38)
        self.temperature.setValue(default_t)
        self.temperature.setToolTip("Annealed-mean temperature: lower is more vivid, higher "
                                    f"is more conservative (default {default_t})")
        self.render_size = QComboBox()
        for s in (256, 384, 512):
            self.render_size.addItem(f"{s} px", s)
        self.render_size.setToolTip("Resolution the network sees; colour is upsampled and "
                                    "refined at full resolution")
        self.refine = QCheckBox("Refine with the guided filter")
        self.refine.setChecked(True)
        self.live = QCheckBox("Live update as hints change")
        self.live.setChecked(True)
        self.live.setToolTip("Re-run colorization after every hint edit (latest edit wins); "
                             "Apply commits the result to the history")
        self.form.addRow("Temperature", self.temperature)
        self.form.addRow("Render size", self.render_size)
        self.form.addRow(self.refine)
        self.form.addRow(self.live)
        if self.module is None:
            self.set_unavailable("Colorization model not installed yet")

    @property
    def available(self) -> bool:
        return self.module is not None

    def params(self) -> dict:
        return {"temperature": self.temperature.value(),
                "render_size": int(self.render_size.currentData()),
                "refine": self.refine.isChecked()}


class StylizePanel(OperationPanel):
    """Style transfer: the fast network (gallery styles, blendable) or Gatys (any image).
    Styles are chosen in the Styles dock (``set_fast_styles`` / ``set_image_style``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Stylize", "mdi6.brush-variant", parent)
        self.method = QComboBox()
        self.method.addItem("Fast — gallery styles", "fast")
        self.method.addItem("Gatys — any style image", "gatys")
        self.method.setItemData(0, "Feed-forward network: the built-in styles, blendable; one "
                                "quick pass at full resolution", Qt.ItemDataRole.ToolTipRole)
        self.method.setItemData(1, "Optimises the picture to match any style image (Gatys et "
                                "al.): slower, shows the picture forming",
                                Qt.ItemDataRole.ToolTipRole)
        self.method.setToolTip("Fast: the gallery's built-in styles (Ctrl+click several in the "
                               "Styles dock to blend them). Gatys: any image dropped on the "
                               "Styles dock; slower, the picture forms live.")
        self.style_label = QLabel()
        self.style_label.setWordWrap(True)
        self.style_label.setToolTip("Choose styles in the Styles dock")
        self.weights_box = QWidget()
        self.weights_form = QFormLayout(self.weights_box)
        self.weights_form.setContentsMargins(0, 0, 0, 0)
        self.weights: dict[str, QSlider] = {}
        self.strength = _slider(0, 100, 100, "Blend of the stylised result with the photo "
                                "(100 %: fully stylised)")
        self.strength_label = QLabel()
        self.strength.valueChanged.connect(lambda v: self.strength_label.setText(f"{v} %"))
        self.strength_label.setMinimumWidth(36)
        strength = QHBoxLayout()
        strength.addWidget(self.strength, 1)
        strength.addWidget(self.strength_label)
        self.preserve_color = QCheckBox("Preserve the photo's colours")
        self.preserve_color.setToolTip("Transfer the style's brushwork and texture only: the "
                                       "result keeps the photo's colours")
        self.size = QSpinBox()
        self.size.setRange(64, 4096)
        self.size.setSingleStep(64)
        self.size.setValue(512)
        self.size.setSuffix(" px")
        self.size.setToolTip("Gatys working size (long side): larger gives finer brushwork "
                             "but is much slower; the result is upsampled to the photo's size")
        self.iterations = QSpinBox()
        self.iterations.setRange(1, 5000)
        self.iterations.setSingleStep(50)
        self.iterations.setValue(300)
        self.iterations.setSuffix(" iterations")
        self.iterations.setToolTip("Gatys optimisation steps: more gives a stronger, cleaner "
                                   "style (a preview every 10 steps)")
        self.balance = _slider(0, 100, 50, "Gatys balance between keeping the photo's "
                               "content (left) and matching the style (right)")
        self.form.addRow("Method", self.method)
        self.form.addRow("Style", self.style_label)
        self.form.addRow(self.weights_box)
        self.form.addRow("Strength", strength)
        self.form.addRow(self.preserve_color)
        self.gatys_row = QHBoxLayout()
        self.gatys_row.addWidget(self.size)
        self.gatys_row.addWidget(self.iterations)
        self.form.addRow("Gatys", self.gatys_row)
        self.form.addRow("Content ↔ style", self.balance)
        self.fast_styles: list[str] = []
        self.image_style: str | None = None
        self.fast_error: str | None = None
        self.strength.valueChanged.emit(self.strength.value())
        self.method.currentIndexChanged.connect(lambda _i: self._refresh())
        try:
            self.module = importlib.import_module("neuron_desktop.pipelines.stylize")
        except ImportError:
            self.module = None
            self.set_unavailable("Style transfer not installed yet")
        self._refresh()

    @property
    def current_method(self) -> str:
        return self.method.currentData()

    def set_method(self, method: str) -> None:
        self.method.setCurrentIndex(max(0, self.method.findData(method)))

    def set_fast_styles(self, names: list[str]) -> None:
        """The gallery styles to use (several: a blend with a weight slider each)."""
        old = {n: s.value() for n, s in self.weights.items()}
        while self.weights_form.rowCount():
            self.weights_form.removeRow(0)
        self.weights = {}
        self.fast_styles = list(names)
        if len(names) > 1:
            for name in names:
                s = _slider(1, 100, old.get(name, 100), f"Weight of {style_title(name)} in "
                            "the blend (weights are relative to each other)")
                self.weights[name] = s
                self.weights_form.addRow(style_title(name), s)
        self._refresh()

    def set_image_style(self, path: str | None) -> None:
        self.image_style = path
        self._refresh()

    def set_fast_unavailable(self, reason: str | None) -> None:
        self.fast_error = reason
        self._refresh()

    def _refresh(self) -> None:
        gatys = self.current_method == "gatys"
        self.form.setRowVisible(self.gatys_row, gatys)
        self.form.setRowVisible(self.balance, gatys)
        blend = not gatys and len(self.weights) > 1
        self.weights_box.setVisible(blend)
        self.form.setRowVisible(self.style_label, not blend)  # the sliders name the styles
        if gatys:
            text = Path(self.image_style).name if self.image_style else None
            missing = "Drop a style image on the Styles dock (or Add style image…)"
        else:
            text = (f"Blend of {len(self.fast_styles)} styles" if len(self.fast_styles) > 1
                    else style_title(self.fast_styles[0]) if self.fast_styles else None)
            missing = (f"Fast styles unavailable: {self.fast_error}" if self.fast_error
                       else "Pick a style in the Styles dock")
        self.style_label.setText(text or "—")
        if self.module is None:
            return
        self.status.setText("" if text else missing)
        self.status.setVisible(not text)
        self.apply.setEnabled(bool(text))
        self.apply.setToolTip("Stylize the photo (one undoable step)" if text else missing)

    @property
    def style_weight(self) -> float:
        """Gatys style weight from the balance slider: 1 .. 10,000, 100 in the middle."""
        return 100.0 * 10 ** ((self.balance.value() - 50) / 25)

    def params(self) -> dict:
        """method, style (gallery name, {name: weight} or a style image path), strength,
        preserve_color, and for Gatys size, iterations and style_weight."""
        p = {"method": self.current_method, "strength": self.strength.value() / 100,
             "preserve_color": self.preserve_color.isChecked()}
        if p["method"] == "gatys":
            return {**p, "style": self.image_style, "size": self.size.value(),
                    "iterations": self.iterations.value(), "style_weight": self.style_weight}
        style = ({n: s.value() / 100 for n, s in self.weights.items()} if self.weights
                 else self.fast_styles[0] if self.fast_styles else None)
        return {**p, "style": style}


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
