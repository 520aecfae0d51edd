"""Synthetic old-photo damage: thin curved scratches, dust specks, fold cracks and (optional)
webs of fine cracks (craquelure).

:func:`damage` paints damage onto a clean photo and returns the damaged photo together with the
exact mask of the pixels it changed, for training/evaluating scratch detection and for the
thin-scratch inpainting set. Images are float32 (H, W, 3) RGB in [0, 1]; masks float32 (H, W)
in {0, 1}, 1 = damaged. Sizes scale with the image (defaults tuned for ~256-512 px photos).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_SUPERSAMPLE = 4  # curves are drawn at 4x and area-averaged: anti-aliased coverage
_MIN_COVER = 0.2  # coverage below this is dropped, so the mask holds every changed pixel


@dataclass(frozen=True)
class DamageSpec:
    """How much damage to draw: inclusive (min, max) counts and widths in px at 512 px."""

    scratches: tuple[int, int] = (2, 7)
    dust: tuple[int, int] = (5, 40)
    folds: tuple[int, int] = (0, 2)
    width: tuple[float, float] = (1.0, 3.0)
    p_bright: float = 0.7  # old prints mostly show bright (paper-white) scratches
    webs: tuple[int, int] = (0, 0)  # craquelure: webs of fine cracks branching from each other


def _smooth_curve(rng: np.random.Generator, h: int, w: int, length: float) -> np.ndarray:
    """(N, 2) xy points of a gently bending curve of about ``length`` px."""
    steps = max(8, int(length / 4))
    step = length / steps
    x, y = rng.uniform(0, w), rng.uniform(0, h)
    angle = rng.uniform(0, 2 * np.pi)
    bend = rng.normal(0, 0.02)
    pts = []
    for _ in range(steps + 1):
        pts.append((x, y))
        bend = 0.9 * bend + rng.normal(0, 0.015)
        angle += bend
        x, y = x + step * np.cos(angle), y + step * np.sin(angle)
    return np.asarray(pts)


def _jagged_curve(rng: np.random.Generator, h: int, w: int, length: float) -> np.ndarray:
    """(N, 2) xy points of a crack: a straight-ish path with small random kinks."""
    steps = max(8, int(length / 6))
    x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
    angle = rng.uniform(0, 2 * np.pi)
    t = np.linspace(0, length, steps + 1)
    jitter = np.cumsum(rng.normal(0, 1.2, steps + 1))
    jitter -= np.linspace(jitter[0], jitter[-1], steps + 1)  # ends on the straight line
    xs = x0 + t * np.cos(angle) - jitter * np.sin(angle)
    ys = y0 + t * np.sin(angle) + jitter * np.cos(angle)
    return np.stack([xs, ys], 1)


def _web(rng: np.random.Generator, h: int, w: int, px: float) -> tuple[list, float]:
    """Craquelure: 20-80 short fine cracks over a patch of 0.5-1.5x the photo, most starting
    on an earlier crack, some anywhere in the patch. Returns ([(N, 2) xy per crack], width)."""
    side = rng.uniform(0.5, 1.5) * max(h, w)
    centre = np.array([rng.uniform(0, w), rng.uniform(0, h)])
    cracks: list[np.ndarray] = []
    for _ in range(int(rng.integers(20, 81))):
        if cracks and rng.random() < 0.7:
            base = cracks[int(rng.integers(len(cracks)))]
            start = base[int(rng.integers(len(base)))]
        else:
            start = centre + rng.uniform(-side / 2, side / 2, 2)
        cracks.append(_jagged_curve(rng, 1, 1, rng.uniform(0.04, 0.15) * side) + start)
    return cracks, rng.uniform(0.4, 1.2) * px


class _Canvas:
    """A supersampled coverage canvas over the pixel box [y0, y1) x [x0, x1) of the image."""

    def __init__(self, pts: np.ndarray, margin: float, h: int, w: int) -> None:
        self.x0 = int(np.clip(np.floor(pts[:, 0].min() - margin), 0, w - 1))
        self.y0 = int(np.clip(np.floor(pts[:, 1].min() - margin), 0, h - 1))
        self.x1 = int(np.clip(np.ceil(pts[:, 0].max() + margin) + 1, self.x0 + 1, w))
        self.y1 = int(np.clip(np.ceil(pts[:, 1].max() + margin) + 1, self.y0 + 1, h))
        s = _SUPERSAMPLE
        self.data = np.zeros(((self.y1 - self.y0) * s, (self.x1 - self.x0) * s), np.uint8)

    def local(self, pts: np.ndarray) -> np.ndarray:
        """Image xy -> supersampled canvas pixel coordinates (int32 (N, 1, 2))."""
        xy = (pts - (self.x0, self.y0)) * _SUPERSAMPLE
        return np.round(xy).astype(np.int32).reshape(-1, 1, 2)

    def polyline(self, pts: np.ndarray, width: float) -> None:
        thickness = max(1, round(width * _SUPERSAMPLE))
        cv2.polylines(self.data, [self.local(pts)], False, 255, thickness, cv2.LINE_8)

    def coverage(self) -> np.ndarray:
        """(y1-y0, x1-x0) float32 pixel coverage; below _MIN_COVER dropped to 0."""
        size = (self.x1 - self.x0, self.y1 - self.y0)
        cov = cv2.resize(self.data, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255
        cov[cov < _MIN_COVER] = 0.0
        return cov


def damage(
    image: np.ndarray,
    seed: int | np.random.Generator,
    spec: DamageSpec = DamageSpec(),
) -> tuple[np.ndarray, np.ndarray]:
    """Paint scratches, dust and folds onto ``image`` (H, W, 3) float32 RGB [0, 1].

    Each element is bright (paper showing through) or dark (dirt, emulsion), slightly
    translucent and anti-aliased. Returns ``(damaged (H, W, 3), mask (H, W))``: the mask is 1
    exactly where the damaged image differs from the input.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    img = np.asarray(image, np.float32)
    h, w = img.shape[:2]
    scale = max(h, w) / 512
    out = img.copy()
    mask = np.zeros((h, w), np.float32)

    def paint(canvas: _Canvas) -> None:
        cov = canvas.coverage()
        bright = rng.random() < spec.p_bright
        tone = rng.uniform(0.82, 1.0) if bright else rng.uniform(0.0, 0.2)
        colour = np.clip(tone + rng.normal(0, 0.03, 3), 0, 1).astype(np.float32)
        alpha = (cov * rng.uniform(0.7, 1.0))[..., None]
        box = (slice(canvas.y0, canvas.y1), slice(canvas.x0, canvas.x1))
        out[box] = out[box] * (1 - alpha) + colour * alpha
        mask[box][cov > 0] = 1.0

    px = max(scale, 0.5)  # size factor for widths and radii
    for _ in range(int(rng.integers(spec.scratches[0], spec.scratches[1] + 1))):
        pts = _smooth_curve(rng, h, w, rng.uniform(0.2, 0.9) * max(h, w))
        width = rng.uniform(*spec.width) * px
        canvas = _Canvas(pts, width + 2, h, w)
        canvas.polyline(pts, width)
        paint(canvas)
    for _ in range(int(rng.integers(spec.folds[0], spec.folds[1] + 1))):
        pts = _jagged_curve(rng, h, w, rng.uniform(0.5, 1.2) * max(h, w))
        width = rng.uniform(*spec.width) * px
        branches = [_jagged_curve(rng, 1, 1, rng.uniform(0.05, 0.2) * max(h, w))
                    + pts[rng.integers(len(pts))] for _ in range(int(rng.integers(0, 3)))]
        canvas = _Canvas(np.concatenate([pts, *branches]), width + 2, h, w)
        canvas.polyline(pts, width)
        for branch in branches:  # short side cracks
            canvas.polyline(branch, width * 0.7)
        paint(canvas)
    for _ in range(int(rng.integers(spec.dust[0], spec.dust[1] + 1))):
        radius = rng.uniform(0.6, 2.5) * px
        centre = np.array([[rng.uniform(0, w), rng.uniform(0, h)]])
        canvas = _Canvas(centre, 2 * radius + 2, h, w)
        (cx, cy), = canvas.local(centre)[:, 0]
        axes = tuple(max(1, round(radius * _SUPERSAMPLE * rng.uniform(0.6, 1.4)))
                     for _ in range(2))
        cv2.ellipse(canvas.data, (int(cx), int(cy)), axes, rng.uniform(0, 180), 0, 360, 255, -1)
        paint(canvas)
    if spec.webs[1] > 0:  # drawn last: specs without webs keep their random sequence
        for _ in range(int(rng.integers(spec.webs[0], spec.webs[1] + 1))):
            cracks, width = _web(rng, h, w, px)
            canvas = _Canvas(np.concatenate(cracks), width + 2, h, w)
            for crack in cracks:
                canvas.polyline(crack, width)
            paint(canvas)
    return np.clip(out, 0, 1), mask
