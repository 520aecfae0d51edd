"""Live colorization in the real window: a click with the hint tool shows a screen-sized
preview at once (before the full-resolution job), and View ▸ Show uncertain areas shades
where the model is unsure."""

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from tests.qt.conftest import open_photo


@pytest.fixture
def semantic_colorize(monkeypatch):
    from neuron_desktop import capabilities
    from neuron_desktop.models.colorization import SemanticColorizer
    from neuron_desktop.pipelines import colorize as module

    torch.manual_seed(0)
    net = SemanticColorizer(widths=(8, 8, 8), pretrained_semantic=False).eval()
    monkeypatch.setattr(capabilities.get("colorize"), "available", lambda: None)
    monkeypatch.setattr(module, "load_colorizer", lambda weights="default", device="cpu": net)
    return module


def _window_with_a_hint(qtbot, make_window, color):
    """A window on the sample photo, live colorization on, one hint clicked at (200, 150)."""
    w = open_photo(qtbot, make_window())
    w.colorize_panel.live.setChecked(True)
    w.set_tool("hints")
    w.hint_tool.color = color
    qtbot.mouseClick(w.canvas, Qt.MouseButton.LeftButton,
                     pos=w.canvas_point(200.5, 150.5).toPoint())  # the pixel centre
    return w


def test_a_hint_click_shows_a_live_preview_and_the_uncertainty_overlay(
        semantic_colorize, make_window, qtbot):
    w = _window_with_a_hint(qtbot, make_window, (0.9, 0.2, 0.1))
    qtbot.waitUntil(lambda: w.live_preview.previews >= 1, timeout=30000)
    assert w.canvas.has_preview
    assert 0 < w.live_preview.last_latency < 30
    assert len(w.doc.hints) == 1
    # the uncertainty overlay, from the View menu's action
    w.live_preview.act_uncertain.trigger()
    qtbot.waitUntil(lambda: w.canvas.has_overlay, timeout=30000)
    w.live_preview.act_uncertain.trigger()
    assert not w.canvas.has_overlay
    # let the full-resolution live job (started when edits pause) finish before closing
    qtbot.waitUntil(lambda: w._pending_live is not None, timeout=60000)


