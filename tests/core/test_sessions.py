"""Recovery sessions (core/sessions.py): what the editor's autosave writes and restores."""

import json
import os
import time

import numpy as np
import pytest

from neuron_desktop.core import sessions
from neuron_desktop.core.document import Document, Rect
from neuron_desktop.core.errors import ImageSaveError
from neuron_desktop.core.imageio import save_image
from neuron_desktop.core.masks import Hint
from neuron_desktop.core.sessions import (
    SessionLock,
    SessionWriter,
    is_live,
    list_sessions,
    load_session,
    new_session_folder,
    newest_crashed,
    photo_fields,
    prune_sessions,
    set_state,
)


def _photo(path, value=0.5, size=(30, 20)):
    rgb = np.zeros((size[1], size[0], 3), np.float32) + value
    rgb[..., 0] = np.linspace(0, 1, size[0])[None]
    save_image(path, rgb)
    return Document.open(path)


def _write(writer, doc, *, closed=False, image=True, mask=True, steps=()):
    return writer.write(photo=photo_fields(doc.path, doc.width, doc.height, doc.source),
                        hints=[h.to_dict() for h in doc.hints], steps=list(steps),
                        revision=doc.revision, closed=closed, original=doc.original,
                        source=doc.source, image=doc.image.copy() if image else None,
                        mask=doc.mask.copy() if mask else None)


def _edit(doc):
    doc.apply_patch(Rect(0, 0, 5, 5), image=np.zeros((5, 5, 3), np.float32),
                    mask=np.ones((5, 5), np.float32))
    doc.set_hints([Hint(3, 4, (0.1, 0.2, 0.3), 7)])


@pytest.mark.parametrize("what", ["in place", "moved", "changed"])
def test_restore_from_the_sessions_own_files(tmp_path, what):
    """The session holds the original and the result: restore needs no photo file."""
    photo = tmp_path / "p.png"
    doc = _photo(photo)
    _edit(doc)
    folder = new_session_folder(tmp_path / "rec")
    _write(SessionWriter(folder), doc, steps=[{"name": "Paint mask"}])
    if what == "moved":
        photo.rename(tmp_path / "elsewhere.png")
    elif what == "changed":
        time.sleep(0.01)
        _photo(photo, value=0.9, size=(12, 9))
    back = load_session(folder)
    assert np.abs(back.doc.image - doc.image).max() <= 0.5 / 65535 + 1e-6
    assert np.array_equal(back.doc.original, doc.original)  # 8-bit source: lossless
    assert np.array_equal(back.doc.mask, doc.mask) and back.doc.hints == doc.hints
    assert back.steps == [{"name": "Paint mask"}] and back.doc.path == photo
    assert back.doc.source.bit_depth == 8 and back.doc.source.path == photo
    assert ("moved" in back.note) == (what == "moved")
    assert ("changed" in back.note) == (what == "changed")
    assert not back.note if what == "in place" else back.note


def test_layers_written_only_when_changed_and_stale_ones_removed(tmp_path):
    doc = _photo(tmp_path / "p.png")
    folder = new_session_folder(tmp_path / "rec")
    w = SessionWriter(folder)
    _write(w, doc)  # unedited: no current image, no mask
    assert w.record["layers"]["current"] is None and w.record["layers"]["mask"] is None
    _edit(doc)
    _write(w, doc)
    cur = w.record["layers"]["current"]
    _write(w, doc, image=False, mask=False)  # hints only: the layers stay
    assert w.record["layers"]["current"] == cur and (folder / cur).exists()
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(["session.json", "original.png", cur, w.record["layers"]["mask"],
                            w.record["layers"]["thumb"]])


