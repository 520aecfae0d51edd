"""Scratch and dust detection for old photos: a classical detector of thin bright/dark marks.

1. Lightness L; white top-hat (bright marks) and black-hat (dark marks) at two scales respond
   to structures narrower than the structuring element.
2. The response is divided by the local activity (its mean in a 31 px window), so texture
   such as foliage or fabric needs a much stronger mark to count.
3. Seeds: long thin marks (the response survives an opening by a 15 px line in one of 12
   orientations) or small compact specks (dust); hysteresis grows seeds into the weaker
   connected response.
4. Components are dropped when they are blobs rather than lines or specks (mean width from
   area / outline), hug the photo's border (frame edges), or lie along a strong edge of the
   underlying picture (the image with thin structures removed): a real rim or highlight.
5. Dilate by 1 px. Photos are analysed at a long side of at most WORK_SIDE px; sizes above
   are for ~1000 px and scale with the working size.

Thresholds were tuned on synthetic damage (``data.damage``) of the training set's validation
split; ``sensitivity`` in [0, 1] scales them (higher finds more).

Optional learned detector (``method="network"``): :class:`models.scratch_net.ScratchNet`
trained on synthetic damage (``neuron train scratches``), run on tiles of the photo at a long
side of at most WORK_SIDE px; its logits are thresholded at the validated threshold (stored
in the weights' manifest entry), moved by ``sensitivity``, then dilated by 1 px when
validation chose that. ``method="auto"`` uses it only when installed and PREFER_NETWORK.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from neuron_desktop.core.device import choose_device, run_with_fallback
from neuron_desktop.core.errors import NeuronError, WeightsError
from neuron_desktop.core.progress import CancelToken, Pipeline, Progress, wrap_progress
from neuron_desktop.models.registry import load
from neuron_desktop.models.weights import get_entry, installed, weights_dir

WORK_SIDE = 2048
METHODS = ("auto", "classical", "network")
NET_WEIGHTS = "scratch_net"
PREFER_NETWORK = True  # "auto" picks the network when installed (docs/inpainting.md)
NET_TILE = 512  # px: the network runs tile by tile ...
NET_MARGIN = 32  # ... each with this much context (its receptive field is ~50 px)
SENSITIVITY_SPAN = 4.0  # logit units the threshold moves from sensitivity 0 to 1


@dataclass(frozen=True)
class DetectorParams:
    """Thresholds in units of local activity; tuned on the validation split."""

    high: float = 6.0  # seed threshold at sensitivity 0.5
    low_ratio: float = 0.35  # hysteresis: grow into response > low_ratio * high
    min_contrast: float = 0.04  # absolute top-hat floor (L in [0, 1])
    dust_area: int = 15  # px (at 1000 px): specks up to this big seed as dust
    edge_ratio: float = 0.8  # drop components whose background edge beats their contrast
    max_width: float = 2.5  # px (at 1000 px): wider components that are not dust are dropped
    min_area: int = 6  # px: smaller components are noise
    line_length: int = 15  # px: straight segment a scratch must hold (at 1000 px)
    window: int = 31  # px: local-activity window
    floor: float = 0.02  # activity floor (L units): flat areas are not over-amplified


def _kernel(shape: int, size: int) -> np.ndarray:
    return cv2.getStructuringElement(shape, (size, size))


def _line(length: int, angle: float) -> np.ndarray:
    """A 1 px wide line structuring element of ``length`` px at ``angle`` radians."""
    k = np.zeros((length, length), np.uint8)
    c = (length - 1) / 2
    dx, dy = np.cos(angle) * c, np.sin(angle) * c
    cv2.line(k, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1, 1)
    return k


def _odd(x: float) -> int:
    return max(3, int(round(x)) // 2 * 2 + 1)


def _responses(gray: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(bright, dark) thin-structure responses: max top-hat / black-hat over two sizes."""
    bright = np.zeros_like(gray)
    dark = np.zeros_like(gray)
    for size in (_odd(5 * scale), _odd(9 * scale)):
        k = _kernel(cv2.MORPH_ELLIPSE, size)
        bright = np.maximum(bright, cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, k))
        dark = np.maximum(dark, cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, k))
    return bright, dark


