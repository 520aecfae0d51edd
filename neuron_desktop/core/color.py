"""Colour-space conversions on batched tensors, matching ``skimage.color``.

All images are float tensors ``(B, 3, H, W)`` (gray: ``(B, 1, H, W)``) on any device; the
output keeps the input's dtype and device. sRGB values are gamma-encoded in [0, 1];
CIE Lab uses the D65 white (2° observer) with L in [0, 100] and a, b roughly in [-110, 110].
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

L_CENT = 50.0
L_NORM = 100.0
AB_NORM = 110.0

# sRGB (linear) <-> XYZ, D65; the same matrices as skimage.color.
_XYZ_FROM_RGB = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
_WHITE_D65 = (0.95047, 1.0, 1.08883)
_YUV_FROM_RGB = (
    (0.299, 0.587, 0.114),
    (-0.14714119, -0.28886916, 0.43601035),
    (0.61497538, -0.51496512, -0.10001026),
)
# CIE constants as skimage uses them (epsilon, 1 / (3 delta^2), f(epsilon)).
_LAB_EPS = 0.008856
_LAB_SLOPE = 7.787
_LAB_F_EPS = 0.2068966


def _apply_matrix(m: Tensor, x: Tensor) -> Tensor:
    """Mix channels: ``out[:, i] = sum_j m[i, j] * x[:, j]`` for ``x`` of shape (B, C, H, W).
    Written as a weighted sum of the channels: a 1x1 convolution over three channels is 3-5x
    slower on the CPU (docs/benchmarks.md, "Colour conversions")."""
    out = m[:, 0].view(1, -1, 1, 1) * x[:, 0:1]
    for j in range(1, x.shape[1]):
        out = out + m[:, j].view(1, -1, 1, 1) * x[:, j:j + 1]
    return out


def _matrix(rows: tuple, like: Tensor) -> Tensor:
    return torch.tensor(rows, dtype=torch.float64).to(device=like.device, dtype=like.dtype)


def _check_rgb(x: Tensor, name: str) -> None:
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"{name} must have shape (B, 3, H, W), got {tuple(x.shape)}")


def _srgb_to_linear(rgb: Tensor) -> Tensor:
    high = ((rgb.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4
    return torch.where(rgb > 0.04045, high, rgb / 12.92)


def _linear_to_srgb(lin: Tensor) -> Tensor:
    high = 1.055 * lin.clamp(min=0.0031308) ** (1 / 2.4) - 0.055
    return torch.where(lin > 0.0031308, high, lin * 12.92)


def _lab_f(t: Tensor) -> Tensor:
    """CIE f(t): cube root above epsilon, linear below (the clamp guards negative inputs)."""
    return torch.where(
        t > _LAB_EPS, t.clamp(min=_LAB_EPS) ** (1 / 3), _LAB_SLOPE * t + 16 / 116
    )


def _lab_f_inv(f: Tensor) -> Tensor:
    return torch.where(f > _LAB_F_EPS, f**3, (f - 16 / 116) / _LAB_SLOPE)


_CHUNK_PIXELS = 1 << 17


def _in_row_chunks(fn, x: Tensor, out_channels: int) -> Tensor:
    """Apply a pixel-wise ``fn`` to big CPU images in row bands: the temporaries stay in
    cache (faster than one pass over the whole image; docs/benchmarks.md)."""
    b, _, h, w = x.shape
    rows = max(1, _CHUNK_PIXELS // max(1, b * w))
    if x.device.type != "cpu" or rows >= h:
        return fn(x)
    if x.requires_grad and torch.is_grad_enabled():
        return torch.cat([fn(band) for band in x.split(rows, 2)], 2)
    out = x.new_empty((b, out_channels, h, w))
    for y0 in range(0, h, rows):
        out[:, :, y0:y0 + rows] = fn(x[:, :, y0:y0 + rows])
    return out


def rgb_to_lab(rgb: Tensor) -> Tensor:
    """sRGB ``(B, 3, H, W)`` in [0, 1] -> CIE Lab ``(B, 3, H, W)``, L in [0, 100], D65 white."""
    _check_rgb(rgb, "rgb")
    return _in_row_chunks(_rgb_to_lab, rgb, 3)


def _rgb_to_lab(rgb: Tensor) -> Tensor:
    xyz = _apply_matrix(_matrix(_XYZ_FROM_RGB, rgb), _srgb_to_linear(rgb))
    white = torch.tensor(_WHITE_D65, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    fx, fy, fz = _lab_f(xyz / white).unbind(1)
    return torch.stack((116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)), 1)


def lab_to_rgb(lab: Tensor, clip: bool = True) -> Tensor:
    """CIE Lab ``(B, 3, H, W)`` -> sRGB ``(B, 3, H, W)``; clipped to [0, 1] when ``clip``.

    Like skimage, a negative intermediate Z (an impossible colour) is clamped to 0.
    """
    _check_rgb(lab, "lab")
    return _in_row_chunks(lambda x: _lab_to_rgb(x, clip), lab, 3)


def _lab_to_rgb(lab: Tensor, clip: bool) -> Tensor:
    l, a, b = lab.unbind(1)
    fy = (l + 16) / 116
    xyz = torch.stack((fy + a / 500, fy, (fy - b / 200).clamp(min=0)), 1)
    white = torch.tensor(_WHITE_D65, dtype=lab.dtype, device=lab.device).view(1, 3, 1, 1)
    xyz = _lab_f_inv(xyz) * white
    rgb_from_xyz = torch.linalg.inv(_matrix(_XYZ_FROM_RGB, lab).double()).to(lab.dtype)
    rgb = _linear_to_srgb(_apply_matrix(rgb_from_xyz, xyz))
    return rgb.clamp(0, 1) if clip else rgb


def rgb_to_gray(rgb: Tensor) -> Tensor:
    """sRGB ``(B, 3, H, W)`` -> luminance ``(B, 1, H, W)`` in [0, 1], equal to Lab L / 100."""
    _check_rgb(rgb, "rgb")
    return _in_row_chunks(_rgb_to_gray, rgb, 1)


def _rgb_to_gray(rgb: Tensor) -> Tensor:
    y_row = _matrix(_XYZ_FROM_RGB[1:2], rgb)  # Y needs no white scaling (Y_white = 1)
    y = _apply_matrix(y_row, _srgb_to_linear(rgb))
    return (116 * _lab_f(y) - 16) / 100


def normalize_l(l: Tensor) -> Tensor:
    """Lab L in [0, 100] -> network input ``(L - 50) / 100`` in [-0.5, 0.5]."""
    return (l - L_CENT) / L_NORM


def normalize_ab(ab: Tensor) -> Tensor:
    """Lab ab in about [-110, 110] -> network range ``ab / 110`` (about [-1, 1])."""
    return ab / AB_NORM


# NumPy twins for small (..., 3) arrays (the hint picker and single pixels on the GUI thread,
# the monochrome check of core.imageio):
# the same formulas and constants, without torch (whose thread pool the live preview uses).


def rgb_to_lab_array(rgb: np.ndarray) -> np.ndarray:
    """sRGB ``(..., 3)`` in [0, 1] -> CIE Lab ``(..., 3)`` float32, as :func:`rgb_to_lab`."""
    rgb = np.asarray(rgb, np.float32)
    lin = np.where(rgb > 0.04045, ((np.maximum(rgb, 0.04045) + 0.055) / 1.055) ** 2.4,
                   rgb / 12.92)
    xyz = lin @ np.asarray(_XYZ_FROM_RGB, np.float32).T / np.asarray(_WHITE_D65, np.float32)
    f = np.where(xyz > _LAB_EPS, np.cbrt(np.maximum(xyz, _LAB_EPS)),
                 _LAB_SLOPE * xyz + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], -1).astype(np.float32)


def lab_to_rgb_array(lab: np.ndarray, clip: bool = True) -> np.ndarray:
    """CIE Lab ``(..., 3)`` -> sRGB ``(..., 3)`` float32, as :func:`lab_to_rgb`."""
    lab = np.asarray(lab, np.float32)
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, np.maximum(fy - lab[..., 2] / 200, 0)], -1)
    xyz = np.where(f > _LAB_F_EPS, f**3, (f - 16 / 116) / _LAB_SLOPE) * np.asarray(
        _WHITE_D65, np.float32)
    lin = xyz @ np.linalg.inv(np.asarray(_XYZ_FROM_RGB)).T.astype(np.float32)
    rgb = np.where(lin > 0.0031308,
                   1.055 * np.maximum(lin, 0.0031308) ** (1 / 2.4) - 0.055, lin * 12.92)
    return (np.clip(rgb, 0, 1) if clip else rgb).astype(np.float32)
