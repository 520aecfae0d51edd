"""Image-quality metrics on batched tensors: PSNR, SSIM, colourfulness, CIEDE2000.

Inputs are float tensors ``(B, C, H, W)`` on any device (RGB in [0, 1] unless stated);
per-image results are ``(B,)`` tensors in the input's dtype and device.
"""

from __future__ import annotations

import logging
import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from neuron_desktop.core.color import rgb_to_lab

_SSIM_SIGMA = 1.5
_SSIM_RADIUS = 5  # int(3.5 * sigma + 0.5), as scipy's gaussian_filter with truncate=3.5
_SSIM_K1, _SSIM_K2 = 0.01, 0.03


def _check_pair(a: Tensor, b: Tensor) -> None:
    if a.ndim != 4 or a.shape != b.shape:
        raise ValueError(f"need two (B, C, H, W) tensors of one shape, got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")


def psnr(a: Tensor, b: Tensor, data_range: float = 1.0) -> Tensor:
    """Peak signal-to-noise ratio in dB per image, ``(B,)``; ``+inf`` for identical images."""
    _check_pair(a, b)
    mse = (a - b).square().mean(dim=(1, 2, 3))
    return 10 * torch.log10(data_range**2 / mse)


def _gaussian_window(like: Tensor) -> Tensor:
    x = torch.arange(-_SSIM_RADIUS, _SSIM_RADIUS + 1, device=like.device, dtype=like.dtype)
    g = torch.exp(-0.5 * (x / _SSIM_SIGMA) ** 2)
    return g / g.sum()


def ssim(a: Tensor, b: Tensor, data_range: float = 1.0) -> Tensor:
    """Structural similarity (Wang et al. 2004) per image, ``(B,)``.

    11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, population covariances, averaged
    over the 'valid' region (no padding) and over channels - as ``skimage.metrics.
    structural_similarity(gaussian_weights=True, use_sample_covariance=False)``.
    Images must be at least 11x11.
    """
    _check_pair(a, b)
    bsz, c, h, w = a.shape
    size = 2 * _SSIM_RADIUS + 1
    if h < size or w < size:
        raise ValueError(f"SSIM needs images of at least {size}x{size}, got {h}x{w}")
    g = _gaussian_window(a)
    stack = torch.cat((a, b, a * a, b * b, a * b), 1)  # (B, 5C, H, W)
    n = stack.shape[1]
    stack = F.conv2d(stack, g.view(1, 1, size, 1).expand(n, 1, size, 1), groups=n)
    stack = F.conv2d(stack, g.view(1, 1, 1, size).expand(n, 1, 1, size), groups=n)
    mu_a, mu_b, aa, bb, ab = stack.split(c, 1)
    var_a, var_b = aa - mu_a * mu_a, bb - mu_b * mu_b
    cov = ab - mu_a * mu_b
    c1, c2 = (_SSIM_K1 * data_range) ** 2, (_SSIM_K2 * data_range) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)
    )
    return s.mean(dim=(1, 2, 3))


def colorfulness(rgb: Tensor) -> Tensor:
    """Hasler & Suesstrunk (2003) colourfulness of sRGB ``(B, 3, H, W)`` in [0, 1], ``(B,)``.

    Computed on the 0..255 scale with population standard deviations; gray images give 0.
    """
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise ValueError(f"rgb must have shape (B, 3, H, W), got {tuple(rgb.shape)}")
    r, g, b = (255 * rgb).unbind(1)
    rg, yb = (r - g).flatten(1), (0.5 * (r + g) - b).flatten(1)
    std = torch.sqrt(rg.var(1, correction=0) + yb.var(1, correction=0))
    mean = torch.sqrt(rg.mean(1) ** 2 + yb.mean(1) ** 2)
    return std + 0.3 * mean


def colour_cast(result: Tensor, truth: Tensor, threshold: float = 10.0) -> dict[str, float]:
    """How warm a colorization is against its truth (sRGB ``(1, 3, H, W)`` in [0, 1]).

    ``b_bias``: the mean b* of the result minus the truth's (> 0: yellower, browner). The
    counts of truly blue (b* < -threshold) and green (a* < -threshold) pixels and of those
    that come out so; pooled over photos they give the blue and green recall.
    """
    _check_pair(result, truth)
    out, ref = rgb_to_lab(result), rgb_to_lab(truth)
    blue, green = ref[:, 2] < -threshold, ref[:, 1] < -threshold
    return {"b_bias": float((out[:, 2] - ref[:, 2]).mean()),
            "blue_true": float(blue.sum()),
            "blue_kept": float((blue & (out[:, 2] < -threshold)).sum()),
            "green_true": float(green.sum()),
            "green_kept": float((green & (out[:, 1] < -threshold)).sum())}


