"""The main window: wires canvas, tools, panels, history, workers, settings and recovery.

The GUI thread never does heavy work: photos are decoded and their display pyramids built
on the worker pool; jobs get cheap copy-on-write snapshots of the document (copied on the
worker) and hand back tile diffs computed there, checked against the document's layer
revisions before they become one undoable step.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import qtawesome as qta
from PySide6.QtCore import (
    QLockFile,
    QPointF,
    QRunnable,
    QSettings,
    QStandardPaths,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QActionGroup, QImage, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QTabWidget,
    QToolButton,
    QUndoView,
    QVBoxLayout,
    QWidget,
)

from neuron_desktop import __version__
from neuron_desktop.core.device import available_devices, describe_device, is_out_of_memory
from neuron_desktop.core.document import Document, Snapshot, TileDiff
from neuron_desktop.core.errors import NeuronError
from neuron_desktop.core.imageio import SUPPORTED_EXTENSIONS, load_mask, save_mask
from neuron_desktop.core.progress import Pipeline, Progress, run_pipeline
from neuron_desktop.pipelines.stylize import style_title
from neuron_desktop.qt import panels
from neuron_desktop.qt.canvas import Canvas, build_pyramids
from neuron_desktop.qt.commands import EditCommand, History
from neuron_desktop.qt.panels import (
    BrushPanel,
    ColorizePanel,
    HintPanel,
    InpaintPanel,
    LayersPanel,
    RefinePanel,
    StylizePanel,
    rgb_to_lab_px,
)
from neuron_desktop.qt.qimage import Pyramid, to_qimage
from neuron_desktop.qt.styles import StylesPanel
from neuron_desktop.qt.tools import BrushTool, HintTool
from neuron_desktop.qt.workers import JobManager, JobSpec, tensor_preview

IMAGE_FILTER = "Images ({})".format(" ".join(f"*{e}" for e in SUPPORTED_EXTENSIONS))
MAX_RECENT = 10
DEFAULT_AUTOSAVE_MIN = 3.0
RECOVERY_SLOTS = 8  # instances running at once, each with its own locked recovery folder
LIVE_PREVIEW_SIDE = 2048
LAYOUT_VERSION = 2  # saved dock layouts of other versions are ignored


def _to_array(result) -> np.ndarray:
    """Pipeline result (1, 3, H, W) tensor -> float32 (H, W, 3) in [0, 1] (worker thread)."""
    from neuron_desktop.core.imageio import from_tensor

    return np.ascontiguousarray(np.clip(from_tensor(result), 0.0, 1.0), dtype=np.float32)


def _to_mask(result) -> np.ndarray:
    from neuron_desktop.core.imageio import from_tensor

    m = from_tensor(result)
    return np.ascontiguousarray(np.clip(m if m.ndim == 2 else m[..., 0], 0, 1), np.float32)


@dataclass
class JobResult:
    """A job's output as prepared on the worker: tile diffs against the snapshot the job
    started from (``layer`` first), and for live colorization the preview to show."""

    layer: str
    diffs: list[TileDiff]
    preview: QImage | None = None


@dataclass
class Opened:
    """A loaded photo with its display pyramids; ``restore`` diffs (original -> recovered
    state, already applied) and hints when it comes from the recovery folder."""

    doc: Document
    pyramids: dict[str, Pyramid]
    restore: list[TileDiff] = field(default_factory=list)
    hints: tuple = ()


def load_document(path: str | Path, mask_style, recovery: bool = False) -> Pipeline[Opened]:
    """Decode ``path`` (or the recovery folder ``path``) and build its display pyramids:
    a pipeline, run on a worker when a photo is opened."""
    yield Progress(0.0, f"Reading {Path(path).name}")
    doc = Document.from_recovery(path) if recovery else Document.open(path)
    restore = []
    if recovery:
        restore = [d for d in (TileDiff.from_arrays("image", doc.original, doc.image),
                               TileDiff.from_arrays("mask", np.zeros_like(doc.mask), doc.mask))
                   if not d.empty]
    yield Progress(0.5, "Preparing the display")
    return Opened(doc, build_pyramids(doc, mask_style), restore, doc.hints)


def _inputs(snap: Snapshot, convert):
    """``get()`` -> ``convert(snap)``, computed once on the worker, then the snapshot is
    released (later calls, e.g. out-of-memory retries, reuse the converted inputs)."""
    done = []

    def get():
        if not done:
            with snap:
                done.append(convert(snap))
        return done[0]

    return get


def _prepare_result(snap: Snapshot, layer: str, clear_mask: bool = False,
                    preview: bool = False, add: bool = False):
    """Worker-side postprocess: result tensor -> array -> tile diffs against ``snap``
    (``add``: the result is added to the layer, e.g. a detected mask to the painted one)."""

    def post(result) -> JobResult:
        arr = (_to_array if layer == "image" else _to_mask)(result)
        base = getattr(snap, layer)
        if arr.shape != base.shape:
            raise ValueError(f"the result has shape {arr.shape}, expected {base.shape}")
        if add:
            arr = np.maximum(arr, base)
        diffs = [TileDiff.from_arrays(layer, base, arr)]
        if clear_mask:
            diffs.append(TileDiff.from_arrays("mask", snap.mask, np.zeros_like(snap.mask)))
        shown = to_qimage(tensor_preview(arr, LIVE_PREVIEW_SIDE)) if preview else None
        return JobResult(layer, [d for d in diffs if not d.empty], shown)

    return post


def _scrolled(widget: QWidget) -> QScrollArea:
    sa = QScrollArea()
    sa.setWidgetResizable(True)
    sa.setFrameShape(QScrollArea.Shape.NoFrame)
    sa.setWidget(widget)
    return sa


def _as_list(value) -> list[str]:
    """A QSettings list (a lone string or None when it has one or no entries)."""
    return [value] if isinstance(value, str) else [str(v) for v in value or []]


def _model_kwargs() -> dict:
    """``model=`` for the colorization pipeline when ``panels.colorize_model`` gives one."""
    model = panels.colorize_model()
    return {} if model is None else {"model": model}


class _RecoveryWriter(QRunnable):
    """Writes a document snapshot to the recovery folder off the GUI thread."""

    def __init__(self, doc: Document, snap: Snapshot, folder: Path) -> None:
        super().__init__()
        self.doc, self.snap, self.folder = doc, snap, folder

    def run(self) -> None:
        snap = self.snap
        try:
            with snap:  # private copies, so editing goes on without copy-on-write
                snap.image, snap.mask = snap.image.copy(), snap.mask.copy()
            self.doc.write_recovery(self.folder, snapshot=snap)
        except Exception:  # autosave must never disturb editing
            pass


class MainWindow(QMainWindow):
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
        if recovery_dir is None:
            base = QStandardPaths.writableLocation(
                QStandardPaths.StandardLocation.AppLocalDataLocation)
            recovery_dir = Path(base or Path.home() / ".neuron-desktop") / "recovery"
        self.recovery_dir, self._instance_lock = self._claim_recovery_dir(Path(recovery_dir))
        self.error_box: QMessageBox | None = None
        self.recovery_box: QMessageBox | None = None
        self._pending_live: tuple[JobResult, Snapshot, tuple] | None = None
        self._job_started = 0.0
        self._autosaved_at = -1

        limit_mb = int(self.settings.value("history/limit_mb", 1024))
        self.history = History(self, byte_limit=limit_mb * 2**20)
        self.canvas = Canvas(self)
        self.setCentralWidget(self.canvas)
        self.jobs = JobManager(self)
        self.suggest_jobs = JobManager(self)
        self.mask_jobs = JobManager(self)  # whole-mask edits: off the GUI thread, own queue
        # photos load on their own pool: never queued behind long jobs
        self.load_jobs = JobManager(self, pool=QThreadPool(self))
        self.brush = BrushTool(self.canvas, self.history, lambda: self.doc)
        self.hint_tool = HintTool(self.canvas, self.history, lambda: self.doc)
        self.live_timer = QTimer(self)
        self.live_timer.setSingleShot(True)
        self.live_timer.setInterval(150)
        self.live_timer.timeout.connect(lambda: self.run_colorize(live=True))

        self._build_actions()
        self._build_docks()
        self._build_menus()
        self._build_toolbar()
        self._build_statusbar()
        self._connect()
        self.load_settings()
        self.set_tool("brush")

        minutes = autosave_minutes if autosave_minutes is not None else float(
            self.settings.value("autosave/minutes", DEFAULT_AUTOSAVE_MIN))
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(max(int(minutes * 60_000), 1000))
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
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
        self.act_before = A("Show &original", "mdi6.compare", None, self.canvas.set_show_original,
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
        self.act_restore = A("Restore last session…", None, None,
                             lambda: self.offer_recovery(force=True))
        self.act_about = A("&About", None, None, self._about)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        f.addAction(self.act_open)
        self.recent_menu = f.addMenu("Open &recent")
        f.addAction(self.act_save)
        f.addSeparator()
        f.addActions([self.act_import_mask, self.act_export_mask])
        f.addSeparator()
        f.addAction(self.act_restore)
        f.addSeparator()
        f.addAction(self.act_quit)
        e = mb.addMenu("&Edit")
        e.addActions([self.act_undo, self.act_redo])
        e.addSeparator()
        e.addActions([self.act_clear_mask, self.act_invert_mask])
        v = mb.addMenu("&View")
        v.addActions([self.act_fit, self.act_100, self.act_zoom_in, self.act_zoom_out])
        v.addSeparator()
        v.addActions([self.act_before, self.act_split])
        v.addSeparator()
        for dock in self.docks.values():
            v.addAction(dock.toggleViewAction())
        t = mb.addMenu("&Tools")
        t.addActions([self.act_brush, self.act_eraser, self.act_hints, self.act_pan])
        t.addSeparator()
        t.addActions([self.act_smaller, self.act_bigger])
        j = mb.addMenu("&Image")
        for name in self.operations:
            a = QAction(f"{name}…", self)
            a.triggered.connect(lambda _=False, n=name: self._show_operation(n))
            j.addAction(a)
        j.addSeparator()
        j.addAction(self.act_cancel)
        mb.addMenu("&Help").addAction(self.act_about)

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
        self.inpaint_panel = InpaintPanel()
        self.colorize_panel = ColorizePanel()
        self.refine_panel = RefinePanel()
        self.stylize_panel = StylizePanel()
        self.operations = {"Colorize": self.colorize_panel, "Inpaint": self.inpaint_panel,
                           "Refine": self.refine_panel, "Stylize": self.stylize_panel}
        self.op_tabs = QTabWidget()
        for name, panel in self.operations.items():  # scrolled: a long form never squeezes
            self.op_tabs.addTab(_scrolled(panel), name)  # the docks above
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
        self.resizeDocks([self.docks["tools"]], [340], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["history"]], [200], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["tools"], self.docks["operations"]], [640, 250],
                         Qt.Orientation.Vertical)
        from neuron_desktop.pipelines import inpaint as inpaint_mod

        if not hasattr(inpaint_mod, "detect_scratches"):
            self.brush_panel.detect.setEnabled(False)
            self.brush_panel.detect.setToolTip("Arrives with the inpainting model")

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
        c.fileDropped.connect(self._dropped)
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
        hp.clearRequested.connect(self.hint_tool.clear)
        self.hint_tool.selectionChanged.connect(self._hint_selected)
        self.hint_tool.hintsEdited.connect(self._hints_edited)
        self.inpaint_panel.applyRequested.connect(self.run_inpaint)
        self.refine_panel.applyRequested.connect(self.run_refine)
        self.colorize_panel.applyRequested.connect(lambda: self.run_colorize(live=False))
        self.stylize_panel.applyRequested.connect(self.run_stylize)
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
        self.mask_jobs.finished.connect(self._mask_job_finished)
        self.mask_jobs.error.connect(self._job_error)
        self.history.indexChanged.connect(lambda _i: self._update_actions())
        self.history.cleanChanged.connect(lambda _c: self._update_title())

    # ------------------------------------------------------------------------- documents

    def open_file(self, path: str | Path | None = None, *, wait: bool = False) -> bool:
        """Open a photo: decoded and prepared on a worker (the window stays responsive and
        shows progress); ``documentOpened`` or an error dialog follows. ``wait`` loads on
        the calling thread instead (scripts). Returns False when nothing was started or,
        with ``wait``, the file could not be opened."""
        if path is None:
            start = self.settings.value("paths/last_dir", str(Path.home()))
            path, _ = QFileDialog.getOpenFileName(self, "Open photo", start, IMAGE_FILTER)
            if not path:
                return False
        return self._load(str(path), recovery=False, wait=wait)

    def _load(self, path: str, *, recovery: bool, wait: bool) -> bool:
        style = (self.canvas.mask_color, self.canvas.mask_opacity)
        name = "Restoring the session" if recovery else f"Opening {Path(path).name}"
        spec = JobSpec(name, lambda _d, _t, _c: load_document(path, style, recovery),
                       device="cpu", payload={"path": path, "recovery": recovery})
        return self._run_or_submit(self.load_jobs, spec, self._opened, self._open_failed, wait)

    def _run_or_submit(self, jobs: JobManager, spec: JobSpec, done, failed, wait: bool) -> bool:
        """Submit ``spec`` to ``jobs`` (its signals call ``done``/``failed``), or with
        ``wait`` run it here on the CPU and call them directly (scripts and tests). Returns
        False only when a waited-for job failed."""
        if not wait:
            jobs.submit(spec)
            return True
        try:
            result = run_pipeline(spec.make(None, None, None))
            if spec.postprocess is not None:
                result = spec.postprocess(result)
        except Exception as exc:  # noqa: BLE001 - shown like a worker's error
            failed(spec.name, exc, spec)
            return False
        done(spec.name, result, spec)
        return True

    def _opened(self, name: str, opened: Opened, spec: JobSpec) -> None:
        doc = opened.doc
        self.set_document(doc, opened.pyramids)
        if spec.payload["recovery"]:
            # already applied on the worker: pushed without re-applying, one undoable step
            cmd = EditCommand(doc, "Restored session", diffs=opened.restore, hints=opened.hints)
            cmd.old_hints = ()
            if not cmd.changes_nothing:
                cmd.silent = True
                self.history.push(cmd)
                cmd.silent = False
            self.statusBar().showMessage("Session restored", 5000)
        else:
            path = Path(spec.payload["path"]).resolve()
            self.add_recent(str(path))
            self.settings.setValue("paths/last_dir", str(path.parent))
            self.statusBar().showMessage(f"Opened {path} ({doc.width}×{doc.height})", 5000)
        self.documentOpened.emit(doc)

    def _open_failed(self, name: str, exc, spec: JobSpec) -> None:
        text = str(exc) if isinstance(exc, NeuronError) else f"{type(exc).__name__}: {exc}"
        title = "Cannot restore" if spec.payload["recovery"] else "Cannot open the photo"
        self.show_error(title, text)

    def set_document(self, doc: Document | None,
                     pyramids: dict[str, Pyramid] | None = None) -> None:
        self.jobs.cancel()
        self.suggest_jobs.cancel()
        self.live_timer.stop()
        self._pending_live = None
        self.history.clear()
        self.history._sync()
        self.doc = doc
        self.canvas.set_document(doc, pyramids)
        self.act_before.setChecked(False)
        self._update_title()
        self._update_actions()

    def _update_title(self) -> None:
        name = self.doc.path.name if self.doc is not None and self.doc.path else None
        dirty = "" if self.history.isClean() else " •"
        self.setWindowTitle(f"{name}{dirty} — Neuron Desktop" if name else "Neuron Desktop")

    def _update_actions(self) -> None:
        has = self.doc is not None
        for a in (self.act_save, self.act_fit, self.act_100, self.act_zoom_in, self.act_zoom_out,
                  self.act_clear_mask, self.act_invert_mask, self.act_import_mask,
                  self.act_export_mask, self.act_before, self.act_split):
            a.setEnabled(has)
        self.act_cancel.setEnabled(self.jobs.busy)
        self._update_title()

    def save_as(self, path: str | Path | None = None, *, overwrite: bool = False) -> bool:
        if self.doc is None:
            return False
        if path is None:
            src = self.doc.path or Path.home() / "photo.png"
            default = src.with_name(f"{src.stem}_restored.png")
            path, _ = QFileDialog.getSaveFileName(
                self, "Export result", str(default),
                "PNG (*.png);;JPEG (*.jpg *.jpeg);;TIFF (*.tif *.tiff)")
            if not path:
                return False
        try:
            out = self.doc.save(path, overwrite=overwrite)
        except NeuronError as exc:
            self.show_error("Cannot export", str(exc))
            return False
        self.history.setClean()
        self.statusBar().showMessage(f"Exported {out}", 5000)
        return True

    # ------------------------------------------------------------------------- recent files

    def recent_files(self) -> list[str]:
        return _as_list(self.settings.value("recent", []))

    def add_recent(self, path: str) -> None:
        files = [path, *[p for p in self.recent_files() if p != path]][:MAX_RECENT]
        self.settings.setValue("recent", files)
        self._rebuild_recent()

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for p in files:
            a = self.recent_menu.addAction(Path(p).name)
            a.setToolTip(p)
            a.triggered.connect(lambda _=False, p=p: self.open_file(p))
        self.recent_menu.setEnabled(bool(files))

    # -------------------------------------------------------------------------------- tools

    def set_tool(self, tool: str) -> None:
        self.canvas.tool = tool
        {"brush": self.act_brush, "hints": self.act_hints, "pan": self.act_pan}[tool].setChecked(
            True)
        self.brush_panel.setVisible(tool == "brush")
        self.hint_panel.setVisible(tool == "hints")
        self.canvas.setCursor(Qt.CursorShape.OpenHandCursor if tool == "pan"
                              else Qt.CursorShape.CrossCursor)
        if tool == "hints":
            self._show_operation("Colorize")
        elif tool == "brush":
            self._show_operation("Inpaint")
        if tool != "pan":
            self.docks["tools"].raise_()
        self.canvas.update()

    def _show_operation(self, name: str) -> None:
        self.op_tabs.setCurrentIndex(list(self.operations).index(name))
        self.docks["operations"].raise_()

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

    def _dropped(self, path: str) -> None:
        self.open_file(path)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt API)
        """Files dropped on the Styles dock become styles; elsewhere the first one opens."""
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if not urls:
            return
        dock = self.docks["styles"]
        at = dock.mapFromGlobal(self.mapToGlobal(event.position().toPoint()))
        if dock.isVisible() and dock.rect().contains(at):
            self.styles_panel.add_files(urls)
        else:
            self.open_file(urls[0])
        event.acceptProposedAction()

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

    # --------------------------------------------------------------------------------- mask

    def _mask_job(self, name: str, compute, wait: bool) -> bool:
        """Replace the whole mask by ``compute(mask)`` as one undoable step. The new mask and
        its tile diffs are computed on a worker (a 24 MP mask costs seconds), or here with
        ``wait``. Returns False if there is no photo (or, with ``wait``, the edit failed)."""
        doc = self.doc
        if doc is None:
            return False
        snap = doc.snapshot("mask")
        new_mask = _inputs(snap, lambda s: np.ascontiguousarray(compute(s.mask), np.float32))

        def make(device, tile, cancel):
            import torch

            yield Progress(0.0, name)
            return torch.from_numpy(new_mask())[None, None]

        spec = JobSpec(name, make, device="cpu", postprocess=_prepare_result(snap, "mask"),
                       payload={"doc": doc, "snap": snap})
        self._job_started = time.perf_counter()
        return self._run_or_submit(self.mask_jobs, spec, self._mask_job_finished,
                                   self._job_error, wait)

    def _mask_job_finished(self, name: str, result: JobResult, spec: JobSpec) -> None:
        doc = spec.payload["doc"]
        if doc is self.doc and doc is not None:
            self._commit_result(name, result, doc, spec.payload["snap"])

    def clear_mask(self, wait: bool = False) -> bool:
        if self.doc is None or not self.doc.has_mask:
            return False
        return self._mask_job("Clear mask", np.zeros_like, wait)

    def invert_mask(self, wait: bool = False) -> bool:
        return self._mask_job("Invert mask", lambda m: 1.0 - m, wait)

    def import_mask(self, path: str | Path | None = None, wait: bool = False) -> bool:
        """Load a mask PNG (white = fill) on a worker; its size must match the photo."""
        if self.doc is None:
            return False
        if path is None:
            start = str(self.doc.path.parent) if self.doc.path else ""
            path, _ = QFileDialog.getOpenFileName(self, "Import mask", start, IMAGE_FILTER)
            if not path:
                return False
        size = (self.doc.width, self.doc.height)
        return self._mask_job("Import mask", lambda _m: load_mask(path, size), wait)

    def export_mask(self, path: str | Path | None = None) -> bool:
        if self.doc is None:
            return False
        if path is None:
            src = self.doc.path or Path.home() / "photo.png"
            path, _ = QFileDialog.getSaveFileName(self, "Export mask",
                                                  str(src.with_name(f"{src.stem}_mask.png")),
                                                  "PNG (*.png)")
            if not path:
                return False
        try:
            save_mask(path, self.doc.mask)
        except NeuronError as exc:
            self.show_error("Cannot export the mask", str(exc))
            return False
        self.statusBar().showMessage(f"Mask saved to {path}", 5000)
        return True

    # -------------------------------------------------------------------------------- hints

    def _hint_selected(self, index: int) -> None:
        doc = self.doc
        if doc is None or not 0 <= index < len(doc.hints):
            self.hint_panel.suggested.set_colors([])
            return
        h = doc.hints[index]
        L = rgb_to_lab_px(tuple(doc.image[h.y, h.x]))[0]
        self.hint_panel.picker.set_state(L, h.rgb)
        self.hint_panel.show_color(h.rgb)
        self.hint_panel.size.blockSignals(True)
        self.hint_panel.size.setValue(h.size)
        self.hint_panel.size.blockSignals(False)
        self.hint_tool.size = h.size
        self.request_suggestions(index)

    def _hint_color(self, rgb) -> None:
        self.hint_tool.set_color(rgb)
        self.hint_panel.show_color(rgb)
        self.hint_panel.recent.set_colors(self.hint_tool.recent)

    def _hints_edited(self) -> None:
        self.hint_panel.recent.set_colors(self.hint_tool.recent)
        sel = self.canvas.selected_hint
        if self.doc is not None and 0 <= sel < len(self.doc.hints):
            h = self.doc.hints[sel]
            L = rgb_to_lab_px(tuple(self.doc.image[h.y, h.x]))[0]
            self.hint_panel.picker.set_state(L, h.rgb)
        if self.colorize_panel.available and self.colorize_panel.live.isChecked():
            self.live_timer.start()

    def request_suggestions(self, index: int) -> None:
        module = self.colorize_panel.module
        if module is None or not hasattr(module, "suggest_colors") or self.doc is None:
            return
        from neuron_desktop.core.imageio import to_tensor

        snap = self.doc.snapshot("image")
        hints = list(snap.hints)
        point = (hints[index].x, hints[index].y)
        image = _inputs(snap, lambda s: to_tensor(s.image))

        def make(device, tile, cancel):
            yield Progress(0.0, "Suggesting colours")
            return module.suggest_colors(image().to(device), hints, point, 8, **_model_kwargs())

        self.suggest_jobs.submit(JobSpec("Suggest colours", make, device=self.device_pref()))

    def _suggestions(self, name, result, spec) -> None:
        colors = [tuple(float(c) for c in rgb) for rgb, _p in result]
        tips = [f"p = {p:.2f}" for _rgb, p in result]
        self.hint_panel.suggested.set_colors(colors, tips)

    # --------------------------------------------------------------------------------- jobs

    def device_pref(self) -> str:
        return self.device_combo.currentData() or "auto"

    def cancel_jobs(self) -> None:
        self.load_jobs.cancel()
        self.jobs.cancel()

    def _submit(self, name: str, make, snap: Snapshot, *, layer: str = "image",
                clear_mask: bool = False, live: bool = False, add: bool = False,
                **payload) -> int | None:
        """Run ``make`` (which reads its inputs from ``snap`` on the worker); the result
        comes back as a :class:`JobResult` with its tile diffs computed there too."""
        if self.doc is None:
            return None
        spec = JobSpec(name, make, device=self.device_pref(),
                       postprocess=_prepare_result(snap, layer, clear_mask, preview=live, add=add),
                       payload={"doc": self.doc, "snap": snap, "live": live, **payload})
        self._job_started = time.perf_counter()
        return self.jobs.submit(spec)

    def run_inpaint(self) -> int | None:
        doc = self.doc
        if doc is None:
            return None
        if not doc.has_mask:
            self.show_error("Nothing to inpaint",
                            "Paint over the scratches and damaged areas with the mask brush "
                            "(or import a mask) first.")
            return None
        import torch

        from neuron_desktop.core.imageio import to_tensor
        from neuron_desktop.pipelines.inpaint import inpaint

        snap = doc.snapshot("image", "mask")
        inputs = _inputs(snap, lambda s: (to_tensor(s.image), torch.from_numpy(s.mask.copy())))
        params = self.inpaint_panel.params()

        def make(device, tile, cancel):
            image, mask = inputs()
            return inpaint(image.to(device), mask.to(device), method=params["method"],
                           radius=params["radius"], device=device, cancel=cancel)

        return self._submit(f"Inpaint ({params['method']})", make, snap,
                            clear_mask=self.inpaint_panel.clear_mask.isChecked())

    def run_refine(self) -> int | None:
        if self.doc is None:
            return None
        from neuron_desktop.core.imageio import to_tensor
        from neuron_desktop.pipelines.refine import refine_colors

        snap = self.doc.snapshot("image")
        image = _inputs(snap, lambda s: to_tensor(s.image))
        params = self.refine_panel.params()

        def make(device, tile, cancel):
            return refine_colors(image().to(device), cancel=cancel, **params)

        return self._submit("Refine colours", make, snap)

    def run_colorize(self, live: bool = False) -> int | None:
        module = self.colorize_panel.module
        if self.doc is None or module is None:
            return None
        hints = tuple(self.doc.hints)
        pending = self._pending_live
        if (not live and pending is not None and pending[1].unchanged(self.doc, "image")
                and pending[2] == hints):
            self._commit_result("Colorize", pending[0], self.doc, pending[1])
            return None
        from neuron_desktop.core.imageio import to_tensor

        snap = self.doc.snapshot("image")
        image = _inputs(snap, lambda s: to_tensor(s.image))
        params = self.colorize_panel.params()

        def make(device, tile, cancel):
            return module.colorize(image().to(device), hints=list(hints), device=device,
                                   **params, **_model_kwargs())

        return self._submit("Colorize", make, snap, live=live, hints=hints)

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
        self.stylize_panel.set_image_style(path)
        self.stylize_panel.set_method("gatys")
        self._show_operation("Stylize")

    def _style_gone(self, path: str, message: str | None = None) -> None:
        """A style image was removed, or could not be read (``message``)."""
        if self.stylize_panel.image_style == path:
            self.stylize_panel.set_image_style(None)
        if message:
            self.show_error("Cannot use the style image", message)

    def run_stylize(self) -> int | None:
        """Fast (gallery styles, a blend when several) or Gatys (a style image, its
        picture forming as previews); the full-resolution result is one undoable step."""
        module = self.stylize_panel.module
        params = self.stylize_panel.params()
        if self.doc is None or module is None or params["style"] is None:
            return None
        from neuron_desktop.core.imageio import load_image, to_tensor

        snap = self.doc.snapshot("image")
        image = _inputs(snap, lambda s: to_tensor(s.image))
        style = params.pop("style")
        gatys = params["method"] == "gatys"
        if gatys:
            name = f"Stylize ({Path(style).stem})"
        elif isinstance(style, dict):
            name = f"Stylize (blend of {len(style)} styles)"
        else:
            name = f"Stylize ({style_title(style)})"

        def make(device, tile, cancel):
            used = to_tensor(load_image(style).rgb) if gatys else style
            return module.stylize(image().to(device), style=used, full_resolution=True,
                                  device=device, cancel=cancel, **params)

        return self._submit(name, make, snap)

    def _job_started_slot(self, name: str, device: str) -> None:
        self.statusBar().showMessage(f"{name} on {device}…")

    def _job_progress(self, fraction: float, text: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.progress.setToolTip(text)

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.act_cancel.setEnabled(busy)
        if busy:
            self.progress.setValue(0)

    def _job_finished(self, name: str, result: JobResult, spec: JobSpec) -> None:
        doc, snap = spec.payload.get("doc"), spec.payload.get("snap")
        if name == "Colorize" and spec.payload.get("live"):
            if doc is self.doc and snap.unchanged(doc, "image"):
                self._pending_live = (result, snap, spec.payload["hints"])
                self.canvas.set_preview(result.preview)
                self.statusBar().showMessage("Live colorization updated — Apply to keep it",
                                             5000)
            return
        self.canvas.set_preview(None)
        if doc is not self.doc or doc is None:
            return
        self._commit_result(name, result, doc, snap)

    def _commit_result(self, name: str, result: JobResult, doc: Document,
                       snap: Snapshot) -> None:
        """Push the worker-computed diffs as one step if the layer they replace is unchanged
        since the job started (else discard them: the document is never half modified)."""
        if not snap.unchanged(doc, result.layer):
            self.statusBar().showMessage(f"{name}: the photo changed meanwhile; result "
                                         "discarded", 8000)
            return
        # a mask cleared with the result stays as it is if it was painted on meanwhile
        diffs = [d for d in result.diffs if snap.unchanged(doc, d.layer)]
        cmd = EditCommand(doc, name, diffs=diffs)
        if result.layer == "image":
            self._pending_live = None
            self.canvas.set_preview(None)
        if not cmd.changes_nothing:
            self.history.push(cmd)
        took = time.perf_counter() - self._job_started
        self.statusBar().showMessage(f"{name} done in {took:.1f} s", 5000)

    def _pending_preview(self) -> QImage | None:
        return None if self._pending_live is None else self._pending_live[0].preview

    def _job_error(self, name: str, exc, spec: JobSpec | None = None) -> None:
        self.canvas.set_preview(self._pending_preview())
        if spec is not None and spec.payload.get("live"):  # no dialog storm while editing
            self.statusBar().showMessage(f"Live {name.lower()} failed: {exc}", 15000)
            return
        if is_out_of_memory(exc):
            text = (f"Not enough memory to run {name}, even on the CPU with small tiles. "
                    "Close other programs or work on a smaller photo.")
        elif isinstance(exc, NeuronError):
            text = str(exc)
        else:
            text = f"{type(exc).__name__}: {exc}"
        self.show_error(f"{name} failed", text + "\n\nThe photo was not changed.")

    def _job_cancelled(self, name: str) -> None:
        self.canvas.set_preview(self._pending_preview())
        self.statusBar().showMessage(f"{name} cancelled", 4000)

    def detect_scratches(self) -> int | None:
        from neuron_desktop.pipelines import inpaint as inpaint_mod

        detect = getattr(inpaint_mod, "detect_scratches", None)
        if self.doc is None or detect is None:
            return None
        from neuron_desktop.core.imageio import to_tensor

        snap = self.doc.snapshot("image", "mask")
        image = _inputs(snap, lambda s: to_tensor(s.image))

        method = self.brush_panel.detector.currentData()
        sensitivity = self.brush_panel.sensitivity.value() / 100

        def make(device, tile, cancel):
            return detect(image().to(device), method=method, sensitivity=sensitivity,
                          device=device, cancel=cancel)

        return self._submit("Detect scratches", make, snap, layer="mask", add=True)

    # ------------------------------------------------------------------------------ dialogs

    def show_error(self, title: str, text: str) -> QMessageBox:
        """A non-blocking, window-modal error dialog (kept in ``self.error_box``)."""
        box = QMessageBox(QMessageBox.Icon.Critical, title, text, QMessageBox.StandardButton.Ok,
                          self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.error_box = box
        box.open()
        self.statusBar().showMessage(f"{title}: {text.splitlines()[0]}", 10000)
        return box

    def _about(self) -> None:
        QMessageBox.about(self, "About Neuron Desktop",
                          f"<b>Neuron Desktop {__version__}</b><br>Photo restoration: "
                          "colorization, inpainting and style transfer, on your machine.")

    # ---------------------------------------------------------------------- crash recovery

    def autosave(self, *, clean_exit: bool = False, wait: bool = False) -> bool:
        """Write the document's state to the recovery folder (in the background unless
        ``wait``); skipped when nothing changed since the last autosave."""
        doc = self.doc
        if doc is None:
            return False
        stamp = (id(doc), doc.revision)
        if stamp == self._autosaved_at and not clean_exit:
            return False
        self._autosaved_at = stamp
        if wait:
            doc.write_recovery(self.recovery_dir, clean_exit=clean_exit)
        else:  # copied and written on a worker
            QThreadPool.globalInstance().start(
                _RecoveryWriter(doc, doc.snapshot(), self.recovery_dir))
        return True

    @staticmethod
    def _claim_recovery_dir(base: Path) -> tuple[Path, QLockFile | None]:
        """The first recovery folder (``base``, then ``base/instance-N``) whose lock no
        running instance holds: a second editor neither mistakes the first one's state for
        a crash nor overwrites it. Locks of crashed processes count as stale."""
        for i in range(RECOVERY_SLOTS):
            folder = base if i == 0 else base / f"instance-{i + 1}"
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError:
                break
            lock = QLockFile(str(folder / "instance.lock"))
            lock.setStaleLockTime(0)  # held for the whole session: stale only if its owner died
            if lock.tryLock(0):
                return folder, lock
        return base / f"instance-pid{os.getpid()}", None

    def offer_recovery(self, force: bool = False) -> QMessageBox | None:
        """After a crash (the last state was not written on a clean exit), ask whether to
        restore it; ``force`` offers the last session even after a clean exit."""
        state = Document.read_recovery_state(self.recovery_dir)
        if state is None or (state.get("clean_exit") and not force):
            if force:
                self.show_error("Nothing to restore", "No saved session was found.")
            return None
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(state.get("time", 0)))
        box = QMessageBox(QMessageBox.Icon.Question, "Restore your work?",
                          f"Neuron Desktop has unsaved work on {Path(state['original']).name} "
                          f"from {when}. Restore it?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.button(QMessageBox.StandardButton.Yes).setText("Restore")
        box.button(QMessageBox.StandardButton.No).setText("Discard")
        box.finished.connect(self._recovery_answer)
        self.recovery_box = box
        box.open()
        return box

    def _recovery_answer(self, result: int) -> None:
        """Restore on a worker; it becomes one undoable step over the original photo."""
        if result == QMessageBox.StandardButton.Yes:
            self._load(str(self.recovery_dir), recovery=True, wait=False)

    # ----------------------------------------------------------------------------- settings

    def load_settings(self) -> None:
        s = self.settings
        geo = s.value("window/geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        else:
            self.resize(1400, 900)
        state = s.value("window/state")
        if state is not None:
            self.restoreState(state, LAYOUT_VERSION)
        bp = self.brush_panel
        bp.size.setValue(int(s.value("brush/size", 40)))
        bp.hardness.setValue(int(s.value("brush/hardness", 70)))
        color = s.value("brush/overlay_color", "#ff4040")
        from PySide6.QtGui import QColor

        qc = QColor(str(color))
        bp.set_overlay((qc.red(), qc.green(), qc.blue()), float(s.value("brush/overlay_opacity",
                                                                        0.5)))
        bp.detector.setCurrentIndex(max(0, bp.detector.findData(
            str(s.value("scratches/detector", "auto")))))
        bp.sensitivity.setValue(int(s.value("scratches/sensitivity", 50)))
        self.hint_panel.size.setValue(int(s.value("hints/size", 9)))
        recent = s.value("hints/recent", [])
        if isinstance(recent, str):
            recent = [recent]
        try:
            self.hint_tool.recent = [tuple(float(v) for v in c.split(",")) for c in recent or []]
        except ValueError:
            self.hint_tool.recent = []
        self.hint_panel.recent.set_colors(self.hint_tool.recent)
        ip = self.inpaint_panel
        ip.set_method(str(s.value("inpaint/method", "auto")))
        ip.radius.setValue(int(s.value("inpaint/radius", 3)))
        rp = self.refine_panel
        rp.radius.setValue(int(s.value("refine/radius", 40)))
        rp.eps.setValue(float(s.value("refine/eps", 1e-4)))
        rp.subsample.setValue(int(s.value("refine/subsample", 1)))
        cp = self.colorize_panel
        cp.temperature.setValue(float(s.value("colorize/temperature", cp.temperature.value())))
        cp.live.setChecked(str(s.value("colorize/live", "true")).lower() == "true")
        st = self.stylize_panel
        st.strength.setValue(int(s.value("stylize/strength", 100)))
        st.preserve_color.setChecked(str(s.value("stylize/preserve_color")).lower() == "true")
        st.size.setValue(int(s.value("stylize/size", 512)))
        st.iterations.setValue(int(s.value("stylize/iterations", 300)))
        st.balance.setValue(int(s.value("stylize/balance", 50)))
        for p in _as_list(s.value("styles/images", [])):
            self.styles_panel.add_style(p)
        d = self.device_combo.findData(str(s.value("device", "auto")))
        self.device_combo.setCurrentIndex(max(d, 0))
        self._rebuild_recent()
        self._brush_settings()

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState(LAYOUT_VERSION))
        bp = self.brush_panel
        s.setValue("brush/size", bp.size.value())
        s.setValue("brush/hardness", bp.hardness.value())
        rgb, opacity = bp.overlay
        s.setValue("brush/overlay_color", "#{:02x}{:02x}{:02x}".format(*rgb))
        s.setValue("brush/overlay_opacity", opacity)
        s.setValue("scratches/detector", bp.detector.currentData())
        s.setValue("scratches/sensitivity", bp.sensitivity.value())
        s.setValue("hints/size", self.hint_panel.size.value())
        s.setValue("hints/recent", [",".join(f"{v:.4f}" for v in c)
                                    for c in self.hint_tool.recent])
        s.setValue("inpaint/method", self.inpaint_panel.method.currentData())
        s.setValue("inpaint/radius", self.inpaint_panel.radius.value())
        rp = self.refine_panel
        s.setValue("refine/radius", rp.radius.value())
        s.setValue("refine/eps", rp.eps.value())
        s.setValue("refine/subsample", rp.subsample.value())
        cp = self.colorize_panel
        s.setValue("colorize/temperature", cp.temperature.value())
        s.setValue("colorize/live", "true" if cp.live.isChecked() else "false")
        st = self.stylize_panel
        s.setValue("stylize/strength", st.strength.value())
        s.setValue("stylize/preserve_color", "true" if st.preserve_color.isChecked() else "false")
        s.setValue("stylize/size", st.size.value())
        s.setValue("stylize/iterations", st.iterations.value())
        s.setValue("stylize/balance", st.balance.value())
        s.setValue("styles/images", self.styles_panel.paths())
        s.setValue("device", self.device_pref())
        s.sync()

    def shutdown(self) -> None:
        """Stop timers and jobs and wait for the worker threads (idempotent)."""
        self.autosave_timer.stop()
        self.live_timer.stop()
        self.statusBar().clearMessage()  # stops the message timeout timer
        self.history.blockSignals(True)  # it is destroyed with the window: no late signals
        self.jobs.shutdown()
        self.suggest_jobs.shutdown()
        self.mask_jobs.shutdown()
        self.load_jobs.shutdown()
        self.styles_panel.shutdown()
        QThreadPool.globalInstance().waitForDone(30000)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.save_settings()
        self.shutdown()  # jobs and background autosaves finish first
        if self.doc is not None:
            try:
                self.autosave(clean_exit=True, wait=True)
            except Exception as exc:  # closing must not fail
                print(f"neuron-desktop: autosave on close failed: {exc}")
        if self._instance_lock is not None:
            self._instance_lock.unlock()
        event.accept()

    # ------------------------------------------------------------------------- test helpers

    def canvas_point(self, x: float, y: float) -> QPointF:
        """Widget position of image pixel (x, y) (for tests and scripts)."""
        return self.canvas.image_to_widget(x, y)
