"""Overlapping-tile processing with feathered blending, for images too big for one pass.

Tensors are float32 ``(B, C, H, W)``; the output accumulator lives on the input's device,
while the per-tile function may compute anywhere (its output is moved back).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from neuron_desktop.core.progress import CancelToken, Progress

Pad = tuple[int, int, int, int]


def pad_to_multiple(x: Tensor, multiple: int, mode: str = "reflect") -> tuple[Tensor, Pad]:
    """Pad ``x`` (B, C, H, W) on the right/bottom so H and W are multiples of ``multiple``.

    Reflect padding falls back to replicate when the image is too small to reflect.
    Returns ``(padded, pad)`` with ``pad = (left, right, top, bottom)`` for :func:`unpad`.
    """
    if multiple < 1:
        raise ValueError(f"multiple must be >= 1, got {multiple}")
    h, w = x.shape[-2:]
    pad = (0, -w % multiple, 0, -h % multiple)
    if pad == (0, 0, 0, 0):
        return x, pad
    if mode == "reflect" and (pad[1] >= w or pad[3] >= h):
        mode = "replicate"
    if mode == "constant":
        return F.pad(x, pad, mode="constant", value=0.0), pad
    return F.pad(x, pad, mode=mode), pad


def unpad(x: Tensor, pad: Pad, scale: int = 1) -> Tensor:
    """Undo :func:`pad_to_multiple` on ``x`` (B, C, H, W), possibly upscaled by ``scale``."""
    left, right, top, bottom = (p * scale for p in pad)
    h, w = x.shape[-2:]
    return x[..., top : h - bottom, left : w - right]


@dataclass(frozen=True)
class Tile:
    """A tile's half-open pixel box ``[y0, y1) x [x0, x1)``."""

    y0: int
    y1: int
    x0: int
    x1: int

    def scaled(self, scale: int) -> Tile:
        return Tile(self.y0 * scale, self.y1 * scale, self.x0 * scale, self.x1 * scale)


def _starts(size: int, tile: int, overlap: int) -> list[int]:
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile, tile - overlap))
    starts.append(size - tile)  # last tile aligned to the border
    return starts


def tile_grid(height: int, width: int, tile: int, overlap: int) -> list[Tile]:
    """Row-major tiles of ``tile``x``tile`` (clipped to the image) covering every pixel.

    Consecutive tiles overlap by at least ``overlap`` pixels (0 <= overlap < tile).
    """
    if tile < 1 or not 0 <= overlap < tile:
        raise ValueError(f"need tile >= 1 and 0 <= overlap < tile, got {tile=}, {overlap=}")
    th, tw = min(tile, height), min(tile, width)
    return [
        Tile(y, y + th, x, x + tw)
        for y in _starts(height, tile, overlap)
        for x in _starts(width, tile, overlap)
    ]


def _ramp(length: int, overlap: int, lo: bool, hi: bool, device: torch.device) -> Tensor:
    """1D weights rising from 0 to 1 across ``overlap`` pixels at a low/high side that meets
    another tile; the outer ``overlap // 4`` pixels get 0 (they lack context), so two aligned
    ramps sum to exactly 1."""
    w = torch.ones(length, device=device)
    if overlap <= 0:
        return w
    dead = overlap // 4
    pos = torch.arange(length, device=device, dtype=torch.float32)
    width = overlap - 2 * dead + 1
    if lo:
        w = torch.minimum(w, ((pos - dead + 1) / width).clamp(min=0.0))
    if hi:
        w = torch.minimum(w, ((length - pos - dead) / width).clamp(min=0.0))
    return w


def feather_weights(
    tile: Tile, height: int, width: int, overlap: int, device: torch.device | str | None = None
) -> Tensor:
    """Blend weights (1, 1, h, w) in [0, 1] for ``tile``: a linear ramp over ``overlap``
    pixels on sides that touch another tile (0 on the outermost ``overlap // 4``), 1 at image
    borders. Over a :func:`tile_grid` the summed weights are positive everywhere, so a function
    whose receptive-field radius is <= overlap // 4 is reproduced exactly."""
    dev = torch.device(device or "cpu")
    wy = _ramp(tile.y1 - tile.y0, overlap, tile.y0 > 0, tile.y1 < height, dev)
    wx = _ramp(tile.x1 - tile.x0, overlap, tile.x0 > 0, tile.x1 < width, dev)
    return (wy[:, None] * wx[None, :])[None, None]


def tiled_apply(
    fn: Callable[[Tensor], Tensor],
    x: Tensor,
    *,
    tile: int = 512,
    overlap: int = 32,
    multiple: int = 1,
    scale: int = 1,
    out_channels: int | None = None,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, Tensor]:
    """Pipeline: apply ``fn`` to overlapping tiles of ``x`` (B, C, H, W) and blend the results.

    Each tile is padded to ``multiple`` before ``fn`` and cropped back after. ``fn`` maps
    (B, C, h, w) to (B, out_channels or C, h*scale, w*scale), on any device. Returns
    (B, out_channels or C, H*scale, W*scale) float32 on ``x.device``. Yields ``Progress``
    after each tile and checks ``cancel`` between tiles.
    """
    b, c, h, w = x.shape
    tiles = tile_grid(h, w, tile, overlap)
    oc = out_channels or c
    out = torch.zeros(b, oc, h * scale, w * scale, device=x.device, dtype=torch.float32)
    total = torch.zeros(1, 1, h * scale, w * scale, device=x.device, dtype=torch.float32)
    for i, t in enumerate(tiles):
        if cancel is not None:
            cancel.check()
        patch, pad = pad_to_multiple(x[..., t.y0 : t.y1, t.x0 : t.x1], multiple)
        result = unpad(fn(patch), pad, scale).to(device=x.device, dtype=torch.float32)
        st = t.scaled(scale)
        expected = (b, oc, st.y1 - st.y0, st.x1 - st.x0)
        if tuple(result.shape) != expected:
            raise ValueError(f"tile function returned {tuple(result.shape)}, expected {expected}")
        weight = feather_weights(st, h * scale, w * scale, overlap * scale, x.device)
        out[..., st.y0 : st.y1, st.x0 : st.x1] += result * weight
        total[..., st.y0 : st.y1, st.x0 : st.x1] += weight
        yield Progress((i + 1) / len(tiles), f"Tile {i + 1}/{len(tiles)}")
    return out / total
