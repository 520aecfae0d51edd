"""A before/after picture: the original and the result side by side, each labelled.

Plain NumPy and Pillow (no Qt), so the editor composes it on a worker and scripts can use
it too.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

LABELS = ("Original", "Result")


def _u8(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype == np.uint8:
        return x
    if x.dtype == np.uint16:
        return (x >> 8).astype(np.uint8)
    return np.rint(np.clip(x, 0.0, 1.0) * 255).astype(np.uint8)


def side_by_side(before: np.ndarray, after: np.ndarray, labels: tuple[str, str] = LABELS,
                 *, gap: int | None = None) -> np.ndarray:
    """(H + bar, 2 W + gap, 3) uint8: ``before`` left, ``after`` right (both (H, W, 3) RGB,
    float in [0, 1] or uint8), under a dark bar with the two labels. ``before`` is resized
    to ``after``'s height when they differ."""
    a = _u8(after)
    b = _u8(before)
    h, w = a.shape[:2]
    if b.shape[:2] != (h, w):
        bw = max(1, round(b.shape[1] * h / b.shape[0]))
        b = cv2.resize(b, (bw, h), interpolation=cv2.INTER_AREA)
    gap = max(2, round(0.01 * w)) if gap is None else gap
    font_px = max(12, round(0.045 * h))
    bar = round(font_px * 1.8)
    out = np.full((h + bar, b.shape[1] + gap + w, 3), 24, np.uint8)
    out[bar:, :b.shape[1]] = b
    out[bar:, b.shape[1] + gap:] = a
    canvas = Image.fromarray(out)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=font_px)
    for text, x0, width in ((labels[0], 0, b.shape[1]), (labels[1], b.shape[1] + gap, w)):
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        draw.text((x0 + (width - (right - left)) / 2 - left, (bar - (bottom - top)) / 2 - top),
                  text, fill=(235, 235, 235), font=font)
    return np.asarray(canvas)
