"""Filling one small region of a big photo (pipelines.local_fill)."""

import numpy as np
import pytest

from neuron_desktop.core.errors import MaskError
from neuron_desktop.core.masks import mask_box
from neuron_desktop.core.progress import run_pipeline
from neuron_desktop.pipelines.local_fill import context_box, fill_box


def test_context_box_grows_and_clips():
    assert context_box((100, 100, 140, 120), (1000, 1000)) == (68, 68, 172, 152)
    assert context_box((0, 5, 400, 25), (50, 420)) == (0, 0, 420, 50)


def test_mask_box():
    m = np.zeros((50, 60), np.float32)
    assert mask_box(m) is None
    m[10:20, 30:35] = 1
    assert mask_box(m, pad=2) == (28, 8, 37, 22)


@pytest.mark.parametrize("method", ["telea", "harmonic"])
def test_fill_box_fills_the_hole_only_and_reads_a_crop(method):
    h, w = 400, 600
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    image = np.stack([xx / w, yy / h, np.full_like(xx, 0.5)], -1)
    damaged = image.copy()
    damaged[200:206, 300:340] = 1.0  # a white scratch
    mask = np.zeros((h, w), np.float32)
    mask[200:206, 300:340] = 1
    mask[20:30, 20:30] = 1  # masked too, but outside the box: not filled
    box = (296, 196, 344, 210)
    out = run_pipeline(fill_box(damaged, mask, box, method=method))
    assert out.shape == (14, 48, 3)
    hole = mask[196:210, 296:344] > 0.5
    assert np.abs(out[hole] - image[196:210, 296:344][hole]).max() < 0.05
    np.testing.assert_array_equal(out[~hole], damaged[196:210, 296:344][~hole])


def test_fill_box_without_a_hole():
    image = np.zeros((50, 50, 3), np.float32)
    with pytest.raises(MaskError):
        run_pipeline(fill_box(image, np.zeros((50, 50), np.float32), (10, 10, 20, 20)))
