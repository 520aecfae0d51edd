"""Split view: the mask and the hints are drawn on the result side only (pixels of a grab)."""

from PySide6.QtWidgets import QApplication

from neuron_desktop.core.document import Hint
from neuron_desktop.qt.commands import EditCommand


def _rgb(img, p):
    c = img.pixelColor(round(p.x()), round(p.y()))
    return c.red(), c.green(), c.blue()


def test_split_view_shows_mask_and_hints_on_the_result_side_only(photo_window):
    w = photo_window
    c = w.canvas
    doc = w.doc
    mask = doc.mask.copy()
    mask[:] = 1.0  # the whole photo is masked: red everywhere the mask is drawn
    hints = (Hint(doc.width // 4, doc.height // 2, (0.0, 0.0, 1.0), 25),
             Hint(doc.width * 3 // 4, doc.height // 2, (0.0, 0.0, 1.0), 25))
    w.history.push(EditCommand(doc, "Mask and hints", mask=mask, hints=hints))
    c.set_mask_style((255, 0, 0), 0.8)
    c.fit()
    left_pt = c.image_to_widget(doc.width // 4 + 0.5, doc.height // 2 + 0.5)
    right_pt = c.image_to_widget(doc.width * 3 // 4 + 0.5, doc.height // 2 + 0.5)
    off_left = c.image_to_widget(doc.width // 4 + 0.5, doc.height * 3 // 4 + 0.5)
    off_right = c.image_to_widget(doc.width * 3 // 4 + 0.5, doc.height * 3 // 4 + 0.5)

    c.set_show_original(True)  # the reference: the original alone
    QApplication.processEvents()
    original = c.grab().toImage()
    c.set_show_original(False)
    c.set_split(True)
    c.split_pos = 0.5
    c.update()
    QApplication.processEvents()
    split = c.grab().toImage()
    assert left_pt.x() < c.width() * 0.5 < right_pt.x()

    # the Original half: exactly the original, no red mask, no blue hint
    assert _rgb(split, left_pt) == _rgb(original, left_pt)
    assert _rgb(split, off_left) == _rgb(original, off_left)
    # the Result half: the red mask and the blue hint
    r, g, b = _rgb(split, off_right)
    r0, g0, b0 = _rgb(original, off_right)
    assert r > r0 + 40 and g < g0 - 40
    r, g, b = _rgb(split, right_pt)
    assert b > 200 and r < 60 and g < 60

    # without the split both show (the test can fail: the mask is drawn on the left too)
    c.set_split(False)
    QApplication.processEvents()
    whole = c.grab().toImage()
    assert _rgb(whole, off_left) != _rgb(original, off_left)
    assert _rgb(whole, left_pt)[2] > 200
    w.history.setClean()
