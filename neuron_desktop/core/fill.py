"""Smooth hole fills in torch (batched, CPU or GPU): ``push_pull`` (a pyramid of
mask-weighted averages) and ``harmonic_fill`` (the membrane interpolant: the discrete
Laplace equation solved in the hole with the known pixels as boundary values). Both keep
known pixels exactly. ``harmonic_fill`` is the inpainting network's pre-fill and the
``harmonic`` method of ``pipelines.inpaint``.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import Tensor


def push_pull(rgb: Tensor, hole: Tensor) -> Tensor:
    """Fill ``hole`` (B, 1, H, W) pixels of ``rgb`` (B, C, H, W) from a pyramid of
    mask-weighted averages (coarser levels fill what finer ones cannot see)."""
    valid = 1 - hole
    if bool((valid > 0).all()) or min(rgb.shape[-2:]) <= 1:
        return rgb
    s = F.avg_pool2d(rgb * valid, 2, ceil_mode=True)
    w = F.avg_pool2d(valid, 2, ceil_mode=True)
    coarse = push_pull(s / w.clamp_min(1e-6), (w <= 0).to(rgb.dtype))
    up = F.interpolate(coarse, size=rgb.shape[-2:], mode="bilinear", align_corners=False)
    return rgb * valid + up * hole


def _neighbour_sum(t: Tensor) -> Tensor:
    """Sum of the 4 neighbours of each pixel (zero outside the image)."""
    p = F.pad(t, (1, 1, 1, 1))
    return p[..., :-2, 1:-1] + p[..., 2:, 1:-1] + p[..., 1:-1, :-2] + p[..., 1:-1, 2:]


def _cg(lap, b: Tensor, x: Tensor, iters: int, dims: tuple[int, ...]) -> Tensor:
    """``iters`` conjugate-gradient steps on ``lap(x) = b`` from ``x``; one system per
    index of the dimensions not in ``dims``."""
    r = b - lap(x)
    p, rs = r, (r * r).sum(dims, keepdim=True)
    for _ in range(iters):  # fused multiply-adds: fewer kernel launches on a GPU
        ap = lap(p)
        a = rs / (p * ap).sum(dims, keepdim=True).clamp_min(1e-30)
        x, r = torch.addcmul(x, a, p), torch.addcmul(r, a, ap, value=-1)
        rn = (r * r).sum(dims, keepdim=True)
        p, rs = torch.addcmul(r, rn / rs.clamp_min(1e-30), p), rn
    return x


def _harmonic_cg(known: Tensor, hole: Tensor, x: Tensor, iters: int) -> Tensor:
    """CG on the discrete Laplace equation in the hole (known pixels fixed, reflecting image
    borders) from hole values ``x`` (B, C, H, W); returns the hole values (0 elsewhere).
    One image is solved on its hole pixels only (a sparse Laplacian), a batch on the whole
    grid."""
    if known.shape[0] > 1:
        count = _neighbour_sum(torch.ones_like(hole))
        diag = count * hole
        return _cg(lambda t: torch.addcmul(diag * t, hole, _neighbour_sum(t), value=-1),
                   _neighbour_sum(known) * hole, x, iters, (2, 3))
    c, h, w = known.shape[1:]
    idx = (hole[0, 0] > 0).reshape(-1).nonzero()[:, 0]
    n, dev = len(idx), known.device
    pos = torch.full((h * w,), n, dtype=torch.long, device=dev)
    pos[idx] = torch.arange(n, device=dev)
    ys, xs = idx // w, idx % w
    flat = known[0].reshape(c, -1)
    count = torch.zeros(n, dtype=known.dtype, device=dev)
    b = torch.zeros(c, n, dtype=known.dtype, device=dev)
    cols = [torch.arange(n, device=dev)]
    for dy, dx in ((-1, 0), (0, -1), (0, 1), (1, 0)):  # ascending columns in each row
        yy, xx = ys + dy, xs + dx
        inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        at = yy.clamp(0, h - 1) * w + xx.clamp(0, w - 1)
        count += inside
        b += flat[:, at] * (inside & (pos[at] == n))  # known neighbours are boundary values
        cols.append(torch.where(inside, pos[at], n))  # n: not a hole neighbour
    lap = _laplacian_csr(torch.stack(cols, 1), count)
    if n <= iters and n < h * w:  # CG would converge in n steps: one dense solve instead
        # (a known pixel in the grid makes the system regular)
        sol = torch.linalg.solve(lap.to_dense(), b.T)
    else:
        sol = _cg(lambda t: lap @ t, b.T.contiguous(),
                  x[0].reshape(c, -1)[:, idx].T.contiguous(), iters, (0,))
    out = known.new_zeros(known.shape)  # contiguous, whatever the input's layout
    out.view(c, -1)[:, idx] = sol.T
    return out


def _laplacian_csr(cols: Tensor, count: Tensor) -> Tensor:
    """The hole's Laplacian as a sparse CSR matrix (one kernel per product instead of a
    gather and add per neighbour): row i holds ``count[i]`` on the diagonal and -1 at
    each hole neighbour; ``cols`` (n, 5) is the diagonal then the neighbours, ``n`` where
    there is none."""
    n = len(count)
    cols, order = cols.sort(1)  # the diagonal lies between the up/left and right/down ones
    values = torch.cat([count[:, None], -torch.ones_like(cols[:, 1:], dtype=count.dtype)], 1)
    values = values.gather(1, order)
    keep = cols < n
    crow = F.pad(keep.sum(1).cumsum(0), (1, 0))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(crow, cols[keep], values[keep], (n, n),
                                       check_invariants=False)


SMALL_LEVEL = 64


def harmonic_fill(rgb: Tensor, hole: Tensor, iters: int = 30) -> Tensor:
    """Fill ``hole`` (B, 1, H, W) pixels of ``rgb`` (B, C, H, W) with the harmonic (membrane)
    interpolant of the known pixels: cascadic multigrid, the half-size solution upsampled as
    the start of ``iters`` CG steps at each level. Only the hole's bounding box is solved;
    on a GPU, one image's levels up to ``SMALL_LEVEL`` px are solved on the CPU (their
    hundreds of tiny steps cost more in kernel launches there than in arithmetic here; a
    training batch's launches are shared by its images, its arithmetic is not)."""
    if rgb.device.type != "cpu" and rgb.shape[0] == 1 and max(rgb.shape[-2:]) <= SMALL_LEVEL:
        return harmonic_fill(rgb.cpu(), hole.cpu(), iters).to(rgb.device)
    valid = 1 - hole
    if bool((valid > 0).all()):
        return rgb
    rows, cols = hole.amax((0, 1, 3)).nonzero()[:, 0], hole.amax((0, 1, 2)).nonzero()[:, 0]
    y0, y1 = max(0, int(rows[0]) - 1), min(rgb.shape[-2], int(rows[-1]) + 2)
    x0, x1 = max(0, int(cols[0]) - 1), min(rgb.shape[-1], int(cols[-1]) + 2)
    if (y0, y1, x0, x1) != (0, rgb.shape[-2], 0, rgb.shape[-1]):
        out = rgb * valid
        out[..., y0:y1, x0:x1] = harmonic_fill(rgb[..., y0:y1, x0:x1], hole[..., y0:y1, x0:x1],
                                               iters)
        return out
    known = rgb * valid
    if min(rgb.shape[-2:]) <= 16:
        return known + _harmonic_cg(known, hole, push_pull(known, hole) * hole, 4 * iters)
    s = F.avg_pool2d(known, 2, ceil_mode=True)
    w = F.avg_pool2d(valid, 2, ceil_mode=True)
    coarse = harmonic_fill(s / w.clamp_min(1e-6), (w <= 0).to(rgb.dtype), iters)
    up = F.interpolate(coarse, size=rgb.shape[-2:], mode="bilinear", align_corners=False)
    return known + _harmonic_cg(known, hole, up * hole, iters) * hole
