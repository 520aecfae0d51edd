"""The GUI thread stays free: photos load on the pool, job inputs are snapshots copied on the
worker, and a result's tile diffs are computed there before it reaches the GUI thread."""

import threading

import cv2
import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from neuron_desktop.core import document as document_mod
from neuron_desktop.qt import documents as documents_mod
from neuron_desktop.qt.commands import EditCommand, StrokeCommand
from tests.qt.conftest import SAMPLES


def test_open_large_photo_returns_to_the_event_loop(window, qtbot, tmp_path, monkeypatch):
    path = tmp_path / "large.png"
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (30, 40, 3), np.uint8)
    cv2.imwrite(str(path), cv2.resize(small, (2400, 1800), interpolation=cv2.INTER_CUBIC))
    threads, gate = [], threading.Event()
    real = documents_mod.build_pyramids

    def slow_build(*args, **kw):  # records its thread, then waits for the test
        threads.append(threading.current_thread())
        assert gate.wait(20)
        return real(*args, **kw)

    monkeypatch.setattr(documents_mod, "build_pyramids", slow_build)
    assert window.open_file(path)  # returns at once: decoding runs on the pool
    qtbot.waitUntil(lambda: bool(threads), timeout=20000)
    for _ in range(5):  # the event loop keeps running while the photo loads
        QApplication.processEvents()
    assert window.doc is None and window.progress.isVisible()
    assert window.statusBar().currentMessage().startswith("Opening large.png")
    with qtbot.waitSignal(window.documentOpened, timeout=20000):
        gate.set()
    assert threads[0] is not threading.main_thread()
    assert (window.doc.width, window.doc.height) == (2400, 1800)
    assert window.canvas._orig_pyr is not None and not window.progress.isVisible()
    assert window.canvas.grab().toImage().pixel(window.canvas.width() // 2,
                                                window.canvas.height() // 2) != 0


@pytest.fixture
def diff_threads(monkeypatch) -> list:
    """The threads that compute tile diffs (``document.changed_tiles``), in call order."""
    threads = []
    real = document_mod.changed_tiles

    def recording(old, new, tile):
        threads.append(threading.current_thread())
        return real(old, new, tile)

    monkeypatch.setattr(document_mod, "changed_tiles", recording)
    return threads


def test_result_diffs_are_computed_on_the_worker(photo_window, qtbot, diff_threads):
    w = photo_window
    w.import_mask(SAMPLES / "old_photo_mask.png", wait=True)
    threads = diff_threads
    threads.clear()
    before = w.doc.image.copy()
    with qtbot.waitSignal(w.jobs.finished, timeout=20000):
        w.run_inpaint()  # a local edit: tile diffs
    assert threads and all(t is not threading.main_thread() for t in threads)
    assert w.history.count() == 2 and not np.array_equal(w.doc.image, before)
    w.history.undo()
    assert np.array_equal(w.doc.image, before)


def test_whole_image_result_is_swapped_in_made_on_the_worker(photo_window, qtbot,
                                                             diff_threads, monkeypatch):
    """Refine changes every pixel: the worker makes the new image and its display pyramid;
    the step swaps references (no tile diff, no re-encoding on the GUI thread)."""
    from neuron_desktop.qt import layer_swap

    w = photo_window
    made = []
    real = layer_swap.Pyramid

    def recording(*args, **kw):
        made.append(threading.current_thread())
        return real(*args, **kw)

    monkeypatch.setattr(layer_swap, "Pyramid", recording)
    before = w.doc.image.copy()
    with qtbot.waitSignal(w.jobs.finished, timeout=20000):
        w.run_refine()
    assert made and all(t is not threading.main_thread() for t in made)
    assert not diff_threads  # no tile diff at all
    step = w.history.command(0)
    assert type(step).__name__ == "GeometryCommand" and step.new.mask is step.old.mask
    assert w.canvas.pyramids()["image"] is step.new.pyramids["image"]
    assert step.record["capability"] == "refine" and not np.array_equal(w.doc.image, before)
    w.history.undo()
    assert np.array_equal(w.doc.image, before)
    assert w.canvas.pyramids()["image"] is step.old.pyramids["image"]


def test_job_input_is_a_snapshot_not_a_copy(photo_window, qtbot, monkeypatch):
    w = photo_window
    w.import_mask(SAMPLES / "old_photo_mask.png", wait=True)
    snaps = []
    real = w.doc.snapshot

    def recording(*layers):
        snaps.append(real(*layers))
        return snaps[-1]

    monkeypatch.setattr(w.doc, "snapshot", recording)
    image, mask = w.doc.image, w.doc.mask
    with qtbot.waitSignal(w.jobs.finished, timeout=20000):
        w.run_inpaint()
        assert snaps[0].image is image and snaps[0].mask is mask  # no copy on submit
    assert not snaps[0].pinned  # released by the worker once it held its inputs


def test_result_is_applied_on_top_if_the_photo_changed_meanwhile(photo_window, qtbot):
    """Issue 20, bug 7: the result was discarded with only a status-bar word."""
    w = photo_window
    with qtbot.waitSignal(w.jobs.finished, timeout=20000):
        w.run_refine()
        edited = w.doc.image.copy()
        edited[:10] = 0  # an edit lands before the result reaches the GUI thread
        w.history.push(EditCommand(w.doc, "edit", image=edited))
    assert w.history.count() == 2
    assert w.history.undoText() == "Refine colours (over later edits)"
    assert "applied on top" in w.statusBar().currentMessage()
    w.history.undo()  # removes the result only: the edit is as it was
    assert np.array_equal(w.doc.image, edited)


def test_mask_painted_during_inpaint_is_kept(photo_window, qtbot):
    w = photo_window
    w.import_mask(SAMPLES / "old_photo_mask.png", wait=True)
    with qtbot.waitSignal(w.jobs.finished, timeout=20000):
        w.run_inpaint()
        w.history.push(StrokeCommand(w.doc, (400, 250), (420, 250), 5, 1.0, False, 99))
    assert w.history.undoText().startswith("Inpaint")
    assert w.doc.mask[250, 410] > 0.9  # the new stroke was not cleared with the result
    w.history.undo()  # the inpaint step holds the image only; the mask is as painted
    assert w.doc.mask[250, 410] > 0.9


def test_whole_mask_edits_run_on_a_worker(photo_window, qtbot, monkeypatch, tmp_path,
                                          diff_threads):
    w = photo_window
    threads = diff_threads
    with qtbot.waitSignal(w.mask_jobs.finished, timeout=20000):
        assert w.invert_mask()  # returns at once
    assert w.doc.mask.min() == 1.0 and w.history.undoText() == "Invert mask"
    assert threads and all(t is not threading.main_thread() for t in threads)
    with qtbot.waitSignal(w.mask_jobs.finished, timeout=20000):
        w.clear_mask()
    assert not w.doc.has_mask
    w.history.undo()
    assert w.doc.mask.min() == 1.0
    bad = tmp_path / "small.png"
    cv2.imwrite(str(bad), np.zeros((10, 10), np.uint8))
    errors = []
    monkeypatch.setattr(w, "show_error", lambda title, text: errors.append((title, text)))
    with qtbot.waitSignal(w.mask_jobs.error, timeout=20000):
        w.import_mask(bad)  # wrong size: a clear error, the mask is unchanged
    assert errors and "Import mask" in errors[0][0]
    assert w.doc.mask.min() == 1.0
