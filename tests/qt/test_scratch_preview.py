"""Live preview of Detect scratches in the real window: the sensitivity slider driven by the
keyboard shows a preview overlay computed on a worker (latest request wins), Apply keeps it
as one undo step, and Protect faces removes most marks from the face of the bundled portrait."""

import threading
import time

import numpy as np
from PySide6.QtCore import Qt

from neuron_desktop.pipelines import faces
from neuron_desktop.qt import scratch_preview
from tests.qt.conftest import SAMPLES, open_photo


def _classical(w):
    box = w.brush_panel.detection.widgets["method"]
    box.setCurrentIndex(box.findData("classical"))


def _slider(w):
    return w.brush_panel.detection.widgets["sensitivity"]


def test_slider_shows_preview_on_a_worker_latest_wins(photo_window, qtbot, monkeypatch):
    w = photo_window
    sp = w.scratch_preview
    _classical(w)
    qtbot.waitUntil(lambda: sp.visible, timeout=20000)  # the detector change previews
    real = scratch_preview.ScratchPreviewWorker.detect
    seen, gui = [], threading.get_ident()

    def slow(self, small, params):
        assert threading.get_ident() != gui  # never on the GUI thread
        seen.append(params["sensitivity"])
        time.sleep(0.4)
        return real(self, small, params)

    monkeypatch.setattr(scratch_preview.ScratchPreviewWorker, "detect", slow)
    slider = _slider(w)
    slider.setFocus()
    start = slider.value()
    shown = []
    sp.shown.connect(lambda s, n: shown.append(n))
    qtbot.keyClick(slider, Qt.Key.Key_PageUp)  # the first request starts computing ...
    qtbot.wait(100)
    for _ in range(3):  # ... these replace each other while it runs: only the last is run
        qtbot.keyClick(slider, Qt.Key.Key_PageUp)
        qtbot.wait(60)
    assert slider.value() == start + 40
    qtbot.waitUntil(lambda: len(seen) >= 2 and not sp.worker.pending and bool(shown), timeout=20000)
    qtbot.wait(600)
    assert seen[0] == (start + 10) / 100 and seen[-1] == (start + 40) / 100
    assert len(seen) == 2, seen  # the two in between were dropped
    assert len(shown) == 1  # the overtaken first result was never shown
    assert sp._key[2] == tuple(sorted(w.brush_panel.detection.values().items()))
    img = sp.overlay.image
    assert img is not None and max(img.width(), img.height()) <= scratch_preview.PREVIEW_SIDE
    assert sp.overlay.isVisible() and not w.doc.has_mask  # a preview only: mask unchanged
    assert w.history.count() == 0


def test_apply_keeps_the_preview_as_one_undo_step(photo_window, qtbot):
    w = photo_window
    _classical(w)
    slider = _slider(w)
    with qtbot.waitSignal(w.scratch_preview.shown, timeout=20000):
        slider.setValue(80)
    assert w.scratch_preview.visible and not w.doc.has_mask
    with qtbot.waitSignal(w.jobs.finished, timeout=30000):
        qtbot.mouseClick(w.brush_panel.detect, Qt.MouseButton.LeftButton)
    assert w.history.count() == 1 and w.history.undoText() == "Detect scratches"
    assert w.doc.has_mask and not w.scratch_preview.visible
    # a layer swap made on the worker: no 24 MP tile diff on the GUI thread
    step = w.history.command(0)
    assert type(step).__name__ == "GeometryCommand" and step.new.image is step.old.image
    assert step.record["capability"] == "detect-scratches"
    found = w.doc.mask.copy()
    w.history.undo()
    assert not w.doc.has_mask and w.canvas.pyramids().get("mask") is None
    w.history.redo()
    assert np.array_equal(w.doc.mask, found) and w.canvas.pyramids()["mask"] is not None


def test_detection_adds_to_the_painted_mask(photo_window, qtbot):
    w = photo_window
    _classical(w)
    w.brush.begin(20, 20, False)
    w.brush.move(60, 20)
    w.brush.end()
    painted = w.doc.mask.copy()
    assert painted.any()
    with qtbot.waitSignal(w.jobs.finished, timeout=30000):
        w.detect_scratches()
    assert (w.doc.mask >= painted).all() and w.doc.mask.sum() > painted.sum()
    w.history.undo()
    assert np.array_equal(w.doc.mask, painted)


def _marks_on_features(w, qtbot, protect: bool) -> tuple[int, int]:
    box = w.brush_panel.detection.widgets["protect_faces"]
    with qtbot.waitSignal(w.scratch_preview.shown, timeout=30000):
        if box.isChecked() != protect:
            qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=box.rect().topLeft()
                             + (box.rect().center() - box.rect().topLeft()) / 4)
        else:
            w.scratch_preview.schedule()
    assert box.isChecked() == protect
    small = w.scratch_preview.worker._cache["small"]
    marks = w.scratch_preview.worker.detect(small, w.brush_panel.detection.values())
    on_faces = faces.face_mask(small.shape[:2], faces.face_boxes(small))
    return int((marks & on_faces).sum()), int(marks.sum())


def test_protect_faces_keeps_marks_off_the_face(window, qtbot):
    w = open_photo(qtbot, window, SAMPLES / "astronaut.jpg")  # a portrait
    assert faces.unavailable() is None
    _classical(w)
    box = w.brush_panel.detection.widgets["protect_faces"]
    assert box.isEnabled() and box.text() == "Protect faces"
    _slider(w).setValue(80)  # the classical detector then marks eyes, brows and nostrils
    on_face, total = _marks_on_features(w, qtbot, False)
    on_face_p, total_p = _marks_on_features(w, qtbot, True)
    assert on_face > 0, "the classical detector at 80 % should mark something on the face"
    assert on_face_p < on_face / 2
    assert total - total_p <= on_face  # only marks on the face went
    shown = w.scratch_preview.overlay.image  # what is on screen is the protected preview
    alpha = np.frombuffer(shown.constBits(), np.uint8).reshape(
        shown.height(), shown.bytesPerLine() // 4, 4)[:, :shown.width(), 3]
    assert int((alpha > 0).sum()) == total_p
    assert w.capability_params("detect-scratches")["protect_faces"] is True


def test_no_photo_no_preview(window, qtbot):
    _slider(window).setValue(70)
    qtbot.wait(200)
    assert not window.scratch_preview.visible and not window.scratch_preview.timer.isActive()
    assert np.isclose(window.capability_params("detect-scratches")["sensitivity"], 0.7)
