"""core.before_after: the original and the result side by side under their labels."""

import numpy as np

from neuron_desktop.core.before_after import side_by_side


def test_halves_are_the_inputs_under_a_labelled_bar():
    rng = np.random.default_rng(0)
    before = rng.random((120, 160, 3), dtype=np.float32)
    after = 1 - before
    pic = side_by_side(before, after, gap=6)
    bar = pic.shape[0] - 120
    assert pic.dtype == np.uint8 and pic.shape[1] == 160 * 2 + 6 and 0 < bar < 40
    assert np.array_equal(pic[bar:, :160], np.rint(before * 255).astype(np.uint8))
    assert np.array_equal(pic[bar:, -160:], np.rint(after * 255).astype(np.uint8))
    text = pic[:bar].max(axis=2) > 200  # light words on the dark bar, over each half
    assert text[:, :160].any() and text[:, -160:].any()
    assert not text[:, 160:166].any()
    assert (pic[:bar] == 24).mean() > 0.7


def test_a_differently_sized_original_is_scaled_to_the_result_height():
    before = np.zeros((50, 100, 3), np.uint8)
    after = np.full((100, 80, 3), 255, np.uint8)
    pic = side_by_side(before, after, labels=("Scan", "Restored"), gap=4)
    bar = pic.shape[0] - 100
    assert pic.shape[1] == 200 + 4 + 80
    assert pic[bar:, :200].max() == 0 and pic[bar:, -80:].min() == 255
