"""Whole-mask operations without Qt: grow, shrink, feather, and filling a lasso/polygon.

Masks are float32 (H, W) in [0, 1]. Grow and shrink work on the mask's hard part (>= 0.5)
with an exact Euclidean distance transform, so N px means N px in every direction, for any
N, in one pass (OpenCV, fast on a 24 MP scan).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

SUBPIXEL_BITS = 4  # polygon vertices at 1/16 px


def _distance_outside(mask: np.ndarray) -> np.ndarray:
    """Distance (px) of each pixel to the nearest selected (>= 0.5) pixel."""
    outside = (mask < 0.5).astype(np.uint8)
    return cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def grow(mask: np.ndarray, px: float) -> np.ndarray:
    """Selected area extended by ``px`` pixels (soft values inside are kept)."""
    if px <= 0 or not mask.any():
        return mask.copy()
    return np.maximum(mask, (_distance_outside(mask) <= px).astype(np.float32))


def shrink(mask: np.ndarray, px: float) -> np.ndarray:
    """Selected area pulled in by ``px`` pixels."""
    if px <= 0:
        return mask.copy()
    inside = (mask >= 0.5).astype(np.uint8)
    dist = cv2.distanceTransform(inside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return np.where(dist > px, mask, 0.0).astype(np.float32)


def feather(mask: np.ndarray, px: float) -> np.ndarray:
    """Edges softened over about ``px`` pixels (a Gaussian of sigma px / 2)."""
    if px <= 0:
        return mask.copy()
    out = cv2.GaussianBlur(np.ascontiguousarray(mask, np.float32), (0, 0), px / 2)
    return np.clip(out, 0.0, 1.0)


def polygon_patch(points: Sequence[tuple[float, float]], shape: tuple[int, int]
                  ) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """The polygon through ``points`` (image px) rasterised with smooth edges, only
    over its bounding box: ((x0, y0, x1, y1), float32 coverage in [0, 1]), or None when it
    misses the image or has fewer than 3 points."""
    if len(points) < 3:
        return None
    h, w = shape
    pts = np.asarray(points, np.float64)
    x0, y0 = (max(int(np.floor(v)) - 1, 0) for v in pts.min(0))
    x1 = min(int(np.ceil(pts[:, 0].max())) + 2, w)
    y1 = min(int(np.ceil(pts[:, 1].max())) + 2, h)
    if x0 >= x1 or y0 >= y1:
        return None
    bw, bh = x1 - x0, y1 - y0
    # supersampled (k x k per pixel, less for huge boxes), then area-averaged: coverage
    # close to the exact area (OpenCV fills whole boundary pixels)
    k = 4 if bw * bh <= 2_000_000 else 2 if bw * bh <= 8_000_000 else 1
    big = np.zeros((bh * k, bw * k), np.uint8)
    # a fine pixel's centre at (i + 0.5) / k in our coordinates -> fine index i
    fixed = np.round(((pts - (x0, y0)) * k - 0.5) * (1 << SUBPIXEL_BITS)).astype(np.int32)
    cv2.fillPoly(big, [fixed], 255, cv2.LINE_8, SUBPIXEL_BITS)
    patch = big if k == 1 else cv2.resize(big, (bw, bh), interpolation=cv2.INTER_AREA)
    return (x0, y0, x1, y1), patch.astype(np.float32) / 255.0


def apply_polygon(mask: np.ndarray, points: Sequence[tuple[float, float]],
                  subtract: bool = False) -> np.ndarray:
    """A copy of ``mask`` with the polygon added (or, ``subtract``, removed)."""
    out = mask.copy()
    hit = polygon_patch(points, mask.shape)
    if hit is None:
        return out
    (x0, y0, x1, y1), cover = hit
    region = out[y0:y1, x0:x1]
    out[y0:y1, x0:x1] = region * (1 - cover) if subtract else np.maximum(region, cover)
    return out
