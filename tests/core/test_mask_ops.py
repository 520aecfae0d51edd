"""Grow/shrink/feather and lasso/polygon fills (core/mask_ops.py) against NumPy references."""

import numpy as np
import pytest

from neuron_desktop.core import mask_ops


def _disc(h=101, w=121, r=20, cx=60, cy=50):
    y, x = np.mgrid[0:h, 0:w]
    return ((x - cx) ** 2 + (y - cy) ** 2 <= r * r).astype(np.float32)


@pytest.mark.parametrize("px", [1, 5, 12])
def test_grow_and_shrink_move_a_disc_edge_by_n_px(px):
    m = _disc(r=20)
    grown, shrunk = mask_ops.grow(m, px), mask_ops.shrink(m, px)
    # compare with discs of radius 20 +- px (one pixel of tolerance on the rim)
    assert np.all(grown >= _disc(r=20 + px - 1)) and np.all(grown <= _disc(r=20 + px + 1))
    assert np.all(shrunk >= _disc(r=20 - px - 1)) and np.all(shrunk <= _disc(r=20 - px + 1))
    assert mask_ops.grow(m, 0) is not m and np.array_equal(mask_ops.grow(m, 0), m)


def test_feather_softens_only_near_the_edge():
    m = _disc(r=20)
    f = mask_ops.feather(m, 6)
    assert f[50, 60] > 0.99 and f[0, 0] < 0.01
    assert 0.3 < f[50, 80] < 0.7  # on the rim: about half
    assert f.dtype == np.float32


def test_polygon_fill_add_and_subtract():
    m = np.zeros((50, 60), np.float32)
    square = [(10, 10), (30, 10), (30, 40), (10, 40)]
    added = mask_ops.apply_polygon(m, square)
    assert added[20:35, 15:25].min() == 1.0 and added[45, 50] == 0.0
    assert added.sum() == pytest.approx(20 * 30, rel=0.03)  # area of the square
    cut = mask_ops.apply_polygon(added, [(10, 10), (20, 10), (20, 40), (10, 40)], True)
    assert cut[20:35, 12:18].max() == 0.0 and cut[20:35, 22:28].min() == 1.0
    assert mask_ops.polygon_patch([(0, 0), (5, 5)], m.shape) is None
    assert mask_ops.polygon_patch([(-50, -50), (-40, -50), (-40, -40)], m.shape) is None
