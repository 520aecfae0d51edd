"""File ▸ Batch…: run a recipe over a folder in the background, with progress and cancel.

The dialog only collects settings and shows progress; a :class:`BatchRunner` on its own
QThread prepares the job and drives the local engine (``neuron_desktop.batch``), which keeps
the state database in the output folder, so a cancelled or crashed batch resumes when it is
started again with the same folders.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from neuron_desktop.core.progress import Cancelled, CancelToken

log = logging.getLogger(__name__)


class BatchRunner(QObject):
    """Runs one batch job (call :meth:`run` on a worker thread)."""

    progress = Signal(int, int, str)  # finished so far, total, last message
    finished = Signal(str)  # summary
    failed = Signal(str)  # error message

    def __init__(self, recipe: str, inputs: list[str], output: str, workers: int) -> None:
        super().__init__()
        self.recipe, self.inputs, self.output, self.workers = recipe, inputs, output, workers
        self.cancel_token = CancelToken()

    @Slot()
    def run(self) -> None:
        from neuron_desktop.batch.job import prepare_job
        from neuron_desktop.batch.local import run_local
        from neuron_desktop.batch.recipe import load_recipe
        from neuron_desktop.core.errors import NeuronError

        try:
            recipe = load_recipe(self.recipe)
            with prepare_job(recipe, self.inputs, self.output) as state:
                c = state.counts()
                total, done = c.total, c.done + c.failed
                self.progress.emit(done, total, f"{c.done} already done")

                def on_result(result: dict, _state) -> None:
                    nonlocal done
                    done += 1
                    name = Path(result.get("output") or "").name
                    text = f"failed: {result['error']}" if result["status"] == "failed" \
                        else f"wrote {name}"
                    self.progress.emit(done, total, text)

                try:
                    run_local(recipe, state, workers=self.workers,
                              cancel=self.cancel_token, on_result=on_result)
                    cancelled = False
                except Cancelled:
                    cancelled = True
                c = state.counts()
            summary = f"{c.done} done, {c.failed} failed, {c.pending + c.running} to do"
            self.finished.emit(("Cancelled: " if cancelled else "Finished: ") + summary)
        except NeuronError as exc:
            log.error("batch failed: %s", exc, exc_info=True)
            self.failed.emit(str(exc))
        except Exception as exc:  # shown in the dialog rather than lost on a thread
            log.exception("batch failed")
            self.failed.emit(f"{type(exc).__name__}: {exc}")

    def cancel(self) -> None:
        self.cancel_token.cancel()


class BatchDialog(QDialog):
    """Pick a recipe, an input folder and an output folder; run; watch; cancel."""

    def __init__(self, parent: QWidget | None = None, input_dir: str = "") -> None:
        from neuron_desktop.batch.recipe import shipped_recipes

        super().__init__(parent)
        self.setWindowTitle("Batch")
        self.thread_: QThread | None = None
        self.runner: BatchRunner | None = None
        self.recipe = QComboBox(editable=True)
        self.recipe.addItems(shipped_recipes())
        self.input_dir = QLineEdit(input_dir)
        self.output_dir = QLineEdit(str(Path(input_dir) / "restored") if input_dir else "")
        self.workers = QSpinBox(minimum=0, maximum=256, value=os.cpu_count() or 1)
        self.workers.setToolTip("worker processes (0 = in the editor's process)")
        form = QFormLayout()
        form.addRow("Recipe", self._with_browse(self.recipe, self._browse_recipe))
        form.addRow("Photos folder", self._with_browse(self.input_dir, self._browse_input))
        form.addRow("Output folder", self._with_browse(self.output_dir, self._browse_output))
        form.addRow("Workers", self.workers)
        self.bar = QProgressBar()
        self.status = QLabel("Re-running a batch into the same output folder resumes it.")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.start_button = self.buttons.addButton("Start", QDialogButtonBox.ButtonRole.ApplyRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.cancel_button.setEnabled(False)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)

    def _with_browse(self, field: QWidget, browse) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(field, 1)
        button = QPushButton("Browse…")
        button.clicked.connect(browse)
        row.addWidget(button)
        return box

    def _browse_recipe(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Recipe", "", "Recipes (*.toml)")
        if path:
            self.recipe.setCurrentText(path)

    def _browse_input(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Photos folder", self.input_dir.text())
        if path:
            self.input_dir.setText(path)
            if not self.output_dir.text():
                self.output_dir.setText(str(Path(path) / "restored"))

    def _browse_output(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Output folder", self.output_dir.text())
        if path:
            self.output_dir.setText(path)

    @property
    def running(self) -> bool:
        return self.thread_ is not None

    def start(self) -> None:
        if self.running:
            return
        if not self.input_dir.text() or not self.output_dir.text():
            self.status.setText("Choose a photos folder and an output folder.")
            return
        self.runner = BatchRunner(self.recipe.currentText(), [self.input_dir.text()],
                                  self.output_dir.text(), self.workers.value())
        self.thread_ = QThread(self)
        self.runner.moveToThread(self.thread_)
        self.thread_.started.connect(self.runner.run)
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_done)
        self.runner.failed.connect(lambda text: self._on_done(f"Error: {text}"))
        self._set_running(True)
        self.status.setText("Preparing (hashing the photos)…")
        self.thread_.start()

    def cancel(self) -> None:
        if self.runner is not None:
            self.runner.cancel()
            self.status.setText("Cancelling after the photos in progress…")
            self.cancel_button.setEnabled(False)

    def _on_progress(self, done: int, total: int, text: str) -> None:
        self.bar.setMaximum(max(1, total))
        self.bar.setValue(done)
        self.status.setText(f"{done} / {total}: {text}")

    def _on_done(self, text: str) -> None:
        self.status.setText(text)
        self._stop_thread()
        self._set_running(False)

    def _stop_thread(self) -> None:
        if self.thread_ is not None:
            self.thread_.quit()
            self.thread_.wait()
            self.thread_.deleteLater()
            self.thread_ = None
            self.runner = None

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for w in (self.recipe, self.input_dir, self.output_dir, self.workers):
            w.setEnabled(not running)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self.runner is not None:
            self.runner.cancel()
        self._stop_thread()
        super().closeEvent(event)


def save_steps_as_recipe(window, path: str | Path | None = None) -> Path | None:
    """File ▸ Save steps as recipe…: the document's capability steps (History up to the
    current one) as a batch recipe TOML, to run over a folder with File ▸ Batch… or
    ``neuron batch``. Steps no recipe can repeat (brush strokes, hints) are left out and
    named in the status bar."""
    from neuron_desktop.batch.recipe import dump_recipe, steps_from_records
    from neuron_desktop.core.imageio import write_atomic

    steps, skipped = steps_from_records(window.edit_steps())
    if not steps:
        QMessageBox.information(window, "Save steps as recipe",
                                "No step of this photo can be repeated by a recipe yet: run "
                                "an operation (Colorize, Inpaint, Refine, …) first.")
        return None
    if path is None:
        start = str(Path(window.settings.value("paths/last_dir", str(Path.home())))
                    / "my-recipe.toml")
        path, _ = QFileDialog.getSaveFileName(window, "Save steps as recipe", start,
                                              "Recipes (*.toml)")
        if not path:
            return None
    path = Path(path).with_suffix(".toml")
    text = dump_recipe(path.stem, steps, "saved from the editor's History")
    write_atomic(path, text.encode())
    note = f" (left out: {', '.join(sorted(set(skipped)))})" if skipped else ""
    window.statusBar().showMessage(f"Saved {len(steps)} step(s) as {path.name}{note}", 8000)
    return path
