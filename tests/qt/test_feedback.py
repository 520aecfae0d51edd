"""Feedback in the real window: progress in words with the time left during a slow job,
plain-word labels and tooltips in every generated form (no jargon), suggested colours in
words, and Image ▸ Colorize… opening and focusing the form."""

import re

import pytest
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QFormLayout, QLabel, QWidget

from neuron_desktop.qt.progress_text import Estimate, describe, doing
from tests.qt.conftest import fake_colorize_module, install_colorize, open_photo

JARGON = ["temperature", "ε", "eps", "subsample", "harmonic", "exemplar", "telea", "navier",
          "patchmatch", "gatys", "guided", "annealed", "regularis", "morpholog",
          "feed-forward", "logit", "gamma", "p = ", "luminance", "whitening", "iterations",
          "network-fast", "network-best"]


def test_words_for_jobs_and_the_estimate():
    assert doing("Colorize") == "Colorizing"
    assert doing("Detect scratches") == "Detecting scratches"
    assert doing("Inpaint (Smooth fill)") == "Inpainting (Smooth fill)"
    assert doing("Levels") == "Applying levels"
    now = [0.0]
    est = Estimate(clock=lambda: now[0])
    now[0] = 0.5
    assert est.update(0.2) is None  # too early for an estimate
    now[0] = 4.0
    assert est.update(0.4) == pytest.approx(6.0)  # 4 s for 40 %: 6 s to go
    assert describe("Colorize", 0.4, 6.0) == "Colorizing… 40 % — about 6 s left"
    assert describe("Colorize", 0.02, None) == "Colorizing… 2 %"
    assert describe("Restore", 0.1, 150) == "Restoring… 10 % — about 2 min left"


def test_progress_with_time_left_during_a_slow_job(make_window, monkeypatch, qtbot):
    install_colorize(monkeypatch, fake_colorize_module(delay=0.25, steps=12))
    w = open_photo(qtbot, make_window())
    w.colorize_panel.live.setChecked(False)
    label = w.progress_text.label
    texts = []
    w.jobs.progress.connect(lambda *_: texts.append(label.text()))
    w.run_colorize()
    qtbot.waitUntil(lambda: "left" in label.text(), timeout=20000)
    assert label.isVisible() and label.parent() is not None
    assert re.fullmatch(r"Colorizing… \d+ % — about \d+ s left", label.text()), label.text()
    assert w.statusBar().isAncestorOf(label)
    with qtbot.waitSignal(w.jobs.finished, timeout=20000):
        pass
    assert not label.isVisible() and w.progress_text.text == ""
    assert texts[0].startswith("Colorizing… ")  # words from the first progress on


def _visible_texts(widget: QWidget) -> list[str]:
    """Labels, check box and choice texts, and tooltips of every widget in ``widget``."""
    out = []
    for child in [widget, *widget.findChildren(QWidget)]:
        out.append(child.toolTip())
        if isinstance(child, QLabel | QCheckBox):
            out.append(child.text())
        if isinstance(child, QComboBox):
            for i in range(child.count()):
                out.append(child.itemText(i))
                out.append(str(child.itemData(i, 3) or ""))  # Qt.ToolTipRole
    for form in widget.findChildren(QFormLayout):
        for row in range(form.rowCount()):
            item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            if item is not None and item.widget() is not None:
                out.append(item.widget().text())
    return [t for t in out if t]