def pooled_colour_cast(casts: list[dict[str, float]]) -> dict[str, float]:
    """:func:`colour_cast` over many photos: the mean b* bias, and the blue and green
    recall with every photo's pixels pooled."""
    total = {k: sum(c[k] for c in casts) for k in casts[0]}
    return {"b_bias": total["b_bias"] / len(casts),
            "blue_recall": total["blue_kept"] / max(total["blue_true"], 1),
            "green_recall": total["green_kept"] / max(total["green_true"], 1)}


def colour_tone(rgb: Tensor, threshold: float = 5.0) -> dict[str, float]:
    """The tone of a colorized photo with no truth to compare (an old photo): mean b* (> 0:
    warm, brown), mean chroma, and the shares of green (a* < -threshold) and blue (b* <
    -threshold) pixels. sRGB ``(1, 3, H, W)`` in [0, 1]."""
    if rgb.ndim != 4 or rgb.shape[:2] != (1, 3):
        raise ValueError(f"need a (1, 3, H, W) image, got {tuple(rgb.shape)}")
    _, a, b = rgb_to_lab(rgb)[0]
    return {"b_mean": float(b.mean()), "chroma": float(torch.hypot(a, b).mean()),
            "green_share": float((a < -threshold).float().mean()),
            "blue_share": float((b < -threshold).float().mean())}


def delta_e_ciede2000(lab1: Tensor, lab2: Tensor) -> Tensor:
    """Per-pixel CIEDE2000 colour difference (kL = kC = kH = 1) of Lab images.

    lab1, lab2: (B, 3, H, W) with L in [0, 100]. Returns (B, 1, H, W). Follows
    ``skimage.color.deltaE_ciede2000`` (Sharma et al. 2005) and, like it, computes in float64:
    hue wrap-around decisions are discontinuous and float32 rounding can flip them.
    """
    _check_pair(lab1, lab2)
    l1, a1, b1 = lab1.double().unbind(1)
    l2, a2, b2 = lab2.double().unbind(1)
    c_mean = 0.5 * (torch.hypot(a1, b1) + torch.hypot(a2, b2))
    c7 = c_mean**7
    scale = 1.5 - 0.5 * torch.sqrt(c7 / (c7 + 25.0**7))  # 1 + G
    c1, h1 = _polar(a1 * scale, b1)
    c2, h2 = _polar(a2 * scale, b2)

    l_mean = 0.5 * (l1 + l2)
    t = (l_mean - 50) ** 2
    l_term = (l2 - l1) / (1 + 0.015 * t / torch.sqrt(20 + t))

    c_mean = 0.5 * (c1 + c2)
    c_term = (c2 - c1) / (1 + 0.045 * c_mean)

    h_diff, h_sum, cc = h2 - h1, h1 + h2, c1 * c2
    zero = cc == 0
    d_h = torch.where(h_diff > math.pi, h_diff - 2 * math.pi, h_diff)
    d_h = torch.where(h_diff < -math.pi, d_h + 2 * math.pi, d_h)
    d_h = torch.where(zero, torch.zeros_like(d_h), d_h)
    h_term_raw = 2 * torch.sqrt(cc) * torch.sin(d_h / 2)
    wrap = ~zero & (h_diff.abs() > math.pi)
    h_mean = torch.where(wrap & (h_sum < 2 * math.pi), h_sum + 2 * math.pi, h_sum)
    h_mean = torch.where(wrap & (h_sum >= 2 * math.pi), h_sum - 2 * math.pi, h_mean)
    h_mean = torch.where(zero, h_mean, 0.5 * h_mean)  # skimage: Hbar = h_sum when cc == 0
    tw = (
        1
        - 0.17 * torch.cos(h_mean - math.radians(30))
        + 0.24 * torch.cos(2 * h_mean)
        + 0.32 * torch.cos(3 * h_mean + math.radians(6))
        - 0.20 * torch.cos(4 * h_mean - math.radians(63))
    )
    h_term = h_term_raw / (1 + 0.015 * c_mean * tw)

    c7 = c_mean**7
    rc = 2 * torch.sqrt(c7 / (c7 + 25.0**7))
    d_theta = math.radians(30) * torch.exp(-(((torch.rad2deg(h_mean) - 275) / 25) ** 2))
    r_term = -torch.sin(2 * d_theta) * rc * c_term * h_term
    de2 = l_term**2 + c_term**2 + h_term**2 + r_term
    return torch.sqrt(de2.clamp(min=0)).unsqueeze(1).to(lab1.dtype)


