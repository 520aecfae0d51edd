"""Documents in the editor: open (decoded on a worker), export, recent files."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QFileDialog

from neuron_desktop.core.document import Document, TileDiff
from neuron_desktop.core.errors import ImageTooLargeError, NeuronError
from neuron_desktop.core.outputs import same_file
from neuron_desktop.core.progress import Pipeline, Progress, run_pipeline
from neuron_desktop.core.record import add_record
from neuron_desktop.core.sessions import RestoredSession, load_session
from neuron_desktop.qt.canvas import build_pyramids
from neuron_desktop.qt.commands import EditCommand
from neuron_desktop.qt.qimage import IMAGE_FILTER, Pyramid
from neuron_desktop.qt.settings import as_list
from neuron_desktop.qt.workers import JobManager, JobSpec

MAX_RECENT = 10
PROJECT_FILTER = "Neuron project (*.neuron)"


EXPORT_FILTERS = "PNG (*.png);;JPEG (*.jpg *.jpeg);;TIFF (*.tif *.tiff)"


def with_filter_extension(path: str, chosen_filter: str) -> str:
    """``path`` with the chosen filter's first extension when it has none of its own."""
    if Path(path).suffix:
        return path
    import re

    m = re.search(r"\*(\.[A-Za-z0-9]+)", chosen_filter or "")
    return path + (m.group(1) if m else ".png")


@dataclass
class Opened:
    """A loaded photo with its display pyramids; ``restore`` diffs (original -> recovered
    state, already applied) and hints when it comes from the recovery folder."""

    doc: Document
    pyramids: dict[str, Pyramid]
    restore: list[TileDiff] = field(default_factory=list)
    hints: tuple = ()
    session: RestoredSession | None = None


def load_document(path: str | Path, mask_style, recovery: bool = False) -> Pipeline[Opened]:
    """Decode ``path`` (or the recovery session folder ``path``, from its own files) and
    build its display pyramids: a pipeline, run on a worker when a photo is opened."""
    yield Progress(0.0, f"Reading {Path(path).name}")
    session = load_session(Path(path)) if recovery else None
    doc = session.doc if session is not None else Document.open(path)
    restore = []
    if recovery:
        restore = [d for d in (TileDiff.from_arrays("image", doc.original, doc.image),
                               TileDiff.from_arrays("mask", np.zeros_like(doc.mask), doc.mask))
                   if not d.empty]
    yield Progress(0.5, "Preparing the display")
    return Opened(doc, build_pyramids(doc, mask_style), restore, doc.hints, session)