def test_the_live_preview_is_as_large_as_the_canvas_shows_the_photo(
        semantic_colorize, make_window, qtbot):
    """The preview is computed at the photo's size on screen (device pixels, in steps of 32,
    at least 256), never above the session's cap: zoomed out it costs less, zoomed in the
    full-resolution result shows the detail."""
    w = _window_with_a_hint(qtbot, make_window, (0.9, 0.2, 0.1))
    qtbot.waitUntil(lambda: w.live_preview.previews >= 1, timeout=30000)
    live = w.live_preview
    shown = max(w.doc.width, w.doc.height) * w.canvas.device_zoom()
    expected = min(live.live.preview_size, max(256, -(-shown // 32) * 32))
    assert live.preview_size() == expected
    image = w.canvas._preview
    assert max(image.width(), image.height()) == min(expected, max(w.doc.width, w.doc.height))
    w.canvas.set_zoom(w.canvas.zoom / 4)  # small on screen: the floor
    assert live.preview_size() == 256
    w.canvas.set_zoom(8.0)  # zoomed far in: the cap
    assert live.preview_size() == live.live.preview_size
    n = live.previews
    live.request()
    qtbot.waitUntil(lambda: live.previews > n, timeout=30000)
    image = w.canvas._preview
    assert max(image.width(), image.height()) == min(live.live.preview_size,
                                                      max(w.doc.width, w.doc.height))
    qtbot.waitUntil(lambda: w._pending_live is not None, timeout=60000)


def test_export_writes_the_live_colorization_on_the_canvas(semantic_colorize, make_window,
                                                          qtbot, tmp_path, monkeypatch):
    """Issue 20, bug 1: a live colorization on screen was exported as the gray photo."""
    import numpy as np

    from neuron_desktop.core.imageio import load_image

    w = _window_with_a_hint(qtbot, make_window, (0.9, 0.2, 0.1))
    qtbot.waitUntil(lambda: w._pending_live is not None, timeout=60000)
    assert w.canvas.has_preview
    out = tmp_path / "export.png"
    assert w.save_as(out)
    saved = load_image(out).rgb
    assert not np.allclose(saved, w.doc.original, atol=2 / 255)  # not the gray photo
    assert np.abs(saved - w.doc.image).max() <= 1 / 255 + 1e-6  # what the canvas showed
    assert w.history.undoText() == "Colorize"
    assert not w.canvas.has_preview


def test_export_name_without_extension_takes_the_chosen_format(photo_window, tmp_path,
                                                               monkeypatch):
    """Issue 20, bug 10: 'restored' with PNG selected failed instead of writing restored.png."""
    from PySide6.QtWidgets import QFileDialog

    w = photo_window
    target = tmp_path / "restored"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(target), "JPEG (*.jpg *.jpeg)"))
    assert w.save_as()
    assert (tmp_path / "restored.jpg").exists()


def test_undoing_hints_updates_the_live_preview(semantic_colorize, make_window, qtbot):
    """Issue 20, bug 5: after undoing every hint the canvas kept the hinted colours."""
    w = _window_with_a_hint(qtbot, make_window, (0.1, 0.2, 0.9))
    qtbot.waitUntil(lambda: w.live_preview.previews >= 1, timeout=30000)
    shown = w.live_preview.previews
    while w.history.canUndo():
        w.history.undo()
    assert w.doc.hints == ()
    qtbot.waitUntil(lambda: w.live_preview.previews > shown, timeout=30000)
    assert w.live_preview._last_hints == ()  # the preview on screen is for no hints
    qtbot.waitUntil(lambda: w._pending_live is not None and w._pending_live[2] == (),
                    timeout=60000)


def test_a_new_hint_takes_the_models_most_likely_colour(semantic_colorize, make_window,
                                                        qtbot):
    """Issue 20, bug 6: a new hint was neutral gray and drained the colour around it."""
    from neuron_desktop.core.imageio import to_tensor

    w = _window_with_a_hint(qtbot, make_window, (0.5, 0.5, 0.5))  # the tool's colour: gray
    top = semantic_colorize.suggest_colors(to_tensor(w.doc.image), [], (200, 150), 8)[0][0]
    qtbot.waitUntil(lambda: w.hint_tool.pending is None, timeout=30000)
    h = w.doc.hints[0]
    assert np.allclose(h.rgb, top, atol=1e-5) and not np.allclose(h.rgb, (0.5, 0.5, 0.5))
    assert w.history.count() == 1 and w.history.undoText() == "Add hint"  # one step
    # the live colorization runs with that colour, never with the gray placeholder
    qtbot.waitUntil(lambda: w.live_preview.previews >= 1, timeout=30000)
    assert w.live_preview._last_hints == (h,)
    qtbot.waitUntil(lambda: w._pending_live is not None, timeout=60000)
    assert w._pending_live[2] == (h,)
    w.act_undo.trigger()  # one Ctrl+Z removes the hint, colour and all
    assert w.doc.hints == ()


def test_the_look_past_grain_choice_decides_how_the_live_colorizer_reads_the_photo(
        semantic_colorize, make_window, qtbot, monkeypatch):
    """The colorize panel's "Look past grain and fading" choice ("Never" by default) reaches
    the live colorizer: "Where damaged" reads a damaged photo through the restorer."""
    seen = []
    real = semantic_colorize.LiveColorizer

    def spy(*args, **kwargs):
        seen.append(kwargs.get("clean_view"))
        return real(*args, **kwargs)

    monkeypatch.setattr(semantic_colorize, "LiveColorizer", spy)
    w = open_photo(qtbot, make_window())
    combo = w.colorize_panel.clean_view
    assert combo.currentData() == "off" and combo.currentText() == "Never"
    combo.setCurrentIndex(combo.findData("auto"))
    w.colorize_panel.live.setChecked(True)
    w.set_tool("hints")
    qtbot.mouseClick(w.canvas, Qt.MouseButton.LeftButton,
                     pos=w.canvas_point(200.5, 150.5).toPoint())
    qtbot.waitUntil(lambda: w.live_preview.previews >= 1, timeout=30000)
    assert seen and seen[-1] == "auto"
    qtbot.waitUntil(lambda: w._pending_live is not None, timeout=60000)


def test_the_vividness_slider_recolours_the_live_preview_as_it_moves(
        semantic_colorize, make_window, qtbot, monkeypatch):
    """The colorize panel's Vividness (50 % by default) re-runs the live preview as it
    moves, with no hint edit. It reaches the live colorizer without rebuilding the photo's
    session (the encoder does not run again), and the full-resolution result uses it."""
    built, seen = [], []
    real = semantic_colorize.LiveColorizer

    class Spy(real):
        def __init__(self, *args, **kwargs):
            built.append(1)
            super().__init__(*args, **kwargs)

        def preview(self, hints, size=None):
            seen.append(self.vividness)
            return super().preview(hints, size)

    monkeypatch.setattr(semantic_colorize, "LiveColorizer", Spy)
    w = open_photo(qtbot, make_window())
    slider = w.colorize_panel.vividness
    assert slider.value() == 50 and "colour" in slider.toolTip()
    w.colorize_panel.live.setChecked(True)
    slider.setValue(90)
    qtbot.waitUntil(lambda: w.live_preview.previews >= 1, timeout=30000)
    assert seen[-1] == 0.9 and w.canvas.has_preview
    slider.setValue(20)
    qtbot.waitUntil(lambda: w.live_preview.previews >= 2 and seen[-1] == 0.2, timeout=30000)
    assert len(built) == 1  # one session for the photo: only the decoding changed
    qtbot.waitUntil(lambda: w._pending_live is not None and  # the latest position's
                    w._pending_live[3]["vividness"] == 0.2, timeout=60000)


def test_choosing_the_hint_tool_prepares_the_photo_for_its_first_hint(
        semantic_colorize, make_window, qtbot, monkeypatch):
    """The hint tool warms the live colorizer's session (the encoder's pass) in the
    background, showing nothing; the first hint then reuses it, as every later one does."""
    built = []
    real = semantic_colorize.LiveColorizer

    class Spy(real):
        def __init__(self, *args, **kwargs):
            built.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(semantic_colorize, "LiveColorizer", Spy)
    w = open_photo(qtbot, make_window())
    w.colorize_panel.live.setChecked(True)
    assert not built  # the brush in hand: nothing prepared
    w.set_tool("hints")
    qtbot.waitUntil(lambda: len(built) == 1, timeout=30000)
    assert w.live_preview.previews == 0 and not w.canvas.has_preview
    w.set_tool("brush")
    w.set_tool("hints")  # the same photo: the session is kept
    qtbot.mouseClick(w.canvas, Qt.MouseButton.LeftButton,
                     pos=w.canvas_point(200.5, 150.5).toPoint())
    qtbot.waitUntil(lambda: w.live_preview.previews >= 1, timeout=30000)
    assert len(built) == 1 and w.canvas.has_preview
    qtbot.waitUntil(lambda: w._pending_live is not None, timeout=60000)


def test_a_new_hints_colour_comes_from_the_live_session(semantic_colorize, make_window,
                                                        qtbot, monkeypatch):
    """With Live update on, the picker's suggestions (and a new hint's colour) come from
    the photo's live session, not from a worker job that runs the encoder again; if the
    session fails, a worker job answers."""
    from neuron_desktop.core.imageio import to_tensor

    w = open_photo(qtbot, make_window())
    jobs = []
    real_submit = w.suggest_jobs.submit
    monkeypatch.setattr(w.suggest_jobs, "submit", lambda spec: jobs.append(spec.name)
                        or real_submit(spec))
    w.colorize_panel.live.setChecked(True)
    w.set_tool("hints")
    w.hint_tool.color = (0.5, 0.5, 0.5)
    qtbot.mouseClick(w.canvas, Qt.MouseButton.LeftButton,
                     pos=w.canvas_point(200.5, 150.5).toPoint())
    qtbot.waitUntil(lambda: w.hint_tool.pending is None, timeout=30000)
    top = semantic_colorize.suggest_colors(to_tensor(w.doc.image), [], (200, 150), 8)
    assert np.allclose(w.doc.hints[0].rgb, top[0][0], atol=1e-5)
    assert np.allclose(w.hint_panel.suggested.colors, [c for c, _ in top], atol=1e-5)
    assert jobs == []
    qtbot.waitUntil(lambda: w._pending_live is not None, timeout=60000)
    # the live session breaks: the next new hint still gets the model's colour, from a job
    monkeypatch.setattr(semantic_colorize.LiveColorizer, "suggest",
                        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("no session")))
    qtbot.mouseClick(w.canvas, Qt.MouseButton.LeftButton,
                     pos=w.canvas_point(60.5, 40.5).toPoint())
    qtbot.waitUntil(lambda: w.hint_tool.pending is None, timeout=30000)
    assert jobs == ["Suggest colours"]
    second = semantic_colorize.suggest_colors(to_tensor(w.doc.image), w.doc.hints[:1],
                                              (60, 40), 8)[0][0]
    assert np.allclose(w.doc.hints[1].rgb, second, atol=1e-5)
    qtbot.waitUntil(lambda: w._pending_live is not None and len(w._pending_live[2]) == 2,
                    timeout=60000)


