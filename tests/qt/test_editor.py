"""The editor window end to end (offscreen): documents, brush, hints, jobs, dialogs, settings."""

import numpy as np
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage

from neuron_desktop.core.imageio import load_image
from tests.qt.conftest import SAMPLES, open_photo


def _drag(qtbot, canvas, points, button=Qt.MouseButton.LeftButton):
    pts = [canvas.image_to_widget(x, y).toPoint() for x, y in points]
    qtbot.mousePress(canvas, button, pos=pts[0])
    for p in pts[1:]:
        qtbot.mouseMove(canvas, p)
    qtbot.mouseRelease(canvas, button, pos=pts[-1])


def test_open_shows_photo_and_fits(photo_window):
    w = photo_window
    assert w.doc is not None and (w.doc.width, w.doc.height) == (451, 300)
    assert "old_photo.jpg" in w.windowTitle()
    assert w.recent_files()[0].endswith("old_photo.jpg")
    c = w.canvas
    # fitted: the whole photo inside the canvas
    tl, br = c.image_to_widget(0, 0), c.image_to_widget(451, 300)
    assert tl.x() >= 0 and tl.y() >= 0 and br.x() <= c.width() and br.y() <= c.height()
    c.actual_size()
    assert abs(c.device_zoom() - 1.0) < 1e-9
    c.zoom_by(2.0, QPointF(100, 100))
    assert c.widget_to_image(QPointF(100, 100)) == c.widget_to_image(QPointF(100, 100))
    img = c.grab().toImage()
    assert not img.isNull()


def test_wheel_zoom_keeps_point_under_cursor(photo_window, qtbot):
    c = photo_window.canvas
    anchor = QPointF(c.width() / 3, c.height() / 2)
    before = c.widget_to_image(anchor)
    c.zoom_by(1.7, anchor)
    after = c.widget_to_image(anchor)
    assert np.allclose(before, after)


def test_mask_stroke_is_one_undo_step(photo_window, qtbot):
    w = photo_window
    w.set_tool("brush")
    w.brush_panel.size.setValue(20)
    _drag(qtbot, w.canvas, [(100, 100), (130, 110), (160, 120), (200, 150)])
    doc = w.doc
    assert doc.mask[110, 130] > 0.9 and doc.mask[150, 200] > 0.9
    assert doc.mask[10, 10] == 0
    assert w.history.count() == 1  # segments merged into one command
    cmd = w.history.command(0)
    assert cmd.rect is not None and cmd.rect.x0 <= 90 and cmd.rect.x1 >= 210
    painted = doc.mask.copy()
    # undo restores only the touched tiles, and exactly
    assert cmd.nbytes < doc.mask.nbytes
    w.history.undo()
    assert not doc.mask.any()
    w.history.redo()
    assert np.array_equal(doc.mask, painted)
    # right button erases, as a second step
    _drag(qtbot, w.canvas, [(130, 110), (160, 120)], Qt.MouseButton.RightButton)
    assert w.history.count() == 2 and doc.mask[115, 145] < 0.1
    w.history.undo()
    assert np.array_equal(doc.mask, painted)


def test_brush_shortcuts_and_mask_actions(photo_window, qtbot):
    w = photo_window
    size = w.brush_panel.size.value()
    w.act_bigger.trigger()
    assert w.brush_panel.size.value() > size
    w.act_eraser.trigger()
    assert w.canvas.eraser
    w.act_eraser.trigger()
    w.invert_mask(wait=True)
    assert w.doc.mask.min() == 1.0
    w.clear_mask(wait=True)
    assert not w.doc.has_mask
    w.history.undo()
    assert w.doc.mask.min() == 1.0


def test_import_export_mask(photo_window, tmp_path):
    w = photo_window
    assert w.import_mask(SAMPLES / "old_photo_mask.png", wait=True)
    assert w.doc.has_mask
    out = tmp_path / "m.png"
    assert w.export_mask(out)
    from neuron_desktop.core.imageio import load_mask

    assert np.abs(load_mask(out, (451, 300)) - w.doc.mask).max() <= 1 / 255 + 1e-6


