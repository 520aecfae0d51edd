"""Arbitrary-style transfer, feed-forward (``method="arbitrary"``): any style image, no
training on it (universal style transfer, Li et al. 2017, on ``models.style_arbitrary``).

photo (working size) -> frozen Lite0 block-4 features -> whitening/colouring with the style's
feature statistics (``strength`` blends transformed and photo features) -> the trained
decoder, twice (the second pass starts from the first's result) -> the style's pixel colour
statistics (mean and covariance of RGB) -> back to the photo's size (bicubic, plus part of
the photo's fine detail that the working size lost).

A low-resolution preview is yielded first, so the editor shows the result at once.
Images are (1, 3, H, W) RGB float in [0, 1].
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from neuron_desktop.core.device import choose_device, run_with_fallback
from neuron_desktop.core.errors import NeuronError
from neuron_desktop.core.progress import CancelToken, Pipeline, Preview, Progress
from neuron_desktop.models.registry import load_as
from neuron_desktop.models.style_arbitrary import (
    ENCODER_STRIDE,
    ArbitraryStyleNet,
    StyleStats,
    adain,
    style_stats,
    wct,
)

ARBITRARY_WEIGHTS = "style_arbitrary"
TRANSFORMS = ("wct", "adain")
EDGE_PAD = 16  # px of reflection around the photo before encoding (clean borders)
MIN_SIDE = 16


@dataclass(frozen=True)
class ArbitrarySettings:
    """Knobs of the arbitrary method (chosen on training photos and 4 tuning paintings)."""

    size: int = 512  # working long side (never upscaled)
    style_size: int = 256  # long side at which the style's statistics are taken
    transform: str = "wct"
    pixel_colour: float = 1.0  # share of the style's RGB mean/covariance imposed at the end
    detail: float = 0.5  # share of the photo's fine detail restored above the working size
    passes: int = 2  # encode-transform-decode passes (each on the previous result)
    preview_size: int = 256


@functools.lru_cache(maxsize=2)
def arbitrary_network(device: str = "cpu") -> ArbitraryStyleNet:
    # channels-last: faster convolutions on a CPU (docs/style.md; inputs follow in transfer())
    net = load_as(ArbitraryStyleNet, ARBITRARY_WEIGHTS, device)
    return net.to(memory_format=torch.channels_last)


def _resize_long(x: Tensor, size: int, upscale: bool = False) -> Tensor:
    h, w = x.shape[-2:]
    if max(h, w) <= size and not upscale:
        return x
    s = size / max(h, w)
    hw = (max(1, round(h * s)), max(1, round(w * s)))
    if s < 1:
        return F.interpolate(x, size=hw, mode="area")
    return F.interpolate(x, size=hw, mode="bicubic", align_corners=False).clamp(0, 1)


def _pad(x: Tensor) -> tuple[Tensor, int]:
    """Reflect-pad by EDGE_PAD (replicate when too small), then up to a multiple of the
    encoder's stride; returns the padded image and the pad on the top/left."""
    h, w = x.shape[-2:]
    p = EDGE_PAD
    ph, pw = (-(h + 2 * p)) % ENCODER_STRIDE, (-(w + 2 * p)) % ENCODER_STRIDE
    pads = (p, p + pw, p, p + ph)
    mode = "reflect" if min(h, w) > p + max(ph, pw) else "replicate"
    return F.pad(x, pads, mode=mode), p


def style_statistics(net: ArbitraryStyleNet, style_image: Tensor, size: int) -> StyleStats:
    """The style's block-4 feature statistics at long side ``size``."""
    style = _resize_long(style_image, size)
    if min(style.shape[-2:]) < MIN_SIDE:
        style = _resize_long(style_image, size * MIN_SIDE // max(1, min(style.shape[-2:])),
                             upscale=True)
    with torch.inference_mode():
        return style_stats(net.encode(style))


def pixel_stats(rgb: Tensor) -> StyleStats:
    return style_stats(rgb)


def match_colours(x: Tensor, target: StyleStats, amount: float = 1.0) -> Tensor:
    """``x``'s RGB mean and covariance moved to ``target``'s (a 3x3 whitening/colouring)."""
    if amount <= 0:
        return x
    return wct(x, target, amount).clamp(0, 1)