def test_add_a_hint_where_the_model_is_least_sure(semantic_colorize, make_window, qtbot):
    """Tools ▸ Add a hint where the model is least sure (Shift+H, and the hint panel's
    button): a hint appears where the live session's confidence map says a hint helps most,
    takes the model's most likely colour there, and the next one goes elsewhere."""
    from neuron_desktop.core.imageio import to_tensor

    w = open_photo(qtbot, make_window())
    w.colorize_panel.live.setChecked(True)
    assert w.canvas.tool != "hints"
    w.live_preview.act_spot.trigger()
    qtbot.waitUntil(lambda: len(w.doc.hints) == 1 and w.hint_tool.pending is None,
                    timeout=30000)
    assert w.canvas.tool == "hints" and w.canvas.selected_hint == 0
    live = semantic_colorize.LiveColorizer(to_tensor(w.doc.image), semantic_colorize.
                                           load_colorizer(), preview_size=900)
    h = w.doc.hints[0]
    assert (h.x, h.y) == live.hint_spot([])
    top = live.suggest([], (h.x, h.y), 1)[0][0]
    assert np.allclose(h.rgb, top, atol=1e-5)
    qtbot.waitUntil(lambda: w.live_preview.previews >= 1, timeout=30000)
    assert "pick the right colour" in w.statusBar().currentMessage()  # after its preview too
    qtbot.waitUntil(lambda: w._pending_live is not None, timeout=60000)
    assert w.hint_panel.where.defaultAction() is w.live_preview.act_spot
    w.hint_panel.where.click()
    qtbot.waitUntil(lambda: len(w.doc.hints) == 2 and w.hint_tool.pending is None,
                    timeout=30000)
    a, b = w.doc.hints
    assert np.hypot(a.x - b.x, a.y - b.y) >= 0.15 * max(w.doc.width, w.doc.height) - 1
    qtbot.waitUntil(lambda: w._pending_live is not None and len(w._pending_live[2]) == 2,
                    timeout=60000)


