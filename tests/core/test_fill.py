"""Smooth fills (core.fill): the harmonic fill solves the discrete Laplace equation."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spl
import torch

from neuron_desktop.core.fill import harmonic_fill
from neuron_desktop.data.masks import free_form_mask


def _exact_harmonic(img: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Direct sparse solve: 4-neighbour Laplacian in the hole, reflecting image borders."""
    h, w = hole.shape
    ys, xs = np.nonzero(hole)
    index = -np.ones((h, w), int)
    index[ys, xs] = np.arange(len(ys))
    a = sp.lil_matrix((len(ys), len(ys)))
    b = np.zeros((len(ys), img.shape[0]))
    for i, (y, x) in enumerate(zip(ys, xs, strict=True)):
        for yy, xx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
            if 0 <= yy < h and 0 <= xx < w:
                a[i, i] += 1
                if hole[yy, xx]:
                    a[i, index[yy, xx]] -= 1
                else:
                    b[i] += img[:, yy, xx]
    solution = spl.spsolve(a.tocsc(), b)
    out = img.copy()
    out[:, ys, xs] = solution.T
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_harmonic_fill_matches_a_direct_solve(seed):
    rng = np.random.default_rng(seed)
    img = rng.random((3, 40, 56)).astype(np.float64)
    hole = free_form_mask(40, 56, rng, (0.2, 0.3)) > 0
    hole[:3, :10] = True  # touches the border
    out = harmonic_fill(torch.from_numpy(img)[None].float(),
                        torch.from_numpy(hole)[None, None].float(), iters=40)[0].numpy()
    exact = _exact_harmonic(img, hole)
    assert np.abs(out - exact)[:, hole].max() < 2e-3
    assert np.array_equal(out[:, ~hole], img[:, ~hole].astype(np.float32))


def test_harmonic_fill_reproduces_a_ramp_and_skips_full_images():
    y, x = torch.meshgrid(torch.arange(48.0), torch.arange(64.0), indexing="ij")
    ramp = torch.stack([x / 64, y / 48, (x + y) / 112])[None]
    hole = torch.zeros(1, 1, 48, 64)
    hole[..., 10:30, 5:50] = 1
    out = harmonic_fill(ramp * (1 - hole), hole)
    assert torch.allclose(out, ramp, atol=1 / 255)  # default: within an 8-bit level
    assert torch.allclose(harmonic_fill(ramp * (1 - hole), hole, iters=80), ramp, atol=1e-5)
    assert torch.equal(harmonic_fill(ramp, torch.zeros(1, 1, 48, 64)), ramp)


def test_single_image_sparse_solve_matches_the_batched_grid_solve():
    rng = np.random.default_rng(3)
    img = torch.from_numpy(rng.random((2, 3, 48, 40))).float()
    hole = torch.from_numpy(np.stack([free_form_mask(48, 40, rng, (0.2, 0.3))] * 2))[:, None]
    batched = harmonic_fill(img, hole)  # both rows identical: the grid solver
    single = harmonic_fill(img[:1], hole[:1])  # one image: the gather solver
    assert torch.allclose(batched[0], single[0], atol=1e-5)


def test_a_hole_of_at_most_iters_pixels_is_solved_exactly(monkeypatch):
    """n <= iters unknowns: one dense solve (CG's answer after n steps), exact to round-off;
    a fully masked grid (a singular system) still takes CG and stays finite."""
    calls, solve = [], torch.linalg.solve
    monkeypatch.setattr(torch.linalg, "solve", lambda a, b: calls.append(a.shape) or solve(a, b))
    rng = np.random.default_rng(5)
    img = rng.random((3, 12, 9))
    hole = np.zeros((12, 9), bool)
    hole[3:7, 2:6] = True  # 16 unknowns
    hole[9, 0:3] = True  # touches the border
    out = harmonic_fill(torch.from_numpy(img)[None].float(),
                        torch.from_numpy(hole)[None, None].float(), iters=30)[0].numpy()
    assert np.abs(out - _exact_harmonic(img, hole))[:, hole].max() < 1e-5
    assert calls == [(19, 19)]
    full = torch.ones(1, 1, 12, 9)
    assert torch.isfinite(harmonic_fill(torch.rand(1, 3, 12, 9) * 0, full, iters=200)).all()
    assert len(calls) == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_fill_matches_the_cpu_fill():
    rng = np.random.default_rng(4)
    img = torch.from_numpy(rng.random((1, 3, 200, 260))).float()
    hole = torch.from_numpy(free_form_mask(200, 260, rng, (0.2, 0.3)))[None, None]
    cpu = harmonic_fill(img, hole)
    gpu = harmonic_fill(img.cuda(), hole.cuda())  # small levels solved on the CPU
    assert gpu.is_cuda and torch.allclose(gpu.cpu(), cpu, atol=1e-5)


@pytest.mark.parametrize("layout", ["transposed", "channels_last"])
def test_fill_does_not_depend_on_the_memory_layout(layout):
    rng = np.random.default_rng(5)
    rgb = torch.from_numpy(rng.random((1, 3, 48, 64), dtype=np.float32))
    hole = torch.from_numpy(free_form_mask(48, 64, rng, (0.2, 0.3)))[None, None]
    if layout == "transposed":  # a view with swapped strides
        rgb, hole = rgb.transpose(-1, -2).contiguous().transpose(-1, -2), hole
    else:
        rgb = rgb.contiguous(memory_format=torch.channels_last)
    assert not rgb.is_contiguous()
    ref = harmonic_fill(rgb.contiguous(), hole, 20)
    assert torch.allclose(harmonic_fill(rgb, hole, 20), ref, atol=1e-6)
