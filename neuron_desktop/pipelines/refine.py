"""Colour refinement: guided-filter the chroma (Lab ab) with full-resolution lightness as guide.

Cleans up blotchy or low-resolution colour (e.g. a colorizer's output) so colour edges
follow the original's luminance edges.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from neuron_desktop.core.color import lab_to_rgb, rgb_to_lab
from neuron_desktop.core.guided import guided_filter
from neuron_desktop.core.progress import CancelToken, Pipeline, Progress


def _lightness(guide: Tensor) -> Tensor:
    """L* (B, 1, H, W) in [0, 100] of an RGB (B, 3, H, W) or gray (B, 1, H, W) image in [0, 1]."""
    if guide.shape[1] == 1:
        guide = guide.expand(-1, 3, -1, -1)
    elif guide.shape[1] != 3:
        raise ValueError(f"guide must have 1 or 3 channels, got shape {tuple(guide.shape)}")
    return rgb_to_lab(guide)[:, :1]


def _resize(x: Tensor, size: tuple[int, int]) -> Tensor:
    if tuple(x.shape[-2:]) == size:
        return x
    downscale = x.shape[-2] > size[0] or x.shape[-1] > size[1]
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=downscale)


def refine_colors(
    image: Tensor,
    *,
    guide: Tensor | None = None,
    radius: int = 40,
    eps: float = 1e-4,
    subsample: int = 1,
    keep_guide_luminance: bool = True,
    cancel: CancelToken | None = None,
) -> Pipeline[Tensor]:
    """Pipeline: guided-filter the ab channels of ``image`` (1, 3, h, w) RGB [0, 1].

    The guide is L/100 of ``guide`` (1, 3, H, W) RGB or (1, 1, H, W) gray in [0, 1] at full
    resolution, or of ``image`` itself when ``guide`` is None. A smaller ``image`` has its ab
    upsampled bilinearly to the guide's size first. Output Lab = (guide L, filtered ab) when
    ``keep_guide_luminance`` else (image L, filtered ab); returns RGB (1, 3, H, W) in [0, 1]
    on the image's device.
    """
    yield Progress(0.0, "Refining colours")
    lab = rgb_to_lab(image.float())
    guide_l = lab[:, :1] if guide is None else _lightness(guide.to(image.device).float())
    size = (guide_l.shape[-2], guide_l.shape[-1])
    ab = _resize(lab[:, 1:], size)
    if cancel is not None:
        cancel.check()
    yield Progress(0.2, "Filtering colours")
    ab = guided_filter(guide_l / 100.0, ab, radius, eps, subsample)
    if cancel is not None:
        cancel.check()
    lightness = guide_l if keep_guide_luminance else _resize(lab[:, :1], size)
    result = lab_to_rgb(torch.cat([lightness, ab], dim=1)).clamp(0.0, 1.0)
    yield Progress(1.0, "Refined colours")
    return result

