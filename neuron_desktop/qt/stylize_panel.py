"""The Stylize tab: the generated form plus what the Styles dock chooses (the style, a blend's
weights), the Gatys content/style balance and its time estimate."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFormLayout, QLabel, QSlider, QWidget

from neuron_desktop import capabilities
from neuron_desktop.pipelines.stylize import gatys_estimate, plain_duration, style_title
from neuron_desktop.qt.forms import CapabilityPanel, slider


class StylizePanel(CapabilityPanel):
    """Fast (gallery styles, blendable), arbitrary or Gatys (any image); styles are chosen in
    the Styles dock (``set_fast_styles`` / ``set_image_style``)."""

    IMAGE_METHODS = ("arbitrary", "gatys")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(capabilities.get("stylize"), parent)
        self.style_label = QLabel()
        self.style_label.setWordWrap(True)
        self.style_label.setToolTip("Choose styles in the Styles dock")
        self.weights_box = QWidget()
        self.weights_form = QFormLayout(self.weights_box)
        self.weights_form.setContentsMargins(0, 0, 0, 0)
        self.weights: dict[str, QSlider] = {}
        self.form.insertRow(1, "Style", self.style_label)
        self.form.insertRow(2, self.weights_box)
        self.balance = slider(0, 100, 50, "Best quality: balance between keeping the "
                                          "photo's content (left) and matching the style "
                                          "(right)")
        self.form.addRow("Content ↔ style", self.balance)
        self.estimate = QLabel()
        self.estimate.setWordWrap(True)
        self.estimate.setStyleSheet("color: #999")
        self.form.addRow(self.estimate)
        self.fast_styles: list[str] = []
        self.image_style: str | None = None
        self.fast_error: str | None = None
        self.method.currentIndexChanged.connect(lambda _i: self._refresh())
        for name in ("size", "iterations"):
            self.widgets[name].valueChanged.connect(lambda _v: self._refresh())
        self._refresh()

    @property
    def current_method(self) -> str:
        return self.method.currentData()

    def set_fast_styles(self, names: list[str]) -> None:
        """The gallery styles to use (several: a blend with a weight slider each)."""
        old = {n: s.value() for n, s in self.weights.items()}
        while self.weights_form.rowCount():
            self.weights_form.removeRow(0)
        self.weights = {}
        self.fast_styles = list(names)
        if len(names) > 1:
            for name in names:
                s = slider(1, 100, old.get(name, 100), f"Weight of {style_title(name)} in the "
                           "blend (weights are relative to each other)")
                self.weights[name] = s
                self.weights_form.addRow(style_title(name), s)
        self._refresh()

    def set_image_style(self, path: str | None) -> None:
        self.image_style = path
        self._refresh()

    def use_image_style(self, path: str) -> None:
        """A style image was picked: the arbitrary method, unless Gatys is already chosen."""
        self.set_image_style(path)
        self.set_method("gatys" if self.current_method == "gatys" else "arbitrary")

    def set_fast_unavailable(self, reason: str | None) -> None:
        self.fast_error = reason
        self._refresh()

    def _refresh(self) -> None:
        gatys = self.current_method == "gatys"
        image = self.current_method in self.IMAGE_METHODS
        self.form.setRowVisible(self.balance, gatys)
        self.form.setRowVisible(self.estimate, gatys)
        if gatys:
            p = self.params()
            self.estimate.setText(
                f"Takes {plain_duration(gatys_estimate(p['size'], p['iterations']))} on this "
                "computer (fewer iterations or a smaller size are quicker). Arbitrary gives a "
                "result almost at once.")
        blend = not image and len(self.weights) > 1
        self.weights_box.setVisible(blend)
        self.form.setRowVisible(self.style_label, not blend)  # the sliders name the styles
        if image:
            text = Path(self.image_style).name if self.image_style else None
            missing = "Drop a style image on the Styles dock (or Add style image…)"
        else:
            text = (f"Blend of {len(self.fast_styles)} styles" if len(self.fast_styles) > 1
                    else style_title(self.fast_styles[0]) if self.fast_styles else None)
            missing = (f"Fast styles unavailable: {self.fast_error}" if self.fast_error
                       else "Pick a style in the Styles dock")
        self.style_label.setText(text or "—")
        self.status.setText("" if text else missing)
        self.status.setVisible(not text)
        self.apply.setEnabled(bool(text))
        self.apply.setToolTip("Stylize the photo (one undoable step)" if text else missing)

    @property
    def style_weight(self) -> float:
        """Gatys style weight from the balance slider: 1 .. 10,000, 100 in the middle."""
        return 100.0 * 10 ** ((self.balance.value() - 50) / 25)

    def params(self) -> dict:
        """The form's values plus the style (gallery name, {name: weight} or a style image
        path) and, for Gatys, the balance's style weight."""
        p = super().params()
        if p["method"] == "gatys":
            return {**p, "style": self.image_style, "style_weight": self.style_weight}
        if p["method"] == "arbitrary":
            return {**p, "style": self.image_style}
        style = ({n: s.value() / 100 for n, s in self.weights.items()} if self.weights
                 else self.fast_styles[0] if self.fast_styles else None)
        return {**p, "style": style}
