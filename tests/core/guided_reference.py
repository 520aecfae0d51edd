"""Reference guided filters in NumPy (He et al. 2010), for tests and benchmarks.

Images are NumPy arrays (H, W) or (H, W, C); the guide is (H, W) gray or (H, W, 3) colour.
Box means use windows clipped at the border, normalised by the count of valid pixels.
"""

from __future__ import annotations

import cv2
import numpy as np


def box_filter_numpy(x: np.ndarray, r: int) -> np.ndarray:
    """Clipped-window mean of ``x`` (H, W[, C]) via an explicit float64 integral image."""
    x = np.asarray(x, dtype=np.float64)
    h, w = x.shape[:2]
    integral = np.zeros((h + 1, w + 1) + x.shape[2:])
    integral[1:, 1:] = x.cumsum(0).cumsum(1)
    y0, y1 = np.clip(np.arange(h) - r, 0, h), np.clip(np.arange(h) + r + 1, 0, h)
    x0, x1 = np.clip(np.arange(w) - r, 0, w), np.clip(np.arange(w) + r + 1, 0, w)
    total = (
        integral[y1][:, x1] - integral[y0][:, x1] - integral[y1][:, x0] + integral[y0][:, x0]
    )
    count = (y1 - y0)[:, None] * (x1 - x0)[None, :]
    return total / count.reshape(count.shape + (1,) * (x.ndim - 2))


def _guided(I: np.ndarray, p: np.ndarray, r: int, eps: float, box) -> np.ndarray:
    """Guided filter with a given box-mean function; works in float64."""
    I = np.asarray(I, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    squeeze = p.ndim == 2
    if squeeze:
        p = p[..., None]
    mean_p = box(p, r)
    if I.ndim == 2 or I.shape[2] == 1:
        I = I.reshape(I.shape[:2] + (1,))
        mean_i = box(I, r)
        var_i = box(I * I, r) - mean_i**2
        a = (box(I * p, r) - mean_i * mean_p) / (var_i + eps)
        b = mean_p - a * mean_i
        q = box(a, r) * I + box(b, r)
    else:
        h, w = I.shape[:2]
        mean_i = box(I, r)  # (H, W, 3)
        sigma = np.empty((h, w, 3, 3))
        for i in range(3):
            for j in range(3):
                sigma[..., i, j] = box(I[..., i] * I[..., j], r) - mean_i[..., i] * mean_i[..., j]
        inv = np.linalg.inv(sigma + eps * np.eye(3))
        q = np.empty_like(p)
        for k in range(p.shape[2]):
            pk = p[..., k]
            cov = np.stack([box(I[..., i] * pk, r) for i in range(3)], -1)
            cov -= mean_i * mean_p[..., k : k + 1]
            a = np.einsum("hwij,hwj->hwi", inv, cov)
            b = mean_p[..., k] - (a * mean_i).sum(-1)
            q[..., k] = (box(a, r) * I).sum(-1) + box(b, r)
    return q[..., 0] if squeeze else q


def guided_filter_numpy(I: np.ndarray, p: np.ndarray, r: int, eps: float) -> np.ndarray:
    """Float64 guided filter of ``p`` (H, W[, C]) with guide ``I`` (H, W) or (H, W, 3)."""
    return _guided(I, p, r, eps, box_filter_numpy)


def _box_cv2(x: np.ndarray, r: int) -> np.ndarray:
    """Clipped-window mean: zero-padded window sums divided by the valid-pixel count."""
    k = (2 * r + 1, 2 * r + 1)
    ones = np.ones(x.shape[:2])
    count = cv2.boxFilter(ones, -1, k, normalize=False, borderType=cv2.BORDER_CONSTANT)
    out = np.empty_like(x)
    planes = x.reshape(x.shape[:2] + (-1,))
    for c in range(planes.shape[2]):
        s = cv2.boxFilter(
            np.ascontiguousarray(planes[..., c]), -1, k, normalize=False,
            borderType=cv2.BORDER_CONSTANT,
        )
        out.reshape(planes.shape)[..., c] = s / count
    return out


def guided_filter_cv2(I: np.ndarray, p: np.ndarray, r: int, eps: float) -> np.ndarray:
    """Float64 guided filter like :func:`guided_filter_numpy`, box means by ``cv2.boxFilter``."""
    return _guided(I, p, r, eps, _box_cv2)
