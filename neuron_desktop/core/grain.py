"""Film grain that matches a photo's own, for filled holes.

A fill (any inpainting method) is smoother than the grainy scan around it. :func:`estimate`
measures the grain in a ring of known pixels around the hole — its high-pass strength per
brightness level and per channel, how the channels move together (silver grain is the same in
R, G and B; dye clouds are not) and how coarse it is — and :func:`add_matched_grain` adds
synthetic grain of those statistics inside the hole, minus the high-pass the fill already
has, so the hole's high-pass energy matches the ring's. Near the border the photo's own
grain is continued into the hole (:func:`continue_grain`), so the added grain is closer to
the true one there. Every statistic is robust (from the
median absolute deviation, on pixels that are not edges): the ring's edges and texture are
not grain, and counting them made coarse, blotchy "grain" in fills of clean photos. Seeded:
the same call gives the same grain. Arrays are float32 (H, W, 3) RGB in [0, 1]; masks
(H, W) bool, True = filled.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

HP_SIGMA = 1.0  # high-pass = x - Gaussian(x, HP_SIGMA): what "grain energy" means here
SIZES = (0.0, 0.5, 0.8, 1.1, 1.5, 2.0)  # grain sizes (blur sigma of white noise) tried
LEVELS = 6  # brightness bins
GRAINY_SIGMA = 1.5 / 255  # robust high-pass noise level above which a photo "has grain"
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def highpass(x: np.ndarray, sigma: float = HP_SIGMA) -> np.ndarray:
    return x - cv2.GaussianBlur(x, (0, 0), sigma)


def level(x: np.ndarray) -> np.ndarray:
    """Local brightness (H, W), smoothed so grain does not pick its own bin."""
    return cv2.GaussianBlur(np.ascontiguousarray(x @ _LUMA), (0, 0), 3.0)


@dataclass
class GrainModel:
    edges: np.ndarray  # (LEVELS + 1,) brightness bin edges
    var: np.ndarray  # (LEVELS, 3) high-pass variance per bin and channel
    mix: np.ndarray  # (3, 3) channel mixing (Cholesky factor of the correlation)
    size: float  # blur sigma of the grain's white noise
    noise_sigma: float  # robust high-pass noise level of the ring

    @property
    def grainy(self) -> bool:
        return self.noise_sigma > GRAINY_SIGMA


def robust_var(hp: np.ndarray) -> np.ndarray:
    """Per-channel variance of high-pass values ``(N, C)`` from their median absolute
    deviation: the noise part, blind to the few large values of edges and texture."""
    mad = np.median(np.abs(hp - np.median(hp, 0)), 0)
    return (1.4826 * mad) ** 2


def ring(mask: np.ndarray, width: int = 16, gap: int = 3) -> np.ndarray:
    """Known pixels between ``gap`` and ``gap + width`` px from the hole."""
    m = mask.astype(np.uint8)

    def grow(r: int) -> np.ndarray:
        return cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2)) > 0

    return grow(gap + width) & ~grow(gap)


def _lag1(hp: np.ndarray, ok: np.ndarray) -> float:
    """Correlation of high-pass values with their right and lower neighbours, over pixel
    pairs that are both ``ok``: how coarse the grain is (white noise: negative)."""
    pairs = [(hp[:, :-1], hp[:, 1:], ok[:, :-1] & ok[:, 1:]),
             (hp[:-1], hp[1:], ok[:-1] & ok[1:])]
    a = np.concatenate([p[m] for p, _, m in pairs])
    b = np.concatenate([q[m] for _, q, m in pairs])
    return float(np.mean(a * b) / max(np.sqrt(np.mean(a * a) * np.mean(b * b)), 1e-12))


@functools.lru_cache(maxsize=1)
def _size_signatures() -> np.ndarray:
    """Neighbour correlation of the high-pass of unit grain of each size."""
    rng = np.random.default_rng(0)
    ok = np.ones((256, 256), bool)
    return np.array([_lag1(highpass(_noise_field((256, 256), rng, s), HP_SIGMA), ok)
                     for s in SIZES])


def _noise_field(shape: tuple[int, int], rng: np.random.Generator, size: float) -> np.ndarray:
    n: np.ndarray = rng.standard_normal(shape).astype(np.float32)
    if size > 0.3:
        n = cv2.GaussianBlur(n, (0, 0), size)
    return n / max(float(n.std()), 1e-8)


def estimate(image: np.ndarray, mask: np.ndarray, width: int = 16) -> GrainModel | None:
    """The grain statistics of the ring around ``mask`` (None when the ring is too small)."""
    r = ring(mask, width)
    if r.sum() < 64:
        return None
    hp_full = highpass(image)
    hp_y = hp_full @ _LUMA  # the high-pass is linear: the luma's is the channels' mix
    hp = hp_full[r]  # (N, 3)
    luma = level(image)[r]
    edges = np.quantile(luma, np.linspace(0, 1, LEVELS + 1))
    edges[0], edges[-1] = -np.inf, np.inf
    idx = np.clip(np.searchsorted(edges, luma, side="right") - 1, 0, LEVELS - 1)
    var = _per_level(hp, idx)
    sigma = float(1.4826 * np.median(np.abs(hp_y[r])))
    edge = (np.abs(hp_y) >= 3 * max(sigma, 1e-6)).astype(np.uint8)
    ok = r & (cv2.dilate(edge, np.ones((5, 5), np.uint8)) == 0)  # grain alone, off edges
    alone = ok.sum() >= 64
    inl = hp_full[ok] if alone else hp
    corr = np.corrcoef(inl.T) if inl.std(0).min() > 1e-6 else np.eye(3)
    mix = np.linalg.cholesky(np.nan_to_num(corr, nan=0.0) + 1e-4 * np.eye(3))
    size = SIZES[int(np.argmin(np.abs(_size_signatures() - _lag1(hp_y, ok))))] if alone \
        else SIZES[1]
    return GrainModel(edges, var.astype(np.float32), mix.astype(np.float32), size, sigma)


def synthesize(model: GrainModel, shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """Unit grain ``(H, W, 3)`` of the model's size and channel correlation, and the share
    of its variance that the high-pass keeps (per channel)."""
    rng = np.random.default_rng(seed)
    white = np.stack([_noise_field(shape, rng, 0.0) for _ in range(3)], -1) @ model.mix.T
    if model.size > 0.3:
        white = cv2.GaussianBlur(white, (0, 0), model.size)
    return white / np.maximum(white.reshape(-1, 3).std(0), 1e-8)


CONTINUE_MARGIN = 8  # px of known pixels around the hole whose grain the fill continues
CONTINUE_BANDS = 4  # distance bands (px from the border) with their own share


def _known_average(x: np.ndarray, hole: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """(Gaussian average of ``x`` (H, W, C) over the known pixels only, the known pixels'
    weight there (H, W, 1))."""
    valid = (~hole).astype(np.float32)
    num = cv2.GaussianBlur(x * valid[..., None], (0, 0), sigma)
    den = cv2.GaussianBlur(valid, (0, 0), sigma)[..., None]
    return num / np.maximum(den, 1e-3), den


def known_highpass(image: np.ndarray, hole: np.ndarray, sigma: float = HP_SIGMA) -> np.ndarray:
    """High-pass of the known pixels, their local mean taken over known pixels only (the
    damaged pixels in the hole do not leak into the border's grain); 0 in the hole."""
    return (image - _known_average(image, hole, sigma)[0]) * (~hole)[..., None]


def _interpolate(x: np.ndarray, hole: np.ndarray, sigma: float = 0.7) -> np.ndarray:
    """``x`` (H, W, C) carried into ``hole`` from the known pixels nearby: their Gaussian
    average (normalised convolution; 0 beyond their reach)."""
    mean, weight = _known_average(x, hole, sigma)
    return np.where(weight > 0.02, mean, 0.0).astype(np.float32)


def continue_grain(image: np.ndarray, grain: np.ndarray, hole: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Conditional grain for ``hole`` (arrays of one box): (the photo's own grain carried
    into the hole, in image units; the new unit grain that is left to add).

    Near the border the true grain in the hole is partly known: coarse grain is correlated
    over a few px. The photo's high-pass around the hole is interpolated in, scaled by how
    well that interpolation predicts grain of this size (least squares on the synthetic
    grain: ~0 for per-pixel grain, more for coarse grain in a thin scratch), and the part
    of the synthetic grain that the same prediction explains is taken off it, so that the
    two together have the grain's strength. Error against the true grain is then only the
    part that cannot be predicted, instead of that plus a whole independent grain."""
    if hole.all() or not hole.any():
        return np.zeros_like(image), grain
    pred_u = _interpolate(known_highpass(grain, hole), hole)
    # the share, per distance from the border (1, 2, 3, 4+ px): deeper is less predictable
    band = np.minimum(np.ceil(cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3)),
                      CONTINUE_BANDS).astype(int)
    share = np.zeros(grain.shape, np.float32)
    for b in range(1, CONTINUE_BANDS + 1):
        at = hole & (band == b)
        if at.any():
            u, k = grain[at], pred_u[at]
            share[at] = np.clip((u * k).sum(0) / np.maximum((k * k).sum(0), 1e-8), 0.0, 1.0)
    carried = share * _interpolate(known_highpass(image, hole), hole)
    return carried * hole[..., None], grain - share * pred_u


def add_matched_grain(image: np.ndarray, fill: np.ndarray, mask: np.ndarray, seed: int = 0,
                      model: GrainModel | None = None, continued: bool = True) -> np.ndarray:
    """``fill`` with grain added inside ``mask`` so that the hole's high-pass energy per
    brightness level and channel matches the ring's (the fill's own high-pass counted).
    ``continued``: near the border, the photo's own grain is carried in
    (:func:`continue_grain`); otherwise all of the added grain is new."""
    model = model or estimate(image, mask)
    if model is None or not mask.any():
        return fill
    comp = np.where(mask[..., None], fill, image)
    luma = level(comp)
    idx = np.clip(np.searchsorted(model.edges, luma[mask], side="right") - 1, 0, LEVELS - 1)
    # measured away from the hole's border, where the step between the photo's grain and the
    # new one adds high-pass of its own (thin holes have no inside: all of them is used)
    core = cv2.erode(mask.astype(np.uint8), np.ones((7, 7), np.uint8))[mask] > 0
    core = core if core.sum() >= 64 else np.ones_like(core)
    own = _per_level(highpass(comp)[mask][core], idx[core])
    ys, xs = np.nonzero(mask)
    m = CONTINUE_MARGIN
    y0, y1 = max(0, ys.min() - m), min(mask.shape[0], ys.max() + 1 + m)
    x0, x1 = max(0, xs.min() - m), min(mask.shape[1], xs.max() + 1 + m)
    box = mask[y0:y1, x0:x1]
    grain = synthesize(model, box.shape, seed)
    fill = fill.copy()
    if continued:
        carried, grain = continue_grain(image[y0:y1, x0:x1], grain, box)
        fill[y0:y1, x0:x1] += carried
    g = grain[ys - y0, xs - x0]
    keep = np.maximum(highpass(grain)[box].var(0), 1e-6)  # hp share of the added grain
    want = np.maximum(model.var - own, 0)  # (LEVELS, 3) high-pass variance to add
    gain = np.sqrt(want / keep)
    for _ in range(2):  # clipping and the fill's own detail change it: measure and correct
        out = fill.copy()
        out[ys, xs] = np.clip(fill[ys, xs] + gain[idx] * g, 0, 1)
        hp = highpass(np.where(mask[..., None], out, image))[mask][core]
        got = _per_level(hp, idx[core]) - own
        gain = gain * np.clip(np.sqrt(want / np.maximum(got, 1e-10)), 0.5, 2.0)
    out = fill.copy()
    out[ys, xs] = np.clip(fill[ys, xs] + gain[idx] * g, 0, 1)
    return out


def _per_level(hp: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Robust high-pass variance per brightness level and channel."""
    return np.stack([robust_var(hp[idx == b]) if (idx == b).sum() > 8 else robust_var(hp)
                     for b in range(LEVELS)])