def test_generated_forms_speak_plain_words(window):
    w = window
    forms = [*w.panels.values(), w.brush_panel, w.scan_tools.panel]
    texts = [t for f in forms for t in _visible_texts(f)]
    assert len(texts) > 80  # the scan really saw the forms
    found = {(word, t) for t in texts for word in JARGON
             if re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", t.lower())}
    assert not found, found
    labels = _visible_texts(w.panels["colorize"]) + _visible_texts(w.panels["refine"]) \
        + _visible_texts(w.panels["inpaint"])
    for plain in ("Vividness", "Edge smoothing", "Speed-up", "Smooth fill",
                  "Copy texture from around"):
        assert plain in labels, plain
    # every parameter the editor shows has a label and a tooltip
    for cap_name, form in w.capability_forms.items():
        for p in form.params:
            assert p.title and p.help, (cap_name, p.name)
            assert form.widgets[p.name].toolTip(), (cap_name, p.name)


def test_cli_flags_keep_their_names():
    from neuron_desktop.cli import build_parser

    sub = build_parser()._subparsers._group_actions[0].choices
    flags = {name: {s for a in p._actions for s in a.option_strings}
             for name, p in sub.items()}
    assert {"--temperature", "--vividness", "--render-size"} <= flags["colorize"]
    assert {"--eps", "--subsample", "--radius"} <= flags["refine"]
    assert {"--method", "--radius"} <= flags["inpaint"]
    assert {"--protect-faces", "--sensitivity"} <= flags["detect-scratches"]
    args = build_parser().parse_args(["inpaint", "x.png", "--mask", "m.png", "-o", "o", "--method",
                                      "harmonic"])
    assert args.method == "harmonic"  # method ids stay


def test_suggested_colours_in_words(make_window, fake_colorize, qtbot):
    w = open_photo(qtbot, make_window())
    w.set_tool("hints")
    w.colorize_panel.live.setChecked(False)
    w.hint_tool.add(30, 30)
    qtbot.waitUntil(lambda: bool(w.hint_panel.suggested.colors), timeout=10000)
    tips = [b.toolTip() for b in w.hint_panel.suggested.buttons()]
    assert tips and all("p =" not in t for t in tips)
    assert any(t.startswith("Very likely colour here (about 50 in 100)") for t in tips), tips
    assert any(t.startswith("Likely colour here (about 30 in 100)") for t in tips), tips


def test_image_menu_colorize_opens_and_focuses_the_form(window, qtbot):
    w = window
    w.docks["operations"].hide()
    w.op_tabs.setCurrentIndex(list(w.operations).index("Inpaint"))
    image = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Image")
    act = next(a for a in image.actions() if a.text() == "Colorize…")
    act.trigger()
    QApplication.processEvents()
    assert w.docks["operations"].isVisible()
    assert w.current_operation == "Colorize"
    focused = QApplication.focusWidget()
    assert focused is not None and w.colorize_panel.isAncestorOf(focused)
    assert "Colorize" in w.statusBar().currentMessage()


def test_a_swatch_row_reuses_its_buttons_and_each_picks_its_own_colour(qtbot):
    """Suggested and recent colours change on every new hint: the row updates its buttons
    in place (no widgets created or deleted once there are enough) and skips an unchanged
    update; a click picks the colour shown on that swatch."""
    from PySide6.QtCore import Qt

    from neuron_desktop.qt.panels import SwatchRow

    row = SwatchRow(4)
    qtbot.addWidget(row)
    row.show()
    row.set_colors([(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)], ["r", "g", "b"])
    first = row.buttons()
    assert [b.toolTip() for b in first] == ["r", "g", "b"] and not row.empty_label.isVisible()
    row.set_colors([(0.5, 0.5, 0.0), (0.2, 0.3, 0.4)])  # fewer: the third is hidden
    assert row.buttons() == first[:2] and not first[2].isVisible()
    assert first[1].toolTip() == "rgb(51, 76, 102)"
    with qtbot.waitSignal(row.picked) as got:
        qtbot.mouseClick(first[1], Qt.MouseButton.LeftButton)
    assert got.args == [(0.2, 0.3, 0.4)]
    row.set_colors([(1.0, 1.0, 1.0)] * 6)  # more than it holds: the first four
    assert len(row.buttons()) == 4 and all(b.isVisible() for b in row.buttons())
    icon = row.buttons()[0].icon().cacheKey()
    row.set_colors([(1.0, 1.0, 1.0)] * 4)  # the same row again: left alone
    assert row.buttons()[0].icon().cacheKey() == icon
    row.set_colors([])
    assert row.buttons() == [] and row.empty_label.isVisible()
