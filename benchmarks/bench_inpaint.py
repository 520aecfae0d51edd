"""Inpainting speed: exemplar fill of a 512x512 photo with a 10 % hole, and a 12 MP photo with
a 5 % mask in six regions (Telea and exemplar through the region-wise high-resolution path,
against OpenCV's Telea on the whole photo); the inpainting networks where installed. The
issue's targets are attached to ``network`` and ``network-fast``; ``network-best`` (four
mirrored runs of ``network``, opt-in) is timed without one."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from benchmarks.common import measure, rows_with_ratios
from neuron_desktop.core.progress import run_pipeline
from neuron_desktop.data.masks import free_form_mask
from neuron_desktop.pipelines.inpaint import (
    NETWORK_WEIGHTS,
    SINGLE_PASS,
    inpaint,
    network_available,
)


def _photo(h: int, w: int, seed: int = 7) -> np.ndarray:
    """Photo-like (H, W, 3) float32: smooth colour fields, fine grain and stripes."""
    from benchmarks.bench_core import _photo_like

    img = _photo_like(h, w, seed=seed)
    stripes = 0.06 * np.sin(np.arange(w, dtype=np.float32) / 3)[None, :, None]
    return np.clip(img + stripes, 0, 1)


def _regions_mask(h: int, w: int, count: int, fraction: float, seed: int = 3) -> np.ndarray:
    """``count`` free-form regions in separate cells, ``fraction`` of the photo in total."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((h, w), np.float32)
    rows, cols = 2, -(-count // 2)
    cell_h, cell_w = h // rows, w // cols
    side = int(min(cell_h, cell_w) * 0.8)
    share = fraction * h * w / count / (side * side)
    for i in range(count):
        r, c = divmod(i, cols)
        y0, x0 = r * cell_h + (cell_h - side) // 2, c * cell_w + (cell_w - side) // 2
        region = free_form_mask(side, side, rng, (share * 0.95, share * 1.05))
        mask[y0:y0 + side, x0:x0 + side] = region
    return mask


NETWORK = tuple(m for m in NETWORK_WEIGHTS if network_available(m))


def _target(row: dict, method: str, limits: dict[str, float]) -> dict:
    """Attach the issue's target to the single-pass network rows."""
    limit = limits.get(row["device"].split(":")[0])
    if method in SINGLE_PASS and limit is not None:
        row["target"] = f"< {limit * 1000:.0f} ms" if limit < 1 else f"< {limit:g} s"
        row["meets_target"] = row["seconds"] < limit
    return row


def _tensors(rgb: np.ndarray, mask: np.ndarray, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    image = torch.from_numpy(rgb).permute(2, 0, 1)[None].contiguous().to(device)
    return image, torch.from_numpy(mask)[None, None].to(device)


def bench_exemplar_512(devices: list[str], quick: bool) -> list[dict]:
    size = 256 if quick else 512
    rgb = _photo(size, size)
    mask = free_form_mask(size, size, np.random.default_rng(1), (0.095, 0.105))
    name = f"fill {size}x{size}, {mask.mean():.0%} free-form hole"
    rows = []
    for dev in devices:
        image, m = _tensors(rgb, mask, dev)
        methods = ("telea", "ns", "harmonic", "exemplar") if dev == "cpu" else ("exemplar",)
        methods += NETWORK
        for method in methods:
            t = measure(lambda image=image, m=m, method=method, dev=dev: run_pipeline(
                inpaint(image, m, method=method, device=dev)), device=dev, repeat=3)
            rows.append(_target({"benchmark": name, "impl": f"neuron {method}", "device": dev,
                                 "seconds": t}, method, {"cpu": 1.5, "cuda": 0.05}))
    return rows_with_ratios(rows, "neuron telea")


def bench_highres(devices: list[str], quick: bool) -> list[dict]:
    h, w = (1500, 2000) if quick else (3000, 4000)
    rgb = _photo(h, w, seed=11)
    mask = _regions_mask(h, w, 6, 0.05)
    name = f"{w}x{h} ({h * w / 1e6:.0f} MP), {mask.mean():.1%} mask in 6 regions"
    rows = []
    rgb8 = (rgb * 255 + 0.5).astype(np.uint8)
    hole8 = (mask > 0.5).astype(np.uint8) * 255
    t = measure(lambda: cv2.inpaint(rgb8, hole8, 3, cv2.INPAINT_TELEA), repeat=1)
    rows.append({"benchmark": name, "impl": "OpenCV Telea, whole photo (8-bit)",
                 "device": "cpu", "seconds": t})
    for dev in devices:
        image, m = _tensors(rgb, mask, dev)
        methods = ("telea", "harmonic", "exemplar") if dev == "cpu" else ("exemplar",)
        for method in methods + NETWORK:
            t = measure(lambda image=image, m=m, method=method, dev=dev: run_pipeline(
                inpaint(image, m, method=method, device=dev)), device=dev,
                repeat=3 if method in SINGLE_PASS else 1)  # a median where a target is judged
            rows.append(_target({"benchmark": name, "impl": f"neuron {method} (high-res path)",
                                 "device": dev, "seconds": t}, method, {"cpu": 5.0}))
    return rows_with_ratios(rows, "OpenCV Telea, whole photo (8-bit)")


def run(devices: list[str], quick: bool = False) -> list[dict]:
    return bench_exemplar_512(devices, quick) + bench_highres(devices, quick)
