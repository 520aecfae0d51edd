"""Geodesic distance: straight lines on a flat image, detours around lightness edges."""

import numpy as np
import pytest

from neuron_desktop.core.geodesic import geodesic_distance


def test_on_a_flat_image_it_is_the_8_connected_path_length():
    d = geodesic_distance(np.full((9, 12), 50.0), [(4, 3)], beta=5.0)[0]
    assert d[4, 3] == 0
    assert d[4, 10] == pytest.approx(7)  # along the row
    assert d[0, 3] == pytest.approx(4)  # along the column
    assert d[0, 7] == pytest.approx(4 * 2**0.5)  # diagonal
    assert d[8, 11] == pytest.approx(4 * 2**0.5 + 4)  # diagonal, then straight


def test_an_edge_of_lightness_lengthens_paths_across_it_and_a_gap_lets_them_round_it():
    l = np.full((20, 20), 50.0)
    l[:, 10] = 0.0  # a dark wall between two halves of the same lightness
    wall = geodesic_distance(l, [(10, 5)], beta=5.0)[0]
    flat = geodesic_distance(np.full((20, 20), 50.0), [(10, 5)], beta=5.0)[0]
    assert wall[10, 4] == pytest.approx(flat[10, 4])  # same side: unchanged
    assert wall[10, 15] > flat[10, 15] + 40  # across the wall: two steps of cost 26 each
    l[0:3, 10] = 50.0  # a gap at the top: the way round is cheaper than through
    gap = geodesic_distance(l, [(10, 5)], beta=5.0)[0]
    assert flat[10, 15] < gap[10, 15] < wall[10, 15]
    assert geodesic_distance(l, [(10, 5)], beta=0.0)[0] == pytest.approx(flat)  # beta 0


def test_several_seeds_at_once_and_bad_seeds():
    l = np.random.default_rng(0).uniform(0, 100, (16, 16))
    both = geodesic_distance(l, [(2, 2), (13, 9)], beta=2.0)
    assert np.array_equal(both[1], geodesic_distance(l, [(13, 9)], beta=2.0)[0])
    assert both.dtype == np.float32 and both.shape == (2, 16, 16)
    with pytest.raises(ValueError, match="outside"):
        geodesic_distance(l, [(16, 0)], beta=2.0)
