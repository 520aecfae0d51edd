"""Neural style transfer pipelines.

- ``gatys``: Gatys et al. 2016: optimise the image, initialised from the photo, to match
  the loss network's content features (one mid layer) and Gram matrices (five layers,
  weighted equally), plus a small total-variation term. Works for any style image; yields
  a preview every few iterations; stops on cancel.
- ``arbitrary``: feed-forward, any style image, no training on it: whitening/colouring of
  frozen EfficientNet-Lite0 features and a decoder trained on photos only
  (``pipelines.stylize_arbitrary``); timings in docs/style.md.
- ``fast``: the feed-forward multi-style network (``models.style.FastStyleNet``) for the
  gallery styles (and styles added with ``neuron train style``); a weight per style
  blends them; runs at full resolution.

Both take ``strength`` (0..1: blend of the photo and the stylised result) and
``preserve_color`` (transfer on luminance only: the result keeps the photo's Lab a, b).
Images are (1, 3, H, W) RGB float in [0, 1].
"""

from __future__ import annotations

import copy
import functools
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from neuron_desktop.core.color import lab_to_rgb, rgb_to_gray, rgb_to_lab
from neuron_desktop.core.device import choose_device, run_with_fallback
from neuron_desktop.core.errors import NeuronError, WeightsError
from neuron_desktop.core.paths import user_data_dir
from neuron_desktop.core.progress import CancelToken, Pipeline, Preview, Progress
from neuron_desktop.models.registry import load_as
from neuron_desktop.models.style import (
    CONTENT_TAP,
    STYLE_TAPS,
    FastStyleNet,
    StyleFeatures,
    content_loss,
    gram,
    style_loss,
    tv_loss,
)

METHODS = ("gatys", "fast", "arbitrary")
DEFAULT_SIZE = 512
DEFAULT_ITERATIONS = 150  # half the evaluation's 300 (timings: docs/style.md)
FAST_WEIGHTS = "style_fast"
FAST_MAX_PIXELS = 12_600_000  # 12 MP photos run at full resolution
GATYS_MIN_SIDE = 16  # the loss network (3 poolings after a 16 px edge pad) needs this
FAST_MIN_SIDE = 16  # smaller inputs are edge-extended to this (reflect padding needs room)


def style_title(name: str) -> str:
    """'van_gogh_starry_night_1889' -> 'Van Gogh Starry Night 1889'."""
    return " ".join(w if w[:1].isdigit() or re.fullmatch(r"c\d+", w) else w.capitalize()
                    for w in name.replace("-", "_").split("_") if w)


def user_styles_dir() -> Path:
    """Where `neuron train style --style` puts added styles (loaded with the gallery)."""
    return user_data_dir() / "styles"


@dataclass(frozen=True)
class GatysSettings:
    """Loss balance and optimiser of the Gatys method (chosen on training photos)."""

    style_weight: float = 100.0
    content_weight: float = 1.0
    tv_weight: float = 1e-3
    lr: float = 0.01
    levels: int = 5
    preview_every: int = 10


# seconds per Gatys iteration at 512 px, per device type: the CPU figure from docs/style.md
# (Gatys row), then replaced by the speed of the last run in this process
_SECONDS_PER_ITERATION = {"cpu": 0.18, "cuda": 0.02}


def gatys_estimate(size: int | None, iterations: int, device: Any = None) -> float:
    """Expected seconds of a Gatys run (work grows with the working area)."""
    kind = choose_device(device).type
    per = _SECONDS_PER_ITERATION.get(kind, _SECONDS_PER_ITERATION["cpu"])
    return iterations * per * ((size or DEFAULT_SIZE) / DEFAULT_SIZE) ** 2


def plain_duration(seconds: float) -> str:
    """'about 40 s', 'about 2 min'."""
    if seconds < 60:
        return f"about {max(1, round(seconds))} s"
    return f"about {round(seconds / 60)} min"


