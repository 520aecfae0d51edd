"""Restore pipeline: the learned clean-up of grain, noise, blur, fading and JPEG damage.

The restorer runs over the photo in overlapping tiles (any size, bounded memory), blended
with linear ramps in the overlaps so no seam shows; ``strength`` mixes the result with the
input; by default the print's tone is kept (the network was trained to keep it), and
``keep_tone=False`` neutralises it (a toned monochrome print becomes neutral gray, a colour
photo gets a gray-world white balance).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from neuron_desktop.core.color import lab_to_rgb, rgb_to_lab
from neuron_desktop.core.device import choose_device, run_with_fallback
from neuron_desktop.core.progress import CancelToken, Pipeline, Preview, Progress
from neuron_desktop.models.restore import Restorer

DEFAULT_TILE = 512
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


def tiles(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of ``tile`` covering ``size`` with at least ``overlap``."""
    if size <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, size - tile, step)) + [size - tile]
    return sorted(set(starts))


def run_tiled(net: Restorer, image: Tensor, tile: int = DEFAULT_TILE,
              overlap: int = OVERLAP, cancel: CancelToken | None = None) -> Pipeline[Tensor]:
    """The network over ``image`` (1, 3, H, W) in overlapping tiles, blended."""
    _, _, h, w = image.shape
    out = torch.zeros_like(image)
    weight = torch.zeros(1, 1, h, w, dtype=image.dtype, device=image.device)
    ys, xs = tiles(h, tile, overlap), tiles(w, tile, overlap)
    total, done = len(ys) * len(xs), 0
    m = net.pad_multiple
    for y in ys:
        for x in xs:
            if cancel is not None:
                cancel.check()
            patch = image[..., y:y + tile, x:x + tile]
            ph, pw = patch.shape[-2:]
            padded = F.pad(patch, (0, (-pw) % m, 0, (-ph) % m), mode="replicate")
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
        x = image.to(dev)
        out = yield from run_tiled(net, x, tile_size or tile, cancel=cancel)
        out = (x + strength * (out - x)).clamp(0, 1)
        if not keep_tone:
            out = neutralise(out)
        yield Preview(out, 1.0, "Restored")
        return out.to(image.device)

    dev = choose_device(device)
    result = yield from run_with_fallback(job, device=dev, tile_sizes=(None, 256, 128))
    return result
