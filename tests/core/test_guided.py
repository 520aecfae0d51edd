"""Guided filter: agreement with float64 NumPy references, properties, gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuron_desktop.core import guided
from neuron_desktop.core.guided import GuidedFilter, box_filter, guided_filter
from tests.core.guided_reference import (
    box_filter_numpy,
    guided_filter_cv2,
    guided_filter_numpy,
)

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.fixture(params=["cv2", "cumsum"])
def backend(request, monkeypatch) -> str:
    """Run a test with OpenCV box sums (the CPU default) and with the cumsum path (other
    devices)."""
    if request.param == "cumsum":
        monkeypatch.setattr(guided, "_uses_cv2", lambda x: False)
    return request.param


def _rand(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _naive_box(x: np.ndarray, r: int) -> np.ndarray:
    h, w = x.shape
    return np.array(
        [[x[max(0, i - r) : i + r + 1, max(0, j - r) : j + r + 1].mean() for j in range(w)]
         for i in range(h)]
    )


def _reference(guide: torch.Tensor, src: torch.Tensor, r: int, eps: float) -> np.ndarray:
    """Per-image float64 NumPy guided filter, returned as (B, C, H, W)."""
    out = []
    for g, p in zip(guide.double().numpy(), src.double().numpy(), strict=True):
        g = g[0] if g.shape[0] == 1 else g.transpose(1, 2, 0)
        out.append(guided_filter_numpy(g, p.transpose(1, 2, 0), r, eps).transpose(2, 0, 1))
    return np.stack(out)


@pytest.mark.parametrize("r", [0, 1, 3, 6, 40])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_box_filter_matches_naive(backend: str, r: int, dtype: torch.dtype) -> None:
    x = _rand(2, 3, 13, 10, dtype=dtype)
    out = box_filter(x, r)
    assert out.shape == x.shape and out.dtype == dtype
    ref = np.stack([[_naive_box(p, r) for p in img] for img in x.double().numpy()])
    atol = 1e-6 if dtype == torch.float32 else 1e-12
    np.testing.assert_allclose(out.double().numpy(), ref, atol=atol)


def test_reference_box_filters_agree() -> None:
    x = np.random.default_rng(0).random((9, 14, 2))
    ref = np.stack([_naive_box(x[..., c], 4) for c in range(2)], -1)
    np.testing.assert_allclose(box_filter_numpy(x, 4), ref, atol=1e-12)
    g, p = x[..., 0], x[..., 1]
    np.testing.assert_allclose(guided_filter_cv2(g, p, 3, 1e-3), guided_filter_numpy(g, p, 3, 1e-3),
                               atol=1e-10)


@pytest.mark.parametrize("guide_channels", [1, 3])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("r", [1, 4, 50])
@pytest.mark.parametrize("eps", [1e-4, 1e-2])
def test_guided_filter_matches_numpy_reference(
    guide_channels: int, channels: int, r: int, eps: float
) -> None:
    guide = _rand(2, guide_channels, 23, 31, seed=1)
    src = _rand(2, channels, 23, 31, seed=2)
    out = guided_filter(guide, src, r, eps)
    assert out.shape == src.shape and out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), _reference(guide, src, r, eps), atol=1e-4)


@pytest.mark.parametrize("guide_channels", [1, 3])
def test_cumsum_path_matches_reference(backend: str, guide_channels: int) -> None:
    guide, src = _rand(2, guide_channels, 17, 26, seed=3), _rand(2, 2, 17, 26, seed=4)
    out = guided_filter(guide, src, 5, 1e-4)
    np.testing.assert_allclose(out.numpy(), _reference(guide, src, 5, 1e-4), atol=1e-4)


def test_float64_and_module() -> None:
    guide, src = _rand(1, 1, 12, 15, dtype=torch.float64), _rand(1, 2, 12, 15, seed=5)
    out = guided_filter(guide, src.double(), 3, 1e-3)
    assert out.dtype == torch.float64
    np.testing.assert_allclose(out.numpy(), _reference(guide, src, 3, 1e-3), atol=1e-10)
    module = GuidedFilter(3, 1e-3)
    assert "radius=3" in repr(module)
    assert torch.equal(module(guide, src.double()), out)


@pytest.mark.parametrize("guide_channels", [1, 3])
def test_subsample_one_is_exact_and_fast_filter_is_close(guide_channels: int) -> None:
    y, x = torch.meshgrid(torch.linspace(0, 1, 96), torch.linspace(0, 1, 128), indexing="ij")
    smooth = 0.5 + 0.25 * torch.sin(6 * x + 3 * y) * torch.cos(4 * y)
    guide = torch.stack([smooth, smooth**2, 1 - smooth][:guide_channels])[None]
    src = torch.stack((smooth + 0.1 * x, 0.3 * y + 0.2))[None]
    full = guided_filter(guide, src, 16, 1e-3)
    assert torch.equal(guided_filter(guide, src, 16, 1e-3, subsample=1), full)
    fast = guided_filter(guide, src, 16, 1e-3, subsample=4)
    assert fast.shape == full.shape
    assert (fast - full).abs().mean() < 0.01


def test_fast_filter_handles_odd_sizes() -> None:
    guide, src = _rand(2, 1, 37, 53), _rand(2, 2, 37, 53, seed=1)
    out = guided_filter(guide, src, 8, 1e-2, subsample=3)
    assert out.shape == src.shape and torch.isfinite(out).all()


def test_step_edge_stays_sharp() -> None:
    guide = torch.full((1, 1, 40, 40), 0.2)
    guide[..., 20:] = 0.8
    noise = 0.05 * torch.randn(1, 1, 40, 40, generator=torch.Generator().manual_seed(0))
    src = guide + noise
    out = guided_filter(guide, src, 8, 1e-4)
    jump = (out[..., 20] - out[..., 19]).mean()
    assert jump > 0.55  # the edge stays a one-pixel step
    assert (box_filter(src, 8)[..., 20] - box_filter(src, 8)[..., 19]).mean() < 0.1
    assert out[..., 4:16].std() < noise.std() / 2  # while flat regions are smoothed


@pytest.mark.parametrize("guide_channels", [1, 3])
def test_constant_src_stays_constant(guide_channels: int) -> None:
    guide = _rand(2, guide_channels, 21, 18)
    src = torch.full((2, 2, 21, 18), 0.37)
    out = guided_filter(guide, src, 4, 1e-4)
    assert (out - 0.37).abs().max() < 1e-5


@pytest.mark.parametrize("guide_channels", [1, 3])
@pytest.mark.parametrize("subsample", [1, 2])
def test_gradcheck(backend: str, guide_channels: int, subsample: int) -> None:
    guide = _rand(1, guide_channels, 6, 7, dtype=torch.float64).requires_grad_(True)
    src = _rand(1, 2, 6, 7, seed=1, dtype=torch.float64).requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda g, p: guided_filter(g, p, 2, 1e-2, subsample=subsample),
        (guide, src),
        fast_mode=True,
    )


def test_gradcheck_full_jacobian() -> None:
    guide = _rand(1, 1, 5, 6, dtype=torch.float64).requires_grad_(True)
    src = _rand(1, 1, 5, 6, seed=1, dtype=torch.float64).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda g, p: guided_filter(g, p, 1, 1e-2), (guide, src))


def test_box_filter_gradgradcheck(backend: str) -> None:
    x = _rand(1, 2, 5, 6, dtype=torch.float64).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: box_filter(t, 2), (x,))
    assert torch.autograd.gradgradcheck(lambda t: box_filter(t, 2), (x,))


def test_rejects_bad_arguments() -> None:
    guide, src = torch.rand(1, 1, 8, 8), torch.rand(1, 2, 8, 8)
    with pytest.raises(ValueError):
        guided_filter(torch.rand(1, 2, 8, 8), src, 2, 1e-3)
    with pytest.raises(ValueError):
        guided_filter(guide, torch.rand(1, 2, 8, 9), 2, 1e-3)
    with pytest.raises(ValueError):
        guided_filter(guide, src, 2, 0.0)
    with pytest.raises(ValueError):
        box_filter(src, -1)


@cuda
@pytest.mark.parametrize("guide_channels", [1, 3])
def test_cuda_matches_cpu(guide_channels: int) -> None:
    guide, src = _rand(2, guide_channels, 33, 41), _rand(2, 2, 33, 41, seed=1)
    for subsample in (1, 2):
        out = guided_filter(guide.cuda(), src.cuda(), 6, 1e-4, subsample=subsample)
        assert out.device.type == "cuda"
        cpu = guided_filter(guide, src, 6, 1e-4, subsample=subsample)
        assert torch.allclose(out.cpu(), cpu, atol=1e-4)
    assert torch.allclose(box_filter(src.cuda(), 7).cpu(), box_filter(src, 7), atol=1e-5)
