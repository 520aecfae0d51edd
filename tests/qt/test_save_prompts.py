"""Issue 20, bug 2: unsaved work is never discarded without asking (Save / Discard / Cancel
on open, open recent, drops and closing), driven through the real window."""

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QFileDialog

from tests.qt.conftest import SAMPLES, open_photo
from tests.qt.prompting import Std, answer

COFFEE = SAMPLES / "coffee.jpg"


def _edited(qtbot, window):
    w = open_photo(qtbot, window)
    w.invert_mask(wait=True)
    assert "•" in w.windowTitle()
    return w


def _drop(widget, target, path, at: QPointF | None = None):
    """A drop event of ``path`` at ``at`` (coordinates of ``target``), handed to ``widget``'s
    drop handler (what Qt calls after a drag ends over it)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    pos = at if at is not None else QPointF(target.width() / 2, target.height() / 2)
    pos = QPointF(target.mapTo(widget, pos.toPoint()))
    ev = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(ev)


def test_open_over_unsaved_edits_asks_and_cancel_keeps_them(window, qtbot, monkeypatch):
    w = _edited(qtbot, window)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(COFFEE), ""))
    seen = answer(w, Std.Cancel)
    w.act_open.trigger()  # File ▸ Open
    assert seen and "Save the changes" in seen[0]
    assert w.doc.path.name == "old_photo.jpg" and w.doc.has_mask and "•" in w.windowTitle()
    answer(w, Std.Discard)
    with qtbot.waitSignal(w.documentOpened, timeout=20000):
        w.act_open.trigger()
    assert w.doc.path.name == "coffee.jpg"


def test_save_in_the_prompt_exports_then_opens(window, qtbot, monkeypatch, tmp_path):
    w = _edited(qtbot, window)
    out = tmp_path / "kept.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "PNG (*.png)"))
    answer(w, Std.Save)
    with qtbot.waitSignal(w.documentOpened, timeout=20000):
        assert w.open_file(COFFEE)
    assert out.is_file() and w.doc.path.name == "coffee.jpg"


def test_open_recent_over_unsaved_edits_asks(window, qtbot):
    w = _edited(qtbot, window)
    w.add_recent(str(COFFEE))
    seen = answer(w, Std.Cancel)
    w.recent_menu.actions()[0].trigger()
    assert seen and w.doc.path.name == "old_photo.jpg"


def test_dropping_a_photo_on_the_canvas_asks_before_replacing(window, qtbot):
    w = _edited(qtbot, window)
    seen = answer(w, Std.Cancel)
    _drop(w.canvas, w.canvas, COFFEE)
    assert seen and w.doc.path.name == "old_photo.jpg" and w.doc.has_mask


def test_a_drop_on_the_tools_dock_asks_what_it_is(window, qtbot):
    """Bug 2: a drop on the right-hand dock with its Tools tab showing opened the image as a
    new photo, silently discarding the edits."""
    w = _edited(qtbot, window)
    w.docks["tools"].raise_()
    tools = w.docks["tools"]
    seen = answer(w, Std.Cancel)
    _drop(w, tools, COFFEE)
    assert seen and "used for" in seen[0]
    assert w.doc.path.name == "old_photo.jpg"
    # "Add to styles" makes it a style, the photo stays
    n = w.styles_panel.list.count()
    answer(w, "Add to &styles")
    with qtbot.waitSignal(w.styles_panel.styleAdded, timeout=5000):
        _drop(w, tools, COFFEE)
    assert w.styles_panel.list.count() == n + 1 and w.doc.path.name == "old_photo.jpg"
    # "Open as photo" still asks about the unsaved edits
    seen = answer(w, "Open as &photo", Std.Discard)
    with qtbot.waitSignal(w.documentOpened, timeout=20000):
        w.docks["tools"].raise_()
        _drop(w, w.docks["tools"], COFFEE)
    assert len(seen) == 2 and "Save the changes" in seen[1]
    assert w.doc.path.name == "coffee.jpg"


def test_quit_and_close_ask_and_cancel_keeps_the_window(window, qtbot):
    w = _edited(qtbot, window)
    seen = answer(w, Std.Cancel)
    w.act_quit.trigger()  # File ▸ Quit (Ctrl+Q)
    assert seen and "closing" in seen[0]
    assert w.isVisible() and w.doc is not None
    seen = answer(w, Std.Cancel)
    assert not w.close()  # the window's close button
    assert seen and w.isVisible()
    answer(w, Std.Discard)
    assert w.close()
    assert not w.isVisible()


def test_no_prompt_without_unsaved_edits(window, qtbot):
    w = open_photo(qtbot, window)
    with qtbot.waitSignal(w.documentOpened, timeout=20000):
        assert w.open_file(COFFEE)  # would block on a prompt
    assert w.close()
