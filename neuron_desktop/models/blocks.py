"""Shared network layers.

:class:`ContextualAttention` (Yu et al. 2018, "Generative Image Inpainting with Contextual
Attention"): features in and around the hole are matched against the known background by
cosine similarity of 3x3 patches, and rebuilt from the known patches they resemble.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def zero_init(layer: nn.Module) -> None:
    """Zero a layer's weight and bias: a residual branch that starts as a no-op."""
    for p in layer.parameters():
        nn.init.zeros_(p)


def _diagonal_sum(scores: Tensor, k: int) -> Tensor:
    """Sum ``scores`` (..., Hf, Wf, Hb, Wb) along both diagonal directions over ``k`` steps:
    a match (p -> q) is backed by its neighbours' matches (p + d -> q + d) ("fuse")."""
    out = scores
    lead = scores.dim() - 4
    for dims in ((lead, lead + 2), (lead + 1, lead + 3)):
        total = out.clone()
        for d in range(1, k // 2 + 1):
            for s in (d, -d):
                src = [slice(None)] * out.dim()
                dst = [slice(None)] * out.dim()
                for dim in dims:
                    size = out.shape[dim]
                    src[dim] = slice(max(s, 0), size + min(s, 0))
                    dst[dim] = slice(max(-s, 0), size + min(-s, 0))
                total[tuple(dst)] += out[tuple(src)]
        out = total
    return out


class ContextualAttention(nn.Module):
    """Fill a hole's features with known background features, by patch similarity.

    ``forward(foreground, background, mask)``: foreground/background (B, C, H, W) (usually
    the same feature map: the coarse result's features), mask (B, 1, H, W) or (1, 1, H, W)
    with 1 = hole. Every ``ksize`` x ``ksize`` foreground patch is compared with every
    background patch that lies entirely outside the hole (cosine similarity, optionally
    "fused" over ``fuse_k`` diagonal neighbours), a softmax with ``softmax_scale`` turns the
    similarities into attention, and the output is the attention-weighted sum of those
    background patches, overlap-averaged (``hole_only``: only patches touching the hole are
    rebuilt, the rest of the map is the foreground; far cheaper for small holes). With
    ``rate`` > 1 matching runs at 1/rate size and
    the copied patches come from the full-resolution background (DeepFill's speed-up); H and
    W must then be multiples of ``rate``. Returns (B, C, H, W); where no known patch exists
    the foreground is returned unchanged.
    """

    def __init__(self, ksize: int = 3, rate: int = 1, softmax_scale: float = 10.0,
                 fuse_k: int = 3, hole_only: bool = False) -> None:
        super().__init__()
        if ksize % 2 != 1 or rate < 1:
            raise ValueError(f"need an odd ksize and rate >= 1, got {ksize}, {rate}")
        self.ksize, self.rate, self.scale, self.fuse_k = ksize, rate, softmax_scale, fuse_k
        self.hole_only = hole_only

    def forward(self, foreground: Tensor, background: Tensor, mask: Tensor) -> Tensor:
        if foreground.shape != background.shape:
            raise ValueError(f"foreground {tuple(foreground.shape)} and background "
                             f"{tuple(background.shape)} differ")
        b, c, h, w = foreground.shape
        if h % self.rate or w % self.rate:
            raise ValueError(f"H, W ({h}, {w}) must be multiples of rate {self.rate}")
        mask = mask.to(foreground.dtype).expand(b, 1, h, w)
        if b > 1 and foreground.device.type != "cpu":  # a CPU does less work image by image
            return self._batched(foreground, background, mask)
        return torch.cat([self._one(foreground[i:i + 1], background[i:i + 1], mask[i:i + 1])
                          for i in range(b)])

    def attention(self, foreground: Tensor, background: Tensor, mask: Tensor,
                  box: tuple[int, int, int, int] | None = None) -> Tensor:
        """Attention (Hf*Wf, Hb*Wb) of one image (1, C, H, W), matching at 1/rate size;
        rows sum to 1 over the known background patches (all 0 when there is none).
        ``box`` (y0, y1, x0, x1) on the matching grid keeps only those foreground rows
        (rows within fuse_k // 2 of its edge lack part of their fusion)."""
        k, pad = self.ksize, self.ksize // 2
        if self.rate > 1:
            size = (foreground.shape[-2] // self.rate, foreground.shape[-1] // self.rate)
            foreground = F.interpolate(foreground, size=size, mode="area")
            background = F.interpolate(background, size=size, mode="area")
            mask = F.max_pool2d(mask, self.rate)
        hs, ws = foreground.shape[-2:]
        y0, y1, x0, x1 = box or (0, hs, 0, ws)
        fg = F.unfold(foreground, k, padding=pad)[0].view(-1, hs, ws)[:, y0:y1, x0:x1]
        fg = F.normalize(fg.reshape(fg.shape[0], -1), dim=0, eps=1e-4)  # (C*k*k, L_fg)
        bg = F.normalize(F.unfold(background, k, padding=pad)[0], dim=0, eps=1e-4)
        known = F.max_pool2d(mask, k, 1, pad).reshape(-1) == 0  # patch free of hole pixels
        scores = fg.T @ bg  # (L_fg, L_bg) cosine similarities
        if self.fuse_k > 1:
            scores = _diagonal_sum(scores.view(y1 - y0, x1 - x0, hs, ws), self.fuse_k)
            scores = scores.view((y1 - y0) * (x1 - x0), -1)
        scores = scores.masked_fill(~known[None], float("-inf"))
        if not bool(known.any()):
            return torch.zeros_like(scores)
        return torch.softmax(self.scale * scores, dim=1)

    def _one(self, foreground: Tensor, background: Tensor, mask: Tensor) -> Tensor:
        r, k = self.rate, self.ksize
        size, pad = k * r, (k // 2) * r  # raw patch = the matched patch at full resolution
        out_size = foreground.shape[-2:]
        if not self.hole_only:
            attn = self.attention(foreground, background, mask)
            if not bool(attn.any()):
                return foreground
            raw = F.unfold(background, size, padding=pad, stride=r)[0]  # (C*size*size, L_bg)
            patches = raw @ attn.T  # (C*size*size, L_fg)
            summed = F.fold(patches[None], out_size, size, padding=pad, stride=r)
            count = F.fold(torch.ones_like(patches[None, :size * size]), out_size, size,
                           padding=pad, stride=r)
            return summed / count
        # rebuild only the patches that touch the hole, matched (in a box around them) against
        # known patches only: the costly products shrink by both fractions; pixels no such
        # patch covers keep the foreground
        small = F.max_pool2d(mask, r) if r > 1 else mask
        grid = F.max_pool2d(small, k, 1, k // 2)[0, 0] > 0
        if not bool(grid.any()):
            return foreground
        ys, xs = grid.any(1).nonzero()[:, 0], grid.any(0).nonzero()[:, 0]
        m, (hs, ws) = self.fuse_k // 2, grid.shape
        box = (max(0, int(ys[0]) - m), min(hs, int(ys[-1]) + 1 + m),
               max(0, int(xs[0]) - m), min(ws, int(xs[-1]) + 1 + m))
        attn = self.attention(foreground, background, mask, box)
        if not bool(attn.any()):
            return foreground
        rows = grid.reshape(-1)
        in_box = grid[box[0]:box[1], box[2]:box[3]].reshape(-1)
        cols = attn.any(0)
        raw = F.unfold(background, size, padding=pad, stride=r)[0][:, cols]
        patches = raw.new_zeros(raw.shape[0], hs * ws)
        patches[:, rows] = raw @ attn[in_box][:, cols].T
        ones = raw.new_zeros(size * size, hs * ws)
        ones[:, rows] = 1
        summed = F.fold(patches[None], out_size, size, padding=pad, stride=r)
        count = F.fold(ones[None], out_size, size, padding=pad, stride=r)
        return torch.where(count > 0, summed / count.clamp_min(1e-8), foreground)

    def _batched(self, foreground: Tensor, background: Tensor, mask: Tensor) -> Tensor:
        """:meth:`_one`'s result for a whole batch in a few large products, with no host
        sync (GPU training): every row is matched, only the rows it would rebuild are kept."""
        r, k, pad = self.rate, self.ksize, self.ksize // 2
        b = foreground.shape[0]
        size, raw_pad = k * r, pad * r
        small = F.max_pool2d(mask, r) if r > 1 else mask
        fg, bg = foreground, background
        if r > 1:
            fg = F.interpolate(fg, size=small.shape[-2:], mode="area")
            bg = F.interpolate(bg, size=small.shape[-2:], mode="area")
        hs, ws = small.shape[-2:]
        fg = F.normalize(F.unfold(fg, k, padding=pad), dim=1, eps=1e-4)  # (B, C*k*k, L)
        bg = F.normalize(F.unfold(bg, k, padding=pad), dim=1, eps=1e-4)
        scores = fg.transpose(1, 2) @ bg  # (B, L_fg, L_bg)
        if self.fuse_k > 1:
            scores = _diagonal_sum(scores.view(b, hs, ws, hs, ws), self.fuse_k)
            scores = scores.reshape(b, hs * ws, hs * ws)
        near = F.max_pool2d(small, k, 1, pad).reshape(b, 1, -1)  # patch touches the hole
        known = near == 0
        low = torch.finfo(scores.dtype).min  # finite: a row with no known patch stays NaN-free
        attn = torch.softmax((self.scale * scores).masked_fill(~known, low), dim=2)
        has_known = known.any(2, keepdim=True)  # (B, 1, 1)
        attn = torch.where(has_known, attn, 0.0)
        rows = (near > 0) if self.hole_only else torch.ones_like(known)
        rows = (rows & has_known).to(foreground.dtype)  # (B, 1, L)
        raw = F.unfold(background, size, padding=raw_pad, stride=r)  # (B, C*size*size, L)
        patches = (raw @ attn.transpose(1, 2)) * rows
        summed = F.fold(patches, foreground.shape[-2:], size, padding=raw_pad, stride=r)
        count = F.fold(rows.expand(b, size * size, -1), foreground.shape[-2:], size,
                       padding=raw_pad, stride=r)
        return torch.where(count > 0, summed / count.clamp_min(1e-8), foreground)
