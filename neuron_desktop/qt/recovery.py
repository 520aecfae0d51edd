"""Crash recovery for the editor.

Each photo opened in a run is a *session* (``core/sessions.py``): shortly after every edit
(``DEBOUNCE_MS`` after the last one, at least every ``MAX_DELAY_MS`` while edits keep
coming, and on the ``autosave/minutes`` timer as a backstop) its state — the original's
pixels and metadata, the current image, the mask, the hints and the history's steps — is
written to the session's folder on a worker thread. A failed write is shown once (a
status-bar warning and one notice) and logged, and retried after the next edit. After a
crash, the newest session left open is offered at start-up; File ▸ Restore session… lists
all kept sessions.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QStandardPaths, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QLabel, QMessageBox

from neuron_desktop.core.document import Document, Snapshot
from neuron_desktop.core.sessions import (
    RestoredSession,
    SessionLock,
    SessionWriter,
    list_sessions,
    new_session_folder,
    newest_crashed,
    photo_fields,
    prune_sessions,
    set_state,
)

log = logging.getLogger(__name__)

DEBOUNCE_MS = 1500  # the state is written this long after the last edit...
MAX_DELAY_MS = 10_000  # ...and at least this often while edits keep coming
ENV_RECOVERY_DIR = "NEURON_RECOVERY_DIR"  # overrides the recovery folder (tests)


def default_recovery_dir() -> Path:
    override = os.environ.get(ENV_RECOVERY_DIR)
    if override:
        return Path(override)
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(base or Path.home() / ".neuron-desktop") / "recovery"


def _prune(base: Path) -> None:
    try:
        prune_sessions(base)
    except Exception:  # housekeeping must never disturb start-up
        log.exception("cleaning up old recovery sessions in %s failed", base)


def _stamp(doc: Document) -> tuple[int, int, int]:
    return doc.revision, doc.revisions["image"], doc.revisions["mask"]


class _Session:
    """The recovery state of one open document: its folder (made at the first write), the
    folder's lock, its writer, and the stamp of what is on disk."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.folder: Path | None = None
        self.lock: SessionLock | None = None
        self.writer: SessionWriter | None = None
        self.saved = _stamp(doc)  # nothing to write until the document changes
        self.photo = photo_fields(doc.path, doc.width, doc.height, doc.source)
        self.base_steps: list[dict] = []  # steps of a restored session
        self.skip = 0  # history rows not part of the record ("Restored session")
        self.steps: list[dict] = []
        self.idle = threading.Event()  # no write in flight
        self.idle.set()

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()


class _Signals(QObject):
    done = Signal(object, object, object)  # session, stamp, error or None


class _Write(QRunnable):
    """Copies the pinned layers it needs, then writes them (off the GUI thread)."""

    def __init__(self, session: _Session, snap: Snapshot, fields: dict, stamp: tuple,
                 need: tuple[bool, bool], signals: _Signals) -> None:
        super().__init__()
        self.session, self.snap, self.fields, self.stamp = session, snap, fields, stamp
        self.need, self.signals = need, signals

    def run(self) -> None:
        s, err = self.session, None
        try:
            with self.snap:  # private copies: editing goes on without copy-on-write
                image = self.snap.image.copy() if self.need[0] else None
                mask = self.snap.mask.copy() if self.need[1] else None
            s.writer.write(original=s.doc.original, source=s.doc.source, image=image,
                           mask=mask, **self.fields)
            if self.stamp[0] >= s.saved[0]:  # writes of a session never overlap
                s.saved = self.stamp
        except Exception as exc:  # reported on the GUI thread (never swallowed)
            err = exc
        finally:
            s.idle.set()
        self.signals.done.emit(s, self.stamp, err)


