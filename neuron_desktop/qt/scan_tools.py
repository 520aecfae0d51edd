"""The Scan dock: the first things done to a scan (crop, turn, flip, straighten, levels,
curves, auto-contrast, white balance), each one undo step at full resolution on a worker.

Forms are generated from the capability declarations (``capabilities/crop.py`` ...) and
saved like every other form; tone operations run through the window's ``run_capability``
(tile diffs, one undo step); geometry operations through :class:`qt.geometry.GeometryRunner`
(the mask and hints are transformed with the photo, see ``qt/geometry.py``). Canvas tools
(crop rectangle, straighten line, neutral-colour eyedropper) live in
:class:`qt.scan_widgets.ScanOverlay`.
"""

from __future__ import annotations

import logging

import qtawesome as qta
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from neuron_desktop import capabilities
from neuron_desktop.capabilities.crop import aspect_ratio
from neuron_desktop.qt.dock_layout import PagedPanel
from neuron_desktop.qt.forms import ParamForm
from neuron_desktop.qt.geometry import GeometryRunner
from neuron_desktop.qt.scan_widgets import (
    CurveEditor,
    HistogramView,
    ScanOverlay,
    histogram_of_bgra,
)
from neuron_desktop.qt.workers import JobManager

log = logging.getLogger(__name__)
HISTOGRAM_PIXELS = 1_000_000  # the pyramid level it is taken from has at most this many


def _icon(name: str):
    return qta.icon(name, color="#dddddd", color_disabled="#666666")


