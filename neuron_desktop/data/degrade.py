"""The synthetic old-print process the restorer is trained and evaluated on.

:func:`degrade` turns a clean photo into what a scan of an old print looks like, in the order
the damage happens: the print fades and loses contrast (and maybe yellows), the lens or the
print was soft (defocus) or the camera moved (motion blur), the film's grain sits on top at one
or two scales (signal-dependent, larger in the mid-tones), the scanner adds its own fine noise,
and an earlier digitisation stored it as JPEG. Each part's strength scales with ``severity``
in [0, 1] (0.25 mild, 0.5 medium, 0.85 strong in the evaluation). Everything is seeded.

Tone: toning/yellowing is applied to the *target* too (``Degraded.clean``), so the restorer
learns to keep a print's tone; neutralising it is a separate, optional step. Images are
float32 (H, W, 3) RGB in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SEVERITIES = {"mild": 0.25, "medium": 0.5, "strong": 0.85}


@dataclass
class Degraded:
    image: np.ndarray  # the degraded scan
    clean: np.ndarray  # the target: the clean photo with the same tone
    params: dict


def tone(image: np.ndarray, rng: np.random.Generator, p: float = 0.3) -> tuple[np.ndarray, list]:
    """With probability ``p`` a sepia-to-cream tint (gray photos stay gray otherwise)."""
    if rng.random() >= p:
        return image, [1.0, 1.0, 1.0]
    g = rng.uniform(0.8, 1.0)
    tint = [1.0, g, g * rng.uniform(0.65, 0.95)]
    gray = image @ np.float32([0.299, 0.587, 0.114])
    mix = rng.uniform(0.5, 1.0)  # how much of the colour the toning replaces
    toned = gray[..., None] * np.float32(tint)
    return (mix * toned + (1 - mix) * image).astype(np.float32), tint


def motion_kernel(length: float, angle: float) -> np.ndarray:
    n = max(3, int(np.ceil(length)) | 1)
    k = np.zeros((n, n), np.float32)
    c = n // 2
    dx, dy = np.cos(angle), np.sin(angle)
    for t in np.linspace(-length / 2, length / 2, 4 * n):
        k[int(round(c + t * dy)), int(round(c + t * dx))] = 1
    return k / k.sum()


def grain(shape: tuple[int, int], rng: np.random.Generator, size: float) -> np.ndarray:
    """Unit-variance film grain: white noise blurred to ``size`` px (0: per-pixel)."""
    n = rng.standard_normal(shape).astype(np.float32)
    if size > 0.3:
        n = cv2.GaussianBlur(n, (0, 0), size)
        n /= max(float(n.std()), 1e-6)
    return n


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    bgr = (np.clip(image[..., ::-1], 0, 1) * 255 + 0.5).astype(np.uint8)
    buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])[1]
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB
                        ).astype(np.float32) / 255


def degrade(image: np.ndarray, seed: int | np.random.Generator, severity: float = 0.5,
            toning: float = 0.3, px: float | None = None) -> Degraded:
    """The old-print process at ``severity`` (see the module docstring); sizes (blur, grain)
    are scaled by ``px`` (default: the photo's long side / 512)."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    s = float(np.clip(severity, 0, 1))
    clean, tint = tone(np.asarray(image, np.float32), rng, toning)
    x = clean.copy()
    h, w = x.shape[:2]
    px = max(h, w) / 512 if px is None else px  # sizes are given for a 512 px photo
    # fading: contrast squeezed towards a lifted black and a dimmed white
    lo, hi = rng.uniform(0, 0.12) * s, 1 - rng.uniform(0, 0.15) * s
    x = lo + (hi - lo) * x
    # softness: defocus or motion
    if rng.random() < 0.75:
        if rng.random() < 0.7:
            x = cv2.GaussianBlur(x, (0, 0), max(0.3, rng.uniform(0.3, 0.6 + 1.6 * s) * px))
        else:
            k = motion_kernel(rng.uniform(2, 2 + 6 * s) * px, rng.uniform(0, np.pi))
            x = cv2.filter2D(x, -1, k, borderType=cv2.BORDER_REFLECT)
    # film grain: signal dependent (strongest in the mid-tones), one or two scales, mostly
    # monochrome (silver) with a little colour (dye clouds)
    luma = x @ np.float32([0.299, 0.587, 0.114])
    amp = rng.uniform(0.3, 1.0) * (0.01 + 0.07 * s) * (0.4 + 2.4 * luma * (1 - luma))
    g = grain((h, w), rng, rng.uniform(0, 1.2) * px)
    if rng.random() < 0.5:
        g = 0.7 * g + 0.3 * grain((h, w), rng, rng.uniform(1.5, 3.0) * px)
    colour = rng.uniform(0, 0.35)
    noise = g[..., None] + colour * np.stack([grain((h, w), rng, 0.6 * px) for _ in range(3)], -1)
    x = x + (amp[..., None] * noise)
    # scanner noise: fine, independent per channel
    x = x + rng.normal(0, rng.uniform(0, 0.012) * (0.5 + s), x.shape).astype(np.float32)
    x = np.clip(x, 0, 1)
    q = None
    if rng.random() < 0.7:
        q = int(rng.integers(max(20, int(90 - 60 * s)), 96))
        x = jpeg(x, q)
    params = {"severity": s, "fade": [float(lo), float(hi)], "tint": [float(t) for t in tint],
              "jpeg": q}
    return Degraded(np.ascontiguousarray(x, np.float32), clean, params)