@functools.lru_cache(maxsize=2)
def loss_network(device: str = "cpu") -> StyleFeatures:
    return StyleFeatures().to(device)


def resize_long(image: Tensor, size: int | None) -> Tensor:
    """Downscale (area) so the long side is at most ``size``; never upscales."""
    h, w = image.shape[-2:]
    if size is None or max(h, w) <= size:
        return image
    s = size / max(h, w)
    return F.interpolate(image, size=(max(1, round(h * s)), max(1, round(w * s))), mode="area")


def resize_to_long(image: Tensor, size: int) -> Tensor:
    """Resize (area down, bicubic up) so the long side is exactly ``size``."""
    h, w = image.shape[-2:]
    s = size / max(h, w)
    shape = (max(1, round(h * s)), max(1, round(w * s)))
    if s < 1:
        return F.interpolate(image, size=shape, mode="area")
    return F.interpolate(image, size=shape, mode="bicubic", align_corners=False).clamp(0, 1)


def keep_colors(photo: Tensor, stylised: Tensor) -> Tensor:
    """The stylised lightness, its mean and spread matched to the photo's (fewer colours
    pushed out of gamut), with the photo's Lab a, b (photo resized to match)."""
    if photo.shape[-2:] != stylised.shape[-2:]:
        photo = F.interpolate(photo, size=stylised.shape[-2:], mode="area")
    lab = rgb_to_lab(photo)
    lightness = _match_stats(rgb_to_lab(stylised)[:, :1], lab[:, :1])
    return lab_to_rgb(torch.cat([lightness.clamp(0, 100), lab[:, 1:]], 1))


def _match_stats(x: Tensor, ref: Tensor) -> Tensor:
    """``x`` shifted and scaled to ``ref``'s mean and standard deviation."""
    return (x - x.mean()) / (x.std() + 1e-6) * ref.std() + ref.mean()


def _luminance(rgb: Tensor, like: Tensor | None = None) -> Tensor:
    """Gray as 3 channels; with ``like``, mean/std matched to ``like``'s gray."""
    g = rgb_to_gray(rgb)
    if like is not None:
        g = _match_stats(g, rgb_to_gray(like))
    return g.clamp(0, 1).expand(-1, 3, -1, -1).contiguous()


def _finish(photo: Tensor, stylised: Tensor, strength: float, preserve_color: bool) -> Tensor:
    if photo.shape[-2:] != stylised.shape[-2:]:
        photo = F.interpolate(photo, size=stylised.shape[-2:], mode="area")
    out = keep_colors(photo, stylised) if preserve_color else stylised
    return (photo + strength * (out - photo)).clamp(0, 1)


def gatys(image: Tensor, style_image: Tensor, *, size: int | None = DEFAULT_SIZE,
          iterations: int = DEFAULT_ITERATIONS, strength: float = 1.0,
          preserve_color: bool = False, settings: GatysSettings = GatysSettings(),
          full_resolution: bool = False, device: Any = None,
          cancel: CancelToken | None = None) -> Pipeline[Tensor]:
    """Gatys optimisation at ``size`` (long side); returns the result at that size, or
    (``full_resolution``) upsampled to the photo's size and blended with the full photo.

    Yields Progress every iteration and a Preview every ``settings.preview_every``. On GPU
    out-of-memory the whole optimisation is restarted on the CPU."""
    dev = choose_device(device)
    work = resize_long(image, size or DEFAULT_SIZE)
    style_work = resize_to_long(style_image, max(work.shape[-2:]))
    for what, t in (("photo", work), ("style image", style_work)):
        if min(t.shape[-2:]) < GATYS_MIN_SIDE:
            raise NeuronError(
                f"the {what} is {t.shape[-1]}×{t.shape[-2]} px at the working size; the "
                f"Gatys method needs at least {GATYS_MIN_SIDE}×{GATYS_MIN_SIDE} (use a larger "
                "--size, or --method fast with a gallery style)")

    def job(d: torch.device, _tile: int | None) -> Pipeline[Tensor]:
        return _gatys_job(image, style_image, size=size, iterations=iterations,
                          strength=strength, preserve_color=preserve_color, settings=settings,
                          full_resolution=full_resolution, dev=d, cancel=cancel)

    return (yield from run_with_fallback(job, device=dev, tile_sizes=(None,)))


