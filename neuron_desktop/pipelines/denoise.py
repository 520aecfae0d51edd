"""Denoising pipeline: non-local means (OpenCV) on the photo, for film grain and sensor noise.

Works on 8-bit copies of (1, 3, H, W) RGB in [0, 1]; ``strength`` 0..1 sets the filter
strength ``h`` from MIN_H to MAX_H (OpenCV's units: grey levels of 0..255).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch import Tensor

from neuron_desktop.core.errors import NeuronError
from neuron_desktop.core.progress import CancelToken, Pipeline, Progress

MIN_H, MAX_H = 2.0, 20.0
TEMPLATE, SEARCH = 7, 21  # OpenCV's recommended patch and search window sizes


def denoise(image: Tensor, *, strength: float = 0.5, cancel: CancelToken | None = None
            ) -> Pipeline[Tensor]:
    """Pipeline: ``image`` (1, 3, H, W) RGB [0, 1] -> denoised (1, 3, H, W) on its device."""
    if image.dim() != 4 or image.shape[:2] != (1, 3):
        raise NeuronError(f"expected an RGB image (1, 3, H, W), got {tuple(image.shape)}")
    if not 0.0 <= strength <= 1.0:
        raise NeuronError(f"strength must be in [0, 1], got {strength}")
    yield Progress(0.0, "Denoising")
    if cancel is not None:
        cancel.check()
    rgb = image[0].detach().to("cpu", torch.float32).permute(1, 2, 0).numpy()
    u8 = np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)
    h = MIN_H + (MAX_H - MIN_H) * strength
    out = cv2.fastNlMeansDenoisingColored(u8, None, h, h, TEMPLATE, SEARCH)
    yield Progress(1.0, "Denoised")
    return (torch.from_numpy(out).permute(2, 0, 1)[None].float() / 255).to(image.device)
