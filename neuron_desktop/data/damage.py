"""Synthetic old-photo damage: thin curved scratches, dust specks, fold cracks and (optional)
webs of fine cracks (craquelure).

:func:`damage` paints damage onto a clean photo and returns the damaged photo together with the
exact mask of the pixels it changed, for training/evaluating scratch detection and for the
thin-scratch inpainting set. :func:`old_photo_damage` first gives the photo the look of a
toned, faded print (:func:`old_look`), draws duller, cream-coloured, denser cracks
(:data:`OLD_SPEC`) and then softens it like a scan (:func:`scan`), the way real scanned prints
look. Images are float32 (H, W, 3) RGB in [0, 1]; masks float32 (H, W) in {0, 1},
1 = damaged. Sizes scale with the image (defaults tuned for ~256-512 px photos).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
    web_width: tuple[float, float] = (0.4, 1.2)  # crack width of a web, px at 512 px
    bright_tone: tuple[float, float] = (0.82, 1.0)  # lightness of bright marks
    alpha: tuple[float, float] = (0.7, 1.0)  # opacity of a mark
    paper: tuple[float, float, float] = (1.0, 1.0, 1.0)  # RGB tint of bright marks
    cells: tuple[int, int] = (0, 0)  # craquelure: networks of cracks around polygonal cells
    dust_p_bright: float | None = None  # bright share of dust specks (None: p_bright)


# Real prints: duller (partly translucent), cream-tinted, wider and denser cracks.
OLD_SPEC = DamageSpec(webs=(0, 2), cells=(0, 2), web_width=(0.8, 2.5), bright_tone=(0.6, 1.0),
                      alpha=(0.35, 1.0), p_bright=0.8)


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


def _web(rng: np.random.Generator, h: int, w: int, px: float,
         width: tuple[float, float]) -> tuple[list, float]:
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
    return cracks, rng.uniform(*width) * px


def _cells(rng: np.random.Generator, h: int, w: int, px: float,
           width: tuple[float, float]) -> tuple[list, float]:
    """Craquelure of a dried print: jagged cracks along the edges of Voronoi cells (10-60 px
    across at 512 px) over a patch of 0.4-1.2x the photo, 40-90 % of the edges cracked.
    Returns ([(N, 2) xy per crack], width)."""
    side = rng.uniform(0.4, 1.2) * max(h, w)
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    cell = rng.uniform(10, 60) * px
    n = int(np.clip((side / cell) ** 2, 4, 400))
    pts = np.stack([rng.uniform(cx - side / 2, cx + side / 2, n),
                    rng.uniform(cy - side / 2, cy + side / 2, n)], 1)
    box = (int(cx - side), int(cy - side), int(2 * side) + 2, int(2 * side) + 2)
    sub = cv2.Subdiv2D(box)
    sub.insert([(float(x), float(y)) for x, y in pts])
    facets = sub.getVoronoiFacetList([])[0]
    edges = {}
    for poly in facets:
        for a, b in zip(poly, np.roll(poly, -1, 0), strict=True):
            key = tuple(sorted((tuple(np.round(a, 1)), tuple(np.round(b, 1)))))
            edges[key] = (a, b)
    keep = rng.uniform(0.4, 0.9)
    cracks = []
    for a, b in edges.values():
        ends = np.abs(np.stack([a, b]) - (cx, cy))
        if ends.max() >= side / 2 or rng.random() > keep:  # outside the patch, or intact
            continue
        t = np.linspace(0, 1, max(3, int(np.hypot(*(b - a)) / 3)))[:, None]
        normal = np.array([a[1] - b[1], b[0] - a[0]]) / max(np.hypot(*(b - a)), 1e-6)
        jitter = np.cumsum(rng.normal(0, 0.9, len(t)))
        jitter -= np.linspace(jitter[0], jitter[-1], len(t))  # ends stay on the vertices
        cracks.append(a + t * (b - a) + jitter[:, None] * normal)
    return cracks, rng.uniform(*width) * px


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

    def paint(canvas: _Canvas, p_bright: float = spec.p_bright) -> None:
        cov = canvas.coverage()
        bright = rng.random() < p_bright
        tone = rng.uniform(*spec.bright_tone) if bright else rng.uniform(0.0, 0.2)
        colour = np.clip(tone + rng.normal(0, 0.03, 3), 0, 1).astype(np.float32)
        if bright:
            colour *= np.float32(spec.paper)
        alpha = (cov * rng.uniform(*spec.alpha))[..., None]
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
        paint(canvas, spec.p_bright if spec.dust_p_bright is None else spec.dust_p_bright)
    if spec.webs[1] > 0:  # drawn last: specs without webs keep their random sequence
        for _ in range(int(rng.integers(spec.webs[0], spec.webs[1] + 1))):
            cracks, width = _web(rng, h, w, px, spec.web_width)
            canvas = _Canvas(np.concatenate(cracks), width + 2, h, w)
            for crack in cracks:
                canvas.polyline(crack, width)
            paint(canvas)
    if spec.cells[1] > 0:  # after webs, for the same reason
        for _ in range(int(rng.integers(spec.cells[0], spec.cells[1] + 1))):
            cracks, width = _cells(rng, h, w, px, spec.web_width)
            if cracks:
                canvas = _Canvas(np.concatenate(cracks), width + 2, h, w)
                for crack in cracks:
                    canvas.polyline(crack, width * rng.uniform(0.6, 1.0))
                paint(canvas)
    return np.clip(out, 0, 1), mask


def old_look(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, tuple]:
    """A toned, faded print of ``image``: gray, contrast squeezed, sepia-to-neutral tint.
    Returns (toned image, RGB paper tint for its bright marks)."""
    gray = image @ np.float32([0.299, 0.587, 0.114])
    lo, hi = rng.uniform(0.0, 0.25), rng.uniform(0.65, 0.95)
    gray = lo + (hi - lo) * gray ** rng.uniform(0.8, 1.25)
    g = rng.uniform(0.75, 1.0)
    tint = np.float32([1.0, g, g * rng.uniform(0.55, 0.92)])
    paper = tuple(float(v) for v in tint ** rng.uniform(0.2, 0.8))  # lighter, same hue
    return (gray[..., None] * tint).astype(np.float32), paper


def scan(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A scan's softness, grain and (half the time) JPEG compression (C-contiguous)."""
    out = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 1.0))
    out = out + rng.normal(0, rng.uniform(0.0, 0.02), out.shape).astype(np.float32)
    out = np.clip(out, 0, 1)
    if rng.random() < 0.5:
        q = int(rng.integers(50, 96))
        bgr = (out[..., ::-1] * 255 + 0.5).astype(np.uint8)
        buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, q])[1]
        out = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        out = out.astype(np.float32) / 255
    return out


def old_photo_damage(image: np.ndarray, seed: int | np.random.Generator,
                     spec: DamageSpec = OLD_SPEC) -> tuple[np.ndarray, np.ndarray]:
    """:func:`old_look`, then :func:`damage` with cream bright marks, then :func:`scan`.
    Returns ``(damaged scan (H, W, 3), mask (H, W))``; the mask holds the painted marks (the
    scan itself changes every pixel a little)."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    toned, paper = old_look(np.asarray(image, np.float32), rng)
    out, mask = damage(toned, rng, replace(spec, paper=paper))
    return scan(out, rng), mask