class RecoveryMixin:
    """MainWindow's autosave and restore (``self`` is the MainWindow)."""

    def _init_recovery(self, recovery_dir: str | Path | None, minutes: float) -> None:
        self.recovery_dir = Path(recovery_dir) if recovery_dir else default_recovery_dir()
        self.session: _Session | None = None
        self._ended: list[_Session] = []
        self._restore_lock: SessionLock | None = None
        self._first_unsaved: float | None = None
        self._recovery_ended = False  # closed: nothing is scheduled any more
        self.autosave_failures = 0
        self.recovery_box: QMessageBox | None = None
        self.autosave_notice: QMessageBox | None = None
        self.session_dialog = None
        self.autosave_warning = QLabel("⚠ Autosave failed")
        self.autosave_warning.setStyleSheet("color: #ffb454;")
        self.autosave_warning.hide()
        self.statusBar().addPermanentWidget(self.autosave_warning)
        # its own thread: a write never waits behind long jobs on the global pool
        self.autosave_pool = QThreadPool(self)
        self.autosave_pool.setMaxThreadCount(1)
        self._autosave_signals = _Signals(self)
        self._autosave_signals.done.connect(self._autosave_done)
        self.autosave_debounce = QTimer(self)
        self.autosave_debounce.setSingleShot(True)
        self.autosave_debounce.timeout.connect(self.autosave)
        self.autosave_timer = QTimer(self)  # backstop
        self.autosave_timer.setInterval(max(int(minutes * 60_000), 1000))
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        self.documentOpened.connect(self._recovery_document)
        self.history.indexChanged.connect(self._history_changed)
        self.autosave_pool.start(functools.partial(_prune, self.recovery_dir))

    def stop_autosave(self) -> None:
        self.autosave_timer.stop()
        self.autosave_debounce.stop()

    # ------------------------------------------------------------------------ scheduling

    def _recovery_document(self, doc: Document) -> None:
        """A document was shown: it starts a new session (a restored one keeps its own)."""
        old = self.session
        if old is not None and old.doc is doc:
            return
        if old is not None:
            self._end_session(old)
        self.session = _Session(doc)
        doc.add_listener(self._doc_changed)

    def _doc_changed(self, _layer: str, _rect) -> None:
        if self.session is not None and self.session.doc is self.doc and \
                not self._recovery_ended:
            self._schedule_autosave()

    def _history_changed(self, _index: int) -> None:
        """Keep the session's steps (a cleared history belongs to the next document)."""
        s = self.session
        if s is not None and s.doc is self.doc and self.history.count():
            s.steps = self._history_steps(s)

    def _schedule_autosave(self) -> None:
        now = time.monotonic()
        if self._first_unsaved is None:
            self._first_unsaved = now
        left = MAX_DELAY_MS - (now - self._first_unsaved) * 1000
        self.autosave_debounce.start(int(max(0, min(DEBOUNCE_MS, left))))

    def _history_steps(self, s: _Session) -> list[dict]:
        steps = list(s.base_steps)
        for i in range(s.skip, self.history.index()):
            cmd = self.history.command(i)
            record = getattr(cmd, "record", None)
            steps.append(dict(record) if isinstance(record, dict) else {"name": cmd.text()})
        return steps

    # --------------------------------------------------------------------------- writing

    def autosave(self, *, clean_exit: bool = False, wait: bool = False) -> bool:
        """Write the current session's state (on a worker unless ``wait``) when it changed
        since the last write; ``clean_exit`` marks the session closed. Returns whether a
        write was started."""
        self.autosave_debounce.stop()
        self._first_unsaved = None
        s = self.session
        return s is not None and self._write(s, closed=clean_exit, wait=wait)

    def _write(self, s: _Session, *, closed: bool, wait: bool) -> bool:
        stamp = _stamp(s.doc)
        if stamp == s.saved and (not closed or s.folder is None):
            return False
        if not s.idle.is_set():
            if not wait:  # one write at a time: the finished one schedules the next
                return True
            s.idle.wait(120)
        if s.folder is None:
            try:
                s.folder = new_session_folder(self.recovery_dir)
                s.lock = SessionLock(s.folder)
                s.lock.acquire()
            except OSError as exc:
                s.folder = None
                self._autosave_done(s, stamp, exc)
                return False
            s.writer = SessionWriter(s.folder)
        first = not s.writer.has_original
        need = (first or stamp[1] != s.saved[1], first or stamp[2] != s.saved[2])
        photo = dict(s.photo, width=s.doc.width, height=s.doc.height)  # after crops/turns
        fields = {"photo": photo, "hints": [h.to_dict() for h in s.doc.hints],
                  "steps": s.steps, "revision": s.doc.revision, "closed": closed}
        s.idle.clear()
        job = _Write(s, s.doc.snapshot(), fields, stamp, need, self._autosave_signals)
        if wait:
            job.run()
        else:
            job.setAutoDelete(True)
            self.autosave_pool.start(job)
        return True

    def _autosave_done(self, s: _Session, stamp: tuple, err: Exception | None) -> None:
        if err is not None:
            self._autosave_failed(s, err)
        elif self.autosave_failures:
            self.autosave_failures = 0
            self.autosave_warning.hide()
            self.statusBar().showMessage("Autosave works again", 5000)
            log.info("autosave to %s works again", s.folder)
        if s in self._ended:
            if s.idle.is_set():
                s.release()
                self._ended.remove(s)
        elif s is self.session and not self._recovery_ended and \
                _stamp(s.doc) != (stamp if err is not None else s.saved) and \
                not self.autosave_debounce.isActive():
            self._schedule_autosave()  # edits came while it was written

    def _autosave_failed(self, s: _Session, err: Exception) -> None:
        """Shown once per run of failures (a warning in the status bar and one notice),
        logged each time; retried after the next edit."""
        self.autosave_failures += 1
        where = s.folder or self.recovery_dir
        if self.autosave_failures > 1:
            log.warning("autosave to %s failed again (%d in a row): %s", where,
                        self.autosave_failures, err)
            return
        log.error("autosave to %s failed", where, exc_info=err)
        text = (f"Your latest edits could not be saved for crash recovery, so they would be "
                f"lost if the editor crashed:\n\n{err}\n\nFree some disk space or make "
                f"'{self.recovery_dir}' writable; autosave tries again after your next "
                "edit. Export your work to keep it safe.")
        self.autosave_warning.setToolTip(str(err))
        self.autosave_warning.show()
        self.statusBar().showMessage(f"Autosave failed: {err}", 15000)
        box = QMessageBox(QMessageBox.Icon.Warning, "Autosave failed", text,
                          QMessageBox.StandardButton.Ok, self)
        box.setModal(False)  # a notice: editing goes on
        self.autosave_notice = box
        box.show()

    def _end_session(self, s: _Session) -> None:
        """The document was replaced: its session is written one last time, closed (still
        restorable from the list)."""
        s.doc.remove_listener(self._doc_changed)
        self._ended.append(s)
        if not self._write(s, closed=True, wait=False) and s.idle.is_set():
            s.release()
            self._ended.remove(s)

    def end_recovery(self) -> None:
        """On a clean exit: the last state is written and the session marked closed."""
        self.stop_autosave()
        self._recovery_ended = True
        s = self.session
        if s is not None:
            try:
                self._write(s, closed=True, wait=True)
            except Exception:  # closing must not fail
                log.exception("autosave on close failed")
            s.doc.remove_listener(self._doc_changed)
        for e in [*self._ended, *([s] if s else [])]:
            e.idle.wait(120)
            e.release()
        self._ended.clear()
        if self._restore_lock is not None:
            self._restore_lock.release()

    # ------------------------------------------------------------------------- restoring

    def offer_recovery(self, force: bool = False) -> QMessageBox | None:
        """After a crash, offer the newest session left open by an editor that is gone;
        ``force`` lists every kept session instead (File ▸ Restore session…)."""
        if force:
            self.restore_session_dialog()
            return None
        crashed = newest_crashed(self.recovery_dir)
        if crashed is None:
            return None
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(crashed.updated))
        steps = f"{crashed.steps} step" + ("" if crashed.steps == 1 else "s")
        box = QMessageBox(QMessageBox.Icon.Question, "Restore your work?",
                          f"Neuron Desktop closed unexpectedly while you were working on "
                          f"{crashed.name} ({when}, {steps}). Restore that "
                          "work?\n\nIf you don't, it stays in File ▸ Restore session….",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.button(QMessageBox.StandardButton.Yes).setText("Restore")
        box.button(QMessageBox.StandardButton.No).setText("Don't restore")
        box.finished.connect(lambda r, f=crashed.folder: self._recovery_answer(r, f))
        self.recovery_box = box
        box.open()
        return box

    def _recovery_answer(self, result: int, folder: Path) -> None:
        if result == QMessageBox.StandardButton.Yes:
            self.restore_session(folder)
            return
        try:  # not offered again; still listed
            set_state(folder, closed=False, dismissed=True)
        except Exception as exc:  # noqa: BLE001 - a read-only folder: offered again, no harm
            log.warning("could not mark %s dismissed: %s", folder, exc)

    def restore_session_dialog(self):
        """File ▸ Restore session…: every kept session not open in a running editor."""
        from neuron_desktop.qt.session_dialog import SessionDialog

        sessions = [s for s in list_sessions(self.recovery_dir) if not s.live]
        if not sessions:
            self.show_error("Nothing to restore", "No saved session was found.")
            return None
        dialog = SessionDialog(sessions, self)
        dialog.chosen.connect(self.restore_session)
        self.session_dialog = dialog
        dialog.open()
        return dialog

    def restore_session(self, folder: str | Path, *, wait: bool = False) -> bool:
        """Load a session (on a worker unless ``wait``) from its own files; it becomes one
        undoable step over the original and this window's session."""
        lock = SessionLock(Path(folder))
        try:
            ok = lock.claim()
        except OSError as exc:
            self.show_error("Cannot restore", f"The session cannot be opened: {exc}")
            return False
        if not ok:
            self.show_error("Cannot restore", "This session is open in another Neuron "
                            "Desktop window.")
            return False
        if self._restore_lock is not None:
            self._restore_lock.release()
        self._restore_lock = lock
        return self._load(str(folder), recovery=True, wait=wait)

    def session_restored(self, doc: Document, restored: RestoredSession) -> None:
        """Called once a restored session is shown: this window carries it on."""
        old = self.session
        if old is not None and old.doc is not doc:
            self._end_session(old)
        s = _Session(doc)
        s.folder, s.lock, self._restore_lock = restored.folder, self._restore_lock, None
        s.writer = SessionWriter(restored.folder, restored.record)
        s.photo, s.base_steps = restored.record.get("photo", s.photo), restored.steps
        s.skip = self.history.count()  # the "Restored session" step
        s.steps = self._history_steps(s)
        s.saved = (-1, *_stamp(doc)[1:])  # layers on disk; the record is marked open again
        self.session = s
        doc.add_listener(self._doc_changed)
        self._schedule_autosave()
        self.statusBar().showMessage(restored.note or "Session restored", 15000)

    def restore_failed(self) -> None:
        if self._restore_lock is not None:
            self._restore_lock.release()
            self._restore_lock = None