class ScanPanel(QWidget):
    """The Scan dock's contents: a generated form per scan capability, tool buttons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.forms: dict[str, ParamForm] = {}
        self.applies: dict[str, QPushButton] = {}
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        self.pages = PagedPanel(columns=2)  # one section at a time: its Apply in view
        v.addWidget(self.pages)

        _geo, gv = self._page("Crop and turn", "mdi6.crop-rotate", "Crop, turn, straighten")
        turns = QGridLayout()
        self.rotate_left = self._tool_button("mdi6.rotate-left", "Rotate left")
        self.rotate_right = self._tool_button("mdi6.rotate-right", "Rotate right")
        self.flip_h = self._tool_button("mdi6.flip-horizontal", "Flip left-right")
        self.flip_v = self._tool_button("mdi6.flip-vertical", "Flip top-bottom")
        for i, b in enumerate((self.rotate_left, self.rotate_right, self.flip_h, self.flip_v)):
            turns.addWidget(b, 0, i)
        gv.addLayout(turns)
        self.crop_tool = self._tool_button("mdi6.crop", "Crop tool: drag a rectangle on the "
                                           "photo (C)", checkable=True)
        gv.addLayout(self._section("crop", self.crop_tool))
        self.straighten_tool = self._tool_button(
            "mdi6.angle-acute", "Straighten tool: draw a line along the horizon (S)",
            checkable=True)
        gv.addLayout(self._section("straighten", self.straighten_tool))

        _levels, lv = self._page("Levels", "mdi6.chart-histogram",
                                 "Black and white points, auto contrast")
        self.histogram = HistogramView()
        lv.addWidget(self.histogram)
        lv.addLayout(self._section("levels"))
        lv.addLayout(self._section("auto-contrast"))
        _curves, kv = self._page("Curves", "mdi6.chart-bell-curve-cumulative", "Tone curve")
        self.curve = CurveEditor()
        kv.addWidget(self.curve)
        kv.addLayout(self._section("curves"))

        _color, cv = self._page("Colour cast", "mdi6.eyedropper", "White balance")
        self.eyedropper = self._tool_button(
            "mdi6.eyedropper", "Pick a neutral colour: click something on the photo that "
            "should be grey or white (I)", checkable=True)
        cv.addLayout(self._section("white-balance", self.eyedropper))
        v.addStretch(1)
        points = self.forms["curves"].widgets["points"]
        self.curve.pointsChanged.connect(points.setText)
        points.textChanged.connect(self.curve.set_points)
        for name in ("black", "white"):
            self.forms["levels"].widgets[name].valueChanged.connect(self._levels_marks)

    def _page(self, name: str, icon: str, tip: str) -> tuple[QWidget, QVBoxLayout]:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        self.pages.add_page(name, page, icon, tip)
        return page, layout

    def _tool_button(self, icon: str, tip: str, checkable: bool = False) -> QToolButton:
        b = QToolButton()
        b.setIcon(_icon(icon))
        b.setToolTip(tip)
        b.setCheckable(checkable)
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        return b

    def _section(self, name: str, tool: QToolButton | None = None) -> QVBoxLayout:
        cap = capabilities.get(name)
        box = QVBoxLayout()
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.forms[name] = ParamForm(cap, form, self)
        box.addLayout(form)
        row = QHBoxLayout()
        if tool is not None:
            row.addWidget(tool)
        apply = QPushButton(_icon(cap.icon), cap.title if name != "white-balance"
                            else "Remove colour cast")
        apply.setToolTip(cap.help[:1].upper() + cap.help[1:])
        row.addWidget(apply, 1)
        self.applies[name] = apply
        box.addLayout(row)
        return box

    def _levels_marks(self) -> None:
        lv = self.forms["levels"].widgets
        self.histogram.set_marks(lv["black"].value() / 255, lv["white"].value() / 255)


class ScanTools(QObject):
    """Wires the Scan dock, its canvas tools and menu actions into the window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = w = window
        self.panel = ScanPanel()
        self._histogram_of: tuple | None = None  # what the histogram shows (refresh_histogram)
        self.overlay = ScanOverlay(w.canvas)
        self.jobs = JobManager(w)
        self.jobs.progress.connect(w._job_progress)
        self.jobs.busyChanged.connect(lambda b: w._busy(b or w.jobs.busy))
        self.runner = GeometryRunner(w, self.jobs)
        for name, form in self.panel.forms.items():
            w.capability_forms[name] = form  # saved and loaded with the other forms
        w._dock("scan", "Scan", self.panel, Qt.DockWidgetArea.RightDockWidgetArea,
                scroll=True)
        w.tabifyDockWidget(w.docks["tools"], w.docks["scan"])
        w.docks["tools"].raise_()
        w.docks["scan"].visibilityChanged.connect(lambda on: on and self.refresh_histogram())
        self._build_actions()
        self._add_to_menus()
        p = self.panel
        p.rotate_left.clicked.connect(lambda: self.rotate("left"))
        p.rotate_right.clicked.connect(lambda: self.rotate("right"))
        p.flip_h.clicked.connect(lambda: self.flip("horizontal"))
        p.flip_v.clicked.connect(lambda: self.flip("vertical"))
        p.applies["crop"].clicked.connect(lambda: self.apply_crop())
        p.applies["straighten"].clicked.connect(lambda: self.runner.run("straighten"))
        for name in ("levels", "curves", "auto-contrast", "white-balance"):
            p.applies[name].clicked.connect(lambda _=False, n=name: self.runner.run_tone(n))
        crop = p.forms["crop"].widgets
        for key in ("x", "y", "width", "height"):
            crop[key].valueChanged.connect(self._crop_edited)
        crop["aspect"].currentIndexChanged.connect(self._aspect_changed)
        o = self.overlay
        o.cropChanged.connect(self._crop_drawn)
        o.cropConfirmed.connect(lambda: self.apply_crop())
        o.lineDrawn.connect(self.straighten_by)
        o.neutralPicked.connect(self.pick_neutral)
        w.documentOpened.connect(lambda _d: self._document_changed())
        w.history.indexChanged.connect(lambda _i: self._document_changed())
        self._document_changed()

    def _build_actions(self) -> None:
        w, p = self.w, self.panel
        group = w.act_brush.actionGroup()
        self.act_crop = w._action("&Crop tool", "mdi6.crop", "C", None,
                                  "Drag a rectangle to crop to; Enter crops", checkable=True)
        self.act_straighten = w._action("&Straighten tool", "mdi6.angle-acute", "S", None,
                                        "Draw a line along the horizon to level the photo",
                                        checkable=True)
        self.act_neutral = w._action("Pick &neutral colour", "mdi6.eyedropper", "I", None,
                                     "Click something that should be grey or white to "
                                     "remove a colour cast", checkable=True)
        self.tool_actions = [self.act_crop, self.act_straighten, self.act_neutral]
        for act, mode, button in zip(self.tool_actions, ("crop", "straighten", "eyedropper"),
                                     (p.crop_tool, p.straighten_tool, p.eyedropper),
                                     strict=True):
            group.addAction(act)
            act.toggled.connect(lambda on, m=mode: self._tool_toggled(m, on))
            act.toggled.connect(button.setChecked)
            button.clicked.connect(lambda on, a=act: a.setChecked(True) if on else
                                   w.set_tool("brush"))
        self.act_rotate_left = w._action("Rotate &left", "mdi6.rotate-left", "Ctrl+[",
                                         lambda: self.rotate("left"), "Rotate left")
        self.act_rotate_right = w._action("Rotate &right", "mdi6.rotate-right", "Ctrl+]",
                                          lambda: self.rotate("right"), "Rotate right")
        self.act_flip_h = w._action("Flip left-right", "mdi6.flip-horizontal", None,
                                    lambda: self.flip("horizontal"))
        self.act_flip_v = w._action("Flip top-bottom", "mdi6.flip-vertical", None,
                                    lambda: self.flip("vertical"))
        self.act_auto_contrast = w._action("&Auto contrast", "mdi6.contrast-box", None,
                                           lambda: self.runner.run_tone("auto-contrast"),
                                           "Stretch the tones: darkest to black, brightest "
                                           "to white")
        self.doc_actions = [*self.tool_actions, self.act_rotate_left, self.act_rotate_right,
                            self.act_flip_h, self.act_flip_v, self.act_auto_contrast]

    def _add_to_menus(self) -> None:
        """The scan actions in the window's Image, Tools and View menus and toolbar."""
        w = self.w
        menus = {a.text(): a.menu() for a in w.menuBar().actions() if a.menu() is not None}
        image = menus["&Image"]
        image.insertActions(w.act_cancel, [self.act_rotate_left, self.act_rotate_right,
                                           self.act_flip_h, self.act_flip_v,
                                           *self.tool_actions, self.act_auto_contrast])
        image.insertSeparator(w.act_cancel)
        tools = menus["&Tools"]
        tools.insertActions(w.act_smaller, self.tool_actions)
        tools.insertSeparator(w.act_smaller)
        menus["&View"].addAction(w.docks["scan"].toggleViewAction())
        tb = w.findChild(QToolBar, "main_toolbar")
        after = tb.actions()
        after = after[after.index(w.act_pan) + 1] if w.act_pan in after else None
        tb.insertActions(after, self.tool_actions[:2])

    # ------------------------------------------------------------------------------ tools

    def _tool_toggled(self, mode: str, on: bool) -> None:
        if on:
            self.w.canvas.tool = "scan"  # the canvas ignores the left button; we take it
            self.overlay.set_mode(mode)
            self.panel.pages.show_page("Colour cast" if mode == "eyedropper"
                                       else "Crop and turn")
            self.w.docks["scan"].show()
            self.w.docks["scan"].raise_()
            self._aspect_changed()
        elif self.overlay.mode == mode:
            self.overlay.set_mode(None)

    def _document_changed(self) -> None:
        doc = self.w.doc
        has = doc is not None
        for a in self.doc_actions:
            a.setEnabled(has)
        for b in self.panel.applies.values():
            b.setEnabled(has)
        if has and self.overlay.crop is not None:
            x, y, cw, ch = self.overlay.crop
            if x + cw > doc.width or y + ch > doc.height:
                self.overlay.set_crop(None, notify=True)
        self.refresh_histogram()

    def refresh_histogram(self) -> None:
        """Histogram of the shown photo, from the display pyramid level with at most
        ``HISTOGRAM_PIXELS`` pixels, so its cost does not grow with the scan."""
        if not self.w.docks["scan"].isVisible() or self.w.doc is None:
            return
        pyr = self.w.canvas.pyramids().get("image")
        if pyr is None:
            return
        level = next((lv for lv in pyr.levels if lv.shape[0] * lv.shape[1]
                      <= HISTOGRAM_PIXELS), pyr.levels[-1])
        shown = (id(self.w.doc), self.w.doc.image_revision, id(pyr), id(level))
        if shown == self._histogram_of:
            return  # e.g. a hint edit: the photo is the same
        self._histogram_of = shown
        hist = histogram_of_bgra(level)
        self.panel.histogram.set_histogram(hist)
        self.panel.curve.set_histogram(hist)

    # ----------------------------------------------------------------------------- actions

    def rotate(self, turn: str, wait: bool = False) -> bool:
        return self.runner.run("rotate", {"turn": turn}, wait=wait)

    def flip(self, axis: str, wait: bool = False) -> bool:
        return self.runner.run("flip", {"axis": axis}, wait=wait)

    def apply_crop(self, wait: bool = False) -> bool:
        started = self.runner.run("crop", wait=wait)
        if started:
            self.overlay.set_crop(None, notify=True)
        return started

    def straighten_by(self, angle: float, wait: bool = False) -> bool:
        """Level the photo by ``angle`` (from a drawn line): one undo step."""
        form = self.panel.forms["straighten"]
        form.widgets["angle"].setValue(angle)
        return self.runner.run("straighten", wait=wait)

    def pick_neutral(self, x: float, y: float) -> bool:
        """Use the 5x5 average around pixel (x, y) as the neutral colour and remove the
        cast (one undo step, on a worker)."""
        doc = self.w.doc
        if doc is None:
            return None
        xi, yi = int(x), int(y)
        patch = doc.image[max(yi - 2, 0):yi + 3, max(xi - 2, 0):xi + 3].reshape(-1, 3)
        r, g, b = (round(float(c) * 255) for c in patch.mean(0))
        field: QLineEdit = self.panel.forms["white-balance"].widgets["neutral"]
        field.setText(f"{r},{g},{b}")
        return self.runner.run_tone("white-balance")

    def _crop_drawn(self, box: tuple) -> None:
        crop = self.panel.forms["crop"].widgets
        for key, value in zip(("x", "y", "width", "height"), box, strict=True):
            crop[key].blockSignals(True)
            crop[key].setValue(int(value))
            crop[key].blockSignals(False)

    def _crop_edited(self) -> None:
        v = self.panel.forms["crop"].values()
        self.overlay.set_crop((v["x"], v["y"], v["width"], v["height"]))

    def _aspect_changed(self) -> None:
        doc = self.w.doc
        name = self.panel.forms["crop"].values()["aspect"]
        self.overlay.ratio = aspect_ratio(name, doc.width, doc.height) if doc else None


def install(window) -> ScanTools:
    """Add the scan tools to ``window`` (called once its docks exist)."""
    window.scan_tools = ScanTools(window)
    return window.scan_tools