def _polar(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Radius and angle in [0, 2 pi)."""
    angle = torch.atan2(y, x)
    return torch.hypot(x, y), torch.where(angle < 0, angle + 2 * math.pi, angle)


def delta_e(rgb_a: Tensor, rgb_b: Tensor) -> Tensor:
    """Mean CIEDE2000 between two sRGB images ``(B, 3, H, W)`` in [0, 1], ``(B,)``."""
    return delta_e_ciede2000(rgb_to_lab(rgb_a), rgb_to_lab(rgb_b)).mean(dim=(1, 2, 3))


def image_metrics(a: Tensor, b: Tensor) -> dict[str, float]:
    """All metrics for one pair of sRGB images ``(1, 3, H, W)``; ``a`` is the result, ``b`` the
    reference. Keys: psnr, ssim, delta_e, colorfulness_a, colorfulness_b.

    SSIM is NaN (JSON: null) for images under its 11x11 window, with a logged warning."""
    _check_pair(a, b)
    if a.shape[0] != 1 or a.shape[1] != 3:
        raise ValueError(f"need a single RGB pair (1, 3, H, W), got {tuple(a.shape)}")
    size = 2 * _SSIM_RADIUS + 1
    if min(a.shape[-2:]) < size:
        logging.getLogger(__name__).warning(
            "SSIM needs images of at least %d×%d pixels; these are %d×%d, so SSIM is not "
            "reported", size, size, a.shape[-1], a.shape[-2])
        s = float("nan")
    else:
        s = ssim(a, b).item()
    return {
        "psnr": psnr(a, b).item(),
        "ssim": s,
        "delta_e": delta_e(a, b).item(),
        "colorfulness_a": colorfulness(a).item(),
        "colorfulness_b": colorfulness(b).item(),
    }


class DetectorScore:
    """Pooled pixel counts for precision/recall, strict and with a 1 px tolerance, and mark
    counts: a true mark (8-connected component) is found when a predicted pixel lies within
    1 px of it; a predicted mark is right when it lies within 1 px of true damage. Marks
    weigh a dust speck as much as a long scratch, as a user counting them would."""

    def __init__(self) -> None:
        self.n = {k: 0 for k in ("tp", "pred", "true", "tp_p1", "tp_r1",
                                 "marks_true", "marks_found", "marks_pred", "marks_right")}

    def add(self, pred: np.ndarray, true: np.ndarray) -> None:
        k = np.ones((3, 3), np.uint8)
        near_true = cv2.dilate(true.astype(np.uint8), k) > 0
        near_pred = cv2.dilate(pred.astype(np.uint8), k) > 0
        self.n["tp"] += int((pred & true).sum())
        self.n["pred"] += int(pred.sum())
        self.n["true"] += int(true.sum())
        self.n["tp_p1"] += int((pred & near_true).sum())
        self.n["tp_r1"] += int((true & near_pred).sum())
        for mask, near, total, hit in ((true, near_pred, "marks_true", "marks_found"),
                                       (pred, near_true, "marks_pred", "marks_right")):
            count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
            self.n[total] += count - 1
            self.n[hit] += len(np.unique(labels[near & mask]))

    def result(self) -> dict[str, float]:
        n, eps = self.n, 1e-9
        out = {"precision": n["tp"] / max(n["pred"], 1), "recall": n["tp"] / max(n["true"], 1),
               "precision_1px": n["tp_p1"] / max(n["pred"], 1),
               "recall_1px": n["tp_r1"] / max(n["true"], 1),
               "marks_precision": n["marks_right"] / max(n["marks_pred"], 1),
               "marks_recall": n["marks_found"] / max(n["marks_true"], 1)}
        for prefix, suffix in (("", ""), ("", "_1px"), ("marks_", "")):
            p, r = out[f"{prefix}precision{suffix}"], out[f"{prefix}recall{suffix}"]
            out[f"{prefix}f1{suffix}"] = 2 * p * r / max(p + r, eps)
        return out