def test_no_room_for_another_hint_is_said_and_adds_nothing(semantic_colorize, make_window,
                                                           qtbot, monkeypatch):
    w = open_photo(qtbot, make_window())
    monkeypatch.setattr(semantic_colorize, "hint_spot", lambda *a, **k: None)  # all taken
    w.live_preview.act_spot.trigger()
    qtbot.waitUntil(lambda: "No room" in w.statusBar().currentMessage(), timeout=30000)
    assert w.doc.hints == () and w.history.count() == 0


def _reach_alpha(w) -> np.ndarray:
    """The canvas's reach overlay's alpha (h, w) in [0, 1]."""
    img = w.canvas._reach
    rows = np.frombuffer(img.constBits(), np.uint8, img.sizeInBytes()).reshape(img.height(), -1)
    return rows[:, :img.width() * 4].reshape(img.height(), img.width(), 4)[..., 3] / 255


def test_a_hints_spread_is_set_in_the_panel_and_its_reach_shown_on_the_canvas(
        semantic_colorize, make_window, qtbot):
    """Show reach outlines where the selected hint's colour wins; a smaller Spread shrinks it
    (one undo step for the spin box's steps), undo brings it back, deselecting hides it."""
    w = _window_with_a_hint(qtbot, make_window, (0.1, 0.2, 0.9))
    qtbot.waitUntil(lambda: w.hint_tool.pending is None and w.live_preview.previews >= 1,
                    timeout=30000)
    assert not w.canvas.has_reach and w.hint_panel.spread.value() == 100
    w.hint_panel.show_reach.click()  # the panel's box and View's action are one setting
    assert w.live_preview.act_reach.isChecked()
    qtbot.waitUntil(lambda: w.canvas.has_reach, timeout=30000)
    wide = _reach_alpha(w)
    steps = w.history.count()
    for _ in range(5):
        w.hint_panel.spread.stepDown()  # 100 % -> 50 %
    assert w.doc.hints[0].spread == 0.5 and w.history.count() == steps + 1
    assert w.history.undoText() == "Spread hint"
    qtbot.waitUntil(lambda: w.live_preview._last_hints == tuple(w.doc.hints), timeout=30000)
    qtbot.waitUntil(lambda: _reach_alpha(w).sum() < 0.8 * wide.sum(), timeout=30000)
    w.act_undo.trigger()
    assert w.doc.hints[0].spread == 1.0 and w.hint_panel.spread.value() == 100
    qtbot.waitUntil(lambda: abs(_reach_alpha(w).sum() - wide.sum()) < 1e-3 * wide.sum() + 1,
                    timeout=30000)
    reach = w.canvas._reach

    def drawn() -> bool:  # does the outline change the canvas? (no events in between)
        with_it = w.canvas.grab().toImage()
        w.canvas.set_reach(None)
        without = w.canvas.grab().toImage()
        w.canvas.set_reach(reach)
        return with_it != without

    assert drawn()
    w.set_tool("brush")  # the outline belongs to the hint tool
    assert not drawn()
    w.set_tool("hints")
    assert drawn()
    w.canvas.selected_hint = -1
    w.hint_tool._selected(-1)
    assert not w.canvas.has_reach


