"""Free-form hole masks for inpainting training and evaluation (DeepFill v2 style).

A mask is a float32 (H, W) array in {0, 1}, 1 = hole. Holes are random brush strokes (a
polyline of 4-12 vertices drawn with a thick round brush, as in Yu et al. 2019) and
rectangles; :func:`free_form_mask` keeps adding them until the hole covers an area inside a
requested band, e.g. 10-20 % of the image. Everything is seeded by the caller's generator.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

AREA_BANDS: tuple[tuple[float, float], ...] = ((0.1, 0.2), (0.2, 0.3), (0.3, 0.4))


def _brush_stroke(h: int, w: int, rng: np.random.Generator, width_scale: float) -> np.ndarray:
    """One DeepFill v2 brush stroke as a uint8 (H, W) mask (255 = hole)."""
    m = np.zeros((h, w), np.uint8)
    radius = math.hypot(h, w) / 8
    vertices = int(rng.integers(4, 13))
    width = max(2, int(rng.uniform(12, 40) * width_scale))
    angle0 = rng.uniform(0, 2 * math.pi)
    mean_angle, spread = 2 * math.pi / 5, 2 * math.pi / 15
    x, y = float(rng.uniform(0, w)), float(rng.uniform(0, h))
    for i in range(vertices):
        turn = rng.uniform(mean_angle - spread, mean_angle + spread)
        angle = angle0 + (turn if i % 2 == 0 else 2 * math.pi - turn)
        length = float(np.clip(rng.normal(radius, radius / 2), 0, 2 * radius))
        nx = float(np.clip(x + length * math.cos(angle), 0, w - 1))
        ny = float(np.clip(y + length * math.sin(angle), 0, h - 1))
        cv2.line(m, (round(x), round(y)), (round(nx), round(ny)), 255, width)
        cv2.circle(m, (round(nx), round(ny)), width // 2, 255, -1)
        x, y, angle0 = nx, ny, angle
    return m


def _rectangle(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """One axis-aligned box, 5-30 % of each side (LaMa/DeepFill style)."""
    m = np.zeros((h, w), np.uint8)
    bh, bw = int(h * rng.uniform(0.05, 0.3)), int(w * rng.uniform(0.05, 0.3))
    y0, x0 = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
    m[y0:y0 + bh, x0:x0 + bw] = 255
    return m


def free_form_mask(
    h: int,
    w: int,
    rng: np.random.Generator,
    area: tuple[float, float] = (0.1, 0.2),
    p_rect: float = 0.15,
    max_tries: int = 500,
    scale: float | None = None,
) -> np.ndarray:
    """Random strokes + rectangles covering a fraction of the image inside ``area`` = (lo, hi).

    A shape that would push the hole past ``hi`` is dropped and another drawn (strokes get
    thinner as the retries pile up), so the result always lands in the band.
    ``scale`` sets stroke widths (12-40 px times it; default: shorter side / 256).
    Returns float32 (H, W) in {0, 1}, 1 = hole.
    """
    lo, hi = area
    if not 0.0 <= lo < hi <= 1.0:
        raise ValueError(f"area band must satisfy 0 <= lo < hi <= 1, got {area}")
    total = float(h * w)
    scale = min(h, w) / 256 if scale is None else scale
    mask = np.zeros((h, w), np.uint8)
    covered = 0.0
    for attempt in range(max_tries):
        thinner = 0.5 ** (attempt // 50)
        shape = (_rectangle(h, w, rng) if rng.random() < p_rect and thinner == 1.0
                 else _brush_stroke(h, w, rng, scale * thinner))
        candidate = np.maximum(mask, shape)
        fraction = np.count_nonzero(candidate) / total
        if fraction > hi:
            continue
        mask, covered = candidate, fraction
        if covered >= lo:
            break
    if covered < lo:  # pathologically small image: top up with pixels grown from the hole
        mask = _grow_to(mask, lo, hi)
    return (mask > 0).astype(np.float32)


def _grow_to(mask: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Dilate ``mask`` one pixel at a time until its area reaches the band [lo, hi]."""
    total = mask.size
    if not mask.any():
        mask[mask.shape[0] // 2, mask.shape[1] // 2] = 255
    kernel = np.ones((3, 3), np.uint8)
    while np.count_nonzero(mask) / total < lo:
        grown = cv2.dilate(mask, kernel)
        if np.count_nonzero(grown) / total > hi:  # take only part of the new ring
            ring = np.flatnonzero((grown > 0) & (mask == 0))
            need = int(np.ceil(lo * total)) - np.count_nonzero(mask)
            mask.reshape(-1)[ring[:need]] = 255
            break
        mask = grown
    return mask


def mask_set(h: int, w: int, seed: int, bands=AREA_BANDS) -> dict[str, np.ndarray]:
    """One mask per area band for an image, reproducible from ``seed``: {"10-20%": mask, ...}."""
    out = {}
    for i, (lo, hi) in enumerate(bands):
        rng = np.random.default_rng([seed, i])
        out[f"{round(lo * 100)}-{round(hi * 100)}%"] = free_form_mask(h, w, rng, (lo, hi))
    return out
