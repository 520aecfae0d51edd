"""Core benchmarks: guided filter at 12 MP, Lab conversion throughput, 24 MP JPEG load."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import measure, rows_with_ratios

GF_RADIUS, GF_EPS = 40, 1e-4


def _photo_like(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth, textured synthetic RGB image (H, W, 3) float32 in [0, 1]."""
    rng = np.random.default_rng(seed)
    small = rng.random((max(h // 64, 2), max(w // 64, 2), 3), dtype=np.float32)
    import cv2

    base = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    noise = rng.normal(0, 0.03, (h, w, 1)).astype(np.float32)
    return np.clip(base + noise, 0, 1)


def bench_guided(devices: list[str], quick: bool) -> list[dict]:
    from neuron_desktop.core.color import rgb_to_lab
    from neuron_desktop.core.guided import guided_filter
    from tests.core.guided_reference import guided_filter_cv2, guided_filter_numpy

    h, w = (1500, 2000) if quick else (3000, 4000)
    name = f"guided filter {w}x{h} r{GF_RADIUS} (gray guide, ab src)"
    lab = rgb_to_lab(torch.from_numpy(_photo_like(h, w)).permute(2, 0, 1)[None])
    guide, src = lab[:, :1] / 100, lab[:, 1:] / 110
    guide_np, src_np = guide[0, 0].numpy(), src[0].permute(1, 2, 0).numpy()
    rows = []

    def row(impl, device, seconds, **extra):
        rows.append({"benchmark": name, "impl": impl, "device": device, "seconds": seconds,
                     "megapixels": h * w / 1e6, **extra})

    row("numpy float64 reference", "cpu",
        measure(lambda: guided_filter_numpy(guide_np, src_np, GF_RADIUS, GF_EPS),
                repeat=1, warmup=0))
    row("cv2.boxFilter reference", "cpu",
        measure(lambda: guided_filter_cv2(guide_np, src_np, GF_RADIUS, GF_EPS), repeat=3))
    for dev in devices:
        g, s = guide.to(dev), src.to(dev)
        with torch.no_grad():
            for sub in (1, 4):
                t = measure(lambda g=g, s=s, sub=sub: guided_filter(g, s, GF_RADIUS, GF_EPS, sub),
                            device=dev, repeat=5 if dev != "cpu" else 3)
                impl = "neuron guided_filter" + (f" (fast, s={sub})" if sub > 1 else "")
                extra = {}
                if sub == 1 and dev == "cpu":
                    extra = {"target": "< 1.5 s", "meets_target": t < 1.5}
                row(impl, dev, t, **extra)
    cpu = next(r["seconds"] for r in rows if r["impl"] == "neuron guided_filter"
               and r["device"] == "cpu")
    for r in rows:
        if r["device"] != "cpu" and r["impl"] == "neuron guided_filter":
            r["speedup_vs_cpu"] = cpu / r["seconds"]
            r["target"], r["meets_target"] = "≥ 20× CPU", cpu / r["seconds"] >= 20
    return rows_with_ratios(rows, "numpy float64 reference")


def bench_lab(devices: list[str], quick: bool) -> list[dict]:
    import cv2

    from neuron_desktop.core.color import lab_to_rgb, rgb_to_lab

    h, w = (1500, 2000) if quick else (3000, 4000)
    mp = h * w / 1e6
    img = _photo_like(h, w, seed=1)
    name = f"sRGB->Lab {w}x{h}"
    rows = []

    def row(impl, device, seconds, bench=name):
        rows.append({"benchmark": bench, "impl": impl, "device": device, "seconds": seconds,
                     "throughput": f"{mp / seconds:.0f} MP/s"})

    try:
        from skimage.color import rgb2lab

        row("skimage.color.rgb2lab", "cpu", measure(lambda: rgb2lab(img), repeat=2))
    except ImportError:
        pass
    row("cv2.cvtColor (float32)", "cpu",
        measure(lambda: cv2.cvtColor(img, cv2.COLOR_RGB2Lab), repeat=3))
    t = torch.from_numpy(img).permute(2, 0, 1)[None].contiguous()
    for dev in devices:
        x = t.to(dev)
        with torch.no_grad():
            row("neuron rgb_to_lab", dev, measure(lambda x=x: rgb_to_lab(x), device=dev))
            lab = rgb_to_lab(x)
            row("neuron lab_to_rgb", dev, measure(lambda lab=lab: lab_to_rgb(lab), device=dev),
                bench=f"Lab->sRGB {w}x{h}")
    base = "skimage.color.rgb2lab" if any(r["impl"].startswith("skimage") for r in rows) else \
        "cv2.cvtColor (float32)"
    return rows_with_ratios(rows, base)


def bench_load(devices: list[str], quick: bool) -> list[dict]:
    import cv2
    from PIL import Image

    from neuron_desktop.core.imageio import load_image

    h, w = (2000, 3000) if quick else (4000, 6000)
    name = f"load {w}x{h} JPEG ({h * w / 1e6:.0f} MP)"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.jpg"
        Image.fromarray((_photo_like(h, w, seed=2) * 255).astype(np.uint8)).save(path, quality=92)

        def pil_load():
            with Image.open(path) as im:
                return np.asarray(im.convert("RGB"), dtype=np.float32) / 255

        for impl, fn in [("PIL open + float", pil_load),
                         ("cv2.imread", lambda: cv2.imread(str(path), cv2.IMREAD_COLOR)),
                         ("neuron load_image", lambda: load_image(path))]:
            rows.append({"benchmark": name, "impl": impl, "device": "cpu",
                         "seconds": measure(fn, repeat=3)})
    return rows_with_ratios(rows, "PIL open + float")


def run(devices: list[str], quick: bool = False) -> list[dict]:
    return bench_guided(devices, quick) + bench_lab(devices, quick) + bench_load(devices, quick)
