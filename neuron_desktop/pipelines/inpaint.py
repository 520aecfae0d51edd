"""Inpainting pipeline: fill masked pixels, leaving every other pixel bit-for-bit unchanged.

Methods live in ``INPAINT_METHODS``; each is ``method(image, mask, *, radius, device, cancel)``
returning a pipeline whose result is a full-image prediction (1, 3, H, W) RGB [0, 1].
:func:`inpaint` validates the mask and composites the prediction into the original.
Other modules (network/exemplar methods) register more entries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import torch
from torch import Tensor

from neuron_desktop.core.errors import MaskError, NeuronError
from neuron_desktop.core.progress import CancelToken, Pipeline, Progress, wrap_progress

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


def composite(image: Tensor, prediction: Tensor, mask: Tensor) -> Tensor:
    """``mask * prediction + (1 - mask) * image``; pixels with mask == 0 are copied bit-exactly
    from ``image``. image/prediction (B, C, H, W), mask (B or 1, 1, H, W) in [0, 1]."""
    prediction = prediction.to(device=image.device, dtype=image.dtype)
    mask = mask.to(device=image.device, dtype=image.dtype)
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


INPAINT_METHODS: dict[str, InpaintMethod] = {
    "telea": _cv2_inpaint(cv2.INPAINT_TELEA),
    "ns": _cv2_inpaint(cv2.INPAINT_NS),
}


def inpaint(
    image: Tensor,
    mask: Tensor,
    *,
    method: str = "telea",
    radius: int = 3,
    device: torch.device | str | None = None,
    cancel: CancelToken | None = None,
) -> Pipeline[Tensor]:
    """Pipeline: fill ``mask`` (1, 1, H, W), 1 = fill, in ``image`` (1, 3, H, W) RGB [0, 1].

    Returns (1, 3, H, W) on the image's device; outside the mask it equals ``image`` bit for
    bit. Arguments are checked on call (NeuronError/MaskError), before the pipeline runs.
    """
    if method not in INPAINT_METHODS:
        raise NeuronError(
            f"unknown inpainting method {method!r} (available: {', '.join(INPAINT_METHODS)})"
        )
    if image.dim() != 4 or image.shape[:2] != (1, 3):
        raise NeuronError(f"expected an RGB image (1, 3, H, W), got {tuple(image.shape)}")
    mask = validate_mask(image, mask)
    return _run_inpaint(image, mask, method, radius, device, cancel)


def _run_inpaint(
    image: Tensor,
    mask: Tensor,
    method: str,
    radius: int,
    device: torch.device | str | None,
    cancel: CancelToken | None,
) -> Pipeline[Tensor]:
    yield Progress(0.0, f"Inpainting ({method})")
    if cancel is not None:
        cancel.check()
    job = INPAINT_METHODS[method](image, mask, radius=radius, device=device, cancel=cancel)
    prediction = yield from wrap_progress(job, 0.0, 0.99)
    result = composite(image, prediction, mask)
    yield Progress(1.0, "Inpainting done")
    return result