def _gatys_job(image: Tensor, style_image: Tensor, *, size: int | None, iterations: int,
               strength: float, preserve_color: bool, settings: GatysSettings,
               full_resolution: bool, dev: torch.device, cancel: CancelToken | None
               ) -> Pipeline[Tensor]:
    net = loss_network(str(dev))
    photo = resize_long(image.to(dev, torch.float32), size or DEFAULT_SIZE)
    style = resize_to_long(style_image.to(dev, torch.float32), max(photo.shape[-2:]))
    if preserve_color:  # transfer on luminance only (Gatys et al. 2017, "preserving color")
        content, style = _luminance(photo), _luminance(style, like=photo)
    else:
        content = photo
    with torch.no_grad():
        targets = [gram(f) for f in net(style)]
        content_target = net(_pad(content))[STYLE_TAPS.index(CONTENT_TAP)]
    levels = _pyramid_levels(content, settings.levels)
    opt = torch.optim.Adam(levels, lr=settings.lr)
    area = (max(photo.shape[-2:]) / DEFAULT_SIZE) ** 2
    estimate = gatys_estimate(max(photo.shape[-2:]), iterations, dev)
    yield Progress(0.0, f"Painting with Gatys: {plain_duration(estimate)}")
    start = time.perf_counter()
    for it in range(iterations):
        if cancel is not None:
            cancel.check()
        x = _compose(content, levels)
        feats = net(_pad(x))
        loss = (settings.style_weight * style_loss(feats, targets)
                + settings.content_weight * content_loss(
                    feats[STYLE_TAPS.index(CONTENT_TAP)], content_target)
                + settings.tv_weight * tv_loss(x))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        done = (it + 1) / iterations
        per = (time.perf_counter() - start) / (it + 1)
        if it >= 2 and area >= 0.25:  # the measured speed replaces the estimate
            _SECONDS_PER_ITERATION[dev.type] = per / area
        yield Progress(done, f"Painting: step {it + 1} of {iterations}, "
                             f"{plain_duration(per * (iterations - it - 1))} left")
        if (it + 1) % settings.preview_every == 0 and it + 1 < iterations:
            yield Preview(_finish(photo, x.detach(), strength, preserve_color).cpu(), done,
                          f"iteration {it + 1}")
    with torch.no_grad():
        x = _compose(content, levels)
    if full_resolution and x.shape[-2:] != image.shape[-2:]:
        x = F.interpolate(x, size=image.shape[-2:], mode="bicubic", align_corners=False)
        return _finish(image.to(dev, torch.float32), x.clamp(0, 1), strength, preserve_color)
    return _finish(photo, x, strength, preserve_color)


EDGE_PAD = 16  # px of reflection around the image: its border rows get full gradients


def _pad(x: Tensor) -> Tensor:
    """Reflect-pad before the loss network (its stride-2 'SAME' convolutions otherwise
    treat the first rows/columns differently, leaving a noisy band along the top)."""
    p = min(EDGE_PAD, x.shape[-2] - 1, x.shape[-1] - 1)
    return F.pad(x, (p, p, p, p), mode="reflect") if p > 0 else x


def _pyramid_levels(content: Tensor, n: int) -> list[Tensor]:
    """Zero offsets at full, 1/2, 1/4, ... size: the image is optimised as a Laplacian-like
    pyramid, which favours coarse changes over pixel noise (Mordvintsev et al. 2018)."""
    h, w = content.shape[-2:]
    return [torch.zeros(1, 3, max(1, h >> k), max(1, w >> k), device=content.device,
                        requires_grad=True) for k in range(n)]


