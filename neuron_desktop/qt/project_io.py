"""Project files in the editor: File ▸ Save project / Open project (``.neuron``).

A project keeps the original, the current image, the mask, the hints, the edit record (one
entry per step: name, capability, settings, models with their weights' sha256) and the
operation settings (see core/project.py and docs/projects.md). Reopened, the history holds
one step, "Opened project", over the original (Undo shows the photo as opened; the first
History row is always the original); the earlier steps live on in the record and are
written again, followed by the new ones, the next time the project is saved.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEventLoop, QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QProgressDialog

from neuron_desktop.capabilities import jsonable, model_refs  # noqa: F401 (re-exported)
from neuron_desktop.core.document import Document, TileDiff
from neuron_desktop.core.errors import NeuronError
from neuron_desktop.core.masks import Hint
from neuron_desktop.core.progress import Pipeline, Progress
from neuron_desktop.core.project import (
    SUFFIX,
    Project,
    ProjectCancelled,
    load_project,
    save_project,
)
from neuron_desktop.qt.canvas import build_pyramids
from neuron_desktop.qt.documents import PROJECT_FILTER, Opened
from neuron_desktop.qt.workers import JobSpec

log = logging.getLogger(__name__)

OPENED_PROJECT = "Opened project"


def step_record(cmd) -> dict | None:
    """One history step as an edit-record entry (None: the project's own base step)."""
    from neuron_desktop.qt.commands import EarlierStepsCommand

    if isinstance(cmd, EarlierStepsCommand):  # its steps are in History.dropped
        return None
    record = getattr(cmd, "record", None)
    if record is not None:
        return record
    text = cmd.text()
    return None if text == OPENED_PROJECT else {"name": text}


def load_project_document(path: str | Path, mask_style) -> Pipeline:
    """Read a project and build its document and display pyramids (on a worker)."""
    yield Progress(0.0, f"Reading {Path(path).name}")
    project = load_project(path)
    src = project.source.get("path")
    doc = Document(project.original, path=src or Path(path).with_suffix(".png"))
    restore = [d for d in (TileDiff.from_arrays("image", doc.original, project.current),
                           TileDiff.from_arrays("mask", doc.mask, project.mask)) if not d.empty]
    doc.image = np.ascontiguousarray(project.current)
    doc.mask = np.ascontiguousarray(project.mask)
    doc.hints = tuple(Hint.from_dict(h) for h in project.hints)
    yield Progress(0.5, "Preparing the display")
    opened = Opened(doc, build_pyramids(doc, mask_style), restore, doc.hints)
    opened.project = project
    return opened


class ProjectMixin:
    """MainWindow's project files (``self`` is the MainWindow)."""

    project_path: Path | None = None
    project_steps: list[dict] = []  # the record of the steps before this session

    def open_any(self, path: str | Path | None = None, *, wait: bool = False) -> bool:
        """A photo or, by its ``.neuron`` suffix, a project (Open, recent files, drops)."""
        if path is not None and Path(path).suffix.lower() == SUFFIX:
            return self.open_project(path, wait=wait)
        return self.open_file(path, wait=wait)

    def open_project(self, path: str | Path | None = None, *, wait: bool = False) -> bool:
        if path is None:
            start = self.settings.value("paths/last_dir", str(Path.home()))
            path, _ = QFileDialog.getOpenFileName(self, "Open project", start, PROJECT_FILTER)
            if not path:
                return False
        if not self.confirm_discard(f"opening {Path(path).name}"):
            return False
        style = (self.canvas.mask_color, self.canvas.mask_opacity)
        spec = JobSpec(f"Opening {Path(path).name}",
                       lambda _d, _c: load_project_document(path, style), device="cpu",
                       payload={"path": str(path), "recovery": False, "project": True})
        return self._run_or_submit(self.load_jobs, spec, self._opened, self._open_failed, wait)

    def _project_opened(self, opened, spec: JobSpec) -> None:
        """After set_document: the project's state as one step over the original."""
        from neuron_desktop.qt.commands import EditCommand

        doc, project = opened.doc, opened.project
        cmd = EditCommand(doc, OPENED_PROJECT, diffs=opened.restore, hints=opened.hints)
        cmd.old_hints = ()
        if not cmd.changes_nothing:
            cmd.silent = True
            self.history.push(cmd)
            cmd.silent = False
        self.history.setClean()
        self.project_path = Path(spec.payload["path"]).resolve()
        self.project_steps = list(project.steps)
        self._update_title()
        self.add_recent(str(self.project_path))
        self.settings.setValue("paths/last_dir", str(self.project_path.parent))
        self.statusBar().showMessage(
            f"Opened project {self.project_path.name}: {len(project.steps)} earlier "
            f"step(s) in its record", 5000)

    def edit_steps(self) -> list[dict]:
        """The edit record: earlier steps (from the project, or dropped from History to
        keep within its memory budget), then the History's steps up to the current one."""
        from neuron_desktop.qt.commands import EarlierStepsCommand

        h = self.history
        merged_undone = h.count() and isinstance(h.command(0), EarlierStepsCommand) \
            and h.index() == 0  # the photo as opened is shown
        steps = list(self.project_steps) + ([] if merged_undone else list(h.dropped))
        for i in range(self.history.index()):
            rec = step_record(self.history.command(i))
            if rec is not None:
                steps.append(rec)
        return steps

    def export_record(self, out: Path):
        """The edit record embedded in an export: the steps, then the export itself."""
        import hashlib

        from neuron_desktop import __version__
        from neuron_desktop.core.record import record_from_steps

        source = None
        src = self.doc.path
        if src is not None and src.is_file():
            h = hashlib.sha256()
            with open(src, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            source = h.hexdigest()
        steps = [*self.edit_steps(), {"name": "export", "params": {"format": out.suffix[1:]}}]
        return record_from_steps(steps, __version__, source_sha256=source)

    def save_project(self, path: str | Path | None = None) -> bool:
        """Write the document as a project (asks where when ``path`` is None)."""
        doc = self.doc
        if doc is None or not self._settle_live_result():
            return False
        if path is None:
            default = self.project_path or (doc.path or Path.home() / "photo").with_suffix(
                SUFFIX)
            path, _ = QFileDialog.getSaveFileName(self, "Save project", str(default),
                                                  PROJECT_FILTER)
            if not path:
                return False
        snap = doc.snapshot("image", "mask")  # copy-on-write while the worker encodes
        project = Project(doc.original, snap.image, snap.mask,
                          [h.to_dict() for h in doc.hints], self.edit_steps(),
                          {name: _settings(self, name) for name in self.capability_forms},
                          {"name": doc.path.name if doc.path else None,
                           "path": str(doc.path) if doc.path else None})
        try:
            out = save_off_thread(self, path, project, snap)
        except ProjectCancelled:
            self.statusBar().showMessage("Saving the project was cancelled; nothing was "
                                         "written", 6000)
            return False
        except NeuronError as exc:
            self.show_error("Cannot save the project", str(exc))
            return False
        self.project_path = out.resolve()
        self.history.setClean()
        self._update_title()
        self.add_recent(str(self.project_path))
        self.statusBar().showMessage(f"Project saved to {out}", 5000)
        return True


class _SaveSignals(QObject):
    progress = Signal(float, str)
    finished = Signal()


def save_off_thread(window, path, project: Project, snap) -> Path:
    """Encode and write ``project`` on a worker thread (a 24 MP project takes seconds) while
    the GUI thread runs a local event loop behind a window-modal progress dialog with a
    Cancel button; returns the written path or raises the worker's error."""
    signals, loop, result = _SaveSignals(), QEventLoop(), {}
    cancel = threading.Event()
    dlg = QProgressDialog("Saving the project…", "Cancel", 0, 100, window)
    dlg.setWindowTitle("Save project")
    dlg.setWindowModality(Qt.WindowModality.WindowModal)
    dlg.setMinimumDuration(300)
    dlg.setAutoClose(False)
    dlg.canceled.connect(cancel.set)
    window.project_progress = dlg
    signals.progress.connect(lambda f, text: (dlg.setValue(int(f * 100)),
                                              dlg.setLabelText(text)))
    signals.finished.connect(loop.quit)

    def work() -> None:
        try:
            result["out"] = save_project(path, project, cancelled=cancel.is_set,
                                         progress=signals.progress.emit)
        except Exception as exc:  # noqa: BLE001 - raised again on the GUI thread
            result["error"] = exc
        finally:
            snap.release()
            result["done"] = True
            signals.finished.emit()

    threading.Thread(target=work, name="save-project", daemon=True).start()
    if not result.get("done"):
        loop.exec()
    dlg.reset()
    dlg.hide()
    if "error" in result:
        raise result["error"]
    return result["out"]


def _settings(window, name: str) -> dict:
    try:
        return jsonable(window.capability_params(name))
    except Exception:  # noqa: BLE001 - a form that cannot report must not stop a save
        log.exception("settings of %s", name)
        return {}
