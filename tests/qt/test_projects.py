"""Project files through the real window: File ▸ Save project / Open project round trip,
and a damaged project gives a clear error without losing anything."""

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QPushButton

from neuron_desktop.core.project import load_project
from tests.qt.conftest import open_photo


def _edit(w, qtbot):
    w.invert_mask(wait=True)
    w.set_tool("hints")
    w.hint_tool.color = (0.8, 0.3, 0.1)
    qtbot.mouseClick(w.canvas, Qt.MouseButton.LeftButton, pos=w.canvas_point(120, 90).toPoint())
    with qtbot.waitSignal(w.jobs.finished, timeout=20000):
        w.panels["refine"].apply.click()


def test_save_and_reopen_a_project(make_window, qtbot, tmp_path, monkeypatch):
    w = open_photo(qtbot, make_window())
    _edit(w, qtbot)
    path = tmp_path / "work.neuron"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(path), "Neuron project (*.neuron)"))
    w.act_save_project.trigger()  # File ▸ Save project
    assert path.is_file() and "•" not in w.windowTitle() and "work.neuron" in w.windowTitle()
    image, mask, hints = w.doc.image.copy(), w.doc.mask.copy(), w.doc.hints
    record = load_project(path).record()
    names = [s["name"] for s in record["steps"]]
    assert names == ["Invert mask", "Add hint", "Refine colours"]
    refine = record["steps"][2]
    assert refine["capability"] == "refine" and "radius" in refine["params"]
    assert "refine" in record["settings"] and record["source"]["name"] == "old_photo.jpg"

    w2 = make_window()
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda *a, **k: (str(path), "Neuron project (*.neuron)"))
    with qtbot.waitSignal(w2.documentOpened, timeout=20000):
        w2.act_open_project.trigger()  # File ▸ Open project
    d = w2.doc
    assert np.abs(d.image - image).max() <= 1 / 65535 + 1e-6
    assert np.abs(d.mask - mask).max() <= 1 / 255 + 1e-6 and d.hints == hints
    assert w2.history.count() == 1 and w2.history.text(0) == "Opened project"
    assert w2.history.isClean() and "work.neuron" in w2.windowTitle()
    assert np.array_equal(d.original, w.doc.original)
    w2.act_undo.trigger()  # back to the photo as first opened
    assert np.array_equal(d.image, d.original) and not d.has_mask and d.hints == ()
    w2.act_redo.trigger()
    # a new step, saved into the same project: the record keeps the earlier ones
    w2.invert_mask(wait=True)
    w2.act_save_project.trigger()  # saved in place
    steps = [s["name"] for s in load_project(path).steps]
    assert steps == ["Invert mask", "Add hint", "Refine colours", "Invert mask"]


def test_a_truncated_project_is_a_clear_error_and_nothing_is_lost(make_window, qtbot, tmp_path,
                                                                  monkeypatch):
    w = open_photo(qtbot, make_window())
    w.invert_mask(wait=True)
    path = tmp_path / "work.neuron"
    assert w.save_project(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    damaged = path.read_bytes()
    with qtbot.waitSignal(w.load_jobs.error, timeout=20000):
        assert w.open_any(path)  # File ▸ Open routes .neuron files here too
    assert "damaged or truncated" in w.error_box.text()
    w.error_box.close()
    assert w.doc.path.name == "old_photo.jpg" and w.doc.has_mask  # the open photo stays
    assert path.read_bytes() == damaged  # the file is never rewritten by a failed open


def test_saving_a_project_keeps_the_gui_responsive_and_can_be_cancelled(
        make_window, qtbot, tmp_path, monkeypatch):
    """Issue 20: the zip of a big scan was encoded and written on the GUI thread (seconds
    on 24 MP). It runs on a worker behind a progress dialog; Cancel writes nothing."""
    import threading
    import time

    from PySide6.QtCore import QTimer

    from neuron_desktop.core import project as project_mod

    w = open_photo(qtbot, make_window())
    w.invert_mask(wait=True)
    real, threads = project_mod._png16, []

    def slow_png16(img):  # each layer takes 0.6 s, on whichever thread encodes it
        threads.append(threading.current_thread())
        time.sleep(0.6)
        return real(img)

    monkeypatch.setattr(project_mod, "_png16", slow_png16)
    ticks = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    path = tmp_path / "big.neuron"
    try:
        assert w.save_project(path)
    finally:
        timer.stop()
    assert threads and all(t is not threading.main_thread() for t in threads)
    assert len(ticks) > 20  # the event loop ran during the 1.2 s save
    assert max(b - a for a, b in zip(ticks, ticks[1:], strict=False)) < 0.3
    assert load_project(path).steps[0]["name"] == "Invert mask"
    assert "•" not in w.windowTitle()
    # Cancel in the progress dialog: nothing is written, the photo stays edited
    w.invert_mask(wait=True)
    other = tmp_path / "cancelled.neuron"
    QTimer.singleShot(400, lambda: w.project_progress.findChild(QPushButton).click())
    assert not w.save_project(other)
    assert not other.exists() and "•" in w.windowTitle()
    assert "cancelled" in w.statusBar().currentMessage()
