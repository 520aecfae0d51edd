"""Editor forms generated from capability declarations (``neuron_desktop.capabilities``).

:class:`ParamForm` makes one widget per editor parameter (check box, combo box, spin box or a
percent slider), reads and writes their values, and saves them in QSettings under
``<capability>/<param>``. :class:`CapabilityPanel` is an operation tab: the form plus Apply.
"""

from __future__ import annotations

import logging
from typing import Any

import qtawesome as qta
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from neuron_desktop.capabilities import Capability, Param

log = logging.getLogger(__name__)
ANY_VALUE = "*"  # shown_when=(name, "*"): the row shows while that parameter has a value


def slider(lo: int, hi: int, value: int, tip: str) -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal)
    s.setRange(lo, hi)
    s.setValue(value)
    s.setToolTip(tip)
    return s


def _widget(p: Param) -> tuple[QWidget, Any]:
    """(widget, row item) for ``p``; the row item is what the form lays out."""
    if p.kind is bool:
        w: Any = QCheckBox(p.title)
        w.setChecked(bool(p.start))
    elif p.choices:
        w = QComboBox()
        for c in p.choices:
            text, tip = c.label, c.help
            if not c.installed():
                text = f"{c.label} (not installed)"
                tip = f"{c.help}. Its weights are not installed."
            w.addItem(text, c.value)
            w.setItemData(w.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        w.setCurrentIndex(max(0, w.findData(p.start)))
        w.setToolTip(p.help + "<br>" + "<br>".join(
            f"<b>{w.itemText(i)}</b>: {w.itemData(i, Qt.ItemDataRole.ToolTipRole)}"
            for i in range(w.count())))
        return w, w
    elif p.percent:
        w = slider(round(p.min * 100), round(p.max * 100), round(p.start * 100), p.help)
        label = QLabel()
        label.setMinimumWidth(36)
        w.valueChanged.connect(lambda v: label.setText(f"{v} %"))
        w.valueChanged.emit(w.value())
        row = QHBoxLayout()
        row.addWidget(w, 1)
        row.addWidget(label)
        return w, row
    elif p.kind is str:
        w = QLineEdit("" if p.start is None else str(p.start))
        w.setPlaceholderText("none" if p.image_file else
                             "automatic" if p.default is None else "")
        if p.image_file:  # a file name: cleared with one click, or chosen with Browse…
            w.setClearButtonEnabled(True)
            w.setToolTip(p.help)
            browse = QPushButton("Browse…")
            browse.setToolTip(p.help)
            browse.clicked.connect(lambda: _browse_image(w, p.title))
            row = QHBoxLayout()
            row.addWidget(w, 1)
            row.addWidget(browse)
            w.browse = browse  # for tests and the window
            return w, row
    elif p.kind is int:
        w = QSpinBox()
        w.setRange(int(p.min), int(p.max))
        w.setSingleStep(int(p.step or 1))
        w.setValue(int(p.start))
    else:
        w = QDoubleSpinBox()
        w.setDecimals(p.decimals)
        w.setRange(p.min, p.max)
        w.setSingleStep(p.step or 0.01)
        w.setValue(float(p.start))
    if p.suffix:
        w.setSuffix(p.suffix)
    w.setToolTip(p.help)
    return w, w


def _browse_image(edit: QLineEdit, title: str) -> None:
    from PySide6.QtWidgets import QFileDialog

    from neuron_desktop.qt.qimage import IMAGE_FILTER

    path, _ = QFileDialog.getOpenFileName(edit, title, edit.text(), IMAGE_FILTER)
    if path:
        edit.setText(path)


def value_of(p: Param, w: QWidget) -> Any:
    if p.kind is bool:
        return w.isChecked()
    if p.choices:
        return w.currentData()
    if p.percent:
        return w.value() / 100
    if p.kind is str and p.image_file and w.text().strip().startswith("file:"):
        from PySide6.QtCore import QUrl  # a file dropped from a file manager

        return QUrl(w.text().strip()).toLocalFile() or None
    if p.kind is str:
        return w.text().strip() or None
    return w.value()


def set_value(p: Param, w: QWidget, value: Any) -> None:
    if p.kind is bool:
        w.setChecked(value if isinstance(value, bool) else str(value).lower() == "true")
    elif p.choices:
        w.setCurrentIndex(max(0, w.findData(str(value))))
    elif p.percent:
        w.setValue(round(float(value) * 100))
    elif p.kind is str:
        w.setText("" if value is None else str(value))
    else:
        w.setValue(p.kind(value))


class ParamForm:
    """The editor widgets of ``cap``'s parameters, laid out in ``form``; each widget is also
    an attribute of ``owner`` named like its parameter (``panel.radius``)."""

    def __init__(self, cap: Capability, form: QFormLayout, owner: QWidget) -> None:
        self.cap, self.form = cap, form
        self.params = [p for p in cap.params if p.in_editor]
        self.widgets: dict[str, QWidget] = {}
        self.rows: dict[str, Any] = {}
        pair: QHBoxLayout | None = None  # two check boxes in a row (saves the form height)
        for p in self.params:
            w, row = _widget(p)
            self.widgets[p.name], self.rows[p.name] = w, row
            setattr(owner, p.name, w)
            if p.kind is bool and pair is not None:
                pair.insertWidget(1, w)
                pair = None
            elif p.kind is bool:
                pair = QHBoxLayout()
                pair.addWidget(w)
                pair.addStretch(1)
                form.addRow(pair)
            else:
                pair = None
                form.addRow(p.title, row)
        for p in self.params:
            if p.shown_when:
                other = self.widgets[p.shown_when[0]]
                signal = other.textChanged if isinstance(other, QLineEdit) else \
                    other.currentIndexChanged
                signal.connect(lambda _v: self.refresh())
        self.refresh()

    def shown(self, p: Param) -> bool:
        if p.shown_when is None:
            return True
        name, value = p.shown_when
        now = self.values_raw()[name]
        return now is not None if value == ANY_VALUE else now == value

    def values_raw(self) -> dict[str, Any]:
        return {p.name: value_of(p, self.widgets[p.name]) for p in self.params}

    def values(self) -> dict[str, Any]:
        """Parameter values; hidden rows give their default (as the CLI would)."""
        raw = self.values_raw()
        return {p.name: raw[p.name] if self.shown(p) else p.default for p in self.params}

    def refresh(self) -> None:
        for p in self.params:
            row = self.rows[p.name]
            if self.form.indexOf(row) < 0:  # moved out of the form (the brush panel's detector)
                row.setVisible(self.shown(p))
            else:
                self.form.setRowVisible(row, self.shown(p))

    def load(self, s: QSettings) -> None:
        for p in self.params:
            value = s.value(f"{self.cap.name}/{p.name}")
            if value is None:
                continue
            try:
                set_value(p, self.widgets[p.name], value)
            except (TypeError, ValueError):
                log.warning("ignoring saved %s/%s=%r", self.cap.name, p.name, value)
        self.refresh()

    def save(self, s: QSettings) -> None:
        for name, value in self.values_raw().items():
            if value is None:
                s.remove(f"{self.cap.name}/{name}")
                continue
            s.setValue(f"{self.cap.name}/{name}",
                       ("true" if value else "false") if isinstance(value, bool) else value)


class CapabilityPanel(QWidget):
    """An operation tab: the capability's generated form plus an Apply button."""

    applyRequested = Signal()

    def __init__(self, cap: Capability, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cap, self.title = cap, cap.title
        self.v = QVBoxLayout(self)
        self.form = QFormLayout()
        self.v.addLayout(self.form)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #e0a050")
        self.status.hide()
        self.v.addWidget(self.status)
        self.apply = QPushButton(qta.icon(cap.icon, color="#fff"), f"Apply {cap.title.lower()}")
        self.apply.setObjectName("primary")
        self.apply.clicked.connect(lambda: self.applyRequested.emit())
        self.v.addWidget(self.apply)
        self.v.addStretch(1)
        self.fields = ParamForm(cap, self.form, self)
        reason = cap.available()
        if reason:
            self.set_unavailable(reason)

    @property
    def available(self) -> bool:
        return self.cap.available() is None

    def set_unavailable(self, text: str) -> None:
        self.status.setText(text)
        self.status.show()
        self.apply.setEnabled(False)
        self.apply.setToolTip(text)

    def focus_form(self, status=None) -> None:
        """Bring the form forward with its first setting focused (Image menu); ``status``:
        a status bar told what to do next."""
        first = next((w for p, w in zip(self.fields.params, self.widgets.values(), strict=True)
                      if self.fields.shown(p) and w.isEnabled()), self.apply)
        first.setFocus(Qt.FocusReason.OtherFocusReason)
        scroll = self.parentWidget()
        while scroll is not None and not hasattr(scroll, "ensureWidgetVisible"):
            scroll = scroll.parentWidget()
        if scroll is not None:
            scroll.ensureWidgetVisible(first)
        if status is not None:
            status.showMessage(f"{self.title}: choose the settings, then click "
                               f"“{self.apply.text()}”", 8000)

    def set_method(self, name: str) -> None:
        set_value(self.cap.param("method"), self.widgets["method"], name)

    @property
    def widgets(self) -> dict[str, QWidget]:
        return self.fields.widgets

    def params(self) -> dict[str, Any]:
        return self.fields.values()
