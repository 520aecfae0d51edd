"""Style transfer and the Styles gallery in the editor (tiny random fast network), and the
inpainting network's coarse preview (tiny random InpaintNet)."""

import re
import threading

import numpy as np
import pytest
import torch
from PySide6.QtCore import QMimeData, QPointF, Qt, QThreadPool, QUrl
from PySide6.QtGui import QDropEvent, QImage

from neuron_desktop.pipelines import stylize
from neuron_desktop.pipelines.stylize import gatys_estimate, plain_duration
from neuron_desktop.qt.styles import ICON_SIDE, KIND, thumbnail_cache_dir
from tests.qt.conftest import SAMPLES, open_photo


def _drop(widget, paths, pos=None):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    widget.dropEvent(QDropEvent(pos or QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                                Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))


def _show_gallery(w, qtbot):
    with qtbot.waitSignal(w.styles_panel.thumbnailsReady, timeout=20000):
        w._show_operation("Stylize")  # raises the Styles dock, which loads the gallery
    return w.styles_panel


def _icon_image(item) -> QImage:
    return item.icon().pixmap(ICON_SIDE, ICON_SIDE).toImage()


def test_gallery_thumbnails_render_off_the_gui_thread_and_are_cached(
        tiny_style_bank, make_window, qtbot, monkeypatch):
    threads = []
    real = stylize.fast

    def recording(*args, **kw):
        threads.append(threading.current_thread())
        return real(*args, **kw)

    monkeypatch.setattr(stylize, "fast", recording)
    w = make_window()
    assert not w.styles_panel.gallery_started  # nothing rendered until the gallery is shown
    panel = _show_gallery(w, qtbot)
    assert panel.names() == tiny_style_bank.names
    assert len(threads) == 3 and all(t is not threading.main_thread() for t in threads)
    placeholder = panel.placeholder.pixmap(ICON_SIDE, ICON_SIDE).toImage()
    icons = [_icon_image(panel.item("fast", n)) for n in panel.names()]
    assert all(icon != placeholder for icon in icons)
    assert icons[0] != icons[1] != icons[2]  # the network's rendering differs per style
    cached = list(thumbnail_cache_dir().rglob("*.png"))
    assert len(cached) == 3
    # the first style is preselected for the fast method
    assert w.stylize_panel.fast_styles == ["alpha_style"]
    assert w.stylize_panel.current_method == "fast" and w.stylize_panel.apply.isEnabled()
    # a second window reads the cache: nothing is rendered again
    w2 = make_window()
    _show_gallery(w2, qtbot)
    assert len(threads) == 3
    assert _icon_image(w2.styles_panel.item("fast", "beta_style")) == icons[1]


def test_gallery_thumbnail_shows_the_painting_and_its_rendering_on_hover(
        tiny_style_bank, make_window, qtbot, monkeypatch):
    from neuron_desktop.core.imageio import load_image
    from neuron_desktop.qt import styles
    from neuron_desktop.qt.qimage import to_qimage

    painting = SAMPLES / "astronaut.jpg"  # stands in for beta_style's painting
    monkeypatch.setattr(styles, "painting_path",
                        lambda name: painting if name == "beta_style" else None)
    panel = _show_gallery(make_window(), qtbot)
    beta, alpha = panel.item("fast", "beta_style"), panel.item("fast", "alpha_style")
    assert "<img" in beta.toolTip() and "Beta Style" in beta.toolTip()
    rendering = QImage(re.search(r"src='([^']+)'", beta.toolTip()).group(1))

    def small(img):
        return _qimage_array(img.scaled(32, 32).convertToFormat(QImage.Format.Format_RGB888))

    shown = small(_icon_image(beta))
    to_painting = np.abs(shown - small(to_qimage(styles.square_thumbnail(
        load_image(painting).rgb)))).mean()
    to_rendering = np.abs(shown - small(rendering)).mean()
    assert to_painting < 0.5 * to_rendering  # the painting itself, not the rendering
    assert "<img" not in alpha.toolTip() and "Alpha Style" in alpha.toolTip()


