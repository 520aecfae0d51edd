"""Issue 25: the editor asks before colorizing a photo that is already in colour — on Apply
and on the first live preview of a hint — with "Don't ask again for this photo"."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from neuron_desktop.qt.colour_check import ANYWAY, SETTINGS_KEY
from tests.qt.conftest import SAMPLES, open_photo

CANCEL = "Cancel"


def answer(window, choice: str, seen: list, dont_ask: bool = False, tries: int = 400) -> None:
    """Answer the next modal box with the button labelled ``choice`` (ticking its check box
    first when ``dont_ask``); its text is appended to ``seen``."""

    def poll(left: int = tries) -> None:
        box = window.prompt_box or QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox) or not box.isVisible():
            if left > 0:
                QTimer.singleShot(25, lambda: poll(left - 1))
            return
        seen.append(box.text())
        if dont_ask:
            box.checkBox().setChecked(True)
        next(b for b in box.buttons() if b.text() == choice).click()

    QTimer.singleShot(0, poll)


def test_apply_on_a_colour_photo_asks_first(make_window, fake_colorize, qtbot, settings):
    w = open_photo(qtbot, make_window(), SAMPLES / "coffee.jpg")
    w.colorize_panel.live.setChecked(False)
    seen: list[str] = []
    answer(w, CANCEL, seen)
    w.colorize_panel.apply.click()
    assert len(seen) == 1 and "already has colour" in seen[0] and "coffee.jpg" in seen[0]
    assert w.history.count() == 0 and fake_colorize.calls == []  # cancelled: nothing ran
    assert "cancelled" in w.statusBar().currentMessage()
    # asked again on the next Apply; "Colorize anyway" runs it
    answer(w, ANYWAY, seen, dont_ask=True)
    with qtbot.waitSignal(w.jobs.finished, timeout=20000):
        w.colorize_panel.apply.click()
    assert len(seen) == 2 and w.history.undoText() == "Colorize"
    assert not np.array_equal(w.doc.image, w.doc.original)
    # the answer holds for this photo: Apply again without a question
    w.history.undo()
    with qtbot.waitSignal(w.jobs.finished, timeout=20000):
        w.colorize_panel.apply.click()
    assert len(seen) == 2
    # "don't ask again for this photo": remembered in the settings, for a new window too
    assert str((SAMPLES / "coffee.jpg").resolve()) in settings.value(SETTINGS_KEY)
    w2 = open_photo(qtbot, make_window(), SAMPLES / "coffee.jpg")
    w2.colorize_panel.live.setChecked(False)
    with qtbot.waitSignal(w2.jobs.finished, timeout=20000):
        w2.colorize_panel.apply.click()
    assert len(seen) == 2 and w2.history.undoText() == "Colorize"


def test_another_colour_photo_is_still_asked_about(make_window, fake_colorize, qtbot):
    """"Don't ask again" is for that photo only; without it the next window asks again."""
    w = open_photo(qtbot, make_window(), SAMPLES / "coffee.jpg")
    w.colorize_panel.live.setChecked(False)
    seen: list[str] = []
    answer(w, ANYWAY, seen)  # box not ticked
    with qtbot.waitSignal(w.jobs.finished, timeout=20000):
        w.colorize_panel.apply.click()
    assert len(seen) == 1
    w = open_photo(qtbot, make_window(), SAMPLES / "coffee.jpg")
    w.colorize_panel.live.setChecked(False)
    answer(w, CANCEL, seen)
    w.colorize_panel.apply.click()
    assert len(seen) == 2 and w.history.count() == 0
    w = open_photo(qtbot, make_window(), SAMPLES / "astronaut.jpg")
    w.colorize_panel.live.setChecked(False)
    answer(w, CANCEL, seen)
    w.colorize_panel.apply.click()
    assert len(seen) == 3 and "astronaut.jpg" in seen[2]


def test_a_toned_or_gray_photo_is_colorized_without_a_question(make_window, fake_colorize,
                                                                qtbot):
    w = open_photo(qtbot, make_window())  # old_photo.jpg: sepia-toned
    w.colorize_panel.live.setChecked(False)
    seen: list[str] = []
    answer(w, CANCEL, seen, tries=20)
    with qtbot.waitSignal(w.jobs.finished, timeout=20000):
        w.colorize_panel.apply.click()
    assert seen == [] and w.history.undoText() == "Colorize"
    qtbot.wait(600)  # the answerer has given up


def test_the_first_live_hint_on_a_colour_photo_asks(make_window, fake_colorize, qtbot):
    w = open_photo(qtbot, make_window(), SAMPLES / "astronaut.jpg")
    w.colorize_panel.live.setChecked(True)
    w.set_tool("hints")
    w.hint_tool.color = (0.9, 0.2, 0.1)
    seen: list[str] = []
    answer(w, CANCEL, seen)
    qtbot.mouseClick(w.canvas, Qt.MouseButton.LeftButton,
                     pos=w.canvas_point(200, 150).toPoint())
    qtbot.waitUntil(lambda: len(seen) == 1, timeout=20000)
    assert "already has colour" in seen[0]
    assert len(w.doc.hints) == 1  # the hint is kept; only the colorization is not run
    qtbot.wait(1000)  # past the live timer
    assert fake_colorize.calls == [] and not w.canvas.has_preview and w._pending_live is None
    # more hints: not asked again, still nothing colorized
    qtbot.mouseClick(w.canvas, Qt.MouseButton.LeftButton,
                     pos=w.canvas_point(300, 200).toPoint())
    qtbot.waitUntil(lambda: len(w.doc.hints) == 2, timeout=5000)
    qtbot.wait(1000)
    assert len(seen) == 1 and fake_colorize.calls == []
    # Apply asks again; "Colorize anyway" colorizes with both hints
    answer(w, ANYWAY, seen)
    with qtbot.waitSignal(w.jobs.finished, timeout=20000):
        w.colorize_panel.apply.click()
    assert len(seen) == 2 and len(fake_colorize.calls[-1]["hints"]) == 2
    assert w.history.undoText() == "Colorize"