class DocumentsMixin:
    """MainWindow's document handling (``self`` is the MainWindow)."""

    # ------------------------------------------------------------------------- documents

    def open_file(self, path: str | Path | None = None, *, wait: bool = False) -> bool:
        """Open a photo: decoded and prepared on a worker (the window stays responsive and
        shows progress); ``documentOpened`` or an error dialog follows. ``wait`` loads on
        the calling thread instead (scripts). Returns False when nothing was started or,
        with ``wait``, the file could not be opened."""
        if path is None:
            start = self.settings.value("paths/last_dir", str(Path.home()))
            path, _ = QFileDialog.getOpenFileName(self, "Open photo", start,
                                                  f"{IMAGE_FILTER};;{PROJECT_FILTER}")
            if not path:
                return False
        if Path(path).suffix.lower() == ".neuron":
            return self.open_project(path, wait=wait)
        if not self.confirm_discard(f"opening {Path(path).name}"):
            return False
        return self._load(str(path), recovery=False, wait=wait)

    def _load(self, path: str, *, recovery: bool, wait: bool) -> bool:
        style = (self.canvas.mask_color, self.canvas.mask_opacity)
        name = "Restoring the session" if recovery else f"Opening {Path(path).name}"
        spec = JobSpec(name, lambda _d, _c: load_document(path, style, recovery),
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
            result = run_pipeline(spec.make(None, None))
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
            self.session_restored(doc, opened.session)  # qt/recovery.py
        elif spec.payload.get("project"):
            self._project_opened(opened, spec)
        else:
            path = Path(spec.payload["path"]).resolve()
            self.add_recent(str(path))
            self.settings.setValue("paths/last_dir", str(path.parent))
            notes = tuple(getattr(doc.source, "notes", ()) or ())  # e.g. NaN pixels repaired
            self.statusBar().showMessage(f"Opened {path} ({doc.width}×{doc.height})"
                                         + "".join(f" — {n}" for n in notes),
                                         30000 if notes else 5000)
        self.documentOpened.emit(doc)

    def _open_failed(self, name: str, exc, spec: JobSpec) -> None:
        text = str(exc) if isinstance(exc, NeuronError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, ImageTooLargeError):  # the CLI's flag does not exist here
            text = re.sub(r"pass --max-megapixels (\d+) \(or set (\w+)\)",
                          r"start the editor with \2=\1 set", text)
        title = ("Cannot restore" if spec.payload["recovery"] else "Cannot open the project"
                 if spec.payload.get("project") else "Cannot open the photo")
        if spec.payload["recovery"]:
            self.restore_failed()
        self.show_error(title, text)

    def set_document(self, doc: Document | None,
                     pyramids: dict[str, Pyramid] | None = None) -> None:
        self.job_queue.clear()
        self.jobs.cancel()
        self.suggest_jobs.cancel()
        self.live_timer.stop()
        self._pending_live = None
        self.history.clear()
        self.history._sync()
        self.history.dropped = []
        self.project_path, self.project_steps = None, []
        self.doc = doc
        self.canvas.set_document(doc, pyramids)
        self.act_before.setChecked(False)
        self._update_title()
        self._update_actions()
        if doc is not None and self.canvas.tool == "hints":
            self.live_preview.warm()  # a photo opened with the hint tool in hand

    def _update_title(self) -> None:
        name = self.doc.path.name if self.doc is not None and self.doc.path else None
        if self.doc is not None and self.project_path is not None:
            name = self.project_path.name
        dirty = "" if self.history.isClean() else " •"
        self.setWindowTitle(f"{name}{dirty} — Neuron Desktop" if name else "Neuron Desktop")

    def _update_actions(self) -> None:
        has = self.doc is not None
        for a in (self.act_save, self.act_save_project, self.act_fit, self.act_100,
                  self.act_zoom_in, self.act_zoom_out,
                  self.act_clear_mask, self.act_invert_mask, self.act_import_mask,
                  self.act_export_mask, self.act_before, self.act_split):
            a.setEnabled(has)
        self.live_preview.act_spot.setEnabled(has and self.colorize_panel.available)
        self.act_cancel.setEnabled(self.jobs.busy)
        self._update_title()

    def save_as(self, path: str | Path | None = None, *, overwrite: bool = False) -> bool:
        if self.doc is None:
            return False
        if not self._settle_live_result():
            return False
        if path is None:
            src = self.doc.path or Path.home() / "photo.png"
            default = src.with_name(f"{src.stem}_restored.png")
            path, chosen = QFileDialog.getSaveFileName(
                self, "Export result", str(default), EXPORT_FILTERS)
            if not path:
                return False
            path = with_filter_extension(path, chosen)
            if self.doc.path is not None and same_file(Path(path), self.doc.path):
                path = self.ask_save_as_copy(Path(path))  # bug 10b: never over the original
                if path is None:
                    return False
        try:
            quality = int(self.settings.value("export/jpeg_quality", 95))  # qt/export.py
            out = self.doc.save(path, overwrite=overwrite, quality=quality)
            if self.act_record.isChecked():  # the edit record, as XMP in the file
                add_record(out, self.export_record(out))
        except NeuronError as exc:
            self.show_error("Cannot export", str(exc))
            return False
        self.history.setClean()
        self.statusBar().showMessage(f"Exported {out}", 5000)
        return True

    def _settle_live_result(self) -> bool:
        """Saved is what is seen: a live colorization on the canvas is applied (one undo
        step) before exporting; one still being computed stops the export with a word."""
        if not self.canvas.has_preview:
            return True
        if self.live_result_current():
            self.run_colorize()  # commits the pending result as it is
            return True
        self.show_error("Live colorization not ready",
                        "The canvas shows a live colorization preview whose full-resolution "
                        "result is still being computed. Wait a moment (or press Apply), "
                        "then export again.")
        return False

    # ------------------------------------------------------------------------- recent files

    def recent_files(self) -> list[str]:
        return as_list(self.settings.value("recent", []))

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