@torch.inference_mode()
def transfer(net: ArbitraryStyleNet, photo: Tensor, stats: StyleStats, alpha: float = 1.0,
             transform: str = "wct") -> Tensor:
    """One pass at the photo's own size: encode, transform, decode."""
    h, w = photo.shape[-2:]
    padded, p = _pad(photo)
    f = net.encode(padded.contiguous(memory_format=torch.channels_last))
    f = (wct if transform == "wct" else adain)(f, stats, alpha)
    return net.decoder(f.contiguous(memory_format=torch.channels_last))[
        ..., p:p + h, p:p + w].contiguous()


def upsample_keep_detail(small: Tensor, photo: Tensor, detail: float) -> Tensor:
    """``small`` brought to ``photo``'s size (bicubic) plus ``detail`` x the photo's
    frequencies above ``small``'s resolution (what a bicubic copy of the photo loses)."""
    hw = photo.shape[-2:]
    up = F.interpolate(small, size=hw, mode="bicubic", align_corners=False)
    if detail > 0:
        low = F.interpolate(F.interpolate(photo, size=small.shape[-2:], mode="area"), size=hw,
                            mode="bicubic", align_corners=False)
        up = up + detail * (photo - low)
    return up.clamp(0, 1)


def arbitrary(image: Tensor, style_image: Tensor, *, size: int | None = None,
              strength: float = 1.0, keep_colors: Callable[[Tensor, Tensor], Tensor] | None = None,
              settings: ArbitrarySettings = ArbitrarySettings(), preview: bool = True,
              device: Any = None, cancel: CancelToken | None = None) -> Pipeline[Tensor]:
    """Stylise ``image`` like ``style_image`` at working long side ``size`` (default
    ``settings.size``); the result has the photo's size. ``strength`` (0..1) blends the
    transformed and the photo's features (0 returns the photo). ``keep_colors(photo,
    stylised)``, if given, finishes the preview and the result (``pipelines.stylize`` passes
    its preserve-colour step). Yields a Preview at ``settings.preview_size`` first when the
    working size is larger."""

    def finish(photo: Tensor, out: Tensor) -> Tensor:
        return out if keep_colors is None else keep_colors(photo, out).clamp(0, 1)

    if not 0.0 <= strength <= 1.0:
        raise NeuronError(f"strength must be in [0, 1], got {strength}")
    if settings.transform not in TRANSFORMS:
        raise NeuronError(f"unknown transform {settings.transform!r} "
                          f"(available: {', '.join(TRANSFORMS)})")
    dev = choose_device(device)
    photo = image.to(torch.float32)
    if strength == 0:
        yield Progress(1.0, "Style transfer done")
        return photo.clone()
    work_size = size or settings.size

    def job(d: torch.device, _tile: int | None) -> Pipeline[Tensor]:
        net = arbitrary_network(str(d))
        yield Progress(0.0, "Style transfer (arbitrary style)")
        style = style_image.to(d, torch.float32)
        stats = style_statistics(net, style, settings.style_size)
        colours = pixel_stats(_resize_long(style, settings.style_size))
        full = photo.to(d)

        def run_at(side: int, passes: int) -> Tensor:
            work = _resize_long(full, side)
            if min(work.shape[-2:]) < MIN_SIDE:
                raise NeuronError(f"the photo is {work.shape[-1]}×{work.shape[-2]} px at the "
                                  f"working size; the arbitrary method needs at least "
                                  f"{MIN_SIDE}×{MIN_SIDE}")
            out = work
            for _ in range(passes):
                out = transfer(net, out, stats, strength, settings.transform)
            return match_colours(out, colours, settings.pixel_colour * strength)

        if preview and max(full.shape[-2:]) > settings.preview_size < work_size:
            small = run_at(settings.preview_size, 1)  # one pass: the preview is for speed
            yield Preview(finish(full, upsample_keep_detail(small, _resize_long(
                full, 2 * settings.preview_size), 0.0)).cpu(), 0.3, "preview")
        if cancel is not None:
            cancel.check()
        yield Progress(0.4, "Style transfer (arbitrary style)")
        out = run_at(work_size, settings.passes)
        if cancel is not None:
            cancel.check()
        if out.shape[-2:] != full.shape[-2:]:
            out = upsample_keep_detail(out, full, settings.detail * strength)
        return finish(full, out)

    out = yield from run_with_fallback(job, device=dev, tile_sizes=(None,))
    yield Progress(1.0, "Style transfer done")
    return out
