"""Crash recovery in the real window (issues 20 and 25): autosave shortly after each edit on
a worker, visible failures, several sessions kept and listed, the newest crashed one offered.
The kill -9 tests of a real editor process are in test_crash_recovery.py."""

import json
import logging
import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from neuron_desktop.core import sessions
from neuron_desktop.core.errors import ImageSaveError
from neuron_desktop.core.masks import Hint
from neuron_desktop.core.sessions import list_sessions, new_session_folder
from neuron_desktop.qt.commands import HintsCommand
from tests.qt.conftest import SAMPLES, open_photo


@pytest.fixture(autouse=True)
def dont_save(monkeypatch):
    """These tests close and replace edited photos: answer "Don't save" to the save-changes
    prompt (tests/qt/test_save_prompts.py tests the prompt itself)."""
    from neuron_desktop.qt.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "confirm_discard", lambda self, action: True)


def _paint(qtbot, w, points=((100, 100), (140, 110), (180, 150))):
    c = w.canvas
    pts = [c.image_to_widget(x, y).toPoint() for x, y in points]
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=pts[0])
    for p in pts[1:]:
        qtbot.mouseMove(c, p)
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=pts[-1])


def _record(folder):
    return json.loads((folder / "session.json").read_text())


def _crash(w):
    """What kill -9 does to the session in-process: its lock is dropped, nothing written."""
    w.stop_autosave()
    assert w.session.idle.wait(10)  # no write still in flight (a real kill has none after)
    w.autosave_pool.waitForDone(10000)
    w.session.lock.release()


def test_edit_written_shortly_after_on_a_worker(make_window, qtbot, monkeypatch, tmp_path):
    """Paint, wait two seconds: the state is on disk, though the timer (3 min) never fired;
    written once for the whole stroke, off the GUI thread."""
    threads = []
    real = sessions.SessionWriter.write

    def spy(self, **kw):
        threads.append(threading.current_thread())
        return real(self, **kw)

    monkeypatch.setattr(sessions.SessionWriter, "write", spy)
    w = open_photo(qtbot, make_window())
    assert w.autosave_timer.interval() == 3 * 60_000
    assert not list_sessions(w.recovery_dir)  # an unedited photo writes nothing
    _paint(qtbot, w)
    painted = time.monotonic()
    qtbot.waitUntil(lambda: bool(list_sessions(w.recovery_dir)), timeout=5000)
    assert time.monotonic() - painted < 4
    w.autosave_pool.waitForDone(10000)
    assert len(threads) == 1 and threads[0] is not threading.main_thread()
    s = list_sessions(w.recovery_dir)[0]
    assert s.live and not s.crashed and s.steps == 1 and s.name == "old_photo.jpg"
    assert s.record["layers"]["mask"] and s.record["layers"]["current"] is None


def test_crash_offers_restore_of_the_result(make_window, qtbot):
    w = open_photo(qtbot, make_window())
    w.import_mask(SAMPLES / "old_photo_mask.png", wait=True)
    w.history.push(HintsCommand(w.doc, [Hint(5, 6, (1.0, 0.0, 0.0), 7)], "Add hint"))
    w.doc.apply_patch(w.doc.bounds, image=w.doc.image * 0.5)  # a result on the image
    assert w.autosave(wait=True)
    image, mask = w.doc.image.copy(), w.doc.mask.copy()
    _crash(w)
    w2 = make_window()
    box = w2.offer_recovery()
    assert box is not None and "old_photo.jpg" in box.text()
    with qtbot.waitSignal(w2.documentOpened, timeout=20000):  # restored on a worker
        box.button(QMessageBox.StandardButton.Yes).click()
    assert w2.doc.hints[0].size == 7
    assert np.abs(w2.doc.mask - mask).max() <= 1 / 255 + 1e-6
    assert np.abs(w2.doc.image - image).max() <= 1 / 65535 + 1e-6
    assert w2.history.count() == 1  # restoring is one undoable step
    w2.history.undo()
    assert not w2.doc.has_mask and w2.doc.hints == ()
    assert np.array_equal(w2.doc.image, w2.doc.original)
    w2.history.redo()
    assert w2.doc.hints[0].size == 7 and w2.doc.has_mask
    assert w2.session.folder == w.session.folder  # carried on by the new window
    assert make_window().offer_recovery() is None  # live again: not a crash


def test_clean_exit_is_not_offered_but_listed(make_window, qtbot):
    w = open_photo(qtbot, make_window())
    _paint(qtbot, w)
    w.close()  # written at once, marked closed
    (s,) = list_sessions(w.recovery_dir)
    assert s.record["state"] == "closed" and not s.live
    w2 = make_window()
    assert w2.offer_recovery() is None
    assert w2.act_restore.text() == "Restore &session…"
    w2.act_restore.trigger()  # File ▸ Restore session…
    dialog = w2.session_dialog
    assert dialog.isVisible() and dialog.list.count() == 1
    assert "old_photo.jpg" in dialog.list.item(0).text()
    with qtbot.waitSignal(w2.documentOpened, timeout=20000):
        dialog.restore_button.click()
    assert w2.doc.has_mask and w2.doc.path.name == "old_photo.jpg"


def test_second_instance_is_not_a_crash(make_window, qtbot):
    first = open_photo(qtbot, make_window())
    first.invert_mask(wait=True)
    assert first.autosave(wait=True)  # an open session on disk while the first one runs
    second = make_window()
    assert second.offer_recovery() is None
    assert not list_sessions(second.recovery_dir)[0].crashed
    _crash(first)
    box = make_window().offer_recovery()
    assert box is not None
    box.close()


