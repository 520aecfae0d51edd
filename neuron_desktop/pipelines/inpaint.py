"""Inpainting pipeline: fill masked pixels, leaving every other pixel bit-for-bit unchanged.

Methods live in ``INPAINT_METHODS``; each is ``method(image, mask, *, radius, device, cancel)``
returning a pipeline whose result is a full-image prediction (1, 3, H, W) RGB [0, 1].
:func:`inpaint` validates the mask and composites the prediction into the original.

- ``telea``, ``ns``: OpenCV's classical fills (fast, smooth; best for thin scratches).
- ``harmonic``: the membrane interpolant of the hole's border (``core.fill``): smooth, and
  the best classical fill for PSNR on wide holes; the network's pre-fill.
- ``exemplar``: multi-scale PatchMatch completion (``pipelines.exemplar``) that copies real
  texture, run per masked region by :func:`regionwise` (context crop, capped working size).
- ``network``: the coarse-to-fine network with contextual attention (``models.inpainting``),
  run per region at full resolution (windows over ``NET_MAX_SIDE`` downscaled, upsampled and
  seam-bridged); yields the coarse result as a preview, then the refined one.
  ``network-fast``: the same with the narrower, earlier weights (faster on a CPU);
  ``network-best``: the ``network`` weights on four mirror views, fills averaged (4x slower).
- ``auto``: the harmonic fill for thin regions (the best classical fill on synthetic
  scratches of the validation split: docs/inpainting.md), a network for the others
  (:func:`auto_network`: ``network`` on a GPU, ``network-fast`` on a CPU; exemplar when no
  weights are installed).

:func:`detect_scratches` (re-exported from ``pipelines.scratches``) proposes a mask.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from neuron_desktop.core.device import choose_device, run_with_fallback
from neuron_desktop.core.errors import MaskError, NeuronError
from neuron_desktop.core.fill import harmonic_fill
from neuron_desktop.core.masks import mask_box
from neuron_desktop.core.progress import (
    CancelToken,
    Pipeline,
    Preview,
    Progress,
    map_events,
    wrap_progress,
)
from neuron_desktop.models.registry import load
from neuron_desktop.models.weights import installed
from neuron_desktop.pipelines.exemplar import exemplar_fill
from neuron_desktop.pipelines.scratches import detect_scratches

__all__ = ["INPAINT_METHODS", "composite", "detect_scratches", "inpaint", "regionwise",
           "validate_mask"]

CLASSICAL_METHODS = ("telea", "ns")
InpaintMethod = Callable[..., Pipeline[Tensor]]


def validate_mask(image: Tensor, mask: Tensor) -> Tensor:
    """Check ``mask`` against ``image`` (1, 3, H, W); return a binary {0, 1} float32 mask
    (1, 1, H, W) on the image's device (threshold 0.5). Accepts (H, W), (1, H, W) or
    (1, 1, H, W), float or bool."""
    h, w = image.shape[-2:]
    m = mask.detach()
    while m.dim() < 4:
        m = m.unsqueeze(0)
    if m.dim() != 4 or m.shape[0] != 1 or m.shape[1] != 1:
        raise MaskError(f"mask must be (H, W) or (1, 1, H, W), got shape {tuple(mask.shape)}")
    mh, mw = m.shape[-2:]
    if (mh, mw) != (h, w):
        raise MaskError(f"mask size {mw}x{mh} does not match image size {w}x{h}")
    binary = (m.to(device=image.device, dtype=torch.float32) > 0.5).float()
    if not bool(binary.any()):
        raise MaskError("mask is empty")
    return binary


def composite(image: Tensor, prediction: Tensor, mask: Tensor, binary: bool = False) -> Tensor:
    """``mask * prediction + (1 - mask) * image``; pixels with mask == 0 are copied bit-exactly
    from ``image``. image/prediction (B, C, H, W), mask (B or 1, 1, H, W) in [0, 1].
    ``binary``: the caller knows the mask is {0, 1}, where the formula is a plain selection
    (the same values, one pass over a big photo instead of five)."""
    prediction = prediction.to(device=image.device, dtype=image.dtype)
    mask = mask.to(device=image.device, dtype=image.dtype)
    if binary:
        return torch.where(mask > 0, prediction, image)
    blended = mask * prediction + (1 - mask) * image
    return torch.where(mask == 0, image, blended)


def _cv2_inpaint(flag: int) -> InpaintMethod:
    def method(
        image: Tensor,
        mask: Tensor,
        *,
        radius: int = 3,
        device: Any = None,
        cancel: CancelToken | None = None,
    ) -> Pipeline[Tensor]:
        # Per channel in float32 (no 8-bit quantisation of the fill), on the 0..255 scale:
        # OpenCV's float Telea misbehaves on [0, 1] values and matches 8-bit at this scale.
        rgb = image[0].detach().to("cpu", torch.float32).numpy() * 255.0
        hole = (mask[0, 0].detach().to("cpu").numpy() > 0.5).astype(np.uint8) * 255
        channels = []
        for i, channel in enumerate(rgb):
            if cancel is not None:
                cancel.check()
            channels.append(cv2.inpaint(np.ascontiguousarray(channel), hole, radius, flag))
            yield Progress((i + 1) / len(rgb), "Inpainting")
        filled = (torch.from_numpy(np.stack(channels))[None] / 255.0).clamp_(0.0, 1.0)
        return filled.to(image.device)

    return method


_telea = _cv2_inpaint(cv2.INPAINT_TELEA)


# ------------------------------------------------------------------- high-resolution path

GROUP_SIDE = 2048  # regions are grouped on a copy of the mask at most this big
CONTEXT = 3.0  # a region's window is this many times its box per side


def _mask_groups(hole: np.ndarray, gap: int, factor: int | None = None
                 ) -> tuple[np.ndarray, int, list[tuple]]:
    """Group masked pixels that lie within ``gap`` px of each other.

    hole: (H, W) bool. Works on a copy max-pooled by ``factor`` (default: to a long side
    <= GROUP_SIDE) to stay light on big photos. Returns (labels of the small copy (h, w)
    int32, its factor f, [(label, (y0, y1, x0, x1) full-resolution box of that group's
    cells), ...]).
    """
    h, w = hole.shape
    f = factor or max(1, -(-max(h, w) // GROUP_SIDE))
    small = hole
    if f > 1:
        pad = ((0, -h % f), (0, -w % f))
        cells = np.pad(hole, pad).reshape(-(-h // f), f, -(-w // f), f)
        small = np.logical_or.reduce(cells, axis=(1, 3))
    small = small.astype(np.uint8)
    g = max(1, gap // f)
    near = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_RECT, (2 * g + 1, 2 * g + 1)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(near, connectivity=8)
    labels[small == 0] = 0  # keep only the real hole cells of each group
    groups = []
    for i in range(1, count):
        x, y, bw, bh = stats[i, :4]
        box = (y * f, min(h, (y + bh) * f), x * f, min(w, (x + bw) * f))
        groups.append((i, box))
    return labels, f, groups


def _window(box: tuple, shape: tuple[int, int], context: float, min_side: int) -> tuple:
    """A crop (y0, y1, x0, x1) about ``context`` times the box per side (at least
    ``min_side``), centred on it and shifted/clipped to stay inside ``shape`` = (H, W)."""
    out = []
    for lo, hi, size in ((box[0], box[1], shape[0]), (box[2], box[3], shape[1])):
        side = min(size, max(round((hi - lo) * context), min_side, hi - lo))
        start = min(max(0, (lo + hi - side) // 2), size - side)
        out += [start, start + side]
    return tuple(out)


def _merge_nested(groups: list[tuple], shape: tuple[int, int], context: float,
                  min_side: int) -> list[tuple]:
    """[(labels, box), ...]: each group whose box lies inside a bigger group's window joins
    that group when their joint window is at most 1.25 times as long (one window instead of
    two largely overlapping ones)."""
    def side(box: tuple) -> int:
        y0, y1, x0, x1 = _window(box, shape, context, min_side)
        return max(y1 - y0, x1 - x0)

    merged: list[list] = []
    for label, box in sorted(groups, key=lambda g: -(g[1][1] - g[1][0]) * (g[1][3] - g[1][2])):
        for m in merged:
            y0, y1, x0, x1 = _window(m[1], shape, context, min_side)
            union = (min(m[1][0], box[0]), max(m[1][1], box[1]),
                     min(m[1][2], box[2]), max(m[1][3], box[3]))
            if (y0 <= box[0] and box[1] <= y1 and x0 <= box[2] and box[3] <= x1
                    and side(union) <= 1.25 * max(y1 - y0, x1 - x0)):
                m[0].append(label)
                m[1] = union
                break
        else:
            merged.append([[label], box])
    return [(labels, box) for labels, box in merged]


def _bridge_seam(crop: Tensor, fill: Tensor, hole: np.ndarray, width: float) -> Tensor:
    """Replace the outer ``width`` px of the hole by a Telea fill running from the photo
    into ``fill``, hiding the seam of a fill made at a lower resolution. crop/fill
    (1, 3, h, w), hole (h, w) bool; returns (1, 3, h, w). (One 8-bit colour Telea call:
    the ring only blends two smooth fills, where 1/255 steps are invisible.) Only the hole's
    pixels are written: the box around a big photo's merged regions is mostly photo."""
    dist = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3)
    ring = hole & (dist <= width)
    inner, rim = np.nonzero(hole & ~ring), np.nonzero(ring)  # (ys, xs) each

    def to8(a: np.ndarray) -> np.ndarray:
        return (a * 255 + 0.5).clip(0, 255).astype(np.uint8)

    def at(yx: tuple[np.ndarray, ...]) -> tuple[Tensor, ...]:
        return tuple(torch.from_numpy(i).to(crop.device) for i in yx)

    inner_t: tuple[slice | Tensor, ...] = (slice(None), *at(inner))
    inner_fill = fill[0][inner_t]
    rgb8 = to8(crop[0].permute(1, 2, 0).float().cpu().numpy())
    rgb8[inner] = to8(inner_fill.T.float().cpu().numpy())
    bridged = cv2.inpaint(rgb8, ring.astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA)
    out = crop.clone()
    out[0][inner_t] = inner_fill.to(out.dtype)
    ring_rgb = torch.from_numpy(bridged[rim].T.astype(np.float32))
    rim_t: tuple[slice | Tensor, ...] = (slice(None), *at(rim))
    out[0][rim_t] = ring_rgb.to(out.device, out.dtype) / 255
    return out


