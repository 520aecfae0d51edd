"""Crash recovery for the editor: autosave to a locked per-instance folder, offer restore."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from PySide6.QtCore import QLockFile, QRunnable, QThreadPool
from PySide6.QtWidgets import QMessageBox

from neuron_desktop.core.document import Document, Snapshot

log = logging.getLogger(__name__)

RECOVERY_SLOTS = 8  # instances running at once, each with its own locked recovery folder


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
        except Exception:  # autosave must never disturb editing, but it is logged
            log.exception("autosave to %s failed", self.folder)


class RecoveryMixin:
    """MainWindow's autosave and restore (``self`` is the MainWindow)."""

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
