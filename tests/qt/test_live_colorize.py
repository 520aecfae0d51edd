"""Live colorization previews: screen-sized, latest request wins, confidence overlay."""

import numpy as np
import pytest

from neuron_desktop.core.document import Document
from neuron_desktop.core.masks import Hint

pytest.importorskip("PySide6")


@pytest.fixture
def live(qtbot, monkeypatch):
    import importlib
    import sys

    import torch

    import neuron_desktop.pipelines as pipelines

    # a fresh copy of the real module (other tests' fakes are patched into the loaded one);
    # the package attribute is restored too, or later tests would patch this copy
    monkeypatch.setattr(pipelines, "colorize", pipelines.colorize)
    monkeypatch.delitem(sys.modules, "neuron_desktop.pipelines.colorize")
    pc = importlib.import_module("neuron_desktop.pipelines.colorize")
    from neuron_desktop.models.colorization import SemanticColorizer
    from neuron_desktop.qt.live_colorize import LiveColorize

    torch.manual_seed(0)
    tiny = SemanticColorizer(widths=(8, 8, 8), pretrained_semantic=False).eval()
    monkeypatch.setattr(pc, "load_colorizer", lambda *a, **k: tiny)

    obj = LiveColorize(preview_size=96)
    yield obj
    obj.close()


def _doc(h=120, w=180):
    rng = np.random.default_rng(0)
    return Document(rng.random((h, w, 3), dtype=np.float32))


def test_preview_is_screen_sized_and_the_latest_request_wins(qtbot, live):
    doc = _doc()
    got = []
    live.previewReady.connect(lambda img, hints, dt, rev: got.append((img.size(), hints, dt)))
    hint_a = (Hint(20, 30, (1.0, 0.0, 0.0), 5),)
    hint_b = (Hint(60, 40, (0.0, 0.0, 1.0), 5),)
    live.request(doc.snapshot("image"), doc.image_revision, hint_a, {"render_size": 128})
    live.request(doc.snapshot("image"), doc.image_revision, hint_b, {"render_size": 128})
    qtbot.waitUntil(lambda: any(h == hint_b for _, h, _ in got), timeout=60000)
    size, hints, dt = got[-1]
    assert (size.width(), size.height()) == (96, 64)  # the preview size, not the photo's
    assert hints == hint_b and dt > 0


def test_confidence_overlay_comes_with_the_preview(qtbot, live):
    doc = _doc()
    with qtbot.waitSignal(live.confidenceReady, timeout=60000) as blocker:
        live.request(doc.snapshot("image"), doc.image_revision, (), {"render_size": 128},
                     confidence=True)
    overlay, rev = blocker.args
    assert overlay.shape == (64, 96, 4) and overlay.dtype == np.uint8
    assert rev == doc.image_revision