def test_hints_add_move_delete_resize_with_undo(photo_window, qtbot):
    w = photo_window
    w.set_tool("hints")
    c, doc = w.canvas, w.doc
    w.hint_tool.color = (0.9, 0.2, 0.1)
    qtbot.mouseClick(c, Qt.MouseButton.LeftButton, pos=c.image_to_widget(50.5, 60.5).toPoint())
    assert len(doc.hints) == 1 and (doc.hints[0].x, doc.hints[0].y) == (50, 60)
    assert doc.hints[0].rgb == (0.9, 0.2, 0.1)
    # drag moves it: one undo step for the whole drag
    _drag(qtbot, c, [(50.5, 60.5), (70.5, 70.5), (90.5, 80.5)])
    assert (doc.hints[0].x, doc.hints[0].y) == (90, 80)
    assert w.history.count() == 2
    # wheel over it resizes
    size = doc.hints[0].size
    c.hintResizeRequested.emit(0, 1)
    c.hintResizeRequested.emit(0, 1)
    assert doc.hints[0].size > size and w.history.count() == 3
    # right-click deletes
    qtbot.mouseClick(c, Qt.MouseButton.RightButton, pos=c.image_to_widget(90.5, 80.5).toPoint())
    assert doc.hints == ()
    w.history.undo()
    assert len(doc.hints) == 1 and doc.hints[0].size > size
    w.history.undo()
    w.history.undo()
    assert (doc.hints[0].x, doc.hints[0].y) == (50, 60)
    w.history.undo()
    assert doc.hints == ()


def test_gamut_picker_recolours_selected_hint(photo_window, qtbot):
    w = photo_window
    w.set_tool("hints")
    w.hint_tool.add(100, 100)
    picker = w.hint_panel.picker
    assert 0 <= picker.lightness <= 100
    qtbot.mouseClick(picker, Qt.MouseButton.LeftButton,
                     pos=QPoint(picker.width() // 2 + 30, picker.height() // 2 - 30))
    rgb = w.doc.hints[0].rgb
    assert rgb[0] > rgb[2] or rgb[1] > rgb[2] or rgb != (0.5, 0.5, 0.5)
    assert w.history.count() == 2  # add + recolour
    assert w.hint_panel.recent.colors


def test_style_file_drop(window, qtbot):
    panel = window.styles_panel
    n = panel.list.count()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(SAMPLES / "coffee.jpg"))])
    ev = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(panel.styleAdded, timeout=2000):
        panel.dropEvent(ev)
    assert panel.list.count() == n + 1
    panel.dropEvent(ev)  # the same file twice is listed once
    assert panel.list.count() == n + 1


def test_image_drop_opens_it(window, qtbot):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(SAMPLES / "coffee.jpg"))])
    ev = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.documentOpened, timeout=20000):
        window.canvas.dropEvent(ev)
    assert window.doc is not None and window.doc.path.name == "coffee.jpg"


def test_inpaint_through_worker_is_one_undoable_step(photo_window, qtbot):
    w = photo_window
    w.import_mask(SAMPLES / "old_photo_mask.png", wait=True)
    before = w.doc.image.copy()
    hole = w.doc.mask > 0.5
    with qtbot.waitSignal(w.jobs.finished, timeout=20000):
        w.run_inpaint()
    doc = w.doc
    assert not np.array_equal(doc.image, before)
    assert np.array_equal(doc.image[~hole], before[~hole])  # outside the mask: bit-exact
    assert not doc.has_mask  # cleared with the result, in the same step
    assert w.history.undoText().startswith("Inpaint")
    w.history.undo()
    assert np.array_equal(doc.image, before) and doc.has_mask
    w.history.redo()
    assert not doc.has_mask


def test_inpaint_without_mask_explains(photo_window):
    assert photo_window.run_inpaint() is None
    assert photo_window.error_box is not None and photo_window.error_box.isVisible()
    photo_window.error_box.close()


def test_refine_through_worker(photo_window, qtbot):
    w = photo_window
    progress = []
    w.jobs.progress.connect(lambda f, m: progress.append(f))
    with qtbot.waitSignal(w.jobs.finished, timeout=20000):
        w.run_refine()
    assert progress and progress[-1] == 1.0
    assert w.history.count() == 1


def test_colorize_unavailable_without_model(window):
    panel = window.colorize_panel  # conftest hides any installed colorization pipeline
    assert not panel.available and not panel.apply.isEnabled()
    assert "not installed" in panel.status.text()