def test_failed_write_keeps_the_previous_state(tmp_path, monkeypatch):
    """A full disk half-way through a write: session.json still names a complete state."""
    doc = _photo(tmp_path / "p.png")
    folder = new_session_folder(tmp_path / "rec")
    w = SessionWriter(folder)
    _edit(doc)
    _write(w, doc)
    before = json.loads((folder / "session.json").read_text())
    doc.apply_patch(Rect(0, 0, 30, 20), image=np.ones((20, 30, 3), np.float32))
    real = sessions.write_atomic

    def full(path, data):
        if path.name == "session.json":
            raise ImageSaveError(f"cannot save '{path}': No space left on device")
        real(path, data)

    monkeypatch.setattr(sessions, "write_atomic", full)
    with pytest.raises(ImageSaveError, match="No space"):
        _write(w, doc)
    assert json.loads((folder / "session.json").read_text()) == before
    back = load_session(folder)
    assert back.doc.image[10, 10].max() < 1  # the earlier image, not the unfinished one
    monkeypatch.setattr(sessions, "write_atomic", real)
    _write(w, doc)  # the next write succeeds and tidies up
    assert np.abs(load_session(folder).doc.image - 1).max() < 1e-4


def test_locks_tell_live_from_crashed(tmp_path):
    doc = _photo(tmp_path / "p.png")
    base = tmp_path / "rec"
    folder = new_session_folder(base)
    lock = SessionLock(folder)
    assert lock.acquire()
    _write(SessionWriter(folder), doc)
    assert is_live(folder) and not SessionLock(folder).acquire()  # even in this process
    assert newest_crashed(base) is None
    lock.release()  # what the kernel does when the editor is killed
    assert not is_live(folder)
    assert newest_crashed(base).folder == folder
    set_state(folder, closed=False, dismissed=True)
    assert newest_crashed(base) is None and list_sessions(base)[0].folder == folder


def test_probes_at_once_never_see_each_other_as_a_live_editor(tmp_path):
    """A probe holds the lock for an instant: the prune thread and the GUI thread probing a
    crashed session at once each saw the other's probe, and the session was not offered."""
    import threading

    folder = new_session_folder(tmp_path)
    lock = SessionLock(folder)
    assert lock.acquire()
    lock.release()  # the crashed editor's lock file, left behind
    seen, start = [], threading.Barrier(4)

    def probe():
        start.wait()
        seen.extend(is_live(folder) for _ in range(200))

    threads = [threading.Thread(target=probe) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 800 and not any(seen)


def test_restoring_claims_the_lock_while_probes_run(tmp_path):
    """Restoring a crashed session while the start-up prune probes it: the claim must not
    mistake the probe for another editor ("open in another window")."""
    import threading

    folder = new_session_folder(tmp_path)
    (folder / sessions.LOCK).touch()
    stop = threading.Event()

    def probe():
        while not stop.is_set():
            is_live(folder)

    threads = [threading.Thread(target=probe) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        claims = []
        for _ in range(1000):  # a plain acquire() failed a few times in 1,000 here
            lock = SessionLock(folder)
            claims.append(lock.claim())
            lock.release()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert all(claims)


def _aged(base, doc, age_s):
    folder = new_session_folder(base)
    _write(SessionWriter(folder), doc, closed=True)
    rec = json.loads((folder / "session.json").read_text())
    rec["updated"] = time.time() - age_s
    (folder / "session.json").write_text(json.dumps(rec))
    return folder


def test_prune_keeps_the_newest_ten_within_seven_days(tmp_path):
    doc = _photo(tmp_path / "p.png")
    base = tmp_path / "rec"
    fresh = [_aged(base, doc, 60 * i) for i in range(12)]  # newest first
    old = _aged(base, doc, 8 * 86400)
    live = _aged(base, doc, 9 * 86400)
    lock = SessionLock(live)
    assert lock.acquire()
    broken = new_session_folder(base)  # a crash before the first record
    os.utime(broken, (time.time() - 2 * 86400,) * 2)
    removed = prune_sessions(base)
    assert set(removed) == {*fresh[10:], old, broken}
    left = {s.folder for s in list_sessions(base)}
    assert left == {*fresh[:10], live}
    lock.release()
    assert prune_sessions(base, max_bytes=1) == fresh[1:10] + [live]  # the newest stays