def _lineness(resp: np.ndarray, length: int) -> np.ndarray:
    """Response kept only where a straight segment of ``length`` px fits (any of 12 angles),
    after a 3x3 dilation that lets gently curved 1 px lines hold the segment."""
    thick = cv2.dilate(resp, _kernel(cv2.MORPH_RECT, 3))
    best = np.zeros_like(resp)
    for angle in np.arange(12) * np.pi / 12:
        best = np.maximum(best, cv2.morphologyEx(thick, cv2.MORPH_OPEN, _line(length, angle)))
    return np.minimum(best, resp)


def _activity(resp: np.ndarray, p: DetectorParams, scale: float) -> np.ndarray:
    """Local level of the response: its mean over a ``window`` px square (high in texture)."""
    return cv2.blur(resp, (_odd(p.window * scale),) * 2)


def _hysteresis(seeds: np.ndarray, grow: np.ndarray) -> np.ndarray:
    """Components of ``grow`` that contain a seed pixel (both (H, W) bool)."""
    count, labels = cv2.connectedComponents((grow | seeds).astype(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    keep[np.unique(labels[seeds])] = True
    keep[0] = False
    return keep[labels]


def _polarity_mask(resp: np.ndarray, background: np.ndarray, p: DetectorParams,
                   high: float, scale: float) -> np.ndarray:
    """Detected marks of one polarity (bright or dark) as (H, W) bool."""
    line = _lineness(resp, _odd(p.line_length * scale))
    strong = resp > p.min_contrast
    line_seed = (line / (_activity(line, p, scale) + p.floor) > high) & strong
    norm = resp / (_activity(resp, p, scale) + p.floor)
    candidates = (norm > high) & strong
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates.astype(np.uint8))
    small = stats[:, cv2.CC_STAT_AREA] <= p.dust_area * scale * scale
    small[0] = False
    seeds = line_seed | small[labels]
    grown = _hysteresis(seeds, (norm > high * p.low_ratio) & (resp > p.min_contrast / 2))
    return _filter_components(grown, resp, background, p, scale)


def _component_medians(values: np.ndarray, marks: np.ndarray, labels: np.ndarray,
                       count: int) -> np.ndarray:
    """Median of ``values`` over each labelled component (index = label; 0 for none)."""
    idx = labels[marks]
    order = np.argsort(idx, kind="stable")
    ids, starts = np.unique(idx[order], return_index=True)
    out = np.zeros(count, np.float32)
    out[ids] = [np.median(a) for a in np.split(values[marks][order], starts[1:])]
    return out


def _filter_components(marks: np.ndarray, resp: np.ndarray, background: np.ndarray,
                       p: DetectorParams, scale: float) -> np.ndarray:
    """Keep the components that look like damage: thin (mean width <= ``max_width``) or
    dust-sized, at least ``min_area``, not hugging the photo's border, and not lying along
    a strong edge of the background (median gradient > ``edge_ratio`` x median contrast)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(marks.astype(np.uint8))
    if count <= 1:
        return marks
    area = stats[:, cv2.CC_STAT_AREA].astype(np.float32)
    inner = cv2.erode(marks.astype(np.uint8), _kernel(cv2.MORPH_RECT, 3)) > 0
    edge_px = np.bincount(labels[marks & ~inner], minlength=count).astype(np.float32)
    width = 2 * area / np.maximum(edge_px, 1)  # ~ stroke width for lines, ~radius for blobs
    thin = (width <= p.max_width * scale) | (area <= p.dust_area * scale * scale)
    m = max(1, round(2 * scale))
    rim = np.zeros_like(marks)
    rim[:m], rim[-m:], rim[:, :m], rim[:, -m:] = True, True, True, True
    on_rim = np.bincount(labels[marks & rim], minlength=count) > 0.5 * area
    gx = cv2.Sobel(background, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(background, cv2.CV_32F, 0, 1, ksize=3) / 8
    grad = cv2.GaussianBlur(np.hypot(gx, gy) * _odd(3 * scale), (0, 0), scale)
    on_edge = (_component_medians(grad, marks, labels, count)
               > p.edge_ratio * _component_medians(resp, marks, labels, count))
    keep = thin & ~on_rim & ~on_edge & (area >= p.min_area)
    keep[0] = False
    return keep[labels]


def scratch_mask(rgb: np.ndarray, sensitivity: float = 0.5,
                 params: DetectorParams = DetectorParams()) -> np.ndarray:
    """Scratches and dust in ``rgb`` (H, W, 3) float32 [0, 1] -> (H, W) bool mask."""
    if not 0.0 <= sensitivity <= 1.0:
        raise NeuronError(f"sensitivity must be in [0, 1], got {sensitivity}")
    h, w = rgb.shape[:2]
    luma = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    gray: np.ndarray = np.ascontiguousarray(rgb.astype(np.float32) @ luma)
    f = min(1.0, WORK_SIDE / max(h, w))
    if f < 1.0:
        gray = cv2.resize(gray, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
    scale = max(1.0, max(gray.shape) / 1000)
    high = params.high * 2.0 ** ((0.5 - sensitivity) * 3)
    bright, dark = _responses(gray, scale)
    big = _kernel(cv2.MORPH_ELLIPSE, _odd(9 * scale))
    opened = cv2.morphologyEx(gray, cv2.MORPH_OPEN, big)  # picture without bright marks
    closed = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, big)  # ... without dark marks
    marks = (_polarity_mask(bright, opened, params, high, scale)
             | _polarity_mask(dark, closed, params, high, scale)).astype(np.uint8)
    if f < 1.0:
        marks = cv2.resize(marks, (w, h), interpolation=cv2.INTER_NEAREST)
    return dilate_1px(marks)


def dilate_1px(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool grown by 1 px (3x3 cross), the classical detector's last step."""
    return cv2.dilate(mask.astype(np.uint8), _kernel(cv2.MORPH_ELLIPSE, 3)) > 0


def load_scratch_net(device: str = "cpu", weights: str = NET_WEIGHTS):
    """(network, preprocessing dict) of the installed detector (sha256-checked); the network
    is cached per device, weights folder and file checksum (a retrained one is reloaded)."""
    return load(weights, device), dict(get_entry(weights).preprocessing)


def network_available() -> bool:
    """Are the detector's weights listed in the manifest and present?"""
    return installed(NET_WEIGHTS)


def logit_cut(threshold: float, sensitivity: float) -> float:
    """The logit above which a pixel is damaged: ``threshold`` (a probability) at sensitivity
    0.5, lower for higher sensitivity."""
    t = min(max(threshold, 1e-6), 1 - 1e-6)
    return math.log(t / (1 - t)) - SENSITIVITY_SPAN * (sensitivity - 0.5)


def network_logits(net, image: Tensor, tile: int = NET_TILE,
                   cancel: CancelToken | None = None) -> Pipeline[Tensor]:
    """Pipeline: logits (1, 1, H, W) of ``image`` (1, 3, H, W) on its device, tile by tile
    (each seen with NET_MARGIN px of context), so memory follows the tile, not the photo."""
    h, w = image.shape[-2:]
    out = torch.empty((1, 1, h, w), device=image.device)
    corners = [(y, x) for y in range(0, h, tile) for x in range(0, w, tile)]
    for i, (y, x) in enumerate(corners):
        if cancel is not None:
            cancel.check()
        y0, x0 = max(0, y - NET_MARGIN), max(0, x - NET_MARGIN)
        with torch.inference_mode():
            logits = net(image[..., y0:y + tile + NET_MARGIN, x0:x + tile + NET_MARGIN])
        out[..., y:y + tile, x:x + tile] = logits[..., y - y0:y - y0 + tile,
                                                  x - x0:x - x0 + tile]
        yield Progress((i + 1) / len(corners), "Detecting scratches (network)")
    return out


def _network_mask(image: Tensor, sensitivity: float, device, cancel: CancelToken | None
                  ) -> Pipeline[np.ndarray]:
    """(H, W) bool mask of ``image`` (1, 3, H, W) by the network, at most WORK_SIDE px."""
    masks = yield from _network_masks(image, (sensitivity,), device, cancel)
    return masks[0]


def _network_masks(image: Tensor, sensitivities: tuple[float, ...], device,
                   cancel: CancelToken | None) -> Pipeline[list[np.ndarray]]:
    """:func:`_network_mask` at each of ``sensitivities`` (the network runs once)."""
    h, w = image.shape[-2:]
    f = min(1.0, WORK_SIDE / max(h, w))
    size = (max(1, round(h * f)), max(1, round(w * f)))

    def job(dev: torch.device, tile: int | None) -> Pipeline[tuple[Tensor, dict]]:
        yield Progress(0.0, "Loading the scratch detector")
        net, prep = load_scratch_net(str(dev))
        x = image.to(dev, torch.float32)
        if f < 1.0:
            x = F.interpolate(x, size=size, mode="area")
        logits = yield from network_logits(net, x, tile or NET_TILE, cancel)
        if f < 1.0:
            logits = F.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False)
        return logits[0, 0].cpu(), prep

    logits, prep = yield from run_with_fallback(job, device=choose_device(device),
                                                tile_sizes=(NET_TILE, NET_TILE // 2))
    masks = []
    for s in sensitivities:
        mask = logits.numpy() > logit_cut(float(prep.get("threshold", 0.5)), s)
        masks.append(dilate_1px(mask) if prep.get("dilate") else mask)
    return masks


def detect_scratches(
    image: Tensor,
    *,
    sensitivity: float = 0.5,
    method: str = "auto",
    device: torch.device | str | None = None,
    cancel: CancelToken | None = None,
    protect_faces: bool = False,
) -> Pipeline[Tensor]:
    """Pipeline: a scratch/dust mask for ``image`` (1, 3, H, W) RGB [0, 1].

    ``method``: "classical" (OpenCV morphology, on the CPU whatever ``device`` says),
    "network" (the learned detector on ``device``; WeightsError when not installed) or
    "auto" (the network when installed and PREFER_NETWORK, else classical).
    ``protect_faces``: marks on frontal faces are kept only where a stricter detection
    finds them too, and not on eyes, nose and mouth, unless they mostly lie off the faces
    (``pipelines.faces``). Returns (1, 1, H, W)
    float32 in {0, 1} (1 = damaged) on the image's device. Arguments are checked on call.
    """
    if image.dim() != 4 or image.shape[:2] != (1, 3):
        raise NeuronError(f"expected an RGB image (1, 3, H, W), got {tuple(image.shape)}")
    if not 0.0 <= sensitivity <= 1.0:
        raise NeuronError(f"sensitivity must be in [0, 1], got {sensitivity}")
    if method not in METHODS:
        raise NeuronError(f"unknown scratch detection method {method!r} "
                          f"(available: {', '.join(METHODS)})")
    if method == "auto":
        method = "network" if PREFER_NETWORK and network_available() else "classical"
    elif method == "network" and not network_available():
        raise WeightsError(f"the scratch detection network ({NET_WEIGHTS!r}) is not installed "
                           f"in {weights_dir()}; train it with 'neuron train scratches' or "
                           "use the classical method")
    if not protect_faces:
        return _detect(image, sensitivity, method, device, cancel)
    return _detect_protected(image, sensitivity, method, device, cancel)


def _detect(image: Tensor, sensitivity: float, method: str, device,
            cancel: CancelToken | None) -> Pipeline[Tensor]:
    yield Progress(0.0, "Detecting scratches")
    if cancel is not None:
        cancel.check()
    if method == "network":
        mask = yield from wrap_progress(_network_mask(image, sensitivity, device, cancel),
                                        0.0, 0.99)
    else:
        rgb = image[0].detach().to("cpu", torch.float32).permute(1, 2, 0).numpy()
        mask = scratch_mask(rgb, sensitivity)
    yield Progress(1.0, "Scratches detected")
    return torch.from_numpy(mask.astype(np.float32))[None, None].to(image.device)


def _detect_protected(image: Tensor, sensitivity: float, method: str, device,
                      cancel: CancelToken | None) -> Pipeline[Tensor]:
    """:func:`_detect`, then the marks on faces kept only where a detection at
    ``sensitivity - faces.STRICT_DROP`` finds them too (none on eyes, nose, mouth) unless
    most of the mark lies off the faces (``faces.protect``)."""
    from neuron_desktop.pipelines import faces

    yield Progress(0.0, "Looking for faces")
    rgb = image[0].detach().to("cpu", torch.float32).permute(1, 2, 0).numpy()
    boxes = faces.face_boxes(rgb)
    strict_s = max(0.0, sensitivity - faces.STRICT_DROP)
    if cancel is not None:
        cancel.check()
    yield Progress(0.05, "Detecting scratches")
    if method == "network":
        masks = yield from wrap_progress(_network_masks(
            image, (sensitivity, strict_s) if boxes else (sensitivity,), device, cancel),
            0.05, 0.95)
        mask, strict = masks[0], (masks[1] if boxes else None)
    else:
        mask = scratch_mask(rgb, sensitivity)
        strict = None
        if boxes:
            yield Progress(0.5, "Detecting scratches on faces")
            if cancel is not None:
                cancel.check()
            strict = scratch_mask(rgb, strict_s)
    if boxes:
        mask = faces.protect(mask, boxes, strict)
    yield Progress(1.0, f"Scratches detected ({len(boxes)} face(s) protected)")
    return torch.from_numpy(mask.astype(np.float32))[None, None].to(image.device)
