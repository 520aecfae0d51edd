"""The main window: wires canvas, tools, panels, history, workers, settings and recovery.

The GUI thread never does heavy work: photos are decoded and their display pyramids built
on the worker pool; jobs get cheap copy-on-write snapshots of the document (copied on the
worker) and hand back tile diffs computed there, checked against the document's layer
revisions before they become one undoable step.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import qtawesome as qta
from PySide6.QtCore import (
    QPointF,
    QSettings,
    Qt,
    QThreadPool,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import QAction, QActionGroup, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QToolButton,
    QUndoView,
    QVBoxLayout,
    QWidget,
)

from neuron_desktop import __version__, capabilities
from neuron_desktop.core.device import available_devices, describe_device
from neuron_desktop.core.document import Document, Snapshot
from neuron_desktop.core.logs import log_dir
from neuron_desktop.qt.canvas import Canvas
from neuron_desktop.qt.colour_check import ColourPhotoCheck
from neuron_desktop.qt.commands import History
from neuron_desktop.qt.dock_layout import PagedPanel
from neuron_desktop.qt.documents import DocumentsMixin
from neuron_desktop.qt.forms import CapabilityPanel
from neuron_desktop.qt.hint_wiring import HintsMixin
from neuron_desktop.qt.job_queue import JobQueue
from neuron_desktop.qt.jobs import JobResult, JobsMixin
from neuron_desktop.qt.live_colorize import LivePreviewWiring
from neuron_desktop.qt.panels import BrushPanel, HintPanel, LayersPanel
from neuron_desktop.qt.preferences import install as install_preferences
from neuron_desktop.qt.project_io import ProjectMixin
from neuron_desktop.qt.prompts import PromptsMixin
from neuron_desktop.qt.recovery import RecoveryMixin
from neuron_desktop.qt.settings import SettingsMixin
from neuron_desktop.qt.styles import StylesPanel
from neuron_desktop.qt.stylize_panel import StylizePanel
from neuron_desktop.qt.tools import BrushTool, HintTool
from neuron_desktop.qt.toolset import install as install_toolset
from neuron_desktop.qt.workers import JobManager

log = logging.getLogger(__name__)

CUSTOM_PANELS = {"stylize": StylizePanel}  # tabs that add to their generated form
DEFAULT_AUTOSAVE_MIN = 3.0


def _scrolled(widget: QWidget) -> QScrollArea:
    sa = QScrollArea()
    sa.setWidgetResizable(True)
    sa.setFrameShape(QScrollArea.Shape.NoFrame)
    sa.setWidget(widget)
    return sa


class MainWindow(PromptsMixin, ProjectMixin, DocumentsMixin, JobsMixin, HintsMixin,
                 RecoveryMixin, SettingsMixin, QMainWindow):
    documentOpened = Signal(object)  # the Document, once loaded and shown

    def __init__(self, settings: QSettings | None = None, *, recovery_dir: str | Path | None = None,
                 autosave_minutes: float | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings()
        self.doc: Document | None = None
        self.setWindowTitle("Neuron Desktop")
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks)
        self.error_box: QMessageBox | None = None
        self._pending_live: tuple[JobResult, Snapshot, tuple, dict | None] | None = None
        self._job_started = 0.0

        limit_mb = int(self.settings.value("history/limit_mb", 1024))
        self.history = History(self, byte_limit=limit_mb * 2**20)
        self.canvas = Canvas(self)
        self.setCentralWidget(self.canvas)
        self.jobs = JobManager(self)
        self.job_queue = JobQueue(self.jobs, lambda m: self.statusBar().showMessage(m, 15000),
                                  self)  # a request while a job runs waits its turn
        self.suggest_jobs = JobManager(self)
        self.mask_jobs = JobManager(self)  # whole-mask edits: off the GUI thread, own queue
        # photos load on their own pool: never queued behind long jobs
        self.load_jobs = JobManager(self, pool=QThreadPool(self))
        self.brush = BrushTool(self.canvas, self.history, lambda: self.doc)
        self.hint_tool = HintTool(self.canvas, self.history, lambda: self.doc)
        self.live_timer = QTimer(self)
        self.live_timer.setSingleShot(True)
        self.live_timer.setInterval(600)  # the full-resolution result, once edits pause
        self.live_timer.timeout.connect(lambda: self.run_colorize(live=True))

        self._build_actions()
        self.colour_check = ColourPhotoCheck(self)  # asks before colorizing a colour photo
        self.live_preview = LivePreviewWiring(self)  # previews on hint edits, uncertain areas
        self._build_docks()
        self._build_menus()
        self._build_toolbar()
        install_toolset(self)  # Scan dock, mask shapes, their canvas tools (qt/toolset.py)
        install_preferences(self)  # Edit ▸ Preferences, the undo budget (qt/preferences.py)
        self._build_statusbar()
        self._connect()
        self.load_settings()
        self.set_tool("brush")

        self._init_recovery(recovery_dir, autosave_minutes if autosave_minutes is not None
                            else float(self.settings.value("autosave/minutes",
                                                           DEFAULT_AUTOSAVE_MIN)))
        self._update_actions()

    # --------------------------------------------------------------------------- building

    def _action(self, text: str, icon: str | None = None, shortcut=None, slot=None,
                tip: str | None = None, checkable: bool = False) -> QAction:
        a = QAction(text, self)
        if icon:
            a.setIcon(qta.icon(icon, color="#dddddd", color_disabled="#666666"))
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        if tip or shortcut:
            a.setToolTip(f"{tip or text}" + (f" ({QKeySequence(shortcut).toString()})"
                                             if shortcut else ""))
        a.setCheckable(checkable)
        if slot is not None:
            a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        A = self._action
        self.act_open = A("&Open…", "mdi6.folder-open", QKeySequence.StandardKey.Open,
                          lambda: self.open_file())
        self.act_save = A("&Export…", "mdi6.content-save", QKeySequence.StandardKey.Save,
                          lambda: self.save_as(), "Export the result at full resolution")
        self.act_save_project = A("Save &project…", "mdi6.content-save-all", "Ctrl+Shift+S",
                                  lambda: self.save_project(), "Save everything (original, "
                                  "result, mask, hints, edit record) as a .neuron project")
        self.act_open_project = A("Open pro&ject…", None, "Ctrl+Shift+O",
                                  lambda: self.open_project())
        self.act_record = A("Embed edit &record in exports", None, None, None,
                            "Exports carry the steps, settings and models used (XMP)",
                            checkable=True)
        self.act_quit = A("&Quit", None, QKeySequence.StandardKey.Quit, self.close)
        self.act_undo = self.history.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(QKeySequence.StandardKey.Undo)
        self.act_undo.setIcon(qta.icon("mdi6.undo", color="#dddddd", color_disabled="#666"))
        self.act_redo = self.history.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence.StandardKey.Redo, QKeySequence("Ctrl+Y")])
        self.act_redo.setIcon(qta.icon("mdi6.redo", color="#dddddd", color_disabled="#666"))
        self.addActions([self.act_undo, self.act_redo])
        self.act_fit = A("&Fit to window", "mdi6.fit-to-screen-outline", "Ctrl+0",
                         self.canvas.fit)
        self.act_100 = A("&Actual size (100 %)", "mdi6.numeric-1-box-outline", "Ctrl+1",
                         self.canvas.actual_size)
        self.act_zoom_in = A("Zoom &in", "mdi6.magnify-plus-outline", QKeySequence.StandardKey
                             .ZoomIn, lambda: self.canvas.zoom_by(1.25))
        self.act_zoom_out = A("Zoom &out", "mdi6.magnify-minus-outline", QKeySequence.StandardKey
                              .ZoomOut, lambda: self.canvas.zoom_by(0.8))
        self.act_before = A("Show &original", "mdi6.compare", None, self.canvas.pin_original,
                            "Show the original (hold \\ on the canvas)", checkable=True)
        self.act_split = A("&Split view", "mdi6.compare-horizontal", "Ctrl+\\",
                           self.canvas.set_split, "Original on the left, result on the right; "
                           "drag the divider", checkable=True)
        tools = QActionGroup(self)
        self.act_brush = A("Mask &brush", "mdi6.brush", "B", lambda: self.set_tool("brush"),
                           "Paint the areas to inpaint", checkable=True)
        self.act_hints = A("Colour &hints", "mdi6.eyedropper-variant", "H",
                           lambda: self.set_tool("hints"), "Place colour hints", checkable=True)
        self.act_pan = A("&Pan", "mdi6.hand-back-right-outline", "P",
                         lambda: self.set_tool("pan"), "Pan (or hold Space / middle button)",
                         checkable=True)
        for a in (self.act_brush, self.act_hints, self.act_pan):
            tools.addAction(a)
        self.act_eraser = A("&Eraser", "mdi6.eraser", "E", self._toggle_eraser,
                            "Erase the mask (right button erases too)", checkable=True)
        self.act_smaller = A("Smaller brush", None, "[", lambda: self._resize_brush(1 / 1.2))
        self.act_bigger = A("Bigger brush", None, "]", lambda: self._resize_brush(1.2))
        self.act_clear_mask = A("&Clear mask", "mdi6.close-box-outline", None,
                                lambda: self.clear_mask())
        self.act_invert_mask = A("&Invert mask", "mdi6.invert-colors", None,
                                 lambda: self.invert_mask())
        self.act_import_mask = A("Import mask…", "mdi6.import", None, lambda: self.import_mask())
        self.act_export_mask = A("Export mask…", "mdi6.export", None, lambda: self.export_mask())
        self.act_cancel = A("&Cancel job", "mdi6.stop-circle-outline", "Esc", self.cancel_jobs,
                            "Stop the running job")
        self.act_restore = A("Restore &session…", None, None, self.restore_session_dialog,
                             "Restore work autosaved in this or an earlier session")
        self.act_about = A("&About", None, None, self._about)
        self.act_logs = A("Open &log folder", "mdi6.text-box-outline", None, self.open_log_folder,
                          "Show the editor's log files (attach them to a bug report)")

    def _save_recipe(self) -> None:
        from neuron_desktop.qt.batch_dialog import save_steps_as_recipe

        save_steps_as_recipe(self)

    def _open_batch(self) -> None:
        from neuron_desktop.qt.batch_dialog import BatchDialog

        self._batch_dialog = getattr(self, "_batch_dialog", None) or BatchDialog(self)
        self._batch_dialog.show()
        self._batch_dialog.raise_()

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        f.addAction(self.act_open)
        self.recent_menu = f.addMenu("Open &recent")
        f.addAction(self.act_save)
        f.addSeparator()
        f.addActions([self.act_open_project, self.act_save_project])
        f.addSeparator()
        f.addAction(self.act_record)
        f.addActions([self.act_import_mask, self.act_export_mask])
        f.addSeparator()
        f.addAction(self.act_restore)
        f.addAction("&Batch…", self._open_batch)  # neuron_desktop/qt/batch_dialog.py
        self.act_save_recipe = f.addAction("Save steps as &recipe…", self._save_recipe)
        f.addSeparator()
        f.addAction(self.act_quit)
        e = mb.addMenu("&Edit")
        e.addActions([self.act_undo, self.act_redo])
        e.addSeparator()
        e.addActions([self.act_clear_mask, self.act_invert_mask])
        v = mb.addMenu("&View")
        v.addActions([self.act_fit, self.act_100, self.act_zoom_in, self.act_zoom_out])
        v.addSeparator()
        v.addActions([self.act_before, self.act_split, self.live_preview.act_uncertain,
                      self.live_preview.act_reach])
        v.addSeparator()
        for dock in self.docks.values():
            v.addAction(dock.toggleViewAction())
        t = mb.addMenu("&Tools")
        t.addActions([self.act_brush, self.act_eraser, self.act_hints, self.act_pan])
        t.addAction(self.live_preview.act_spot)
        t.addSeparator()
        t.addActions([self.act_smaller, self.act_bigger])
        j = mb.addMenu("&Image")
        for name in self.operations:
            a = QAction(f"{name}…", self)
            a.triggered.connect(lambda _=False, n=name: self._show_operation(n, focus=True))
            j.addAction(a)
        j.addSeparator()
        j.addAction(self.act_cancel)
        h = mb.addMenu("&Help")
        h.addActions([self.act_logs, self.act_about])

    def _build_toolbar(self) -> None:
        tb = self.addToolBar("Main")
        tb.setObjectName("main_toolbar")
        tb.setMovable(False)
        tb.addActions([self.act_open, self.act_save])
        tb.addSeparator()
        tb.addActions([self.act_undo, self.act_redo])
        tb.addSeparator()
        tb.addActions([self.act_brush, self.act_eraser, self.act_hints, self.act_pan])
        tb.addSeparator()
        tb.addActions([self.act_fit, self.act_100, self.act_before, self.act_split])

    def _dock(self, name: str, title: str, widget: QWidget, area, scroll: bool = False):
        d = QDockWidget(title, self)
        d.setObjectName(f"dock_{name}")
        d.setWidget(_scrolled(widget) if scroll else widget)
        self.addDockWidget(area, d)
        self.docks[name] = d
        return d

    def _build_docks(self) -> None:
        self.docks: dict[str, QDockWidget] = {}
        right = Qt.DockWidgetArea.RightDockWidgetArea
        left = Qt.DockWidgetArea.LeftDockWidgetArea
        tools = QWidget()
        tv = QVBoxLayout(tools)
        self.brush_panel = BrushPanel()
        self.hint_panel = HintPanel()
        tv.addWidget(self.brush_panel)
        tv.addWidget(self.hint_panel)
        tv.addStretch(1)
        self._dock("tools", "Tools", tools, right, scroll=True)
        # one tab per capability that writes the image, its form generated from the
        # declaration; the mask capability (scratch detection) lives in the brush panel
        self.panels = {cap.name: CUSTOM_PANELS.get(cap.name, CapabilityPanel)(
            *(() if cap.name in CUSTOM_PANELS else (cap,)))
            for cap in capabilities.all_capabilities()
            if cap.target == "image" and not cap.group}  # scan basics: qt/scan_tools.py
        self.operations = {p.title: p for p in self.panels.values()}
        self.capability_forms = {name: p.fields for name, p in self.panels.items()}
        self.capability_forms["detect-scratches"] = self.brush_panel.detection
        self.colorize_panel = self.panels["colorize"]
        # the preview follows the Vividness slider as it moves (the latest position wins)
        self.colorize_panel.widgets["vividness"].valueChanged.connect(
            lambda _v: self._colour_live_again())
        self.inpaint_panel = self.panels["inpaint"]
        self.refine_panel = self.panels["refine"]
        self.stylize_panel = self.panels["stylize"]
        self.op_tabs = PagedPanel()  # one form at a time, Apply in view (qt/dock_layout.py)
        for name, panel in self.operations.items():
            self.op_tabs.add_page(name, panel, panel.cap.icon, panel.cap.help)
        self._dock("operations", "Operations", self.op_tabs, right)
        self.styles_panel = StylesPanel()
        self._dock("styles", "Styles", self.styles_panel, right)
        self.tabifyDockWidget(self.docks["tools"], self.docks["styles"])
        self.docks["tools"].raise_()
        self.undo_view = QUndoView(self.history)
        self.undo_view.setEmptyLabel("Opened photo")
        self._dock("history", "History", self.undo_view, left)
        self.layers_panel = LayersPanel()
        self._dock("layers", "Layers", self.layers_panel, left)

    def _build_statusbar(self) -> None:
        sb = self.statusBar()
        self.pos_label = QLabel()
        self.pos_label.setMinimumWidth(260)
        self.zoom_label = QLabel("—")
        self.zoom_label.setMinimumWidth(60)
        self.device_combo = QComboBox()
        self.device_combo.setToolTip("Compute device for the pipelines")
        self.device_combo.addItem(f"Auto ({describe_device(available_devices()[0])})", "auto")
        for d in available_devices():
            self.device_combo.addItem(describe_device(d), d)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.cancel_button = QToolButton()
        self.cancel_button.setDefaultAction(self.act_cancel)
        self.cancel_button.hide()
        sb.addWidget(self.pos_label)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)
        sb.addPermanentWidget(self.zoom_label)
        sb.addPermanentWidget(self.device_combo)

    def _connect(self) -> None:
        c = self.canvas
        c.cursorMoved.connect(self._show_position)
        c.zoomChanged.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))
        c.fileDropped.connect(self.open_file)
        bp = self.brush_panel
        bp.settingsChanged.connect(self._brush_settings)
        bp.clearRequested.connect(lambda: self.clear_mask())
        bp.invertRequested.connect(lambda: self.invert_mask())
        bp.importRequested.connect(lambda: self.import_mask())
        bp.exportRequested.connect(lambda: self.export_mask())
        bp.detectRequested.connect(self.detect_scratches)
        bp.overlayChanged.connect(self.canvas.set_mask_style)
        bp.eraser.toggled.connect(self.act_eraser.setChecked)
        hp = self.hint_panel
        hp.colorPicked.connect(self._hint_color)
        hp.sizeChanged.connect(self.hint_tool.set_size)
        hp.spreadChanged.connect(self.hint_tool.set_spread)
        self.hint_tool.spreadChanged.connect(hp.show_spread)
        act = self.live_preview.act_reach
        hp.show_reach.toggled.connect(act.setChecked)
        act.toggled.connect(hp.show_reach.setChecked)
        hp.clearRequested.connect(self.hint_tool.clear)
        hp.where.setDefaultAction(self.live_preview.act_spot)
        self.hint_tool.selectionChanged.connect(self._hint_selected)
        self.hint_tool.hintsEdited.connect(self._hints_edited)
        for name, panel in self.panels.items():
            panel.applyRequested.connect(
                (lambda: self.run_colorize(live=False)) if name == "colorize"
                else (lambda _=False, n=name: self.run_capability(n)))
        sp = self.styles_panel
        sp.galleryListed.connect(self._gallery_listed)
        sp.galleryFailed.connect(self.stylize_panel.set_fast_unavailable)
        sp.fastStylesSelected.connect(self._fast_styles_selected)
        sp.imageStyleSelected.connect(self._image_style_selected)
        sp.styleFailed.connect(self._style_gone)
        sp.styleRemoved.connect(self._style_gone)
        self.docks["styles"].visibilityChanged.connect(lambda on: on and sp.load_gallery())
        self.op_tabs.currentChanged.connect(self._operation_shown)
        self.layers_panel.visibilityChanged.connect(self._layer_visibility)
        self.jobs.started.connect(self._job_started_slot)
        self.jobs.progress.connect(self._job_progress)
        self.jobs.preview.connect(self.canvas.set_preview)
        self.jobs.message.connect(lambda m: self.statusBar().showMessage(m, 10000))
        self.jobs.finished.connect(self._job_finished)
        self.jobs.error.connect(self._job_error)
        self.jobs.cancelled.connect(self._job_cancelled)
        lj = self.load_jobs
        lj.started.connect(lambda name, _dev: self.statusBar().showMessage(f"{name}…"))
        lj.progress.connect(self._job_progress)
        lj.finished.connect(self._opened)
        lj.error.connect(self._open_failed)
        for jm in (self.jobs, self.load_jobs):
            jm.busyChanged.connect(lambda _b: self._busy(self.jobs.busy or self.load_jobs.busy))
        self.suggest_jobs.finished.connect(self._suggestions)
        self.suggest_jobs.error.connect(self._suggestions_failed)
        self.hint_tool.auto_color = lambda: self.colorize_panel.available  # bug 6
        self.mask_jobs.finished.connect(self._mask_job_finished)
        self.mask_jobs.error.connect(self._job_error)
        self.history.indexChanged.connect(lambda _i: self._update_actions())
        self.history.cleanChanged.connect(lambda _c: self._update_title())

    # -------------------------------------------------------------------------------- tools

    def set_tool(self, tool: str) -> None:
        self.canvas.tool = tool
        self.canvas.update()  # the hint's reach outline shows with the hint tool only
        {"brush": self.act_brush, "hints": self.act_hints, "pan": self.act_pan}[tool].setChecked(
            True)
        self.brush_panel.setVisible(tool == "brush")
        self.hint_panel.setVisible(tool == "hints")
        self.canvas.setCursor(Qt.CursorShape.OpenHandCursor if tool == "pan"
                              else Qt.CursorShape.CrossCursor)
        if tool == "hints":
            self._show_operation("Colorize")
            self.live_preview.warm()  # the first hint's preview as quick as the next
        elif tool == "brush":
            self._show_operation("Inpaint")
        if tool != "pan":
            self.docks["tools"].raise_()
        self.canvas.update()

    def _show_operation(self, name: str, focus: bool = False) -> None:
        self.op_tabs.setCurrentIndex(list(self.operations).index(name))
        self.docks["operations"].raise_()
        if focus:  # Image menu: the form shown, its first setting focused (qt/forms.py)
            self.docks["operations"].show()
            self.operations[name].focus_form(self.statusBar())

    def _toggle_eraser(self, on: bool) -> None:
        self.brush_panel.eraser.setChecked(on)

    def _resize_brush(self, factor: float) -> None:
        s = self.brush_panel.size
        s.setValue(max(1, round(s.value() * factor + (0.5 if factor > 1 else -0.5))))

    def _brush_settings(self) -> None:
        bp = self.brush_panel
        self.brush.size = bp.size.value()
        self.brush.hardness = bp.hardness.value() / 100
        self.canvas.brush_radius = self.brush.radius
        self.canvas.eraser = bp.eraser.isChecked()
        self.act_eraser.setChecked(bp.eraser.isChecked())
        self.canvas.update()

    def _layer_visibility(self, name: str, on: bool) -> None:
        setattr(self.canvas, f"show_{name}", on)
        self.canvas.update()

    def _show_position(self, x: float, y: float) -> None:
        if self.doc is None or x < 0:
            self.pos_label.setText("")
            return
        xi, yi = int(x), int(y)
        r, g, b = (round(float(v) * 255) for v in self.doc.image[yi, xi])
        self.pos_label.setText(
            f"x {xi}, y {yi}   <span style='background: rgb({r},{g},{b})'>&nbsp;&nbsp;&nbsp;"
            f"</span> {r} {g} {b}")

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.key() == Qt.Key.Key_Backslash and not event.isAutoRepeat():
            self.canvas.set_show_original(True)
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.key() == Qt.Key.Key_Backslash and not event.isAutoRepeat():
            self.canvas.set_show_original(self.act_before.isChecked())
        else:
            super().keyReleaseEvent(event)

    def capability_params(self, name: str) -> dict:
        """The editor's values for capability ``name`` (its tab, or the brush panel's)."""
        panel = self.panels.get(name)
        return panel.params() if panel is not None else self.capability_forms[name].values()

    @property
    def current_operation(self) -> str:
        return list(self.operations)[self.op_tabs.currentIndex()]

    def _operation_shown(self, _index: int) -> None:
        if self.current_operation == "Stylize":
            self.docks["styles"].show()  # styles are chosen there
            self.docks["styles"].raise_()
            self.styles_panel.load_gallery()

    def _gallery_listed(self, names: list) -> None:
        """The first gallery style is the fast method's default (the chosen method and an
        image style selected meanwhile stay)."""
        if names and not self.stylize_panel.fast_styles:
            if not self.styles_panel.list.selectedItems():
                self.styles_panel.select("fast", names[:1], notify=False)
            self.stylize_panel.set_fast_styles(names[:1])

    def _fast_styles_selected(self, names: list) -> None:
        self.stylize_panel.set_fast_styles(names)
        if names:
            self.stylize_panel.set_method("fast")
            self._show_operation("Stylize")

    def _image_style_selected(self, path: str) -> None:
        self.stylize_panel.use_image_style(path)
        self._show_operation("Stylize")

    def _style_gone(self, path: str, message: str | None = None) -> None:
        """A style image was removed, or could not be read (``message``)."""
        if self.stylize_panel.image_style == path:
            self.stylize_panel.set_image_style(None)
        if message:
            self.show_error("Cannot use the style image", message)

    # ------------------------------------------------------------------------------ dialogs

    def show_error(self, title: str, text: str, exc: BaseException | None = None
                   ) -> QMessageBox:
        """A non-blocking, window-modal error dialog (kept in ``self.error_box``), logged
        with the traceback of ``exc`` or of the exception being handled (else the text)."""
        exc = exc if exc is not None else sys.exc_info()[1]
        log.error("%s: %s", title, text,
                  exc_info=None if exc is None else (type(exc), exc, exc.__traceback__))
        box = QMessageBox(QMessageBox.Icon.Critical, title, text, QMessageBox.StandardButton.Ok,
                          self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.error_box = box
        box.open()
        self.statusBar().showMessage(f"{title}: {text.splitlines()[0]}", 10000)
        return box

    def open_log_folder(self) -> bool:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def _about(self) -> None:
        QMessageBox.about(self, "About Neuron Desktop",
                          f"<b>Neuron Desktop {__version__}</b><br>Photo restoration: "
                          "colorization, inpainting and style transfer, on your machine.")

    def shutdown(self) -> None:
        """Stop timers and jobs and wait for the worker threads (idempotent)."""
        self.stop_autosave()
        self.live_timer.stop()
        self.job_queue.stop()
        self.statusBar().clearMessage()  # stops the message timeout timer
        self.history.blockSignals(True)  # it is destroyed with the window: no late signals
        self.jobs.shutdown()
        self.suggest_jobs.shutdown()
        self.mask_jobs.shutdown()
        for stop in getattr(self, "on_shutdown", ()):  # the toolset's workers (toolset.py)
            stop()
        self.load_jobs.shutdown()
        self.styles_panel.shutdown()
        self.live_preview.close()
        self.scratch_preview.close()
        QThreadPool.globalInstance().waitForDone(30000)
        self.autosave_pool.waitForDone(30000)
        self.history.close_cache()  # the undo disk cache is deleted

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if not self.confirm_discard("closing"):  # Save / Discard / Cancel
            event.ignore()
            return
        self.save_settings()
        self.shutdown()  # jobs and background autosaves finish first
        self.end_recovery()  # the session's last state, marked closed
        event.accept()

    # ------------------------------------------------------------------------- test helpers

    def canvas_point(self, x: float, y: float) -> QPointF:
        """Widget position of image pixel (x, y) (for tests and scripts)."""
        return self.canvas.image_to_widget(x, y)
