"""Colour hints simulated from ground truth (Zhang et al. 2017): patch-mean ab at points."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def hints_from_truth(ab: Tensor, points: list[list[tuple[int, int, int]]]) -> tuple[Tensor, Tensor]:
    """Hint planes from true ab ``(B, 2, H, W)`` at ``points[b] = [(y, x, size), ...]``.

    Each hint paints the mean ab of the size×size patch around (y, x) into that patch; returns
    (hint ab ``(B, 2, H, W)`` in ab units, mask ``(B, 1, H, W)``).
    """
    b, _, h, w = ab.shape
    hint_ab = torch.zeros_like(ab)
    mask = torch.zeros(b, 1, h, w, dtype=ab.dtype, device=ab.device)
    for i, pts in enumerate(points):
        for y, x, size in pts:
            y0, x0 = max(0, y - size // 2), max(0, x - size // 2)
            y1, x1 = min(h, y0 + size), min(w, x0 + size)
            hint_ab[i, :, y0:y1, x0:x1] = ab[i, :, y0:y1, x0:x1].mean((1, 2), keepdim=True)
            mask[i, :, y0:y1, x0:x1] = 1
    return hint_ab, mask


def random_hint_points(rng: np.random.Generator, batch: int, h: int, w: int,
                       p_none: float = 0.5, geometric_p: float = 0.125,
                       max_points: int = 30) -> list[list[tuple[int, int, int]]]:
    """Training hints: none with probability ``p_none``, else a geometric number of points,
    uniform positions, patch sizes 1–9 px."""
    out = []
    for _ in range(batch):
        n = 0 if rng.random() < p_none else min(int(rng.geometric(geometric_p)), max_points)
        out.append([(int(rng.integers(h)), int(rng.integers(w)), int(rng.integers(1, 10)))
                    for _ in range(n)])
    return out


def uniform_hint_points(rng: np.random.Generator, h: int, w: int, k: int,
                        size: int = 5) -> list[tuple[int, int, int]]:
    """Evaluation hints: k uniform random points with size×size patches."""
    return [(int(rng.integers(h)), int(rng.integers(w)), size) for _ in range(k)]


