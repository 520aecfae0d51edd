"""The hint colour picker shows only displayable colours: clicks outside them do nothing,
drags snap visibly to the edge, and black / white pixels get a usable slice."""

import numpy as np
import torch
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from neuron_desktop.core.color import lab_to_rgb, rgb_to_lab
from neuron_desktop.qt.gamut import AB_RANGE, GamutPicker


def _displayable(rgb, L, tol=2e-3):
    """``rgb``'s ab at lightness ``L`` is inside the sRGB gamut (no clamping needed)."""
    lab = rgb_to_lab(torch.tensor(rgb, dtype=torch.float32).view(1, 3, 1, 1))
    lab[0, 0] = L
    back = lab_to_rgb(lab, clip=False)[0, :, 0, 0]
    return bool(((back >= -tol) & (back <= 1 + tol)).all())


def _picker(qtbot, lightness=50.0):
    p = GamutPicker()
    qtbot.addWidget(p)
    p.resize(221, 221)
    p.show()
    qtbot.waitExposed(p)
    p.set_state(lightness, (0.5, 0.5, 0.5))
    return p


def _corner(p):
    x0, y0, side = p._square()
    return QPoint(int(x0 + 3), int(y0 + 3))


def test_outside_the_gamut_is_hatched_grey_and_a_click_there_does_nothing(qtbot):
    p = _picker(qtbot)
    picked = []
    p.colorPicked.connect(picked.append)
    corner = _corner(p)
    assert not p.ok[p.cell_at(corner)]  # top-left: a = -110, b = +110 is not displayable
    img = p.grab().toImage()
    c = img.pixelColor(corner + QPoint(6, 20))
    assert abs(c.red() - c.green()) <= 2 and abs(c.green() - c.blue()) <= 2  # neutral
    shades = {img.pixelColor(corner.x() + i, corner.y() + 40).red() for i in range(12)}
    assert len(shades) >= 2  # hatched, not a flat fill
    before = p.ab
    qtbot.mouseClick(p, Qt.MouseButton.LeftButton, pos=corner)
    assert picked == [] and p.ab == before
    assert "Not displayable" in p.flash  # the picker says why
    qtbot.waitUntil(lambda: not p.flash, timeout=5000)
    inside = p.ab_pos(20.0, 20.0).toPoint()
    qtbot.mouseClick(p, Qt.MouseButton.LeftButton, pos=inside)
    assert len(picked) == 1 and _displayable(picked[0], p.shown)


def test_a_drag_out_of_the_gamut_snaps_visibly_to_its_edge(qtbot):
    p = _picker(qtbot, 60.0)
    picked = []
    p.colorPicked.connect(picked.append)
    start = p.ab_pos(0.0, 0.0).toPoint()
    qtbot.mousePress(p, Qt.MouseButton.LeftButton, pos=start)
    far = p.ab_pos(-100.0, -100.0).toPoint()  # deep blue-green: outside at L = 60
    assert not p.ok[p.cell_at(far)]
    qtbot.mouseMove(p, far)
    qtbot.mouseRelease(p, Qt.MouseButton.LeftButton, pos=far)
    assert len(picked) >= 2
    rgb = picked[-1]
    assert _displayable(rgb, p.shown)  # never a silently clamped colour
    a, b = p.ab  # the marker moved to the edge: inside the gamut, towards the drag
    row, col = p.cell_at(p.ab_pos(a, b))
    assert p.ok[row, col]
    assert a < -10 and b < -10
    _, a2, b2 = rgb_to_lab(torch.tensor(rgb).view(1, 3, 1, 1))[0, :, 0, 0].tolist()
    assert abs(a2 - a) < 2.5 and abs(b2 - b) < 2.5  # the colour is where the marker is


def test_black_and_white_pixels_get_a_usable_range(qtbot):
    for L, word in ((0.0, "dark"), (100.0, "light")):
        p = _picker(qtbot, L)
        assert p.lightness == L
        assert word in p.note and p.note in p.statusTip()
        assert p.ok.mean() > 0.08  # a usable slice, not an empty square (was 1 cell)
        assert p.range < AB_RANGE or L == 100  # dark: zoomed in on the small gamut
        picked = []
        p.colorPicked.connect(picked.append)
        ys, xs = np.nonzero(p.ok)
        i = len(ys) // 3
        centre = p._square()
        x0, y0, side = centre
        pos = QPoint(int(x0 + (xs[i] + 0.5) / 221 * side), int(y0 + (ys[i] + 0.5) / 221 * side))
        qtbot.mouseClick(p, Qt.MouseButton.LeftButton, pos=pos)
        assert len(picked) == 1 and _displayable(picked[0], p.shown)
        img = p.grab().toImage()
        colours = {img.pixelColor(int(x0 + (x + 0.5) / 221 * side),
                                  int(y0 + (y + 0.5) / 221 * side)).name()
                   for y, x in zip(ys[::50], xs[::50], strict=True)}
        assert len(colours) > 5  # real colours, drawn
    QApplication.processEvents()


def test_picker_follows_the_hint_pixel_in_the_window(photo_window, qtbot):
    """A hint on a black pixel: the picker in the Tools dock shows a usable slice."""
    w = photo_window
    w.doc.image[10:20, 10:20] = 0.0  # a black patch (the test's own copy of the photo)
    w.set_tool("hints")
    w.hint_tool.add(15, 15)
    picker = w.hint_panel.picker
    w._hint_selected(0)
    assert picker.lightness < 1 and picker.shown >= 8 and picker.note
    count = w.history.count()
    qtbot.mouseClick(picker, Qt.MouseButton.LeftButton, pos=_corner(picker))
    assert w.history.count() == count  # nothing picked outside the gamut
    qtbot.waitUntil(lambda: not picker.flash, timeout=5000)