def _qimage_array(img: QImage) -> np.ndarray:
    ptr = img.constBits()
    a = np.frombuffer(ptr, np.uint8, img.sizeInBytes()).reshape(img.height(),
                                                                 img.bytesPerLine())
    return a[:, :img.width() * 3].astype(np.float32)


def test_fast_blend_through_worker_is_one_undoable_step(tiny_style_bank, photo_window, qtbot):
    w = photo_window
    panel = _show_gallery(w, qtbot)
    sp = w.stylize_panel
    original = w.doc.image.copy()
    progress = []
    w.jobs.progress.connect(lambda f, m: progress.append(f))

    def apply():
        progress.clear()
        with qtbot.waitSignal(w.jobs.finished, timeout=20000):
            sp.apply.click()
        assert progress and progress[-1] == 1.0
        return w.doc.image.copy()

    panel.select("fast", ["alpha_style"])
    assert sp.params()["style"] == "alpha_style" and not sp.weights_box.isVisibleTo(sp)
    single = apply()
    assert w.history.count() == 1 and w.history.undoText() == "Stylize (Alpha Style)"
    assert single.shape == original.shape and not np.array_equal(single, original)
    w.history.undo()
    assert np.array_equal(w.doc.image, original)
    # Ctrl+click a second style: a blend, one weight slider per style
    panel.select("fast", ["alpha_style", "gamma_style"])
    assert sp.fast_styles == ["alpha_style", "gamma_style"] and len(sp.weights) == 2
    assert sp.weights_box.isVisibleTo(sp)
    sp.weights["gamma_style"].setValue(50)
    assert sp.params()["style"] == {"alpha_style": 1.0, "gamma_style": 0.5}
    blend = apply()
    assert w.history.undoText() == "Stylize (blend of 2 styles)"
    assert not np.array_equal(blend, single) and not np.array_equal(blend, original)
    w.history.undo()
    assert np.array_equal(w.doc.image, original)
    w.history.redo()
    assert np.array_equal(w.doc.image, blend)


def _use_style_image(w, qtbot):
    panel = w.styles_panel
    with qtbot.waitSignal(panel.styleAdded, timeout=2000):
        _drop(panel, [SAMPLES / "coffee.jpg"])
    return panel


def test_dropped_style_image_selects_arbitrary(window, qtbot):
    panel = _use_style_image(window, qtbot)
    path = str((SAMPLES / "coffee.jpg").resolve())
    assert panel.paths() == [path]
    assert [i.data(KIND) for i in panel.list.selectedItems()] == ["image"]
    sp = window.stylize_panel
    assert sp.current_method == "arbitrary" and sp.image_style == path
    assert sp.params()["style"] == path and sp.apply.isEnabled()
    assert not sp.form.isRowVisible(sp.iterations) and not sp.form.isRowVisible(sp.balance)
    sp.set_method("gatys")  # still one click away, with its settings
    assert sp.form.isRowVisible(sp.iterations) and sp.form.isRowVisible(sp.size)
    assert window.current_operation == "Stylize"
    item = panel.item("image", path)
    placeholder = panel.placeholder.pixmap(ICON_SIDE, ICON_SIDE).toImage()
    qtbot.waitUntil(lambda: _icon_image(item) != placeholder, timeout=10000)  # made off-thread
    # a drop on the main window over the Styles dock adds a style instead of opening it
    dock = window.docks["styles"]
    dock.raise_()
    qtbot.waitUntil(dock.isVisible)
    at = QPointF(window.mapFromGlobal(dock.mapToGlobal(dock.rect().center())))
    with qtbot.waitSignal(panel.styleAdded, timeout=2000):
        _drop(window, [SAMPLES / "astronaut.jpg"], at)
    assert window.doc is None and len(panel.paths()) == 2
    assert sp.image_style.endswith("astronaut.jpg")
    # Remove takes the selected image style off the gallery (and out of the panel)
    assert panel.remove_button.isEnabled()
    panel.remove_button.click()
    assert panel.paths() == [path] and sp.image_style is None and not sp.apply.isEnabled()