def test_colorize_preview_final_and_live_hints(make_window, fake_colorize, qtbot):
    w = open_photo(qtbot, make_window())
    assert w.colorize_panel.apply.isEnabled()
    previews = []
    w.jobs.preview.connect(previews.append)
    w.colorize_panel.live.setChecked(False)
    with qtbot.waitSignal(w.jobs.finished, timeout=20000):
        w.run_colorize()
    assert previews and isinstance(previews[0], QImage)  # converted on the worker
    assert (previews[0].width(), previews[0].height()) == (113, 75)
    assert w.history.undoText() == "Colorize"
    assert not np.array_equal(w.doc.image, w.doc.original)
    # live: hint edits re-run (latest wins) and show a preview; Apply commits it
    w.history.undo()
    w.colorize_panel.live.setChecked(True)
    w.set_tool("hints")
    w.hint_tool.color = (0.0, 0.0, 1.0)
    with qtbot.waitSignal(w.jobs.finished, timeout=20000):
        w.hint_tool.add(10, 10)
        w.hint_tool.add(20, 20)
    qtbot.waitUntil(lambda: w._pending_live is not None, timeout=5000)
    assert len(fake_colorize.calls[-1]["hints"]) == 2
    assert w.canvas.has_preview
    n = w.history.count()
    w.run_colorize()  # commits the pending live result without re-running
    assert w.history.count() == n + 1
    # a new hint takes the model's first suggestion (issue 20, bug 6): the fake's is red
    assert np.allclose(w.doc.image[20, 20], (1, 0, 0))
    # suggestions from the model for the selected hint
    qtbot.waitUntil(lambda: bool(w.hint_panel.suggested.colors), timeout=5000)


def test_two_quick_hints_the_second_still_takes_its_suggested_colour(make_window,
                                                                     fake_colorize, qtbot):
    """Two clicks before the first hint's suggestion came back: the first's late answer
    must not cancel the second's wait, so the second takes its suggestion and the live
    preview runs (it once stayed unsettled, with no preview: a flaky test showed it)."""
    w = open_photo(qtbot, make_window())
    w.colorize_panel.live.setChecked(True)
    w.set_tool("hints")
    w.hint_tool.color = (0.0, 0.0, 1.0)
    asked = []
    w.request_suggestions = lambda index, live=None: asked.append(index)  # answered below
    w.hint_tool.add(10, 10)
    w.hint_tool.add(20, 20)
    assert asked == [0, 1] and w.hint_tool.pending[0] == 1
    red, green = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)
    first = {"index": 0, "auto": True, "doc": w.doc, "new": (0, w.doc.hints[0])}
    w.show_suggestions([(green, 0.6)], first)  # the first hint's answer, late
    assert w.hint_tool.pending is not None and tuple(w.doc.hints[1].rgb) == (0.0, 0.0, 1.0)
    with qtbot.waitSignal(w.jobs.finished, timeout=20000):
        w.show_suggestions([(red, 0.7)], {**first, "index": 1, "new": (1, w.doc.hints[1])})
    assert w.hint_tool.pending is None and tuple(w.doc.hints[1].rgb) == red
    assert len(fake_colorize.calls[-1]["hints"]) == 2


def test_cancel_really_stops(make_window, monkeypatch, qtbot):
    from tests.qt.conftest import fake_colorize_module, install_colorize

    mod = fake_colorize_module(delay=0.05, steps=200)
    install_colorize(monkeypatch, mod)
    w = open_photo(qtbot, make_window())
    w.colorize_panel.live.setChecked(False)
    with qtbot.waitSignal(w.jobs.progress, timeout=10000):
        w.run_colorize()
    assert w.progress.isVisible() and w.cancel_button.isVisible()
    with qtbot.waitSignal(w.jobs.cancelled, timeout=2000):
        w.act_cancel.trigger()
    from PySide6.QtCore import QThreadPool

    assert QThreadPool.globalInstance().waitForDone(2000)  # stopped within a step or two
    assert w.history.count() == 0 and np.array_equal(w.doc.image, w.doc.original)
    assert not w.progress.isVisible()


def test_error_dialog_on_corrupt_file(window, tmp_path, qtbot):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes((SAMPLES / "coffee.jpg").read_bytes()[:500])
    with qtbot.waitSignal(window.load_jobs.error, timeout=20000):
        window.open_file(bad)  # decoded on a worker: the dialog follows its error
    box = window.error_box
    assert box is not None and box.isVisible()
    assert "broken.jpg" in box.text() and box.windowTitle() == "Cannot open the photo"
    assert window.doc is None and not window.progress.isVisible()
    box.close()
    assert not window.open_file(bad, wait=True)  # the synchronous path (scripts) too
    assert "broken.jpg" in window.error_box.text()
    window.error_box.close()


def test_export_keeps_exif_and_protects_original(photo_window, tmp_path):
    w = photo_window
    out = tmp_path / "restored.jpg"
    assert w.save_as(out)
    assert load_image(out).size == (451, 300)
    assert w.history.isClean()
    assert not w.save_as(SAMPLES / "old_photo.jpg")  # never over the original
    w.error_box.close()


