"""Restore pipeline: the learned clean-up of grain, noise, blur, fading and JPEG damage.

The restorer runs over the photo in overlapping tiles (any size, bounded memory), blended
with linear ramps in the overlaps so no seam shows; ``strength`` mixes the result with the
input; by default the print's tone is kept (the network was trained to keep it), and
``keep_tone=False`` neutralises it (a toned monochrome print becomes neutral gray, a colour
photo gets a gray-world white balance). When the weights carry a tone head, the faded print's
contrast is then corrected once for the whole photo from its global statistics
(:func:`tone_features`), which no tile can see.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from neuron_desktop.core.color import lab_to_rgb, rgb_to_lab
from neuron_desktop.core.device import choose_device, run_with_fallback
from neuron_desktop.core.progress import CancelToken, Pipeline, Preview, Progress
from neuron_desktop.models.restore import Restorer

DEFAULT_TILE = 544  # a 1 MP photo in 2 x 2 equal tiles (3 x 3 at 512 px: 10 % slower)
OVERLAP = 32
DEFAULT_WEIGHTS = "restorer"


def load_restorer(weights: str = "default", device: torch.device | str = "cpu") -> Restorer:
    """The shipped restorer on ``device`` (``models.registry.load``: verified, cached)."""
    from neuron_desktop.models.registry import load_as

    return load_as(Restorer, DEFAULT_WEIGHTS if weights == "default" else weights, device)


def _ramp(n: int, overlap: int, first: bool, last: bool) -> Tensor:
    """Blend weights along one side of a tile: linear ramps over the overlaps."""
    w = torch.ones(n)
    k = min(overlap, n // 2)
    if k:
        ramp = (torch.arange(k) + 0.5) / k
        if not first:
            w[:k] = ramp
        if not last:
            w[-k:] = ramp.flip(0)
    return w


def tiles(size: int, tile: int, overlap: int, multiple: int = 8) -> tuple[list[int], int]:
    """Start offsets and length of the fewest equal tiles of at most ``tile`` (rounded up to
    ``multiple``) that cover ``size`` with at least ``overlap`` between neighbours. Equal
    tiles waste no work: 1000 px in 512 px tiles is two tiles of 520, not three of 512."""
    if size <= tile:
        return [0], size
    n = math.ceil((size - overlap) / (tile - overlap))
    length = min(size, math.ceil((size + (n - 1) * overlap) / (n * multiple)) * multiple)
    return sorted({round(i * (size - length) / (n - 1)) for i in range(n)}), length


def run_tiled(net: Restorer, image: Tensor, tile: int = DEFAULT_TILE,
              overlap: int = OVERLAP, cancel: CancelToken | None = None) -> Pipeline[Tensor]:
    """The network over ``image`` (1, 3, H, W) in overlapping tiles, blended."""
    _, _, h, w = image.shape
    out = torch.zeros_like(image)
    weight = torch.zeros(1, 1, h, w, dtype=image.dtype, device=image.device)
    m = net.pad_multiple
    (ys, th), (xs, tw) = tiles(h, tile, overlap, m), tiles(w, tile, overlap, m)
    total, done = len(ys) * len(xs), 0
    for y in ys:
        for x in xs:
            if cancel is not None:
                cancel.check()
            patch = image[..., y:y + th, x:x + tw]
            ph, pw = patch.shape[-2:]
            padded = F.pad(patch, (0, (-pw) % m, 0, (-ph) % m), mode="replicate"
                           ).contiguous(memory_format=torch.channels_last)
            with torch.no_grad():
                res = net(padded)[..., :ph, :pw]
            wy = _ramp(ph, overlap, y == 0, y + ph >= h).to(image)
            wx = _ramp(pw, overlap, x == 0, x + pw >= w).to(image)
            wt = (wy[:, None] * wx[None, :])[None, None]
            out[..., y:y + ph, x:x + pw] += res * wt
            weight[..., y:y + ph, x:x + pw] += wt
            done += 1
            yield Progress(done / total, f"Restoring tile {done}/{total}")
    return out / weight


TONE_QUANTILES = (0.1, 0.5, 1, 2, 5, 10, 25, 50, 75, 90, 95, 98, 99, 99.5, 99.9)  # percent
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def _luma_quantiles(rgb: np.ndarray) -> np.ndarray:
    """Luma percentiles of ``rgb`` (H, W, 3) seen at 128 px (area-averaged: grain-free)."""
    h, w = rgb.shape[:2]
    s = 128 / max(h, w)
    small = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))),
                       interpolation=cv2.INTER_AREA) if s < 1 else rgb
    return np.percentile(small @ _LUMA, TONE_QUANTILES).astype(np.float32)


def tone_features(scan: np.ndarray, restored: np.ndarray) -> np.ndarray:
    """The tone head's input (``models.restore.TONE_FEATURES`` numbers) for float32
    (H, W, 3) RGB arrays: luma quantiles of the scan and of the restored photo, and the
    scan's fine-noise level (median absolute Laplacian of the luma, x10)."""
    noise = np.median(np.abs(cv2.Laplacian(scan @ _LUMA, cv2.CV_32F)))
    return np.concatenate([_luma_quantiles(scan), _luma_quantiles(restored),
                           np.array([10 * noise], np.float32)])