def _compose(content: Tensor, levels: list[Tensor]) -> Tensor:
    size = content.shape[-2:]
    x = content + levels[0]
    for d in levels[1:]:
        x = x + F.interpolate(d, size=size, mode="bilinear", align_corners=False)
    return x.clamp(0, 1)


# ------------------------------------------------------------------------------ fast network

@dataclass
class StyleBank:
    """The fast network and the names of its style slots (gallery first, then user's)."""

    net: FastStyleNet
    names: list[str]

    def weights(self, style: str | dict[str, float]) -> Tensor:
        """(1, S) convex style weights from a name or {name: weight}."""
        wanted = {style: 1.0} if isinstance(style, str) else dict(style)
        unknown = [n for n in wanted if n not in self.names]
        if unknown:
            raise NeuronError(f"unknown style {unknown[0]!r} (available: "
                              f"{', '.join(self.names)})")
        for name, value in wanted.items():
            if not math.isfinite(value) or value < 0:
                raise NeuronError(f"style weight for {name!r} must be a finite number >= 0, "
                                  f"got {value}")
        total = sum(float(v) for v in wanted.values())
        if total <= 0:
            raise NeuronError("style weights must not all be zero")
        if not math.isfinite(total):
            raise NeuronError("style weights are too large (their sum is not finite)")
        w = torch.zeros(1, len(self.names))
        for name, value in wanted.items():
            w[0, self.names.index(name)] = value / total
        return w / w.sum()


def load_style_bank(weights: str = "default", user_dir: Path | None = None,
                    device: torch.device | str = "cpu") -> StyleBank:
    """The shipped fast network plus user styles (``<user_dir>/*.safetensors``): a copy of
    the cached network (``models.registry.load``) so user styles never touch the shared one."""
    from neuron_desktop.models.weights import get_entry, load_user_checkpoint

    name = FAST_WEIGHTS if weights == "default" else weights
    names = list(get_entry(name).recipe.get("style_names", []))
    net = copy.deepcopy(load_as(FastStyleNet, name, "cpu"))
    folder = user_styles_dir() if user_dir is None else user_dir
    for path in sorted(folder.glob("*.safetensors")) if folder.is_dir() else []:
        try:
            params = load_user_checkpoint(path)
            index = net.add_style()
            net.set_style_params(index, params)
        except Exception as exc:  # noqa: BLE001 - report which file is broken
            raise WeightsError(f"cannot load user style {path}: {exc}") from exc
        names.append(path.stem)
    net = net.eval().requires_grad_(False).to(device).to(memory_format=torch.channels_last)
    return StyleBank(net, names)  # channels-last: faster convolutions on CPU (docs/style.md)


@functools.lru_cache(maxsize=2)
def _cached_bank(device: str) -> StyleBank:
    return load_style_bank(device=device)


def gallery_styles() -> list[str]:
    """Names of the styles the fast network knows."""
    return list(_cached_bank("cpu").names)


