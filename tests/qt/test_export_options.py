"""Export options (JPEG quality, remembered) and File ▸ Export before/after…"""

import numpy as np
from PIL import Image
from PySide6.QtWidgets import QApplication

from neuron_desktop.core.imageio import load_image
from neuron_desktop.core.record import read_record
from neuron_desktop.qt.commands import EditCommand
from tests.qt.conftest import SAMPLES, open_photo


def _menu(w, title):
    return next(a.menu() for a in w.menuBar().actions() if a.text() == title)


def _set_quality(w, q):
    d = w.export_wiring.show_options()
    d.slider.setValue(q)
    assert d.spin.value() == q  # slider and spin box in step
    d.accept()
    QApplication.processEvents()


def _edit(w):
    """A visible edit: the photo darkened (one undo step)."""
    w.history.push(EditCommand(w.doc, "Darken", image=w.doc.image * 0.5))


def test_jpeg_quality_changes_the_file_and_is_remembered(make_window, settings, qtbot,
                                                         tmp_path):
    w = open_photo(qtbot, make_window())
    file_menu = _menu(w, "&File")
    assert w.export_wiring.act_options in file_menu.actions()
    assert w.export_wiring.quality == 95  # the default
    hi = tmp_path / "q95.jpg"
    assert w.save_as(hi)
    _set_quality(w, 40)
    lo = tmp_path / "q40.jpg"
    assert w.save_as(lo)
    assert lo.stat().st_size < 0.7 * hi.stat().st_size
    q_hi = Image.open(hi).quantization[0]
    q_lo = Image.open(lo).quantization[0]
    assert sum(q_lo) > 2 * sum(q_hi)  # coarser quantisation tables
    w.close()
    w2 = make_window(settings)  # remembered
    assert w2.export_wiring.quality == 40
    d = w2.export_wiring.show_options()
    assert d.spin.value() == 40 and d.slider.value() == 40
    d.reject()


def test_before_after_export_has_both_halves_and_the_record(photo_window, tmp_path):
    w = photo_window
    ew = w.export_wiring
    assert ew.act_before_after.isEnabled()
    assert ew.act_before_after in _menu(w, "&File").actions()
    _edit(w)
    out = tmp_path / "ba.png"
    assert ew.export_before_after(out, wait=True)
    assert ew.last == out
    pic = load_image(out).rgb
    h, width = w.doc.height, w.doc.width
    bar = pic.shape[0] - h
    assert 0 < bar < h // 4 and pic.shape[1] > 2 * width
    left = pic[bar:, :width]
    right = pic[bar:, -width:]
    assert np.abs(left - w.doc.original).mean() < 2 / 255  # the original, left
    assert np.abs(right - w.doc.image).mean() < 2 / 255  # the result, right
    labels = pic[:bar]
    assert labels.max() > 0.8 and np.median(labels) < 0.2  # light words on a dark bar
    left_words = labels[:, :width].max(axis=0) > 0.8
    right_words = labels[:, -width:].max(axis=0) > 0.8
    assert left_words.any() and right_words.any()
    steps = [s.name for s in read_record(out).steps]
    assert steps[-1] == "export"  # the edit record (XMP), like other exports
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files

    jpg = tmp_path / "ba.jpg"
    assert ew.export_before_after(jpg, wait=True)
    assert Image.open(jpg).format == "JPEG"
    read_record(jpg)


def test_before_after_on_a_worker_and_never_over_the_original(photo_window, qtbot, tmp_path):
    w = photo_window
    ew = w.export_wiring
    _edit(w)
    out = tmp_path / "ba_worker.jpg"
    with qtbot.waitSignal(ew.jobs.finished, timeout=30000):
        assert ew.export_before_after(out)
    assert out.is_file()
    original = SAMPLES / "old_photo.jpg"
    before = original.read_bytes()
    assert not ew.export_before_after(w.doc.path, wait=True)
    assert w.error_box is not None and "original" in w.error_box.text()
    w.error_box.close()
    assert original.read_bytes() == before


def test_before_after_needs_a_photo(window):
    assert not window.export_wiring.act_before_after.isEnabled()
    assert not window.export_wiring.export_before_after("/nonexistent/x.png")