def test_several_sessions_kept_and_listed(make_window, qtbot, tmp_path):
    """Two photos edited in one run, then another run: both listed with time, name and a
    thumbnail; the first one restores its own work."""
    w = open_photo(qtbot, make_window())
    _paint(qtbot, w)
    first_mask = w.doc.mask.copy()
    open_photo(qtbot, w, SAMPLES / "coffee.jpg")  # the first session is closed, kept
    w.history.push(HintsCommand(w.doc, [Hint(9, 9, (0.0, 0.0, 1.0), 5)], "Add hint"))
    w.close()
    w2 = make_window()
    assert w2.offer_recovery() is None  # both ended cleanly
    dialog = w2.restore_session_dialog()
    rows = [dialog.list.item(i) for i in range(dialog.list.count())]
    assert [r.text().splitlines()[0] for r in rows] == ["coffee.jpg", "old_photo.jpg"]
    assert all(time.strftime("%Y-%m-%d") in r.text() for r in rows)
    assert all(not r.icon().isNull() for r in rows)  # thumbnails
    assert "1 step" in rows[1].text()
    dialog.list.setCurrentRow(1)
    with qtbot.waitSignal(w2.documentOpened, timeout=20000):
        dialog.restore_button.click()
    assert w2.doc.path.name == "old_photo.jpg"
    assert np.abs(w2.doc.mask - first_mask).max() <= 1 / 255 + 1e-6


def test_declined_offer_is_listed_not_offered_again(make_window, qtbot):
    w = open_photo(qtbot, make_window())
    _paint(qtbot, w)
    assert w.autosave(wait=True)
    _crash(w)
    box = make_window().offer_recovery()
    box.button(QMessageBox.StandardButton.No).click()
    assert make_window().offer_recovery() is None
    assert len(list_sessions(w.recovery_dir)) == 1


def test_old_sessions_removed_at_start(make_window, qtbot, tmp_path):
    w = open_photo(qtbot, make_window())
    _paint(qtbot, w)
    w.close()
    (s,) = list_sessions(w.recovery_dir)
    rec = _record(s.folder)
    for i in range(13):  # copies: the newest 10 of them stay, and none over 7 days old
        folder = new_session_folder(w.recovery_dir)
        for p in s.folder.iterdir():
            if p.name != "session.json":
                (folder / p.name).write_bytes(p.read_bytes())
        age = 8 * 86400 if i == 0 else 60 * i
        (folder / "session.json").write_text(json.dumps(dict(rec, updated=time.time() - age)))
    assert len(list_sessions(w.recovery_dir)) == 14
    make_window().autosave_pool.waitForDone(10000)
    left = list_sessions(w.recovery_dir)
    assert len(left) == 10 and all(time.time() - x.updated < 86400 for x in left)


def test_failed_autosave_is_shown_once_and_logged(make_window, qtbot, monkeypatch, caplog,
                                                  tmp_path):
    """A full disk: the user is told once (status-bar warning and one notice), every failure
    is logged, and the warning goes once autosave works again."""
    real = sessions.write_atomic

    def full(path, data):
        raise ImageSaveError(f"cannot save '{path}': No space left on device")

    monkeypatch.setattr(sessions, "write_atomic", full)
    w = open_photo(qtbot, make_window())
    caplog.set_level(logging.WARNING)
    _paint(qtbot, w)
    qtbot.waitUntil(lambda: w.autosave_warning.isVisible(), timeout=5000)
    notice = w.autosave_notice
    assert notice.isVisible() and "No space left on device" in notice.text()
    assert not notice.isModal()  # editing goes on
    _paint(qtbot, w, ((20, 20), (60, 60)))
    qtbot.waitUntil(lambda: w.autosave_failures == 2, timeout=5000)
    boxes = [b for b in w.findChildren(QMessageBox) if b.isVisible()]
    assert boxes == [notice]  # not a flood
    errors = [r for r in caplog.records if "autosave" in r.getMessage()]
    assert len(errors) == 2 and errors[0].exc_info and errors[1].levelno == logging.WARNING
    monkeypatch.setattr(sessions, "write_atomic", real)
    _paint(qtbot, w, ((200, 200), (220, 230)))
    qtbot.waitUntil(lambda: not w.autosave_warning.isVisible(), timeout=5000)
    assert list_sessions(w.recovery_dir)[0].steps == 3


def test_unwritable_recovery_folder_is_shown(make_window, qtbot, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    w = open_photo(qtbot, make_window(recovery_dir=blocker / "recovery"))
    _paint(qtbot, w)
    qtbot.waitUntil(lambda: w.autosave_warning.isVisible(), timeout=5000)
    assert str(blocker) in w.autosave_notice.text()


def test_newest_crashed_session_is_offered(make_window, qtbot):
    older = open_photo(qtbot, make_window())
    _paint(qtbot, older)
    assert older.autosave(wait=True)
    _crash(older)
    time.sleep(0.05)
    newer = open_photo(qtbot, make_window(), SAMPLES / "coffee.jpg")
    _paint(qtbot, newer)
    assert newer.autosave(wait=True)
    _crash(newer)
    box = make_window().offer_recovery()
    assert "coffee.jpg" in box.text() and "1 steps" not in box.text()
    box.close()
