"""Restore speed beside the classical baselines: 1 MP and 12 MP photos, full resolution.

Targets (CPU): 1 MP < 1.5 s, 12 MP < 20 s; GPU: 12 MP < 1 s. The classical tools run at the
medium-severity settings the evaluation chose on validation (NLM h=8, bilateral 0.08/3).
"""

from __future__ import annotations

import numpy as np

from benchmarks.common import measure
from neuron_desktop.core.progress import run_pipeline


def _photo(h: int, w: int) -> np.ndarray:
    from benchmarks.bench_core import _photo_like

    return np.ascontiguousarray(_photo_like(h, w, seed=9), np.float32)


def run(devices: list[str], quick: bool = False) -> list[dict]:
    from neuron_desktop.core.imageio import to_tensor
    from neuron_desktop.evaluation.restore import bilateral, nlm
    from neuron_desktop.pipelines.restore import load_restorer, restore

    rows = []
    sizes = [("1 MP (1024x1024)", 1024, 1024, 1.5, 1.0)]
    if not quick:
        sizes.append(("12 MP (4000x3000)", 3000, 4000, 20.0, 1.0))
    for label, h, w, cpu_limit, gpu_limit in sizes:
        rgb = _photo(h, w)
        x = to_tensor(rgb)
        reps = 3 if h * w <= 2_000_000 else 1
        for dev in devices:
            net = load_restorer("default", dev)
            xd = x.to(dev)
            t = measure(lambda xd=xd, net=net, dev=dev: run_pipeline(
                restore(xd, model=net, device=dev)), device=dev, repeat=reps)
            limit = cpu_limit if dev == "cpu" else (gpu_limit if h * w > 2e6 else None)
            row = {"benchmark": f"restore {label}", "impl": "neuron", "device": dev,
                   "seconds": t}
            if limit:
                row.update(target=f"< {limit:g} s", meets_target=t < limit)
            rows.append(row)
        if h * w <= 2_000_000 or not quick:
            rows.append({"benchmark": f"restore {label}", "impl": "opencv-nlm", "device": "cpu",
                         "seconds": measure(lambda rgb=rgb: nlm(rgb, 8), repeat=1, warmup=0)})
            rows.append({"benchmark": f"restore {label}", "impl": "opencv-bilateral",
                         "device": "cpu", "seconds": measure(
                             lambda rgb=rgb: bilateral(rgb, 0.08, 3.0), repeat=reps)})

    return rows