def fast(image: Tensor, style: str | dict[str, float], *, size: int | None = None,
         strength: float = 1.0, preserve_color: bool = False, bank: StyleBank | None = None,
         device: Any = None, cancel: CancelToken | None = None) -> Pipeline[Tensor]:
    """Feed-forward stylisation, worked at full resolution (or long side ``size``); the
    result always has the photo's size.

    Photos over FAST_MAX_PIXELS are stylised at that many pixels and upsampled (the network's
    activations at 24 MP would need several GB); the strength blend and preserve-colour use
    the full-resolution photo. On GPU out-of-memory the job is retried on the CPU."""
    dev = choose_device(device)
    photo = image.to(torch.float32)  # the result comes back at the photo's own size
    h, w = photo.shape[-2:]
    work = resize_long(photo, size)
    s = min(1.0, (FAST_MAX_PIXELS / (work.shape[-2] * work.shape[-1])) ** 0.5)
    if s < 1:
        work = resize_long(work, int(max(work.shape[-2:]) * s))
    # Tiny photos (1x1, 2x3, --size 1): edge-extend to the network's smallest input (its
    # reflect padding needs room), crop back after.
    wh, ww = work.shape[-2:]
    if min(wh, ww) < FAST_MIN_SIDE:
        work = F.pad(work, (0, max(0, FAST_MIN_SIDE - ww), 0, max(0, FAST_MIN_SIDE - wh)),
                     mode="replicate")

    def job(d: torch.device, _tile: int | None) -> Pipeline[Tensor]:
        b = bank if bank is not None and d == dev else _cached_bank(str(d))
        weights = b.weights(style).to(d)
        yield Progress(0.0, "Style transfer (fast)")
        if cancel is not None:
            cancel.check()
        with torch.inference_mode():
            x = work.to(d).contiguous(memory_format=torch.channels_last)
            out = b.net.to(d)(x, weights).contiguous()
        return out[..., :wh, :ww]

    out = yield from run_with_fallback(job, device=dev, tile_sizes=(None,))
    if out.shape[-2:] != (h, w):
        out = F.interpolate(out, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)
    yield Progress(1.0, "Style transfer done")
    return _finish(photo.to(out.device), out, strength, preserve_color)


def stylize(image: Tensor, *, style: Any, method: str = "fast", size: int | None = None,
            iterations: int = DEFAULT_ITERATIONS, strength: float = 1.0,
            preserve_color: bool = False, full_resolution: bool = False,
            style_weight: float | None = None, device: Any = None,
            cancel: CancelToken | None = None) -> Pipeline[Tensor]:
    """Dispatch: ``gatys`` and ``arbitrary`` need a style image tensor (1, 3, h, w); ``fast``
    a gallery style name or {name: weight}. ``size``: working long side (gatys and
    arbitrary default 512; fast: full).
    ``full_resolution``: gatys results come back at the photo's size. ``style_weight``: the
    Gatys content/style balance (default ``GatysSettings.style_weight``; content weight 1)."""
    if method not in METHODS:
        raise NeuronError(f"unknown style method {method!r} (available: {', '.join(METHODS)})")
    if image.dim() != 4 or image.shape[:2] != (1, 3):
        raise NeuronError(f"expected an RGB image (1, 3, H, W), got {tuple(image.shape)}")
    if not 0.0 <= strength <= 1.0:
        raise NeuronError(f"strength must be in [0, 1], got {strength}")
    if method == "arbitrary":
        from neuron_desktop.pipelines.stylize_arbitrary import arbitrary

        if not isinstance(style, Tensor):
            raise NeuronError("the arbitrary method needs a style image")
        return arbitrary(image, style, size=size, strength=strength,
                         keep_colors=keep_colors if preserve_color else None, device=device,
                         cancel=cancel)
    if method == "gatys":
        if not isinstance(style, Tensor):
            raise NeuronError("the Gatys method needs a style image")
        if iterations < 1:
            raise NeuronError(f"iterations must be >= 1, got {iterations}")
        if style_weight is not None and not style_weight > 0:
            raise NeuronError(f"style weight must be positive, got {style_weight}")
        settings = (GatysSettings() if style_weight is None
                    else GatysSettings(style_weight=style_weight))
        return gatys(image, style, size=size or DEFAULT_SIZE, iterations=iterations,
                     strength=strength, preserve_color=preserve_color, settings=settings,
                     full_resolution=full_resolution, device=device, cancel=cancel)
    if isinstance(style, Tensor):
        raise NeuronError("the fast method takes a gallery style name; use gatys for images")
    return fast(image, style, size=size, strength=strength, preserve_color=preserve_color,
                device=device, cancel=cancel)
