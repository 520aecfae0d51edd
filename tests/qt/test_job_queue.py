"""Issue 20, bugs 4 and 7: jobs never cancel each other silently, and edits made while a
job runs never throw its result away (driven through the real window)."""

import numpy as np
from PySide6.QtCore import Qt

from tests.qt.conftest import fake_colorize_module, install_colorize, open_photo


def _slow_colorize(monkeypatch, seconds=2.0):
    mod = fake_colorize_module(delay=seconds / 20, steps=20)
    install_colorize(monkeypatch, mod)
    return mod


def test_a_second_request_is_queued_not_cancelling_the_first(make_window, qtbot, monkeypatch):
    """Bug 4: Detect scratches (or any job) during a long run cancelled it."""
    _slow_colorize(monkeypatch)
    w = open_photo(qtbot, make_window())
    w.colorize_panel.live.setChecked(False)
    cancelled = []
    w.jobs.cancelled.connect(cancelled.append)
    with qtbot.waitSignal(w.jobs.progress, timeout=10000):
        w.colorize_panel.apply.click()
    assert w.jobs.busy
    w.panels["refine"].apply.click()  # a second operation while Colorize runs
    assert w.jobs.current_name == "Colorize" and len(w.job_queue.waiting) == 1
    assert "queued" in w.statusBar().currentMessage()
    qtbot.waitUntil(lambda: w.history.count() == 2 and not w.jobs.busy, timeout=60000)
    assert not cancelled
    assert [w.history.text(i) for i in range(2)] == ["Colorize", "Refine colours"]


def test_esc_cancels_the_running_job_and_drops_the_queue(make_window, qtbot, monkeypatch):
    _slow_colorize(monkeypatch, seconds=20)
    w = open_photo(qtbot, make_window())
    w.colorize_panel.live.setChecked(False)
    with qtbot.waitSignal(w.jobs.progress, timeout=10000):
        w.colorize_panel.apply.click()
    w.panels["refine"].apply.click()
    with qtbot.waitSignal(w.jobs.cancelled, timeout=5000):
        w.act_cancel.trigger()
    assert not w.job_queue.waiting and "dropped" in w.statusBar().currentMessage()
    qtbot.wait(100)
    assert not w.jobs.busy and w.history.count() == 0


def test_a_hint_click_during_a_long_job_does_not_cancel_it(make_window, qtbot, monkeypatch):
    """Bug 4: with Live update on, a hint click started a live colorization that killed the
    running job; live updates now wait, and only replace earlier live updates."""
    mod = _slow_colorize(monkeypatch)
    w = open_photo(qtbot, make_window())
    w.colorize_panel.live.setChecked(False)
    cancelled = []
    w.jobs.cancelled.connect(cancelled.append)
    with qtbot.waitSignal(w.jobs.progress, timeout=10000):
        w.colorize_panel.apply.click()  # a long job
    w.colorize_panel.live.setChecked(True)
    monkeypatch.setattr(w.live_preview, "request", lambda *a, **k: None)  # screen previews
    w.set_tool("hints")
    for x in (150, 200):
        qtbot.mouseClick(w.canvas, Qt.MouseButton.LeftButton,
                         pos=w.canvas_point(x, 120).toPoint())
        w.live_timer.timeout.emit()  # edits paused: the full-resolution live job is asked
    assert [q.live for q in w.job_queue.waiting] == [True]  # the later one replaced it
    qtbot.waitUntil(lambda: w._pending_live is not None, timeout=60000)
    assert not cancelled and w.history.undoText() == "Colorize"
    assert len(mod.calls) == 2 and len(mod.calls[1]["hints"]) == 2


def test_undo_during_a_job_keeps_its_result_as_a_new_step(make_window, qtbot, monkeypatch):
    """Bug 7: Ctrl+Z while a job ran threw its result away with only a status message."""
    _slow_colorize(monkeypatch)
    w = open_photo(qtbot, make_window())
    w.colorize_panel.live.setChecked(False)
    with qtbot.waitSignal(w.jobs.finished, timeout=20000):
        w.panels["refine"].apply.click()
    refined = w.doc.image.copy()
    with qtbot.waitSignal(w.jobs.progress, timeout=10000):
        w.colorize_panel.apply.click()
    w.act_undo.trigger()  # Edit ▸ Undo (Ctrl+Z) while Colorize runs
    assert np.array_equal(w.doc.image, w.doc.original)
    with qtbot.waitSignal(w.jobs.finished, timeout=60000):
        pass
    assert w.history.undoText() == "Colorize (over later edits)"
    assert "applied on top" in w.statusBar().currentMessage()
    assert not np.array_equal(w.doc.image, w.doc.original)
    w.act_undo.trigger()  # the result is one step: undo brings back the state after Ctrl+Z
    assert np.array_equal(w.doc.image, w.doc.original)
    assert not np.array_equal(refined, w.doc.original)
