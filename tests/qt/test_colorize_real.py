"""The real colorization pipeline through the editor's workers, with a tiny random network
in place of the shipped one (weights do not matter here, only the plumbing)."""


import numpy as np
import pytest
import torch
from PySide6.QtGui import QImage

from tests.qt.conftest import open_photo


@pytest.fixture
def real_colorize(monkeypatch):
    from neuron_desktop import capabilities
    from neuron_desktop.models.colorization import ColorizationNet
    from neuron_desktop.pipelines import colorize as module

    torch.manual_seed(0)
    net = ColorizationNet(width=4, semantic=False).eval()
    monkeypatch.setattr(capabilities.get("colorize"), "available", lambda: None)
    monkeypatch.setattr(module, "load_colorizer", lambda weights="default", device="cpu": net)
    return module


def test_real_colorize_preview_final_apply_and_suggestions(real_colorize, make_window, qtbot):
    w = open_photo(qtbot, make_window())
    assert w.colorize_panel.available and w.colorize_panel.apply.isEnabled()
    w.colorize_panel.live.setChecked(False)
    previews, progress = [], []
    w.jobs.preview.connect(previews.append)
    w.jobs.progress.connect(lambda f, m: progress.append(f))
    with qtbot.waitSignal(w.jobs.finished, timeout=60000):
        w.run_colorize()
    assert previews and isinstance(previews[0], QImage) and not previews[0].isNull()
    assert progress[-1] == 1.0
    doc = w.doc
    assert w.history.count() == 1 and w.history.undoText() == "Colorize"
    colored = doc.image.copy()
    assert not np.array_equal(colored, doc.original)
    w.history.undo()
    assert np.array_equal(doc.image, doc.original)
    w.history.redo()
    assert np.array_equal(doc.image, colored)
    # live update from a hint, then Apply commits the pending result as one more step
    w.colorize_panel.live.setChecked(True)
    w.set_tool("hints")
    w.hint_tool.color = (0.1, 0.3, 0.9)
    with qtbot.waitSignal(w.jobs.finished, timeout=60000):
        w.hint_tool.add(200, 150)
    qtbot.waitUntil(lambda: w._pending_live is not None, timeout=10000)
    assert w.canvas.has_preview
    n = w.history.count()
    w.colorize_panel.apply.click()
    assert w.history.count() == n + 1 and w.history.undoText() == "Colorize"
    # suggestions for the selected hint, from the same tiny model
    qtbot.waitUntil(lambda: bool(w.hint_panel.suggested.colors), timeout=30000)
    colors = w.hint_panel.suggested.colors
    assert all(0 <= c <= 1 for rgb in colors for c in rgb)


def test_a_colour_reference_chosen_in_the_panel_steers_apply_and_the_live_preview(
        real_colorize, make_window, qtbot, tmp_path):
    """The user picks a colour reference in the Colorize panel (typed or Browse…): Apply
    follows its colours, the live preview after a hint uses it too, and a black-and-white
    reference is refused with a message instead of a result."""
    import cv2
    from PySide6.QtWidgets import QPushButton

    w = open_photo(qtbot, make_window())
    panel = w.colorize_panel
    panel.live.setChecked(False)
    assert isinstance(panel.reference.browse, QPushButton)
    with qtbot.waitSignal(w.jobs.finished, timeout=60000):
        w.run_colorize()
    plain = w.doc.image.copy()
    w.history.undo()
    blue = np.zeros((40, 60, 3), np.uint8)
    blue[:] = (220, 80, 30)  # BGR: a blue photo
    cv2.imwrite(str(tmp_path / "blue.png"), blue)
    panel.reference.setText((tmp_path / "blue.png").as_uri())  # dropped from a file manager
    assert w.capability_params("colorize")["reference"] == str(tmp_path / "blue.png")
    with qtbot.waitSignal(w.jobs.finished, timeout=60000):
        w.run_colorize()
    steered = w.doc.image.copy()
    # blue: the blue channel gains on the red one against the plain result
    gain = (steered[..., 2] - steered[..., 0]).mean() - (plain[..., 2] - plain[..., 0]).mean()
    assert gain > 0.02, gain
    # the live preview after a hint edit uses the reference (no error, a preview shown)
    panel.live.setChecked(True)
    w.set_tool("hints")
    w.hint_tool.color = (0.9, 0.8, 0.1)
    with qtbot.waitSignal(w.jobs.finished, timeout=60000):
        w.hint_tool.add(120, 90)
    qtbot.waitUntil(lambda: w.live_preview.previews > 0, timeout=20000)
    # a black-and-white reference: a clear message, the photo untouched
    panel.live.setChecked(False)
    gray = np.full((40, 60, 3), 128, np.uint8)
    cv2.imwrite(str(tmp_path / "gray.png"), gray)
    panel.reference.setText(str(tmp_path / "gray.png"))
    before, n = w.doc.image.copy(), w.history.count()
    w.run_colorize()
    qtbot.waitUntil(lambda: "no colour" in w.statusBar().currentMessage() or
                    w.history.count() != n, timeout=20000)
    assert w.history.count() == n and np.array_equal(w.doc.image, before)
