"""Free-form hole masks: area bands, reproducibility, shapes."""

import numpy as np
import pytest

from neuron_desktop.data.masks import AREA_BANDS, free_form_mask, mask_set


@pytest.mark.parametrize("band", AREA_BANDS)
@pytest.mark.parametrize("shape", [(256, 256), (321, 481), (500, 300)])
def test_area_bands_hit_their_range(band, shape):
    for seed in range(8):
        m = free_form_mask(*shape, np.random.default_rng(seed), band)
        assert m.shape == shape and m.dtype == np.float32
        assert set(np.unique(m)) <= {0.0, 1.0}
        assert band[0] <= m.mean() <= band[1]


def test_seeded_reproducibility():
    a, b = mask_set(200, 300, seed=7), mask_set(200, 300, seed=7)
    assert list(a) == ["10-20%", "20-30%", "30-40%"]
    assert all(np.array_equal(a[k], b[k]) for k in a)
    c = mask_set(200, 300, seed=8)
    assert not np.array_equal(a["20-30%"], c["20-30%"])


def test_tiny_image_and_bad_band():
    m = free_form_mask(12, 10, np.random.default_rng(0), (0.3, 0.4))
    assert 0.3 <= m.mean() <= 0.4
    with pytest.raises(ValueError):
        free_form_mask(10, 10, np.random.default_rng(0), (0.5, 0.2))