def test_settings_persist(make_window, settings):
    w = make_window(settings)
    w.brush_panel.size.setValue(77)
    w.inpaint_panel.set_method("ns")
    w.brush_panel.set_overlay((0, 200, 100), 0.3)
    w.brush_panel.detector.setCurrentIndex(w.brush_panel.detector.findData("classical"))
    w.brush_panel.sensitivity.setValue(65)
    w.add_recent("/tmp/x.jpg")
    w.close()
    w2 = make_window(settings)
    assert w2.brush_panel.size.value() == 77
    assert w2.brush_panel.detector.currentData() == "classical"
    assert w2.brush_panel.sensitivity.value() == 65
    assert w2.brush.size == 77
    assert w2.inpaint_panel.method.currentData() == "ns"
    assert w2.brush_panel.overlay == ((0, 200, 100), 0.3)
    assert w2.recent_files()[0] == "/tmp/x.jpg"


def test_before_after_and_split_render(photo_window, qtbot):
    w = photo_window
    c = w.canvas
    w.invert_mask(wait=True)  # something visible in the mask layer
    qtbot.keyPress(c, Qt.Key.Key_Backslash)
    assert c.show_original
    img = c.grab().toImage()
    qtbot.keyRelease(c, Qt.Key.Key_Backslash)
    assert not c.show_original
    w.act_split.trigger()
    assert c.split
    assert not img.isNull() and not c.grab().toImage().isNull()


def test_layers_visibility(photo_window):
    w = photo_window
    w.layers_panel.boxes["mask"].setChecked(False)
    assert not w.canvas.show_mask


def test_gamut_picker_shows_the_srgb_slice():
    import torch

    from neuron_desktop.core.color import rgb_to_lab
    from neuron_desktop.qt.panels import AB_RANGE, gamut_image

    side = 221
    _rgb, ok = gamut_image(52.0, side)
    # every sRGB colour with L close to 52 falls inside the drawn region (a right, b up)
    g = torch.linspace(0, 1, 65)
    cube = torch.stack(torch.meshgrid(g, g, g, indexing="ij")).reshape(1, 3, -1, 1)
    lab = rgb_to_lab(cube)[0, :, :, 0]
    lab = lab[:, (lab[0] - 52).abs() < 0.5]
    col = ((lab[1] / AB_RANGE + 1) / 2 * (side - 1)).round().long()
    row = ((1 - lab[2] / AB_RANGE) / 2 * (side - 1)).round().long()
    import cv2

    near = cv2.dilate(ok.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0  # rounding
    assert near[row.numpy(), col.numpy()].mean() > 0.995
    ys, xs = np.nonzero(ok)
    ab = np.linspace(-AB_RANGE, AB_RANGE, side)
    assert -60 < ab[xs].min() < -50 and 85 < ab[xs].max() < 95  # green ... red/magenta
    assert -80 < -ab[ys].max() < -70 and 60 < -ab[ys].min() < 70  # blue ... yellow-red
    assert ok[side // 2, side // 2] and not ok[[0, 0, -1, -1], [0, -1, 0, -1]].any()


def test_detect_scratches_uses_the_chosen_detector(photo_window, qtbot, monkeypatch):
    import torch

    from neuron_desktop.pipelines import inpaint as inpaint_mod

    w = photo_window
    seen = []

    def fake_detect(image, *, method="auto", device=None, cancel=None, sensitivity=0.5):
        seen.append((method, sensitivity))
        mask = torch.zeros(1, 1, *image.shape[-2:])
        mask[..., 10:12, 5:60] = 1
        yield from ()
        return mask

    monkeypatch.setattr(inpaint_mod, "detect_scratches", fake_detect)
    painted = w.doc.mask.copy()
    painted[30:40, 30:40] = 1.0  # a stroke the user painted before detecting
    w.doc.mask[:] = painted
    panel = w.brush_panel
    panel.detector.setCurrentIndex(panel.detector.findData("classical"))
    panel.sensitivity.setValue(80)
    with qtbot.waitSignal(w.jobs.finished, timeout=20000):
        w.detect_scratches()
    assert seen == [("classical", 0.8)]
    assert w.doc.has_mask and w.doc.mask[10:12, 5:60].min() > 0.5
    assert w.doc.mask[30:40, 30:40].min() == 1.0  # added to, not replacing, the painting
    assert w.doc.mask[20:25, 70:80].max() == 0.0
    assert w.history.undoText().startswith("Detect scratches")
    w.history.undo()
    assert np.array_equal(w.doc.mask, painted)
