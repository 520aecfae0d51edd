"""Colour conversions agree with skimage.color and invert each other."""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from skimage import color as skcolor

from neuron_desktop.core.color import (
    AB_NORM,
    L_CENT,
    L_NORM,
    lab_to_rgb,
    normalize_ab,
    normalize_l,
    rgb_to_gray,
    rgb_to_lab,
)

KODAK = Path("/work/shared/data/eval/kodak24")
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def _random_rgb(dtype: torch.dtype = torch.float32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    rgb = torch.rand(2, 3, 19, 23, generator=g, dtype=torch.float64)
    rgb[0, :, 0, :4] = torch.tensor([0.0, 1.0, 0.04045, 0.003])[None]  # edges of the curve
    return rgb.to(dtype)


def _per_image(fn, x: torch.Tensor) -> np.ndarray:
    """Apply a channels-last NumPy function to each image of (B, C, H, W)."""
    arrays = x.double().numpy().transpose(0, 2, 3, 1)
    return np.stack([fn(a) for a in arrays]).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rgb_to_lab_matches_skimage(dtype: torch.dtype) -> None:
    rgb = _random_rgb(dtype)
    lab = rgb_to_lab(rgb)
    assert lab.dtype == dtype and lab.shape == rgb.shape
    ref = _per_image(skcolor.rgb2lab, rgb)
    np.testing.assert_allclose(lab.double().numpy(), ref, atol=1e-3)


def test_lab_to_rgb_matches_skimage_and_clips() -> None:
    g = torch.Generator().manual_seed(1)
    l = 100 * torch.rand(2, 1, 16, 16, generator=g)
    lab = torch.cat((l, 220 * torch.rand(2, 2, 16, 16, generator=g) - 110), 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skimage warns about clipped negative Z
        ref = _per_image(skcolor.lab2rgb, lab)
    out = lab_to_rgb(lab)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-4)
    assert out.min() >= 0 and out.max() <= 1
    unclipped = lab_to_rgb(lab, clip=False)
    assert unclipped.min() < 0 and unclipped.max() > 1  # most random Lab is out of gamut


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_lab_round_trip(dtype: torch.dtype) -> None:
    rgb = _random_rgb(dtype, seed=2)
    back = lab_to_rgb(rgb_to_lab(rgb))
    assert back.dtype == dtype
    assert (back - rgb).abs().max() < 1e-4


def test_gray_is_lab_lightness() -> None:
    rgb = _random_rgb()
    gray = rgb_to_gray(rgb)
    assert gray.shape == (2, 1, 19, 23)
    assert (gray * 100 - rgb_to_lab(rgb)[:, :1]).abs().max() < 1e-4
    white_black = torch.tensor([1.0, 0.0]).view(1, 1, 1, 2).expand(1, 3, 1, 2)
    np.testing.assert_allclose(rgb_to_gray(white_black).flatten().numpy(), [1, 0], atol=1e-6)


def test_normalisation_constants() -> None:
    assert (L_CENT, L_NORM, AB_NORM) == (50.0, 100.0, 110.0)
    l = torch.tensor([0.0, 50.0, 100.0])
    assert torch.allclose(normalize_l(l), torch.tensor([-0.5, 0.0, 0.5]))
    ab = torch.tensor([-110.0, 0.0, 55.0])
    assert torch.allclose(normalize_ab(ab), torch.tensor([-1.0, 0.0, 0.5]))


def test_batch_items_are_independent() -> None:
    rgb = _random_rgb()
    both = rgb_to_lab(rgb)
    for i in range(2):
        assert torch.allclose(both[i : i + 1], rgb_to_lab(rgb[i : i + 1]), atol=1e-4)


def test_gradients_are_finite_at_black_and_white() -> None:
    rgb = torch.tensor([0.0, 1.0, 0.5, 0.04045]).view(1, 1, 2, 2).repeat(1, 3, 1, 1)
    rgb.requires_grad_(True)
    lab = rgb_to_lab(rgb)
    (lab.sum() + lab_to_rgb(lab).sum() + rgb_to_gray(rgb).sum()).backward()
    assert torch.isfinite(rgb.grad).all()


def test_rejects_wrong_shapes() -> None:
    with pytest.raises(ValueError):
        rgb_to_lab(torch.rand(1, 1, 4, 4))
    with pytest.raises(ValueError):
        lab_to_rgb(torch.rand(3, 4, 4))


@pytest.mark.skipif(not KODAK.is_dir(), reason="Kodak images not available")
def test_kodak_images_match_skimage() -> None:
    for path in sorted(KODAK.glob("*.png"))[:2]:
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)[:, :, ::-1].astype(np.float32) / 255
        rgb = torch.from_numpy(img.transpose(2, 0, 1).copy())[None]
        lab = rgb_to_lab(rgb)
        ref = skcolor.rgb2lab(img.astype(np.float64)).transpose(2, 0, 1)[None]
        np.testing.assert_allclose(lab.numpy(), ref, atol=1e-3)
        assert (lab_to_rgb(lab) - rgb).abs().max() < 1e-4


@cuda
def test_cuda_matches_cpu() -> None:
    rgb = _random_rgb()
    for fn in (rgb_to_lab, rgb_to_gray):
        out = fn(rgb.cuda())
        assert out.device.type == "cuda"
        assert torch.allclose(out.cpu(), fn(rgb), atol=1e-4)
    lab = rgb_to_lab(rgb)
    assert torch.allclose(lab_to_rgb(lab.cuda()).cpu(), lab_to_rgb(lab), atol=1e-5)


def test_big_images_take_the_row_band_path_and_agree():
    from neuron_desktop.core import color

    x = torch.rand(1, 3, 700, 650, generator=torch.Generator().manual_seed(3))
    assert 700 * 650 > color._CHUNK_PIXELS
    lab = color.rgb_to_lab(x)
    whole = color._rgb_to_lab(x)
    torch.testing.assert_close(lab, whole, atol=1e-4, rtol=0)
    torch.testing.assert_close(color.lab_to_rgb(lab), color._lab_to_rgb(lab, True),
                               atol=1e-5, rtol=0)
    torch.testing.assert_close(color.rgb_to_gray(x), color._rgb_to_gray(x), atol=1e-5, rtol=0)


def test_numpy_twins_match_the_tensor_conversions() -> None:
    """The hint picker's NumPy conversions (no torch on the GUI thread) are the same maths."""
    from neuron_desktop.core.color import lab_to_rgb_array, rgb_to_lab_array

    rgb = _random_rgb(torch.float32)
    arr = rgb.numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(rgb_to_lab_array(arr),
                               rgb_to_lab(rgb).numpy().transpose(0, 2, 3, 1), atol=2e-4)
    g = torch.Generator().manual_seed(3)
    lab = torch.cat((100 * torch.rand(1, 1, 9, 9, generator=g),
                     220 * torch.rand(1, 2, 9, 9, generator=g) - 110), 1)
    for clip in (True, False):
        np.testing.assert_allclose(lab_to_rgb_array(lab.numpy().transpose(0, 2, 3, 1), clip),
                                   lab_to_rgb(lab, clip).numpy().transpose(0, 2, 3, 1),
                                   atol=1e-5)
    assert rgb_to_lab_array((1.0, 1.0, 1.0))[0] == pytest.approx(100, abs=1e-3)  # one pixel
