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
