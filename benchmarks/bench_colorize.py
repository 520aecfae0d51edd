"""Colorization speed: 12 MP photo end to end (load excluded; also with the restorer's clean
view, against the default in the same run) and one hint update at 256 px."""

from __future__ import annotations

import torch

from benchmarks.common import measure
from neuron_desktop.core.masks import Hint
from neuron_desktop.core.progress import run_pipeline
from neuron_desktop.pipelines.colorize import colorize, load_colorizer, prepare, work_ab

HINTS = [Hint(100 + 30 * i, 80 + 20 * i, (0.8, 0.3, 0.2), 5) for i in range(10)]


def _photo(h: int, w: int) -> torch.Tensor:
    from benchmarks.bench_core import _photo_like

    return torch.from_numpy(_photo_like(h, w, seed=5)).permute(2, 0, 1)[None].contiguous()


def run(devices: list[str], quick: bool = False) -> list[dict]:
    rows = []
    h, w = (1500, 2000) if quick else (3000, 4000)
    image = _photo(h, w)
    small = _photo(384, 512)
    for dev in devices:
        net = load_colorizer("default", dev)
        x = image.to(dev)
        t = measure(lambda x=x, net=net, dev=dev: run_pipeline(
            colorize(x, model=net, device=dev)), device=dev, repeat=3)
        target = "< 4 s" if dev == "cpu" else ""
        rows.append({"benchmark": f"colorize {w}x{h} end to end (refined)", "impl": "neuron",
                     "device": dev, "seconds": t, "target": target,
                     **({"meets_target": t < 4} if dev == "cpu" else {})})
        t = measure(lambda x=x, net=net, dev=dev: run_pipeline(
            colorize(x, model=net, device=dev, refine=False)), device=dev, repeat=3)
        rows.append({"benchmark": f"colorize {w}x{h} end to end (no refinement)",
                     "impl": "neuron", "device": dev, "seconds": t})
        # the restorer's clean view (prepare's clean_view, off by default) against the default
        t_auto = measure(lambda x=x, net=net, dev=dev: run_pipeline(
            colorize(x, model=net, device=dev, clean_view="auto")), device=dev, repeat=3)
        rows.append({"benchmark": f"colorize {w}x{h} end to end (refined), clean view auto",
                     "impl": "neuron", "device": dev, "seconds": t_auto,
                     "ratio_to_default": t_auto / rows[-2]["seconds"]})
        prep = prepare(net, small.to(dev), 256)
        t = measure(lambda net=net, prep=prep: work_ab(net, prep, HINTS, 0.38), device=dev,
                    repeat=10)
        limit = 0.150 if dev == "cpu" else 0.015
        rows.append({"benchmark": "hint update at 256 px (10 hints)", "impl": "neuron",
                     "device": dev, "seconds": t, "target": f"< {limit * 1000:.0f} ms",
                     "meets_target": t < limit})
    return rows