def regionwise(
    core: InpaintMethod,
    *,
    work_size: int | None = 1024,
    context: float = CONTEXT,
    min_window: int = 256,
    gap: int = 16,
    whole_side: int | None = None,
    scale_for: Callable[[np.ndarray], float] | None = None,
    merge_context: float = CONTEXT,
) -> InpaintMethod:
    """Wrap a whole-image method so that it runs per masked region on a context crop.

    Masked pixels closer than ``gap`` px (or 1 % of the long side, whichever is larger)
    form one region. Each region is filled from a window ``context`` times its bounding
    box (at least ``min_window`` px, clipped to the photo); a window with a long side over
    ``work_size`` is processed downscaled (None: never; ``scale_for(window hole)`` instead
    chooses the scale), its fill upsampled and its seam bridged by a Telea ring. Regions
    are done one after the other, each seeing the earlier ones filled, so memory follows
    the window, not the photo. The result is the input with
    the regions filled; callers composite it (pixels outside the mask are untouched).
    A photo whose long side is at most ``whole_side`` (default ``work_size``, else 2048) is
    done in one window. ``merge_context`` sets the windows that decide which regions share
    one (:func:`_merge_nested`).
    """
    whole = whole_side or work_size or 2048
    if scale_for is None:
        def scale_for(hole: np.ndarray) -> float:
            return 1.0 if work_size is None else min(1.0, work_size / max(hole.shape))

    def method(
        image: Tensor,
        mask: Tensor,
        *,
        radius: int = 3,
        device: Any = None,
        cancel: CancelToken | None = None,
    ) -> Pipeline[Tensor]:
        hole = mask[0, 0].detach().to("cpu").numpy() > 0.5
        h, w = hole.shape
        if max(h, w) <= whole:
            labels, f, windows = hole.astype(np.int32), 1, [([1], (0, h, 0, w))]
        else:
            labels, f, groups = _mask_groups(hole, max(gap, max(h, w) // 100))
            groups = _merge_nested(groups, (h, w), merge_context, min_window)
            windows = [(g, _window(box, (h, w), context, min_window)) for g, box in groups]
        out = image.detach().clone()
        previews = _PreviewView(out)
        remaining = hole.copy()
        for i, (label, (y0, y1, x0, x1)) in enumerate(windows):
            if cancel is not None:
                cancel.check()
            cells = np.isin(labels[y0 // f:-(-y1 // f), x0 // f:-(-x1 // f)], label)
            mine = np.repeat(np.repeat(cells, f, 0), f, 1)
            mine = mine[y0 - y0 // f * f:, x0 - x0 // f * f:][:y1 - y0, :x1 - x0]
            mine &= remaining[y0:y1, x0:x1]
            if not mine.any():
                continue
            crop = out[..., y0:y1, x0:x1]
            todo = remaining[y0:y1, x0:x1]
            box = (y0, y1, x0, x1)
            fill, (oy, ox) = yield from wrap_progress(map_events(
                _fill_window(core, crop, todo, scale_for(todo), radius, device, cancel),
                functools.partial(previews.paste, box=box, mine=mine)),
                i / len(windows), (i + 1) / len(windows))
            ys, xs = np.flatnonzero(mine.any(1)), np.flatnonzero(mine.any(0))
            b = (..., slice(ys[0], ys[-1] + 1), slice(xs[0], xs[-1] + 1))
            fb = fill[..., ys[0] - oy:ys[-1] + 1 - oy, xs[0] - ox:xs[-1] + 1 - ox]
            mine_t = torch.from_numpy(mine[b[1:]]).to(out.device)
            crop[b] = torch.where(mine_t, fb.to(out.device, out.dtype), crop[b])
            remaining[y0:y1, x0:x1] &= ~mine
            previews.refresh((y0 + ys[0], y0 + ys[-1] + 1, x0 + xs[0], x0 + xs[-1] + 1))
        return out

    method.core = core  # type: ignore[attr-defined]  # for tests and benchmarks
    return method


PREVIEW_SIDE = 1536  # previews of big photos are downscaled to this long side


class _PreviewView:
    """Whole-photo previews of a region-wise fill: ``out`` (which the fill updates window by
    window) kept at most PREVIEW_SIDE long, so a preview costs one small paste."""

    def __init__(self, out: Tensor) -> None:
        self.out, (h, w) = out, out.shape[-2:]
        self.s = min(1.0, PREVIEW_SIDE / max(h, w))
        self.view: Tensor | None = None

    def _box(self, box: tuple) -> tuple[int, int, int, int]:
        y0, y1, x0, x1 = (round(v * self.s) for v in box)
        return y0, y1, x0, x1

    def refresh(self, box: tuple) -> None:
        """``out`` changed inside ``box``."""
        y0, y1, x0, x1 = self._box(box)
        if self.view is not None and self.s < 1.0 and y1 > y0 and x1 > x0:
            self.view[..., y0:y1, x0:x1] = resize_area(
                self.out[..., box[0]:box[1], box[2]:box[3]], (y1 - y0, x1 - x0))

    def paste(self, event, box: tuple, mine: np.ndarray):
        """A Preview of one window (any size) -> a Preview of the whole photo."""
        if not isinstance(event, Preview):
            return event
        if self.s == 1.0:
            self.view = self.out
        elif self.view is None:
            h, w = self.out.shape[-2:]
            self.view = resize_area(self.out, (max(1, round(h * self.s)),
                                               max(1, round(w * self.s))))
        view = self.view.clone()
        y0, y1, x0, x1 = self._box(box)
        if y1 > y0 and x1 > x0:
            size = (y1 - y0, x1 - x0)
            image = event.image.to(view.device, view.dtype)
            if image.shape[-2:] != size:
                image = F.interpolate(image, size=size, mode="bilinear", align_corners=False)
            hole = torch.from_numpy(mine.astype(np.float32))[None, None]
            if hole.shape[-2:] != size:
                hole = resize_area(hole, size)
            region = view[..., y0:y1, x0:x1]
            view[..., y0:y1, x0:x1] = torch.where(hole.to(view.device) > 0.5, image, region)
        return Preview(view.cpu(), event.fraction, event.message)


def _fill_window(core: InpaintMethod, crop: Tensor, hole: np.ndarray, scale: float,
                 radius: int, device: Any, cancel: CancelToken | None
                 ) -> Pipeline[tuple[Tensor, tuple[int, int]]]:
    """Run ``core`` on one crop (1, 3, h, w) with hole (h, w), downscaled by ``scale``; the
    fill is upsampled and seam-bridged over the hole's box only (a window is mostly
    context). Returns (fill of a box around the hole, the box's (y0, x0) in the crop)."""
    h, w = hole.shape
    hole_t = torch.from_numpy(hole.astype(np.float32))[None, None].to(crop.device)
    if scale >= 1.0:
        fill = yield from core(crop, hole_t, radius=radius, device=device, cancel=cancel)
        return fill, (0, 0)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    small, small_hole = resize_area(crop, size), (resize_area(hole_t, size) > 0).float()
    fill = yield from core(small, small_hole, radius=radius, device=device, cancel=cancel)
    ys, xs = np.flatnonzero(hole.any(1)), np.flatnonzero(hole.any(0))
    y0, y1 = max(0, ys[0] - 4), min(h, ys[-1] + 5)
    x0, x1 = max(0, xs[0] - 4), min(w, xs[-1] + 5)
    part = upsample_box(fill.to(crop.device, crop.dtype), (h, w), (y0, y1, x0, x1))
    return _bridge_seam(crop[..., y0:y1, x0:x1], part, hole[y0:y1, x0:x1],
                        width=1.0 / scale), (y0, x0)


# --------------------------------------------------------------------------------- methods

THIN_RADIUS = 4  # px: holes no wider than about twice this are "thin" (harmonic in auto)


def _exemplar_core(image: Tensor, mask: Tensor, *, radius: int = 3, device: Any = None,
                   cancel: CancelToken | None = None) -> Pipeline[Tensor]:
    return exemplar_fill(image, mask, device=device, cancel=cancel)


def _harmonic_core(image: Tensor, mask: Tensor, *, radius: int = 3, device: Any = None,
                   cancel: CancelToken | None = None) -> Pipeline[Tensor]:
    if cancel is not None:
        cancel.check()
    yield Progress(0.0, "Harmonic fill")
    return harmonic_fill(image.float(), mask.float()).to(image.dtype)


def thin_regions(hole: np.ndarray) -> np.ndarray:
    """(H, W) bool: the masked components no wider than ~2 * THIN_RADIUS px (scaled up on
    photos over 2000 px), i.e. those an erosion by that radius removes completely."""
    r = max(THIN_RADIUS, round(0.002 * max(hole.shape)))
    thin = np.zeros(hole.shape, bool)
    # only the hole's box (+ the erosion radius) is worked on: a local hole on a 24 MP scan
    # then costs no full-size numpy pass holding the GIL (the GUI would stall)
    box = mask_box(hole, pad=r + 1)
    if box is None:
        return thin
    x0, y0, x1, y1 = box
    m = hole[y0:y1, x0:x1].astype(np.uint8)
    _, labels = cv2.connectedComponents(m, connectivity=8)
    core = cv2.erode(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    thick = np.unique(labels[core > 0])
    thin[y0:y1, x0:x1] = (m > 0) & ~np.isin(labels, thick)
    return thin


NET_WEIGHTS = "inpainter"  # "network": the best fill (width 24, trained on a GPU)
NET_FAST_WEIGHTS = "inpainter_fast"  # "network-fast": width 16, faster on a CPU
# "network-best": the "network" weights on 4 mirror views, fills averaged (4x the time)
NETWORK_WEIGHTS = {"network": NET_WEIGHTS, "network-fast": NET_FAST_WEIGHTS,
                   "network-best": NET_WEIGHTS}
NETWORK_VIEWS = {"network-best": 4}
SINGLE_PASS = tuple(m for m in NETWORK_WEIGHTS if m not in NETWORK_VIEWS)  # what auto picks
NET_MAX_SIDE = 640  # network working size cap (contextual attention is quadratic)
NET_BIG_WINDOW_SIDE = 320  # working size of windows over twice the cap (big photos)
# network windows: twice the region's box per side (3x context scored no better at the same
# scale; at a fixed working size, 2x gives a finer fill: docs/inpainting.md)
NET_CONTEXT = 2.0


def load_inpainter(device: str = "cpu", weights: str = NET_WEIGHTS):
    """The shipped inpainting network (sha256-checked), cached per device; channels-last on
    a CPU (oneDNN's faster layout, the same output to rounding: docs/inpainting.md)."""
    net = load(weights, device)
    if torch.device(device).type == "cpu":
        net.to(memory_format=torch.channels_last)  # in place; a no-op once converted
    return net


def network_available(method: str = "network") -> bool:
    """Are the weights of ``method`` ("network" or "network-fast") installed?"""
    return installed(NETWORK_WEIGHTS[method])


def network_scale(hole: np.ndarray) -> float:
    """Working scale of a window (H, W): full resolution up to NET_MAX_SIDE (chosen on the
    validation split over downscaling wide holes to training widths: docs/inpainting.md);
    a window over twice that (a region of a big photo) is filled at NET_BIG_WINDOW_SIDE, a
    fill that is upsampled a lot either way, so that each region's cost stays bounded."""
    side = max(hole.shape)
    return min(1.0, (NET_MAX_SIDE if side <= 2 * NET_MAX_SIDE else NET_BIG_WINDOW_SIDE) / side)


MIRRORS = ((), (-1,), (-2,), (-2, -1))  # the views of a mirror ensemble, in order


def mirror(x: Tensor, dims: tuple[int, ...]) -> Tensor:
    """``x`` flipped along ``dims`` (one of MIRRORS; () is ``x`` itself)."""
    return x.flip(dims) if dims else x


def _network_core(image: Tensor, mask: Tensor, *, radius: int = 3, device: Any = None,
                  cancel: CancelToken | None = None, weights: str = NET_WEIGHTS,
                  views: int = 1) -> Pipeline[Tensor]:
    """The network on ``views`` mirror images of the window (1: as it is; 4: also flipped
    left-right, upside down and both), each fill mirrored back, the fills averaged."""
    def job(dev: torch.device, _tile: int | None) -> Pipeline[Tensor]:
        yield Progress(0.0, "Loading the inpainting network")
        net = load_inpainter(str(dev), weights)
        rgb, m = image.to(dev, torch.float32), mask.to(dev, torch.float32)
        h, w = image.shape[-2:]
        total: Tensor | None = None
        for k, dims in enumerate(MIRRORS[:views]):
            step = f" (view {k + 1} of {views})" if views > 1 else ""
            yield Progress((k + 0.1) / views, f"Inpainting: coarse pass{step}")
            with torch.inference_mode():
                state = net.coarse_pass(mirror(rgb, dims), mirror(m, dims))
            if k == 0:
                yield Preview(composite(rgb, state[2][..., :h, :w], m, binary=True).cpu(),
                              0.5 / views, "Coarse fill")
            if cancel is not None:
                cancel.check()
            yield Progress((k + 0.55) / views,
                           f"Inpainting: refinement with contextual attention{step}")
            with torch.inference_mode():
                fill = mirror(net.refine_pass(state)[..., :h, :w], dims)
                total = fill if total is None else total.add_(fill)
            if cancel is not None:
                cancel.check()
        assert total is not None  # views >= 1
        return (total / views).to(image.device)

    return (yield from run_with_fallback(job, device=choose_device(device), tile_sizes=(None,)))


def resize_area(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Area-average downscale of (1, C, H, W) to ``size`` (OpenCV on CPU: several times
    faster than torch's adaptive pooling at non-integer factors)."""
    if x.device.type != "cpu" or x.shape[0] != 1:
        return F.interpolate(x, size=size, mode="area")
    planes = [cv2.resize(np.ascontiguousarray(p.numpy(), dtype=np.float32), (size[1], size[0]),
                         interpolation=cv2.INTER_AREA) for p in x[0]]
    return torch.from_numpy(np.stack(planes))[None].to(x.dtype)


def upsample_box(x: Tensor, size: tuple[int, int], box: tuple[int, int, int, int]) -> Tensor:
    """The (y0:y1, x0:x1) part of ``x`` (1, C, h, w) bilinearly upsampled to ``size`` (same
    values as F.interpolate(..., align_corners=False) there), clamped to [0, 1]."""
    (hh, ww), (y0, y1, x0, x1) = size, box
    gy = (torch.arange(y0, y1, device=x.device, dtype=torch.float32) + 0.5) * 2 / hh - 1
    gx = (torch.arange(x0, x1, device=x.device, dtype=torch.float32) + 0.5) * 2 / ww - 1
    grid = torch.stack(torch.meshgrid(gx, gy, indexing="xy"), -1)[None].to(x.dtype)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out.clamp(0, 1)


def auto_network(device: Any = None) -> str:
    """The method ``auto`` uses for wide holes: the network on a GPU, the fast network on a
    CPU (the full one is slower there for little gain: docs/inpainting.md), whichever is
    installed, else exemplar."""
    order = SINGLE_PASS
    if choose_device(device).type == "cpu":
        order = order[::-1]
    return next((m for m in order if network_available(m)), "exemplar")


def _auto(image: Tensor, mask: Tensor, *, radius: int = 3, device: Any = None,
          cancel: CancelToken | None = None) -> Pipeline[Tensor]:
    """The harmonic fill on the thin regions, then the network (or exemplar) on the others,
    seeing the thin ones filled."""
    hole = mask[0, 0].detach().to("cpu").numpy() > 0.5
    thin = thin_regions(hole)
    thick = hole & ~thin
    base = image
    share = 1.0 if not thick.any() else 0.1 if thin.any() else 0.0
    if thin.any():
        thin_t = torch.from_numpy(thin.astype(np.float32))[None, None].to(image.device)
        smooth = INPAINT_METHODS["harmonic"](image, thin_t, radius=radius, device=device,
                                             cancel=cancel)
        base = yield from wrap_progress(smooth, 0.0, share)
    if not thick.any():
        return base
    thick_t = torch.from_numpy(thick.astype(np.float32))[None, None].to(image.device)
    big = auto_network(device)
    job = INPAINT_METHODS[big](base, thick_t, radius=radius, device=device, cancel=cancel)
    return (yield from wrap_progress(job, share, 1.0))


INPAINT_METHODS: dict[str, InpaintMethod] = {
    "telea": regionwise(_telea, work_size=None),
    "ns": regionwise(_cv2_inpaint(cv2.INPAINT_NS), work_size=None),
    "harmonic": regionwise(_harmonic_core, work_size=None),
    "exemplar": regionwise(_exemplar_core),
    **{method: regionwise(functools.partial(_network_core, weights=weights,
                                            views=NETWORK_VIEWS.get(method, 1)),
                          whole_side=NET_MAX_SIDE, scale_for=network_scale,
                          context=NET_CONTEXT)
       for method, weights in NETWORK_WEIGHTS.items()},
    "auto": _auto,
}


def inpaint(
    image: Tensor,
    mask: Tensor,
    *,
    method: str = "telea",
    radius: int = 3,
    device: torch.device | str | None = None,
    cancel: CancelToken | None = None,
    grain: str = "auto",
) -> Pipeline[Tensor]:
    """Pipeline: fill ``mask`` (1, 1, H, W), 1 = fill, in ``image`` (1, 3, H, W) RGB [0, 1].

    ``grain``: "auto" re-adds film grain matching the hole's surroundings when the photo has
    grain (:mod:`neuron_desktop.core.grain`), "on" always, "off" never.

    Returns (1, 3, H, W) on the image's device; outside the mask it equals ``image`` bit for
    bit. Arguments are checked on call (NeuronError/MaskError), before the pipeline runs.
    """
    if method not in INPAINT_METHODS:
        raise NeuronError(
            f"unknown inpainting method {method!r} (available: {', '.join(INPAINT_METHODS)})"
        )
    if image.dim() != 4 or image.shape[:2] != (1, 3):
        raise NeuronError(f"expected an RGB image (1, 3, H, W), got {tuple(image.shape)}")
    if grain not in GRAIN_MODES:
        raise NeuronError(f"grain must be one of {', '.join(GRAIN_MODES)}, got {grain!r}")
    mask = validate_mask(image, mask)
    return _run_inpaint(image, mask, method, radius, device, cancel, grain)


GRAIN_MODES = ("auto", "on", "off")


GRAIN_GROUP_GAP = 32  # px: holes closer than this get their grain on one box
GRAIN_BOX_PAD = 24  # px of known pixels around a hole's box (its ring is 3-19 px wide)


def grain_groups(hole: np.ndarray) -> list[tuple[slice, slice, np.ndarray]]:
    """The hole's pieces grouped by proximity, as (rows, cols, the group's pixels in that
    box): grain is added to each group on its own box, so scattered scratches on a big scan
    cost their boxes, not the whole photo (a group's ring, 3-19 px, stays clear of the
    others)."""
    h, w = hole.shape
    labels, f, boxes = _mask_groups(hole, GRAIN_GROUP_GAP, factor=8)
    groups = []
    pad = GRAIN_BOX_PAD
    for k, (y0, y1, x0, x1) in boxes:
        y0, y1, x0, x1 = max(0, y0 - pad), min(h, y1 + pad), max(0, x0 - pad), min(w, x1 + pad)
        cells = labels[np.arange(y0, y1)[:, None] // f, np.arange(x0, x1)[None, :] // f]
        own = hole[y0:y1, x0:x1] & (cells == k)
        if own.any():
            groups.append((slice(y0, y1), slice(x0, x1), own))
    return groups


def match_grain(image: Tensor, prediction: Tensor, mask: Tensor, mode: str = "auto",
                seed: int = 0) -> Tensor:
    """``prediction`` with grain matching the ring around the hole added inside ``mask``.
    The grain is measured once, on the ring around the whole hole; it is added group by
    group (:func:`grain_groups`), each on its own box."""
    from neuron_desktop.core.grain import add_matched_grain, estimate

    if mode == "off":
        return prediction
    hole = mask[0, 0].bool().cpu().numpy()
    if not hole.any():
        return prediction
    ys, xs = np.nonzero(hole)
    pad = GRAIN_BOX_PAD
    rows = slice(max(0, ys.min() - pad), min(hole.shape[0], ys.max() + pad + 1))
    cols = slice(max(0, xs.min() - pad), min(hole.shape[1], xs.max() + pad + 1))
    model = estimate(image[0, :, rows, cols].permute(1, 2, 0).float().cpu().numpy(),
                     hole[rows, cols])
    if model is None or (mode == "auto" and not model.grainy):
        return prediction
    out = prediction.clone()
    for i, (rows, cols, h) in enumerate(grain_groups(hole)):
        img = image[0, :, rows, cols].permute(1, 2, 0).float().cpu().numpy()
        fill = prediction[0, :, rows, cols].permute(1, 2, 0).float().cpu().numpy()
        grained = torch.from_numpy(add_matched_grain(img, fill, h, seed + i, model))
        box = out[0, :, rows, cols]
        keep = torch.from_numpy(h)
        box[:, keep] = grained.permute(2, 0, 1)[:, keep].to(box)
    return out


def _run_inpaint(
    image: Tensor,
    mask: Tensor,
    method: str,
    radius: int,
    device: torch.device | str | None,
    cancel: CancelToken | None,
    grain: str = "auto",
) -> Pipeline[Tensor]:
    yield Progress(0.0, f"Inpainting ({method})")
    if cancel is not None:
        cancel.check()
    job = INPAINT_METHODS[method](image, mask, radius=radius, device=device, cancel=cancel)
    prediction = yield from wrap_progress(job, 0.0, 0.97)
    if grain != "off":
        yield Progress(0.97, "Matching the film grain")
        prediction = match_grain(image, prediction, mask, grain)
    result = composite(image, prediction, mask, binary=True)  # validate_mask made it {0, 1}
    yield Progress(1.0, "Inpainting done")
    return result