def test_unreadable_style_image_is_reported_and_dropped(window, qtbot, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes((SAMPLES / "coffee.jpg").read_bytes()[:500])
    panel = window.styles_panel
    with qtbot.waitSignal(panel.styleFailed, timeout=10000):  # found out on the worker
        _drop(panel, [bad])
    assert panel.paths() == [] and window.stylize_panel.image_style is None
    assert "broken.jpg" in window.error_box.text()
    window.error_box.close()


def test_gatys_shows_previews_and_commits_full_resolution(make_window, qtbot):
    w = open_photo(qtbot, make_window())
    _use_style_image(w, qtbot)
    sp = w.stylize_panel
    sp.set_method("gatys")
    sp.size.setValue(64)
    sp.iterations.setValue(12)  # one preview (every 10 iterations), then the result
    previews = []
    w.jobs.preview.connect(lambda img: previews.append((img, w.canvas.has_preview)))
    original = w.doc.image.copy()
    with qtbot.waitSignal(w.jobs.finished, timeout=60000):
        sp.apply.click()
    assert len(previews) == 1 and isinstance(previews[0][0], QImage)
    assert max(previews[0][0].width(), previews[0][0].height()) == 64
    assert not w.canvas.has_preview  # replaced by the committed result
    assert w.history.count() == 1 and w.history.undoText() == "Stylize (coffee)"
    assert w.doc.image.shape == original.shape and not np.array_equal(w.doc.image, original)
    w.history.undo()
    assert np.array_equal(w.doc.image, original)


def test_gatys_cancel_stops_and_leaves_the_photo(make_window, qtbot):
    w = open_photo(qtbot, make_window())
    _use_style_image(w, qtbot)
    sp = w.stylize_panel
    sp.set_method("gatys")
    sp.size.setValue(64)
    sp.iterations.setValue(5000)
    progress = []
    w.jobs.progress.connect(lambda f, m: progress.append(f))
    with qtbot.waitSignal(w.jobs.preview, timeout=60000):  # the picture forming
        sp.apply.click()
    qtbot.waitUntil(lambda: w.canvas.has_preview, timeout=10000)
    with qtbot.waitSignal(w.jobs.cancelled, timeout=10000):
        w.act_cancel.trigger()
    assert QThreadPool.globalInstance().waitForDone(15000)  # stopped within an iteration
    assert max(progress) < 0.5 and not w.jobs.busy
    assert w.history.count() == 0 and np.array_equal(w.doc.image, w.doc.original)
    assert not w.canvas.has_preview


@pytest.fixture
def tiny_arbitrary(monkeypatch):
    from neuron_desktop.models.style_arbitrary import ArbitraryStyleNet
    from neuron_desktop.pipelines import stylize_arbitrary

    torch.manual_seed(0)
    net = ArbitraryStyleNet(widths=(8, 8, 8, 8), pretrained=False).eval()
    monkeypatch.setattr(stylize_arbitrary, "arbitrary_network", lambda device="cpu": net)
    return net


def test_arbitrary_style_previews_then_commits_one_step(tiny_arbitrary, make_window, qtbot):
    w = open_photo(qtbot, make_window())
    _use_style_image(w, qtbot)  # dropped on the Styles dock: arbitrary is chosen
    sp = w.stylize_panel
    events = []
    w.jobs.preview.connect(lambda img: events.append(("preview", w.canvas.has_preview)))
    w.jobs.finished.connect(lambda *a: events.append(("finished", w.canvas.has_preview)))
    original = w.doc.image.copy()
    with qtbot.waitSignal(w.jobs.finished, timeout=60000):
        sp.apply.click()
    assert events[0] == ("preview", True) and events[-1][0] == "finished"
    assert not w.canvas.has_preview
    assert w.history.count() == 1 and w.history.undoText() == "Stylize (coffee)"
    assert w.doc.image.shape == original.shape and not np.array_equal(w.doc.image, original)
    w.history.undo()
    assert np.array_equal(w.doc.image, original)


def test_gatys_shows_a_time_estimate_before_it_starts(window):
    sp = window.stylize_panel
    sp.set_method("arbitrary")
    assert not sp.form.isRowVisible(sp.estimate)
    sp.set_method("gatys")
    assert sp.form.isRowVisible(sp.estimate)
    sp.size.setValue(512)
    sp.iterations.setValue(150)
    short = sp.estimate.text()
    assert short.startswith(f"Takes {plain_duration(gatys_estimate(512, 150))} on this")
    sp.iterations.setValue(1500)  # ten times the work
    assert sp.estimate.text().startswith(f"Takes {plain_duration(gatys_estimate(512, 1500))}")
    assert sp.estimate.text() != short


def test_inpaint_panel_lists_the_pipeline_methods(window):
    from neuron_desktop.pipelines.inpaint import INPAINT_METHODS

    combo = window.inpaint_panel.method
    assert [combo.itemData(i) for i in range(combo.count())] == list(INPAINT_METHODS)
    assert combo.currentData() == "auto"
    for i in range(combo.count()):
        assert combo.itemData(i, Qt.ItemDataRole.ToolTipRole)


@pytest.fixture
def tiny_inpainter(monkeypatch):
    from neuron_desktop.models.inpainting import InpaintNet
    from neuron_desktop.pipelines import inpaint

    torch.manual_seed(0)
    net = InpaintNet(width=4).eval().requires_grad_(False)
    monkeypatch.setattr(inpaint, "load_inpainter", lambda device="cpu", weights=None: net)
    return net


def test_inpaint_network_shows_coarse_preview_then_result(tiny_inpainter, photo_window, qtbot):
    w = photo_window
    w.import_mask(SAMPLES / "old_photo_mask.png", wait=True)
    w.inpaint_panel.set_method("network")
    events = []
    w.jobs.preview.connect(lambda img: events.append(("preview", w.canvas.has_preview)))
    w.jobs.finished.connect(lambda *a: events.append(("finished", w.canvas.has_preview)))
    before, hole = w.doc.image.copy(), w.doc.mask > 0.5
    with qtbot.waitSignal(w.jobs.finished, timeout=60000):
        w.inpaint_panel.apply.click()
    assert events[0] == ("preview", True)  # the coarse fill shown on the canvas
    assert events[-1][0] == "finished" and not w.canvas.has_preview
    assert w.history.count() == 2 and w.history.undoText() == "Inpaint (AI fill)"
    assert np.array_equal(w.doc.image[~hole], before[~hole])
    assert not np.array_equal(w.doc.image, before) and not w.doc.has_mask
    w.history.undo()
    assert np.array_equal(w.doc.image, before) and w.doc.has_mask


def test_style_images_and_stylize_settings_persist(make_window, settings, qtbot):
    w = make_window(settings)
    _use_style_image(w, qtbot)
    w.stylize_panel.strength.setValue(70)
    w.stylize_panel.iterations.setValue(120)
    w.close()
    w2 = make_window(settings)
    assert w2.styles_panel.paths() == [str((SAMPLES / "coffee.jpg").resolve())]
    assert w2.stylize_panel.strength.value() == 70
    assert w2.stylize_panel.iterations.value() == 120


def test_gatys_balance_slider_maps_to_the_style_weight(window):
    sp = window.stylize_panel
    sp.set_method("gatys")
    sp.balance.setValue(50)
    assert sp.style_weight == pytest.approx(100.0)
    sp.balance.setValue(0)
    assert sp.style_weight == pytest.approx(1.0)
    sp.balance.setValue(100)
    assert sp.style_weight == pytest.approx(10000.0)
