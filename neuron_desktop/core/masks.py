"""Masks and colour hints without Qt: brush strokes with soft edges, hint patches.

Masks are float32 (H, W) arrays in [0, 1] (1 = fill). A brush segment is rasterised as a
capsule (all pixels within ``radius`` of the segment p0-p1) with a soft edge, so a drag of
any speed leaves a continuous stroke without dab spacing artefacts.

A colour hint is a user-chosen colour at a point (ideepcolor style): :class:`Hint` carries the
point (x, y) in full-resolution pixels, the colour as sRGB in [0, 1], the side of the square
patch it covers (``hint_box``) and its spread: how far its colour reaches, as a multiple of the
colorizer's default reach.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

SPREAD_RANGE = (0.25, 3.0)  # a hint's spread: a quarter to three times the default reach


def clamp_spread(spread: float) -> float:
    """``spread`` within :data:`SPREAD_RANGE` (ValueError if not a finite number)."""
    spread = float(spread)
    if not math.isfinite(spread):
        raise ValueError(f"a hint's spread must be a finite number, not {spread}")
    return min(max(spread, SPREAD_RANGE[0]), SPREAD_RANGE[1])


@dataclass
class Hint:
    """A colour hint: pixel (x, y), sRGB colour in [0, 1], square patch of ``size`` pixels,
    ``spread``: its reach as a multiple of the default (within :data:`SPREAD_RANGE`)."""

    x: int
    y: int
    rgb: tuple[float, float, float]
    size: int = 5
    spread: float = 1.0

    def to_dict(self) -> dict:
        d = {"x": int(self.x), "y": int(self.y), "rgb": [float(c) for c in self.rgb],
             "size": int(self.size)}
        if self.spread != 1.0:  # files without it read as the default
            d["spread"] = float(self.spread)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Hint:
        r, g, b = (float(c) for c in d["rgb"])
        return cls(int(d["x"]), int(d["y"]), (r, g, b), int(d.get("size", 5)),
                   clamp_spread(d.get("spread", 1.0)))


def segment_bounds(
    p0: tuple[float, float], p1: tuple[float, float], radius: float, shape: tuple[int, int]
) -> tuple[int, int, int, int] | None:
    """Pixel box (x0, y0, x1, y1), end-exclusive and clipped to ``shape`` = (H, W), that a
    brush of ``radius`` dragged from p0 to p1 can touch; None when it misses the image."""
    h, w = shape
    r = radius + 1.0
    x0 = max(int(np.floor(min(p0[0], p1[0]) - r)), 0)
    y0 = max(int(np.floor(min(p0[1], p1[1]) - r)), 0)
    x1 = min(int(np.ceil(max(p0[0], p1[0]) + r)) + 1, w)
    y1 = min(int(np.ceil(max(p0[1], p1[1]) + r)) + 1, h)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, y0, x1, y1


def brush_alpha(
    p0: tuple[float, float],
    p1: tuple[float, float],
    radius: float,
    hardness: float,
    box: tuple[int, int, int, int],
) -> np.ndarray:
    """Coverage (y1-y0, x1-x0) float32 in [0, 1] of a soft round brush dragged p0 -> p1.

    Pixel centres within ``radius * hardness`` of the segment get 1; coverage falls smoothly
    (smoothstep) to 0 at ``radius``. ``hardness`` is in [0, 1]; 1 gives a hard edge (still
    anti-aliased over about one pixel).
    """
    x0, y0, x1, y1 = box
    xs = np.arange(x0, x1, dtype=np.float32) + 0.5
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5
    ax, ay = float(p0[0]), float(p0[1])
    dx, dy = float(p1[0]) - ax, float(p1[1]) - ay
    length2 = dx * dx + dy * dy
    if length2 > 1e-12:
        t = np.clip(((xs - ax) * dx + (ys - ay) * dy) / length2, 0.0, 1.0)
        px, py = xs - (ax + t * dx), ys - (ay + t * dy)
    else:
        px, py = xs - ax + 0 * ys, ys - ay + 0 * xs
    dist = np.sqrt(px * px + py * py)
    radius = max(float(radius), 0.5)
    inner = radius * float(np.clip(hardness, 0.0, 1.0))
    inner = min(inner, radius - 0.75)  # keep at least ~1 px of anti-aliasing
    t = np.clip((radius - dist) / max(radius - inner, 1e-6), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


def paint_segment(
    mask: np.ndarray,
    p0: tuple[float, float],
    p1: tuple[float, float],
    radius: float,
    hardness: float = 0.8,
    erase: bool = False,
) -> tuple[int, int, int, int] | None:
    """Paint (or erase) a brush segment into ``mask`` (H, W) float32 in place.

    Painting keeps the maximum of old and new coverage (re-painting never darkens a soft
    edge twice); erasing multiplies by (1 - coverage). Returns the touched box or None.
    """
    box = segment_bounds(p0, p1, radius, mask.shape[:2])
    if box is None:
        return None
    x0, y0, x1, y1 = box
    alpha = brush_alpha(p0, p1, radius, hardness, box)
    region = mask[y0:y1, x0:x1]
    if erase:
        np.multiply(region, 1.0 - alpha, out=region)
    else:
        np.maximum(region, alpha, out=region)
    return box


def hint_box(hint: Hint, shape: tuple[int, int], scale: float = 1.0) -> tuple[int, int, int, int]:
    """The hint's square patch (x0, y0, x1, y1) at ``scale``, clipped to ``shape`` = (H, W)."""
    h, w = shape
    size = max(1, int(round(hint.size * scale)))
    cx, cy = int(np.floor(hint.x * scale)), int(np.floor(hint.y * scale))
    x0, y0 = cx - size // 2, cy - size // 2
    return max(x0, 0), max(y0, 0), min(x0 + size, w), min(y0 + size, h)


def mask_box(mask: np.ndarray, pad: int = 2) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1), end-exclusive: the bounding box of the mask's pixels over 0.5 (of
    a bool mask: its True pixels), grown by ``pad``; None if empty. One OpenCV pass, which
    releases the GIL."""
    hole = mask if mask.dtype == bool else mask > 0.5
    x, y, bw, bh = cv2.boundingRect(np.ascontiguousarray(hole).view(np.uint8))
    if bw == 0:
        return None
    h, w = mask.shape
    return max(0, x - pad), max(0, y - pad), min(w, x + bw + pad), min(h, y + bh + pad)
