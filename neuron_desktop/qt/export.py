"""Export options (JPEG quality, remembered) and File ▸ Export before/after…

The before/after picture (``core.before_after``) is composed, encoded and written on a
worker, atomically, never over the original photo, and carries the edit record (XMP) like
every other export when File ▸ Embed edit record is on.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QVBoxLayout,
)

from neuron_desktop.core.errors import NeuronError
from neuron_desktop.core.outputs import same_file
from neuron_desktop.core.progress import Progress
from neuron_desktop.qt.documents import EXPORT_FILTERS, with_filter_extension
from neuron_desktop.qt.workers import JobManager, JobSpec

log = logging.getLogger(__name__)
QUALITY_KEY = "export/jpeg_quality"
DEFAULT_QUALITY = 95


def jpeg_quality(settings) -> int:
    """The remembered JPEG quality (1..100, default 95)."""
    try:
        return min(max(int(settings.value(QUALITY_KEY, DEFAULT_QUALITY)), 1), 100)
    except (TypeError, ValueError):
        return DEFAULT_QUALITY


class ExportOptionsDialog(QDialog):
    """JPEG quality as a slider and a spin box (kept in step)."""

    def __init__(self, parent, quality: int) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export options")
        v = QVBoxLayout(self)
        form = QFormLayout()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(1, 100)
        self.spin = QSpinBox()
        self.spin.setRange(1, 100)
        for w in (self.slider, self.spin):
            w.setValue(quality)
            w.setToolTip("Higher keeps more detail in a larger file; 95 is hard to tell from "
                         "the original, 80 is a good size for sharing")
        self.slider.valueChanged.connect(self.spin.setValue)
        self.spin.valueChanged.connect(self.slider.setValue)
        row = QHBoxLayout()
        row.addWidget(self.slider, 1)
        row.addWidget(self.spin)
        form.addRow("JPEG quality", row)
        v.addLayout(form)
        note = QLabel("Used for JPEG exports (File ▸ Export… and Export before/after…). "
                      "PNG and TIFF are lossless.")
        note.setWordWrap(True)
        note.setStyleSheet("color: #999")
        v.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        v.addWidget(buttons)

    @property
    def quality(self) -> int:
        return self.spin.value()


def write_before_after(path: Path, before, after, quality: int, icc, source, record):
    """Compose and write the picture (a pipeline: runs on a worker)."""
    from neuron_desktop.core.before_after import side_by_side
    from neuron_desktop.core.imageio import save_image
    from neuron_desktop.core.record import add_record

    yield Progress(0.1, "Composing before/after")
    picture = side_by_side(before, after)
    yield Progress(0.5, f"Writing {path.name}")
    out = save_image(path, picture, icc_profile=icc, quality=quality, source=source)
    if record is not None:
        add_record(out, record)
    return out


class ExportWiring(QObject):
    """File ▸ Export before/after… and File ▸ Export options…"""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = w = window
        self.jobs = JobManager(w)
        self.jobs.progress.connect(w._job_progress)
        self.jobs.busyChanged.connect(lambda b: w._busy(b or w.jobs.busy))
        self.jobs.finished.connect(self._written)
        self.jobs.error.connect(lambda _n, exc, _s: self._failed(exc))
        self.act_before_after = w._action(
            "Export &before/after…", "mdi6.compare", None, lambda: self.export_before_after(),
            "Save the original and the result side by side, labelled, in one picture")
        self.act_options = w._action("Export &options…", "mdi6.tune-variant", None,
                                     lambda: self.show_options(),
                                     f"JPEG quality (now {jpeg_quality(w.settings)})")
        menus = {a.text(): a.menu() for a in w.menuBar().actions() if a.menu() is not None}
        file_menu = menus["&File"]
        after = file_menu.actions()[file_menu.actions().index(w.act_save) + 1]
        file_menu.insertActions(after, [self.act_before_after, self.act_options])
        self.dialog: ExportOptionsDialog | None = None
        self.last: Path | None = None
        w.documentOpened.connect(lambda _d: self.update_state())
        w.history.indexChanged.connect(lambda _i: self.update_state())
        self.update_state()

    def update_state(self) -> None:
        self.act_before_after.setEnabled(self.w.doc is not None)

    @property
    def quality(self) -> int:
        return jpeg_quality(self.w.settings)

    def show_options(self) -> ExportOptionsDialog:
        """The options dialog (window-modal; remembered when accepted)."""
        self.dialog = ExportOptionsDialog(self.w, self.quality)
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.accepted.connect(lambda: self.set_quality(self.dialog.quality))
        self.dialog.open()
        return self.dialog

    def set_quality(self, quality: int) -> None:
        self.w.settings.setValue(QUALITY_KEY, int(quality))
        self.act_options.setToolTip(f"JPEG quality (now {int(quality)})")

    def export_before_after(self, path: str | Path | None = None, *, wait: bool = False) -> bool:
        w = self.w
        doc = w.doc
        if doc is None or not w._settle_live_result():
            return False
        if path is None:
            src = doc.path or Path.home() / "photo.png"
            path, chosen = QFileDialog.getSaveFileName(
                w, "Export before/after", str(src.with_name(f"{src.stem}_before_after.jpg")),
                EXPORT_FILTERS.replace("PNG (*.png);;JPEG (*.jpg *.jpeg)",
                                       "JPEG (*.jpg *.jpeg);;PNG (*.png)"))
            if not path:
                return False
            path = with_filter_extension(path, chosen)
        path = Path(path)
        if doc.path is not None and same_file(path, doc.path):
            w.show_error("Cannot export", f"“{path.name}” is the original photo; Neuron never "
                         "overwrites an original. Choose another name.")
            return False
        record = w.export_record(path) if w.act_record.isChecked() else None
        icc = doc.source.icc_profile if doc.source is not None else None
        before, after = doc.original.copy(), doc.image.copy()
        spec = JobSpec(f"Export before/after to {path.name}",
                       lambda _dev, _cancel: write_before_after(
                           path, before, after, self.quality, icc, doc.path, record),
                       device="cpu")
        return w._run_or_submit(self.jobs, spec, self._written,
                                lambda _n, exc, _s: self._failed(exc), wait)

    def _written(self, _name: str, out, _spec=None) -> None:
        self.last = Path(out)
        self.w.statusBar().showMessage(f"Exported before/after {out}", 5000)

    def _failed(self, exc) -> None:
        log.warning("before/after export failed: %s", exc)
        text = str(exc) if isinstance(exc, NeuronError | OSError) else repr(exc)
        self.w.show_error("Cannot export before/after", text)


def install(window) -> ExportWiring:
    window.export_wiring = ExportWiring(window)
    return window.export_wiring