def correct_tone(net: Restorer, scan: Tensor, restored: Tensor) -> Tensor:
    """``a * restored + b`` with (a, b) from the net's tone head (unchanged without one)."""
    if net.tone is None:
        return restored
    from neuron_desktop.core.imageio import from_tensor

    f = tone_features(from_tensor(scan.float().cpu()), from_tensor(restored.float().cpu()))
    with torch.no_grad():
        a, b = net.tone(torch.from_numpy(f)[None].to(restored.device))[0]
    return (a * restored + b).clamp(0, 1)


def neutralise(rgb: Tensor) -> Tensor:
    """Remove a print's tone: a toned monochrome photo becomes neutral gray (ab = 0), a
    colour photo gets a gray-world white balance (its mean ab moved to 0)."""
    from neuron_desktop.core.imageio import detect_monochrome, from_tensor

    lab = rgb_to_lab(rgb)
    if detect_monochrome(from_tensor(rgb)).kind != "color":
        lab[:, 1:] = 0
    else:
        lab[:, 1:] -= lab[:, 1:].mean((2, 3), keepdim=True)
    return lab_to_rgb(lab)


def restore(image: Tensor, *, strength: float = 1.0, keep_tone: bool = True,
            tile: int = DEFAULT_TILE, device: torch.device | str | None = None,
            model: Restorer | None = None, weights: str = "default",
            cancel: CancelToken | None = None) -> Pipeline[Tensor]:
    """Restore ``image`` (1, 3, H, W) RGB in [0, 1] -> (1, 3, H, W) RGB.

    ``strength`` in [0, 1] mixes input (0) and the restorer's result (1). Yields progress per
    tile and a preview of the first tile row; retries with smaller tiles, then on the CPU,
    when out of memory."""
    if image.ndim != 4 or image.shape[:2] != (1, 3):
        raise ValueError(f"need a (1, 3, H, W) image, got {tuple(image.shape)}")
    if not 0 <= strength <= 1:
        raise ValueError(f"strength must be in [0, 1], got {strength}")

    def job(dev: torch.device, tile_size: int | None) -> Pipeline[Tensor]:
        yield Progress(0.0, "Loading the restoration model")
        net = model.to(dev) if model is not None else load_restorer(weights, dev)
        net.to(memory_format=torch.channels_last)  # about 25 % faster convolutions on a CPU
        x = image.to(dev)
        out = yield from run_tiled(net, x, tile_size or tile, cancel=cancel)
        out = correct_tone(net, x, out.clamp(0, 1))
        out = (x + strength * (out - x)).clamp(0, 1)
        if not keep_tone:
            out = neutralise(out)
        yield Preview(out, 1.0, "Restored")
        return out.to(image.device)

    dev = choose_device(device)
    result = yield from run_with_fallback(job, device=dev, tile_sizes=(None, 256, 128))
    return result