def test_shift_wheel_over_a_hint_spreads_it_and_plain_wheel_resizes_it(
        semantic_colorize, make_window, qtbot):
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    w = _window_with_a_hint(qtbot, make_window, (0.1, 0.2, 0.9))
    qtbot.waitUntil(lambda: w.hint_tool.pending is None, timeout=30000)
    pos = QPointF(w.canvas_point(200.5, 150.5))
    size = w.doc.hints[0].size

    def wheel(steps: int, mods) -> None:
        for _ in range(abs(steps)):
            QApplication.sendEvent(w.canvas, QWheelEvent(
                pos, w.canvas.mapToGlobal(pos), QPoint(), QPoint(0, 120 if steps > 0 else -120),
                Qt.MouseButton.NoButton, mods, Qt.ScrollPhase.NoScrollPhase, False))

    wheel(2, Qt.KeyboardModifier.ShiftModifier)
    assert abs(w.doc.hints[0].spread - 1.21) < 1e-9 and w.doc.hints[0].size == size
    assert w.hint_panel.spread.value() == 121 and w.history.undoText() == "Spread hint"
    wheel(-1, Qt.KeyboardModifier.NoModifier)
    assert w.doc.hints[0].size < size and abs(w.doc.hints[0].spread - 1.21) < 1e-9


def test_a_new_hint_brings_its_own_reach_outline(semantic_colorize, make_window, qtbot):
    """With Show reach on, a new hint is selected: the previous hint's outline goes at once
    and the new hint's comes with its first preview."""
    w = _window_with_a_hint(qtbot, make_window, (0.1, 0.2, 0.9))
    w.live_preview.act_reach.setChecked(True)
    qtbot.waitUntil(lambda: w.hint_tool.pending is None and w.canvas.has_reach, timeout=30000)
    got = []
    w.live_preview.live.reachReady.connect(lambda o, rev, hints, index: got.append(index))
    qtbot.mouseClick(w.canvas, Qt.MouseButton.LeftButton,
                     pos=w.canvas_point(60.5, 60.5).toPoint())
    assert w.canvas.selected_hint == 1 and not w.canvas.has_reach  # not the first hint's
    qtbot.waitUntil(lambda: w.hint_tool.pending is None and w.canvas.has_reach and 1 in got,
                    timeout=30000)
    assert w.live_preview._reach_index() == 1
