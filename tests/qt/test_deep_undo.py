"""Deep undo on big scans (issue 20, bug 3): whole-image steps over the memory budget move
to the undo disk cache (exact copies), steps are merged only when the disk budget is spent
too (the user is told, in the status bar and in History), History's first row always shows
the photo as opened, and the cache folder goes when the window closes."""

import os

import numpy as np
import pytest
from PySide6.QtCore import Qt

from neuron_desktop.core.imageio import save_image
from neuron_desktop.core.undo_cache import SpillCache, cache_root
from tests.qt.conftest import open_photo


def _scan(tmp_path, h=1500, w=2000):
    """A generated 3 MP scan (each whole-image state: 36 MB + its 16 MB display pyramid)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([0.2 + 0.6 * x / w, 0.3 + 0.4 * y / h, 0.5 + 0.2 * np.sin(x / 50)], -1)
    path = tmp_path / "big_scan.png"
    save_image(path, np.clip(img, 0, 1), bit_depth=16)
    return path


def _levels(qtbot, w, black):
    st = w.scan_tools
    st.panel.forms["levels"].widgets["black"].setValue(black)
    with qtbot.waitSignal(st.jobs.finished, timeout=60000):
        qtbot.mouseClick(st.panel.applies["levels"], Qt.MouseButton.LeftButton)


def _click_history_row(qtbot, w, row):
    view = w.undo_view
    rect = view.visualRect(view.model().index(row, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_big_scan_keeps_many_whole_image_steps_and_the_opened_photo(window, qtbot, tmp_path):
    """Bug 3: each whole-image step cost the budget twice its size, older steps vanished
    silently, and "Opened photo" then showed an edited picture with Undo disabled and no •."""
    w = open_photo(qtbot, window, _scan(tmp_path))
    w.docks["scan"].show()
    h = w.history
    h.byte_limit, h.disk_limit = 60 * 2**20, 160 * 2**20  # ~1 step in memory, 3 on disk
    original = w.doc.original.copy()
    states = []
    dropped = []
    h.stepsDropped.connect(dropped.append)
    for i in range(7):
        _levels(qtbot, w, 3 + i)
        h.wait_spills()
        states.append(w.doc.image.copy())
        assert h.nbytes <= h.byte_limit + 60 * 2**20  # the newest step may stay in memory
        assert h.disk_nbytes <= h.disk_limit
    assert h.disk_nbytes > 0  # older steps went to the disk cache...
    assert any(f.suffix == ".npy" for f in h.cache.folder.iterdir())
    assert dropped and sum(dropped) == h.dropped_total  # ...and the oldest were merged
    first = h.command(0).text()
    assert "earlier step" in first and "merged" in first
    qtbot.waitUntil(lambda: w.undo_notice.isVisible())  # stays in the status bar
    assert f"{h.dropped_total} oldest step(s) merged" in w.undo_notice.text()
    kept = h.count() - 1
    # the edit record still lists every step, once (the merged row is not one)
    names = [s["name"] for s in w.edit_steps()]
    assert len(names) == 7 and all(n in ("Levels", "Auto contrast") for n in names)
    assert kept >= 4  # 1 in memory, 3 on disk (+ the merged first step)
    # undo step by step: each state comes back exactly (memory-mapped from the cache)
    for k in range(1, kept):
        w.act_undo.trigger()
        np.testing.assert_array_equal(w.doc.image, states[-1 - k])
    # the first row is the photo as opened: the original, Redo only, no "•"
    _click_history_row(qtbot, w, 0)
    assert h.index() == 0
    np.testing.assert_array_equal(w.doc.image, original)
    assert not w.doc.mask.any() and w.doc.hints == ()
    assert not w.act_undo.isEnabled() and w.act_redo.isEnabled()
    assert "•" not in w.windowTitle()
    # the last row: the newest state, exactly
    _click_history_row(qtbot, w, h.count())
    np.testing.assert_array_equal(w.doc.image, states[-1])
    assert "•" in w.windowTitle()
    # back to the first row, then an edit of the original shown as is: a new step, and
    # the original itself never changes
    _click_history_row(qtbot, w, 0)
    w.brush.begin(50, 50, False)
    w.brush.move(90, 60)
    w.brush.end()
    assert w.doc.mask.any() and h.count() == 1
    w.act_undo.trigger()
    np.testing.assert_array_equal(w.doc.original, original)
    np.testing.assert_array_equal(w.doc.image, original)


def test_the_disk_cache_is_removed_when_the_window_closes(make_window, qtbot, tmp_path):
    w = open_photo(qtbot, make_window(), _scan(tmp_path, 600, 800))
    h = w.history
    h.byte_limit = 1  # everything not on screen goes to disk
    _levels(qtbot, w, 10)
    _levels(qtbot, w, 12)
    h.wait_spills()
    folder = h.cache.folder
    assert h.disk_nbytes > 0 and any(folder.iterdir())
    w.history.setClean()
    w.close()
    assert not folder.exists()


def test_a_crashed_sessions_cache_is_swept_at_the_next_start(tmp_path):
    stale = cache_root() / "999999999-crashed"
    stale.mkdir(parents=True)
    (stale / "x.npy").write_bytes(b"0" * 10)
    cache = SpillCache()
    arr = cache.spill(np.ones((4, 4), np.float32))
    assert not stale.exists()
    assert cache.folder.name.startswith(f"{os.getpid()}-")
    assert cache.disk_bytes > 0 and float(arr.sum()) == 16
    del arr
    assert cache.disk_bytes == 0  # a file goes with the last step that refers to it
    cache.close()


@pytest.mark.parametrize("budget_mb", [64])
def test_lowering_the_budget_in_preferences_merges_at_once_and_says_so(
        window, qtbot, tmp_path, budget_mb):
    w = open_photo(qtbot, window, _scan(tmp_path, 1200, 1600))
    h = w.history
    for i in range(4):
        _levels(qtbot, w, 5 + i)
    h.wait_spills()
    assert h.count() == 4 and h.disk_nbytes == 0  # all in memory with the default budget
    w.act_preferences.trigger()
    dlg = w.preferences_dialog
    qtbot.waitExposed(dlg)
    dlg.undo_mb.setValue(budget_mb)
    dlg.undo_disk.setValue(0)
    qtbot.mouseClick(dlg.buttons.button(dlg.buttons.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)
    assert h.byte_limit == budget_mb * 2**20 and h.disk_limit == 0
    assert "merged" in h.command(0).text() and h.count() < 4
    qtbot.waitUntil(lambda: "Undo budget reached" in w.statusBar().currentMessage())
    assert int(w.settings.value("history/limit_mb")) == budget_mb
