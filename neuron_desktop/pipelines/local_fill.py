"""Fill one small region of a big photo: the editor's "fill as you paint" and "compare
methods" (Qt-free).

Only a context crop around the region is read and filled (never the whole 24 MP photo):
:func:`context_box` grows the region's box by a margin, :func:`fill_box` runs an
inpainting method of ``pipelines.inpaint`` on that crop with the mask's pixels inside the
region as the hole, and returns the region's filled pixels. Pixels outside the hole are
the photo's, bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neuron_desktop.core.progress import CancelToken, Pipeline, Progress, wrap_progress

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (end-exclusive)

MIN_MARGIN = 32  # px of context around the region, at least
MARGIN_FACTOR = 0.75  # ... or this fraction of the region's longer side
COMPARE_SKIP = ("auto", "network-best")  # not shown side by side (auto is one of the
# others; the 4-view ensemble takes 4x the network's time for a barely visible change)


def context_box(box: Box, shape: tuple[int, int], margin: int | None = None) -> Box:
    """``box`` grown by ``margin`` px (default: MARGIN_FACTOR of its longer side, at least
    MIN_MARGIN) on each side, clipped to ``shape`` = (H, W)."""
    x0, y0, x1, y1 = box
    h, w = shape
    if margin is None:
        margin = max(MIN_MARGIN, round(MARGIN_FACTOR * max(x1 - x0, y1 - y0)))
    return max(0, x0 - margin), max(0, y0 - margin), min(w, x1 + margin), min(h, y1 + margin)


def region_hole(mask: np.ndarray, box: Box) -> np.ndarray:
    """(h, w) bool: the mask's pixels (> 0.5) inside ``box`` (the hole a fill fills)."""
    x0, y0, x1, y1 = box
    return mask[y0:y1, x0:x1] > 0.5


def compare_methods(device: Any = None) -> list[str]:
    """The methods the compare view shows: every inpainting method whose model is installed
    (networks without weights are left out), but not COMPARE_SKIP."""
    from neuron_desktop.pipelines import inpaint as pi

    return [m for m in pi.INPAINT_METHODS if m not in COMPARE_SKIP
            and (m not in pi.NETWORK_WEIGHTS or pi.network_available(m))]


def fill_box(image: np.ndarray, mask: np.ndarray, box: Box, *, method: str = "telea",
             radius: int = 3, grain: str = "off", device: Any = None,
             cancel: CancelToken | None = None, context: Box | None = None
             ) -> Pipeline[np.ndarray]:
    """Pipeline: fill the mask's pixels inside ``box`` of ``image`` (H, W, 3) float32 with
    ``method``, from the context crop ``context`` (default :func:`context_box`). Returns
    the box's pixels (h, w, 3) float32: filled in the hole, the photo's elsewhere.
    Raises MaskError when the box holds no masked pixel."""
    import torch

    from neuron_desktop.pipelines import inpaint as pi

    cx0, cy0, cx1, cy1 = context or context_box(box, image.shape[:2])
    x0, y0, x1, y1 = box
    crop = np.ascontiguousarray(image[cy0:cy1, cx0:cx1], np.float32)
    hole = np.zeros((cy1 - cy0, cx1 - cx0), np.float32)
    hole[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0] = region_hole(mask, box)
    yield Progress(0.0, f"Filling ({method})")
    tensor = torch.from_numpy(crop.transpose(2, 0, 1).copy())[None]
    job = pi.inpaint(tensor, torch.from_numpy(hole), method=method, radius=radius,
                     device=device, cancel=cancel, grain=grain)
    out = yield from wrap_progress(job, 0.0, 1.0)
    filled = out[0].detach().to("cpu", torch.float32).numpy().transpose(1, 2, 0)
    return np.ascontiguousarray(np.clip(filled[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0], 0, 1))
