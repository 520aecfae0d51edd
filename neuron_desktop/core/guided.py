"""Guided filter (He et al. 2010/2013) and fast guided filter (He & Sun 2015) on tensors.

Images are float tensors ``(B, C, H, W)`` (float32 or float64, any device); outputs keep the
input's dtype and device. Everything is differentiable. Box means use windows clipped at the
image border, normalised by the number of valid pixels (as in He et al.'s reference code).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _window_counts(n: int, r: int, like: Tensor) -> Tensor:
    """Number of valid positions in each clipped 1-D window of radius ``r``, shape (n,)."""
    i = torch.arange(n, device=like.device)
    return ((i + r).clamp(max=n - 1) - (i - r).clamp(min=0) + 1).to(like.dtype)


def _inv_window_area(h: int, w: int, r: int, like: Tensor) -> Tensor:
    """``1 / (valid pixels in the clipped window)``, shape (1, 1, H, W)."""
    counts = _window_counts(h, r, like)[:, None] * _window_counts(w, r, like)[None, :]
    return (1 / counts)[None, None]


def _uses_cv2(x: Tensor) -> bool:
    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)


def _window_sum_1d(x: Tensor, r: int, dim: int) -> Tensor:
    """Sum over ``[i - r, i + r]`` (clipped) along ``dim`` via a cumulative sum."""
    n = x.shape[dim]
    c = torch.cat((torch.zeros_like(x.narrow(dim, 0, 1)), x.cumsum(dim)), dim)
    i = torch.arange(n, device=x.device)
    return c.index_select(dim, (i + r + 1).clamp(max=n)) - c.index_select(dim, (i - r).clamp(min=0))


def _box_sum_cumsum(x: Tensor, r: int) -> Tensor:
    """Clipped window sum via cumulative sums; the plane mean is removed first for accuracy."""
    mean = x.mean(dim=(-2, -1), keepdim=True)
    s = _window_sum_1d(_window_sum_1d(x - mean, r, -2), r, -1)
    h, w = x.shape[-2:]
    return s + mean / _inv_window_area(h, w, r, x)


def _box_cv2(x: Tensor, r: int, mean: bool) -> Tensor:
    """Per-plane window sum (or clipped-window mean) on CPU with OpenCV's running sums.

    OpenCV accumulates float input in float64, so the result is accurate to the output dtype.
    For the mean, OpenCV divides by (2r+1)^2; only the border bands need rescaling.
    """
    planes = x.detach().contiguous().reshape(-1, *x.shape[-2:]).numpy()
    out = np.empty_like(planes)
    h, w = planes.shape[-2:]
    k = 2 * r + 1
    fh = k / _window_counts(h, r, x).numpy()  # 1 away from the border
    fw = k / _window_counts(w, r, x).numpy()
    top, left = min(r, h), min(r, w)
    bottom, right = max(h - r, top), max(w - r, left)
    for src, dst in zip(planes, out, strict=True):
        cv2.boxFilter(src, -1, (k, k), dst=dst, normalize=mean, borderType=cv2.BORDER_CONSTANT)
        if mean:
            dst[:top] *= fh[:top, None] * fw
            dst[bottom:] *= fh[bottom:, None] * fw
            dst[top:bottom, :left] *= fw[:left]
            dst[top:bottom, right:] *= fw[right:]
    return torch.from_numpy(out).reshape(x.shape)


class _BoxSum(torch.autograd.Function):
    """Zero-padded window sum; it is self-adjoint, so the backward pass is the same sum."""

    @staticmethod
    def forward(ctx, x: Tensor, r: int) -> Tensor:
        ctx.r = r
        return _box_cv2(x, r, mean=False) if _uses_cv2(x) else _box_sum_cumsum(x, r)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:
        return _BoxSum.apply(grad, ctx.r), None


class _BoxMean(torch.autograd.Function):
    """Clipped-window mean ``D^-1 S x``; its adjoint is ``S D^-1 g``."""

    @staticmethod
    def forward(ctx, x: Tensor, r: int) -> Tensor:
        ctx.r = r
        if _uses_cv2(x):
            return _box_cv2(x, r, mean=True)
        h, w = x.shape[-2:]
        return _box_sum_cumsum(x, r) * _inv_window_area(h, w, r, x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:
        h, w = grad.shape[-2:]
        inv_area = _inv_window_area(h, w, ctx.r, grad)
        return _BoxSum.apply(grad * inv_area, ctx.r), None


def box_filter(x: Tensor, r: int) -> Tensor:
    """Mean of ``x`` (B, C, H, W) over (2r+1)^2 windows clipped at the border.

    Costs O(N) whatever ``r`` (OpenCV's running sums on CPU, cumulative sums elsewhere);
    ``r`` may exceed the image size. Returns (B, C, H, W).
    """
    if r < 0:
        raise ValueError(f"radius must be >= 0, got {r}")
    return x if r == 0 else _BoxMean.apply(x, r)


def _gray_coefficients(guide: Tensor, src: Tensor, r: int, eps: float) -> tuple[Tensor, Tensor]:
    """Window means of the linear coefficients ``a``, ``b``, each (B, C, H, W)."""
    mean_i, mean_p = box_filter(guide, r), box_filter(src, r)
    var_i = torch.addcmul(box_filter(guide * guide, r), mean_i, mean_i, value=-1)
    cov_ip = torch.addcmul(box_filter(guide * src, r), mean_i, mean_p, value=-1)
    a = cov_ip / (var_i + eps)
    b = torch.addcmul(mean_p, a, mean_i, value=-1)
    return box_filter(a, r), box_filter(b, r)


def _color_coefficients(guide: Tensor, src: Tensor, r: int, eps: float) -> tuple[Tensor, Tensor]:
    """Window means of ``a`` (B, 3, C, H, W) and ``b`` (B, C, H, W) for a colour guide.

    ``a = (Sigma + eps U)^-1 cov(I, p)`` with the 3x3 inverse in closed form (He et al. eq. 19-21).
    """
    bsz, c, h, w = src.shape
    mean_i, mean_p = box_filter(guide, r), box_filter(src, r)
    pairs = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))
    prods = torch.cat([guide[:, i : i + 1] * guide[:, j : j + 1] for i, j in pairs], 1)
    second = box_filter(prods, r)
    rr, rg, rb, gg, gb, bb = (
        torch.addcmul(second[:, k], mean_i[:, i], mean_i[:, j], value=-1)
        for k, (i, j) in enumerate(pairs)
    )
    rr, gg, bb = rr + eps, gg + eps, bb + eps
    # Cofactors of the symmetric matrix [[rr, rg, rb], [rg, gg, gb], [rb, gb, bb]].
    c_rr, c_gg, c_bb = gg * bb - gb * gb, rr * bb - rb * rb, rr * gg - rg * rg
    c_rg, c_rb, c_gb = rb * gb - rg * bb, rg * gb - rb * gg, rb * rg - rr * gb
    inv_det = (1 / (rr * c_rr + rg * c_rg + rb * c_rb))[:, None]
    inv = ((c_rr, c_rg, c_rb), (c_rg, c_gg, c_gb), (c_rb, c_gb, c_bb))

    corr_ip = box_filter((guide[:, :, None] * src[:, None]).flatten(1, 2), r)
    cov_ip = corr_ip.view(bsz, 3, c, h, w) - mean_i[:, :, None] * mean_p[:, None]
    a = torch.stack(
        [sum(inv[i][j][:, None] * cov_ip[:, j] for j in range(3)) * inv_det for i in range(3)], 1
    )
    b = mean_p - (a * mean_i[:, :, None]).sum(1)
    return box_filter(a.flatten(1, 2), r).view(bsz, 3, c, h, w), box_filter(b, r)


def guided_filter(
    guide: Tensor, src: Tensor, radius: int, eps: float, subsample: int = 1
) -> Tensor:
    """Edge-preserving smoothing of ``src`` steered by ``guide`` (He et al.).

    guide: (B, 1, H, W) gray or (B, 3, H, W) colour, values typically in [0, 1].
    src: (B, C, H, W), filtered per channel. radius: window radius in pixels (may exceed the
    image). eps: regularisation (> 0) on the guide's scale, e.g. 1e-4 for a [0, 1] guide.
    subsample: s > 1 gives the fast guided filter: coefficients are computed at 1/s size with
    radius r/s and upsampled bilinearly (an approximation). Returns (B, C, H, W).
    """
    if guide.ndim != 4 or src.ndim != 4 or guide.shape[1] not in (1, 3):
        raise ValueError(f"need guide (B,1|3,H,W) and src (B,C,H,W), got "
                         f"{tuple(guide.shape)} and {tuple(src.shape)}")
    if guide.shape[0] != src.shape[0] or guide.shape[-2:] != src.shape[-2:]:
        raise ValueError(f"guide {tuple(guide.shape)} and src {tuple(src.shape)} differ in size")
    if radius < 0 or eps <= 0 or subsample < 1:
        raise ValueError(f"need radius >= 0, eps > 0, subsample >= 1; got {radius}, {eps}, "
                         f"{subsample}")
    h, w = guide.shape[-2:]
    # Removing the guide's mean changes nothing mathematically but keeps variances accurate.
    guide = guide - guide.mean(dim=(-2, -1), keepdim=True).detach()
    low_guide, low_src, r = guide, src, radius
    if subsample > 1:
        size = (max(1, round(h / subsample)), max(1, round(w / subsample)))
        low_guide = F.interpolate(guide, size=size, mode="area")
        low_src = F.interpolate(src, size=size, mode="area")
        r = max(min(radius, 1), round(radius / subsample))
    gray = guide.shape[1] == 1
    coefficients = _gray_coefficients if gray else _color_coefficients
    mean_a, mean_b = coefficients(low_guide, low_src, r, eps)
    if subsample > 1:
        mean_a, mean_b = _upsample(mean_a, (h, w)), _upsample(mean_b, (h, w))
    if gray:
        return torch.addcmul(mean_b, mean_a, guide)
    return (mean_a * guide[:, :, None]).sum(1) + mean_b


def _upsample(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Bilinear resize of (B, C, h, w) or (B, 3, C, h, w) coefficients to ``size``."""
    flat = x.flatten(1, -3)
    up = F.interpolate(flat, size=size, mode="bilinear", align_corners=False)
    return up.view(*x.shape[:-2], *size)


class GuidedFilter(nn.Module):
    """Module wrapper of :func:`guided_filter`; ``forward(guide, src)`` -> (B, C, H, W)."""

    def __init__(self, radius: int, eps: float, subsample: int = 1) -> None:
        super().__init__()
        self.radius, self.eps, self.subsample = radius, eps, subsample

    def forward(self, guide: Tensor, src: Tensor) -> Tensor:
        return guided_filter(guide, src, self.radius, self.eps, self.subsample)

    def extra_repr(self) -> str:
        return f"radius={self.radius}, eps={self.eps}, subsample={self.subsample}"
