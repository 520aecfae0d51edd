"""Exemplar-based hole filling: multi-scale PatchMatch completion (Wexler et al. 2007 with
Barnes et al. 2009's randomised nearest-neighbour search), vectorised in torch.

The hole is filled with real texture copied from the rest of the picture. Coarse to fine over
an image pyramid, each scale alternates

1. *search*: every patch that overlaps the hole looks for its most similar fully known patch
   (a nearest-neighbour field, NNF) by jump-flooding propagation of its neighbours' matches
   and random search around its current match, all patches at once;
2. *vote*: each hole pixel becomes the similarity-weighted mean of the pixels that the
   matched patches covering it would put there.

Patch distances use a PCA projection of the 7x7 RGB patches (computed by one convolution),
so each candidate costs a row gather instead of 147 pixel reads. The coarsest scale starts
from a Telea fill and searches the whole picture; each finer scale starts from the upsampled
result and NNF (painted first with the inherited matches) and only refines them locally.
Known limit: stochastic texture coarser than a patch (soft, upscaled photos) tends to be
filled smoothly, as SSD matching of a smooth first guess prefers smooth sources.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from neuron_desktop.core.progress import CancelToken, Pipeline, Progress


@dataclass(frozen=True)
class ExemplarParams:
    """Tuning knobs; defaults balance quality and speed at up to ~1 MP."""

    patch: int = 7  # patch side (odd)
    dims: int = 16  # PCA dimensions of the patch descriptor
    min_side: int = 64  # the coarsest pyramid level keeps at least this short side
    max_levels: int = 6
    em_coarse: int = 8  # search/vote rounds at the coarsest level ...
    em_fine: int = 2  # ... falling linearly to this at the finest
    jumps: tuple[int, ...] = (8, 4, 2, 1)  # propagation steps (jump flooding)
    random_tries: int = 6  # random-search radii per round (halving from the largest)
    local_radius: float | None = 8.0  # px: search radius below the coarsest level (None: all)
    seed: int = 0


def _take(x: Tensor, index: Tensor) -> Tensor:
    """``x[index]`` along dim 0 (index_select: several times faster than ``x[index]``)."""
    return torch.index_select(x, 0, index)


class _Level:
    """One pyramid level: image (C, h, w), hole (h, w) bool, source/target index sets."""

    def __init__(self, image: Tensor, hole: Tensor, patch: int) -> None:
        self.image, self.hole = image, hole
        self.h, self.w = hole.shape
        r = patch // 2
        near_hole = F.max_pool2d(hole[None, None].float(), patch, 1, r)[0, 0] > 0
        interior = torch.zeros_like(hole)
        interior[r:self.h - r, r:self.w - r] = True
        self.valid = (interior & ~near_hole).reshape(-1)  # fully known patches
        self.sources = torch.nonzero(self.valid).squeeze(1)
        self.targets = torch.nonzero((interior & near_hole).reshape(-1)).squeeze(1)


def _pyramid(image: Tensor, hole: Tensor, p: ExemplarParams) -> list[tuple[Tensor, Tensor]]:
    """[(image (C, h, w), hole (h, w)), ...] fine to coarse; a coarse pixel is a hole when any
    of its 2x2 children is, and known pixels are plain 2x2 means."""
    levels = [(image, hole)]
    while len(levels) < p.max_levels and min(levels[-1][1].shape) >= 2 * p.min_side:
        img, hl = levels[-1]
        h, w = hl.shape
        pad = (0, w % 2, 0, h % 2)
        img = F.pad(img[None], pad, mode="replicate")[0]
        hl = F.pad(hl[None, None].float(), pad, mode="replicate")[0, 0]
        coarse_hole = F.max_pool2d(hl[None, None], 2)[0, 0] > 0
        coarse = F.avg_pool2d(img[None], 2)[0] * (~coarse_hole)
        levels.append((coarse, coarse_hole))
    return levels


def _telea(image: Tensor, hole: Tensor) -> Tensor:
    """Telea fill of ``hole`` in (C, h, w) on the CPU (float, 0..255 scale like inpaint.py)."""
    rgb = image.detach().to("cpu", torch.float32).numpy() * 255.0
    m = hole.to("cpu").numpy().astype(np.uint8) * 255
    out = np.stack([cv2.inpaint(np.ascontiguousarray(c), m, 3, cv2.INPAINT_TELEA) for c in rgb])
    return torch.from_numpy(out / 255.0).to(image.device, torch.float32).clamp_(0, 1)


class _Completion:
    """Search-and-vote state for one level."""

    def __init__(self, level: _Level, estimate: Tensor, p: ExemplarParams,
                 gen: torch.Generator) -> None:
        self.lv, self.p, self.gen = level, p, gen
        self.est = estimate.clone()
        self.flat = self.est.view(self.est.shape[0], -1)
        self.rows = self.flat.T.contiguous()  # (h*w, C); sources read only known pixels
        self.hole_idx = torch.nonzero(level.hole.reshape(-1)).squeeze(1)
        self.basis = self._pca_basis()
        self.src_desc = self._descriptors(self.est)  # (h*w, D); exact on known patches
        self.tgt_desc = self.src_desc[level.targets]
        self.nnf = self._random_sources(len(level.targets))
        self.dist = self._distance(self.nnf)
        self.dense = torch.full((level.h * level.w,), -1, dtype=torch.long,
                                device=estimate.device)

    # -- descriptors ----------------------------------------------------------------------

    def _pca_basis(self) -> Tensor:
        """(D, C, k, k) projection onto the top principal components of known patches."""
        k, lv = self.p.patch, self.lv
        pick = torch.randint(len(lv.sources), (min(4096, len(lv.sources)),),
                             generator=self.gen, device=self.gen.device)
        centres = lv.sources[pick.to(lv.sources.device)]
        offsets = self._offsets()
        patches = self.flat[:, centres[:, None] + offsets[None]]  # (C, n, k*k)
        x = patches.permute(1, 0, 2).reshape(len(centres), -1)
        x = x - x.mean(0, keepdim=True)
        _, vecs = torch.linalg.eigh(x.T @ x / max(1, len(x) - 1))
        dims = min(self.p.dims, x.shape[1])
        return vecs[:, -dims:].T.reshape(dims, self.est.shape[0], k, k).contiguous()

    def _offsets(self) -> Tensor:
        r, w = self.p.patch // 2, self.lv.w
        d = torch.arange(-r, r + 1, device=self.est.device)
        return (d[:, None] * w + d[None, :]).reshape(-1)

    def _descriptors(self, image: Tensor) -> Tensor:
        """(h*w, D) PCA descriptors of the patch centred at every pixel (zero-padded)."""
        r = self.p.patch // 2
        desc = F.conv2d(image[None], self.basis, padding=r)[0]
        return desc.reshape(desc.shape[0], -1).T.contiguous()

    def _target_descriptors(self) -> Tensor:
        """Descriptors of the target patches only, convolving just their bounding box."""
        lv, r = self.lv, self.p.patch // 2
        ys, xs = lv.targets // lv.w, lv.targets % lv.w
        y0, y1 = int(ys.min()) - r, int(ys.max()) + r + 1
        x0, x1 = int(xs.min()) - r, int(xs.max()) + r + 1
        desc = F.conv2d(self.est[None, :, y0:y1, x0:x1], self.basis)[0]  # valid conv
        bw = x1 - x0 - 2 * r
        return desc.reshape(desc.shape[0], -1).T[(ys - y0 - r) * bw + (xs - x0 - r)]

    # -- search ---------------------------------------------------------------------------

    def _random_sources(self, n: int) -> Tensor:
        pick = torch.randint(len(self.lv.sources), (n,), generator=self.gen,
                             device=self.gen.device).to(self.lv.sources.device)
        return _take(self.lv.sources, pick)

    def _distance(self, cand: Tensor) -> Tensor:
        return (self.tgt_desc - _take(self.src_desc, cand)).square_().sum(1)

    def _try(self, cand: Tensor, ok: Tensor) -> None:
        """Replace matches by ``cand`` where it is allowed (``ok``) and closer."""
        cand = torch.where(ok, cand, self.nnf)
        d = self._distance(cand)
        better = d < self.dist
        self.nnf = torch.where(better, cand, self.nnf)
        self.dist = torch.where(better, d, self.dist)

    def _moved(self, base: Tensor, dy: Tensor | int, dx: Tensor | int) -> Tensor:
        """Flat index ``base + (dy, dx)``, clamped into the image. A shift may wrap into
        another row: harmless, since candidates are only ever checked for validity."""
        n = self.lv.h * self.lv.w
        return (base + dy * self.lv.w + dx).clamp_(0, n - 1)

    def search(self, rounds: int, radius: float | None = None) -> None:
        """``rounds`` of propagation and random search; ``radius`` limits the search around
        the current matches (finer levels refine inherited matches) and then also skips
        the global random candidate. None: search the whole level."""
        lv, targets = self.lv, self.lv.targets
        local = radius is not None
        for _ in range(rounds):
            for step in self.p.jumps:
                self.dense[targets] = self.nnf
                for dy, dx in ((step, 0), (-step, 0), (0, step), (0, -step)):
                    match = _take(self.dense, self._moved(targets, -dy, -dx))
                    cand = self._moved(match.clamp(min=0), dy, dx)
                    self._try(cand, (match >= 0) & _take(lv.valid, cand))
            r = float(radius) if radius is not None else float(max(lv.h, lv.w))
            for _ in range(self.p.random_tries):
                jitter = (torch.rand(2, len(targets), generator=self.gen,
                                     device=self.gen.device) * 2 - 1) * r
                jitter = jitter.round().long().to(targets.device)
                cand = self._moved(self.nnf, jitter[0], jitter[1])
                self._try(cand, _take(lv.valid, cand))
                r = max(1.0, r / 2)
            if not local:
                self._try(self._random_sources(len(targets)),
                          torch.ones_like(self.dist, dtype=torch.bool))

    # -- vote -----------------------------------------------------------------------------

    def vote(self) -> None:
        """Hole pixels <- weighted mean over every matched patch covering them: for offset o,
        the patch centred at q - o puts its source pixel nnf + o at hole pixel q."""
        lv, n = self.lv, self.lv.h * self.lv.w
        pad = self.p.patch // 2 * (lv.w + 1)  # reach of an offset in flat indices
        # similarity weights; the floors keep every vote alive when exact matches exist
        weight = torch.exp(-self.dist / (2 * self.dist.median().clamp(min=1e-3))) + 1e-6
        match = torch.full((n + 2 * pad,), -1, dtype=torch.long, device=weight.device)
        match[lv.targets + pad] = self.nnf
        wmap = torch.zeros(n + 2 * pad, device=weight.device)
        wmap[lv.targets + pad] = weight
        acc = torch.zeros(len(self.hole_idx), self.flat.shape[0], device=weight.device)
        total = torch.zeros(len(self.hole_idx), device=weight.device)
        for off in self._offsets().tolist():
            centre = self.hole_idx + (pad - off)  # patches whose pixel o lands on q
            w = _take(wmap, centre)  # 0 for non-targets (wrapped or outside centres too)
            src = (_take(match, centre) + off).clamp_(0, n - 1)
            acc.addcmul_(_take(self.rows, src), w[:, None])
            total += w
        self.flat[:, self.hole_idx] = (acc / total.clamp(min=1e-12)[:, None]).T
        self.tgt_desc = self._target_descriptors()
        self.dist = self._distance(self.nnf)


def _upsample_nnf(coarse: _Completion, fine: _Level) -> Tensor:
    """Initial fine NNF from the coarse one: a child pixel matches the same child of its
    parent's match; -1 where that is not a valid source."""
    cw, w = coarse.lv.w, fine.w
    coarse.dense.fill_(-1)
    coarse.dense[coarse.lv.targets] = coarse.nnf
    ty, tx = fine.targets // w, fine.targets % w
    parent = coarse.dense[(ty // 2) * cw + (tx // 2)]
    sy, sx = parent // cw * 2 + ty % 2, parent % cw * 2 + tx % 2
    ok = (parent >= 0) & (sy < fine.h) & (sx < fine.w)
    cand = sy.clamp(0, fine.h - 1) * w + sx.clamp(0, fine.w - 1)
    return torch.where(ok & fine.valid[cand], cand, torch.full_like(cand, -1))


def exemplar_fill(
    image: Tensor,
    mask: Tensor,
    *,
    params: ExemplarParams = ExemplarParams(),
    device: torch.device | str | None = None,
    cancel: CancelToken | None = None,
) -> Pipeline[Tensor]:
    """Pipeline: fill ``mask`` (1, 1, H, W), 1 = hole, in ``image`` (1, 3, H, W) RGB [0, 1]
    with texture copied from the known pixels.

    Returns (1, 3, H, W) on the image's device: known pixels as given, the hole filled.
    Runs on ``device`` (default: the image's). Cost grows with the pixel count: callers cap
    the working size (see ``pipelines.inpaint.regionwise``).
    """
    dev = torch.device(device) if device is not None else image.device
    img = image[0].detach().to(dev, torch.float32)
    hole = mask[0, 0].detach().to(dev) > 0.5
    gen = torch.Generator(device=dev).manual_seed(params.seed)
    levels = _pyramid(img, hole, params)
    rounds = np.linspace(params.em_fine, params.em_coarse, len(levels)).round().astype(int)
    steps, done = int(rounds.sum()), 0
    estimate: Tensor | None = None
    previous: _Completion | None = None
    for depth in range(len(levels) - 1, -1, -1):
        lv_img, lv_hole = levels[depth]
        if estimate is None:
            estimate = _telea(lv_img, lv_hole)
        else:
            up = F.interpolate(estimate[None], scale_factor=2, mode="bilinear",
                               align_corners=False)[0, :, :lv_hole.shape[0], :lv_hole.shape[1]]
            estimate = torch.where(lv_hole, up, lv_img)
        level = _Level(estimate, lv_hole, params.patch)
        if len(level.sources) == 0 or len(level.targets) == 0:
            previous = None
            done += int(rounds[depth])
            continue
        state = _Completion(level, estimate, params, gen)
        if previous is not None:  # paint fine detail with the inherited matches first
            init = _upsample_nnf(previous, level)
            state.nnf = torch.where(init >= 0, init, state.nnf)
            state.dist = state._distance(state.nnf)
            state.vote()
        for i in range(int(rounds[depth])):
            if cancel is not None:
                cancel.check()
            if previous is None:
                state.search(2 if i == 0 else 1)
            else:
                state.search(1, radius=params.local_radius)
            state.vote()
            done += 1
            yield Progress(done / steps, f"Exemplar fill: scale {len(levels) - depth}/"
                                         f"{len(levels)}, pass {i + 1}")
        estimate, previous = state.est, state
    assert estimate is not None  # the pyramid has at least one level
    out = torch.where(hole, estimate, img)
    return out[None].to(image.device)
