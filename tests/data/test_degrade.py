"""The restorer's degradation model: seeded, graded by severity, toning kept in the target."""

import numpy as np
import pytest

from neuron_desktop.data.degrade import SEVERITIES, degrade


def _photo(h=96, w=128, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([0.3 + 0.5 * x, 0.2 + 0.6 * y, 0.5 + 0.3 * np.sin(6 * x)], -1)
    return np.clip(base + 0.02 * rng.standard_normal((h, w, 3)), 0, 1).astype(np.float32)


def test_degradation_is_seeded_and_reproducible():
    img = _photo()
    a, b = degrade(img, 7, 0.5), degrade(img, 7, 0.5)
    assert np.array_equal(a.image, b.image) and a.params == b.params
    assert not np.array_equal(a.image, degrade(img, 8, 0.5).image)


def test_degradation_grows_with_severity():
    img = _photo(128, 128)
    err = {k: np.mean([np.mean((degrade(img, s, v).image - degrade(img, s, v).clean) ** 2)
                       for s in range(6)]) for k, v in SEVERITIES.items()}
    assert err["mild"] < err["medium"] < err["strong"]


def test_toning_is_applied_to_the_target_too():
    img = _photo()
    for seed in range(40):
        d = degrade(img, seed, 0.5, toning=1.0)
        if d.params["tint"] != [1.0, 1.0, 1.0]:
            # the clean target carries the tint: the restorer learns to keep a print's tone
            assert np.mean(d.clean[..., 2]) < np.mean(d.clean[..., 0])
            return
    pytest.fail("toning never applied")
