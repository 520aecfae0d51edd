"""Metrics agree with skimage and the published CIEDE2000 test data."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from neuron_desktop.core.color import rgb_to_lab
from neuron_desktop.core.metrics import (
    colorfulness,
    colour_cast,
    colour_tone,
    delta_e,
    delta_e_ciede2000,
    image_metrics,
    pooled_colour_cast,
    psnr,
    ssim,
)

KODAK = Path("/work/shared/data/eval/kodak24")
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

# Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference formula", table 1 (excerpt):
# L1 a1 b1 L2 a2 b2 dE00. Rows 9-12 straddle the 180-degree hue wrap.
SHARMA = np.array([
    [50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425],
    [50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000],
    [50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669],
    [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0009, 7.1792],
    [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0010, 7.1792],
    [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0011, 7.2195],
    [50.0000, -0.0010, 2.4900, 50.0000, 0.0011, -2.4900, 4.7461],
    [50.0000, 2.5000, 0.0000, 50.0000, 0.0000, -2.5000, 4.3065],
    [50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492],
    [50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030],
    [50.0000, 2.5000, 0.0000, 50.0000, 3.1736, 0.5854, 1.0000],
    [60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644],
    [22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373],
    [90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381],
    [2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082],
])


def _noisy_pair(c: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(2, c, 40, 57, generator=g, dtype=torch.float64)
    b = (a + 0.1 * torch.randn(a.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    return a.float(), b.float()


def _sk_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """skimage SSIM of two (C, H, W) images with the settings of Wang et al."""
    return structural_similarity(
        a.transpose(1, 2, 0), b.transpose(1, 2, 0), gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False, data_range=1, channel_axis=-1,
    )


def _to_tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(img.transpose(2, 0, 1).copy())[None]


def _np_colorfulness(img: np.ndarray) -> float:
    r, g, b = (255 * img.astype(np.float64))
    rg, yb = r - g, 0.5 * (r + g) - b
    return math.hypot(rg.std(), yb.std()) + 0.3 * math.hypot(rg.mean(), yb.mean())


def test_psnr_matches_skimage_and_is_inf_for_identical() -> None:
    a, b = _noisy_pair()
    out = psnr(a, b)
    assert out.shape == (2,) and out.dtype == torch.float32
    pairs = zip(a.double().numpy(), b.double().numpy(), strict=True)
    ref = [peak_signal_noise_ratio(x, y, data_range=1) for x, y in pairs]
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-4)
    assert torch.isinf(psnr(a, a)).all()
    assert torch.allclose(psnr(255 * a, 255 * b, data_range=255), out, atol=1e-4)


@pytest.mark.parametrize("channels", [1, 3])
def test_ssim_matches_skimage(channels: int) -> None:
    a, b = _noisy_pair(channels)
    out = ssim(a, b)
    assert out.shape == (2,) and out.dtype == torch.float32
    ref = [_sk_ssim(x, y) for x, y in zip(a.double().numpy(), b.double().numpy(), strict=True)]
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-4)
    assert torch.allclose(ssim(a, a), torch.ones(2))


def test_ssim_rejects_tiny_images() -> None:
    with pytest.raises(ValueError):
        ssim(torch.rand(1, 3, 10, 20), torch.rand(1, 3, 10, 20))


@pytest.mark.slow
@pytest.mark.skipif(not KODAK.is_dir(), reason="Kodak images not available")
def test_kodak_pairs_match_skimage() -> None:
    rng = np.random.default_rng(0)
    for path in sorted(KODAK.glob("*.png"))[:2]:
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)[:, :, ::-1].astype(np.float32) / 255
        blurred = cv2.GaussianBlur(img, (0, 0), 2.0)
        noisy = np.clip(img + rng.normal(0, 0.05, img.shape), 0, 1).astype(np.float32)
        ref, ref_t = img.astype(np.float64), _to_tensor(img)
        for other in (blurred, noisy):
            out, out_t = other.astype(np.float64), _to_tensor(other)
            expected = _sk_ssim(ref.transpose(2, 0, 1), out.transpose(2, 0, 1))
            assert abs(ssim(out_t, ref_t).item() - expected) < 1e-4
            expected = peak_signal_noise_ratio(ref, out, data_range=1)
            assert abs(psnr(out_t, ref_t).item() - expected) < 1e-3
            expected = deltaE_ciede2000(rgb2lab(ref), rgb2lab(out)).mean()
            assert abs(delta_e(out_t, ref_t).item() - expected) < 1e-3


def test_ciede2000_matches_sharma_table() -> None:
    lab1 = torch.from_numpy(SHARMA[:, :3].T.copy())[None, :, :, None]
    lab2 = torch.from_numpy(SHARMA[:, 3:6].T.copy())[None, :, :, None]
    out = delta_e_ciede2000(lab1, lab2)
    assert out.shape == (1, 1, len(SHARMA), 1)
    np.testing.assert_allclose(out.flatten().numpy(), SHARMA[:, 6], atol=1e-4)
    swapped = delta_e_ciede2000(lab2, lab1)  # the formula is symmetric
    np.testing.assert_allclose(swapped.flatten().numpy(), SHARMA[:, 6], atol=1e-4)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ciede2000_matches_skimage_on_random_pairs(dtype: torch.dtype) -> None:
    rng = np.random.default_rng(1)
    def random_lab() -> np.ndarray:
        return np.concatenate(
            (rng.uniform(0, 100, (2, 1, 20, 20)), rng.uniform(-120, 120, (2, 2, 20, 20))), 1
        )
    lab1, lab2 = random_lab(), random_lab()
    lab2[:, :, :5] = lab1[:, :, :5]  # identical pixels give 0
    lab2[:, 1:, 5:8] = 0  # achromatic pixels take the C1 * C2 == 0 branch
    ref = deltaE_ciede2000(lab1.transpose(0, 2, 3, 1), lab2.transpose(0, 2, 3, 1))
    out = delta_e_ciede2000(torch.from_numpy(lab1).to(dtype), torch.from_numpy(lab2).to(dtype))
    assert out.shape == (2, 1, 20, 20) and out.dtype == dtype
    tol = {"atol": 1e-4, "rtol": 1e-6} if dtype == torch.float32 else {"atol": 1e-8}
    np.testing.assert_allclose(out[:, 0].double().numpy(), ref, **tol)
    assert (out[:, :, :5] == 0).all()


def test_delta_e_is_mean_ciede2000_of_lab() -> None:
    a, b = _noisy_pair(seed=3)
    out = delta_e(a, b)
    assert out.shape == (2,)
    expected = delta_e_ciede2000(rgb_to_lab(a), rgb_to_lab(b)).mean(dim=(1, 2, 3))
    assert torch.allclose(out, expected)
    assert torch.allclose(delta_e(a, a), torch.zeros(2))


def test_colorfulness_matches_numpy_and_sanity() -> None:
    a, _ = _noisy_pair(seed=4)
    out = colorfulness(a)
    assert out.shape == (2,)
    np.testing.assert_allclose(out.numpy(), [_np_colorfulness(x) for x in a.numpy()], rtol=1e-5)
    gray = torch.rand(1, 1, 16, 16).expand(1, 3, 16, 16)
    assert colorfulness(gray).item() < 1e-3
    saturated = torch.zeros(1, 3, 16, 16)
    saturated[:, 0, :8] = 1  # red
    saturated[:, 1, 8:] = 1  # green
    assert colorfulness(saturated).item() > 50


def _sky_over_grass() -> torch.Tensor:
    """A 16 px photo: blue sky over green grass."""
    rgb = torch.zeros(1, 3, 16, 16)
    rgb[0, :, :8] = torch.tensor([0.35, 0.55, 0.9])[:, None, None]
    rgb[0, :, 8:] = torch.tensor([0.25, 0.55, 0.2])[:, None, None]
    return rgb


def _sepia(rgb: torch.Tensor) -> torch.Tensor:
    return (rgb.mean(1, keepdim=True) * torch.tensor([1.1, 0.95, 0.75])[:, None, None]).clamp(0, 1)


def test_colour_cast_sees_a_brown_wash_and_lost_sky_and_grass() -> None:
    """A photo of blue sky over green grass: coloured right, the cast is nil and both
    recalls are whole; washed sepia, b* rises and neither blue nor green survives."""
    truth = _sky_over_grass()
    right = colour_cast(truth, truth)
    assert right["b_bias"] == 0 and right["blue_kept"] == right["blue_true"] == 128
    assert right["green_kept"] == right["green_true"] == 128
    washed = colour_cast(_sepia(truth), truth)
    assert washed["b_bias"] > 20
    assert washed["blue_kept"] == washed["green_kept"] == 0
    pooled = pooled_colour_cast([right, washed])  # pixels pooled over the two photos
    assert pooled["blue_recall"] == pooled["green_recall"] == 0.5
    assert pooled["b_bias"] == pytest.approx(washed["b_bias"] / 2)
    with pytest.raises(ValueError):
        colour_cast(truth, truth[..., :8])


def test_colour_tone_tells_sky_and_grass_from_a_sepia_wash() -> None:
    sky_grass = _sky_over_grass()
    tone = colour_tone(sky_grass)
    assert tone["blue_share"] == 0.5 and tone["green_share"] == 0.5 and tone["chroma"] > 20
    gray = sky_grass.mean(1, keepdim=True)
    sepia = colour_tone(_sepia(sky_grass))
    assert sepia["b_mean"] > tone["b_mean"] + 20
    assert sepia["blue_share"] == sepia["green_share"] == 0
    assert colour_tone(gray.expand(1, 3, 16, 16))["chroma"] < 1
    with pytest.raises(ValueError):
        colour_tone(sky_grass[:, :1])


def test_batched_results_equal_per_item_results() -> None:
    a, b = _noisy_pair(seed=5)
    for metric in (psnr, ssim, delta_e):
        both = metric(a, b)
        single = torch.cat([metric(a[i : i + 1], b[i : i + 1]) for i in range(2)])
        assert torch.allclose(both, single, atol=1e-5)
    assert torch.allclose(colorfulness(a), torch.cat([colorfulness(a[:1]), colorfulness(a[1:])]))


def test_image_metrics_dict() -> None:
    a, b = _noisy_pair(seed=6)
    out = image_metrics(a[:1], b[:1])
    assert set(out) == {"psnr", "ssim", "delta_e", "colorfulness_a", "colorfulness_b"}
    assert all(isinstance(v, float) for v in out.values())
    assert out["psnr"] == pytest.approx(psnr(a[:1], b[:1]).item())
    assert out["colorfulness_b"] == pytest.approx(colorfulness(b[:1]).item())
    with pytest.raises(ValueError):
        image_metrics(a, b)


@cuda
def test_cuda_matches_cpu() -> None:
    a, b = _noisy_pair(seed=7)
    for metric in (psnr, ssim, delta_e):
        out = metric(a.cuda(), b.cuda())
        assert out.device.type == "cuda"
        assert torch.allclose(out.cpu(), metric(a, b), atol=1e-4)
    assert torch.allclose(colorfulness(a.cuda()).cpu(), colorfulness(a), rtol=1e-5)
