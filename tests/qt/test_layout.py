"""The docks' layout in the real window: every operation's Apply button in view without
scrolling at 1366×768 (and at 200 % scaling), one operation's form at a time, readable
History rows."""

import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QScrollArea, QToolTip

from tests.qt.conftest import open_photo
from tests.qt.layout_probe import apply_buttons, in_view

ROOT = Path(__file__).resolve().parents[2]


def _small_window(make_window, qtbot, w=1366, h=768):
    win = make_window()
    win.resize(w, h)
    open_photo(qtbot, win)
    qtbot.waitUntil(lambda: win.size().width() == w and win.size().height() == h)
    return win


def test_every_apply_button_is_in_view_at_1366x768(make_window, qtbot):
    w = _small_window(make_window, qtbot)
    buttons = apply_buttons(w, QApplication.instance())
    assert len(buttons) >= 6 + 1 + 6  # operations, Detect scratches, scan sections
    hidden = {k: v for k, v in buttons.items() if not v["visible"]}
    assert not hidden, f"Apply buttons out of view: {hidden}"
    # Gatys shows two more rows: its Apply stays in view too
    w._show_operation("Stylize")
    w.stylize_panel.set_method("gatys")
    QApplication.processEvents()
    assert in_view(w, w.stylize_panel.apply)["visible"]


def _scrolled_docks(w) -> dict[str, int]:
    """How far each shown dock's scroll area could scroll (0: everything in view)."""
    QApplication.processEvents()
    out = {}
    for name, dock in w.docks.items():
        area = dock.widget()
        if dock.isVisible() and not dock.visibleRegion().isEmpty() \
                and isinstance(area, QScrollArea) and area.verticalScrollBar().maximum() > 0:
            out[name] = area.verticalScrollBar().maximum()
    return out


def test_no_dock_scrolls_at_1366x768(make_window, qtbot):
    """Tools (with each tool's groups), Scan (each section) and Operations (each form) fit
    without a vertical scroll bar."""
    w = _small_window(make_window, qtbot)
    w.live_fill.panel.status.setText("Filled in 59 ms — Enter or Apply fill keeps it, Esc "
                                     "drops it")  # the fill's status line fits too
    scrolled = {}
    tools = {"brush": lambda: w.set_tool("brush"), "hints": lambda: w.set_tool("hints"),
             "clone": lambda: w.clone_tool.act.setChecked(True)}
    for op in w.operations:
        w._show_operation(op)
        for tool, choose in tools.items():
            choose()
            w.docks["tools"].raise_()
            for key, px in _scrolled_docks(w).items():
                scrolled[f"{op}/{tool}/{key}"] = px
        w.docks["scan"].raise_()
        pages = w.scan_tools.panel.pages
        for i, section in enumerate(pages.names):
            pages.setCurrentIndex(i)
            for key, px in _scrolled_docks(w).items():
                scrolled[f"{op}/{section}/{key}"] = px
    w.set_tool("brush")
    assert not scrolled, f"docks that scroll (px): {scrolled}"
    # the probe sees a scroll bar when there is one
    w.resize(1366, 640)
    qtbot.waitUntil(lambda: "tools" in _scrolled_docks(w))


def test_a_window_too_small_scrolls_the_scan_dock_but_keeps_operations(make_window, qtbot):
    """The probe can tell a scrolled-away button (so the test above can fail)."""
    w = _small_window(make_window, qtbot, 1366, 600)
    buttons = apply_buttons(w, QApplication.instance())
    assert all(v["visible"] for k, v in buttons.items() if k.startswith("Operations/"))
    assert any(v["scrolled"] for k, v in buttons.items() if k.startswith("Scan/"))


def test_apply_buttons_in_view_at_200_percent_scaling(tmp_path):
    """QT_SCALE_FACTOR=2 on a 2732×1536 screen: the same 1366×768 logical window."""
    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [{"name": "hidpi", "x": 0, "y": 0, "width": 2732,
                                               "height": 1536, "logicalDpi": 96, "dpr": 1}]}))
    out = tmp_path / "probe.json"
    env = {**os.environ, "QT_SCALE_FACTOR": "2",
           "QT_QPA_PLATFORM": f"offscreen:configfile={config}", "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, str(ROOT / "tests" / "qt" / "layout_probe.py"), "1366",
                    "768", str(out)], env=env, check=True, timeout=240, cwd=tmp_path)
    report = json.loads(out.read_text())
    assert report["dpr"] == 2.0 and report["grab"] == [2732, 1536]
    assert report["window"] == [1366, 768]
    hidden = {k: v for k, v in report["buttons"].items() if not v["visible"]}
    assert len(report["buttons"]) >= 13 and not hidden, hidden


def test_one_operation_form_at_a_time(make_window, qtbot):
    w = _small_window(make_window, qtbot)
    ops = w.op_tabs
    w._show_operation("Inpaint")
    QApplication.processEvents()
    assert w.current_operation == "Inpaint"
    assert w.inpaint_panel.isVisible() and not w.colorize_panel.isVisible()
    dock = w.docks["operations"]
    # the Tools dock is not mostly empty at this size, with the default operation's form
    # (measured once the layout has settled; with a form as short as Denoise's it is ~70 %)
    qtbot.wait(300)
    area = w.docks["tools"].widget()
    assert area.widget().sizeHint().height() >= 0.8 * area.viewport().height()
    tall = dock.height()
    qtbot.mouseClick(ops.buttons.button(ops.names.index("Denoise")), Qt.MouseButton.LeftButton)
    QApplication.processEvents()
    assert w.current_operation == "Denoise" and w.panels["denoise"].isVisible()
    # the dock fits the shorter form: the Tools dock above gets the room
    qtbot.waitUntil(lambda: dock.height() < tall - 20)
    apply = w.panels["denoise"].apply
    gap = dock.geometry().bottom() - apply.mapTo(w, QPoint(0, apply.height())).y()
    assert 0 <= gap < 40  # the Apply button ends the dock: no empty space under it


def test_history_rows_wrap_and_tell_the_time(photo_window, qtbot):
    w = photo_window
    view = w.undo_view
    long = "Stylize (Matisse Woman With A Hat 1905, blend of three styles)"
    from neuron_desktop.qt.commands import EditCommand

    mask = w.doc.mask.copy()
    mask[:20, :20] = 1.0
    w.history.push(EditCommand(w.doc, long, mask=mask))
    QApplication.processEvents()
    model = view.model()
    index = model.index(1, 0)
    assert index.data() == long
    rect = view.visualRect(index)
    one_line = view.fontMetrics().height()
    assert view.viewport().width() < view.fontMetrics().horizontalAdvance(long)
    assert rect.height() >= 2 * one_line  # wrapped, not cut
    assert rect.right() <= view.viewport().width()
    tip = w.history_delegate.tooltip(1)
    assert tip.splitlines()[0] == long and ":" in tip.splitlines()[1]
    # a real tooltip event over the row shows the same text
    pos = rect.center()
    event = QHelpEvent(QEvent.Type.ToolTip, pos, view.viewport().mapToGlobal(pos))
    QApplication.sendEvent(view.viewport(), event)
    qtbot.waitUntil(lambda: QToolTip.isVisible())
    assert QToolTip.text() == tip
    QToolTip.hideText()
