"""`neuron eval grain`: do filled holes match the film grain around them?

Eval photos get film grain (:func:`neuron_desktop.data.degrade.grain`, signal dependent,
fine to coarse, seeded per photo), then the inpainting eval's masks (20-30 % free-form and
thin scratches) are filled with grain matching off and on. Reported per method: the hole's
high-pass energy over the surrounding ring's (1.0 = matched; the issue asks 0.8-1.2), as the
mean square (edges and texture count) and robustly (from the median absolute deviation: the
grain alone), and the PSNR of each (the issue allows at most 0.2 dB below the un-grained
fill). On the clean photos (no grain added) it reports how often "auto" adds grain and the
robust energy ratio there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from neuron_desktop.core.grain import highpass, ring, robust_var
from neuron_desktop.core.imageio import load_image, to_tensor
from neuron_desktop.core.metrics import psnr
from neuron_desktop.core.progress import Pipeline, Progress, run_pipeline
from neuron_desktop.data.degrade import grain
from neuron_desktop.data.masks import mask_set
from neuron_desktop.evaluation.common import to_8bit
from neuron_desktop.pipelines.inpaint import inpaint

METHODS = ("telea", "harmonic", "network-fast")
SEED = 30_000


def grainy(rgb: np.ndarray, seed: int) -> np.ndarray:
    """``rgb`` with film grain: 0.02-0.05 at mid-grey, size 0-1.5 px, mostly monochrome."""
    rng = np.random.default_rng(seed)
    h, w = rgb.shape[:2]
    luma = rgb @ np.float32([0.299, 0.587, 0.114])
    amp = rng.uniform(0.02, 0.05) * (0.4 + 2.4 * luma * (1 - luma))
    g = grain((h, w), rng, rng.uniform(0, 1.5))[..., None]
    g = g + 0.25 * np.stack([grain((h, w), rng, 0.6) for _ in range(3)], -1)
    return np.clip(rgb + amp[..., None] * g, 0, 1).astype(np.float32)


def energy_ratio(out: np.ndarray, hole: np.ndarray, robust: bool = False) -> float:
    hp = highpass(out)
    if robust:
        return float(robust_var(hp[hole]).sum() / max(robust_var(hp[ring(hole)]).sum(), 1e-12))
    return float((hp[hole] ** 2).mean() / max((hp[ring(hole)] ** 2).mean(), 1e-12))


def evaluate(files: list[Path], methods=METHODS) -> Pipeline[dict]:
    from neuron_desktop.core.grain import estimate
    from neuron_desktop.data.damage import damage

    sets = ("20-30%", "scratches")
    per: dict = {}
    clean: dict = {"grain_added": [], "robust_energy_ratio_auto": []}
    for i, path in enumerate(files):
        photo = np.clip(load_image(path).rgb, 0, 1).astype(np.float32)
        rgb = grainy(photo, SEED + i)
        h, w = rgb.shape[:2]
        masks = {"20-30%": mask_set(h, w, SEED + i)["20-30%"] > 0,
                 "scratches": damage(rgb, SEED + i)[1] > 0}
        truth = to_8bit(to_tensor(rgb))
        for s in sets:
            hole = masks[s]
            m = torch.from_numpy(hole.astype(np.float32))[None, None]
            for method in methods:
                for mode in ("off", "auto"):
                    out = run_pipeline(inpaint(truth, m, method=method, grain=mode))
                    o = to_8bit(out)
                    arr = o[0].permute(1, 2, 0).numpy()
                    d = per.setdefault(s, {}).setdefault(method, {}).setdefault(
                        mode, {"psnr": [], "energy_ratio": [], "robust_energy_ratio": []})
                    d["psnr"].append(float(psnr(o, truth)))
                    d["energy_ratio"].append(energy_ratio(arr, hole))
                    d["robust_energy_ratio"].append(energy_ratio(arr, hole, robust=True))
        # the same photo without added grain: does "auto" leave it alone (or add only the
        # fine grain the scan already has)?
        hole = masks["20-30%"]
        c = to_8bit(to_tensor(photo))
        model = estimate(c[0].permute(1, 2, 0).numpy(), hole)
        clean["grain_added"].append(float(model is not None and model.grainy))
        out = run_pipeline(inpaint(c, torch.from_numpy(hole.astype(np.float32))[None, None],
                                   method="harmonic", grain="auto"))
        clean["robust_energy_ratio_auto"].append(
            energy_ratio(to_8bit(out)[0].permute(1, 2, 0).numpy(), hole, robust=True))
        yield Progress((i + 1) / len(files), path.name)
    results = {s: {m: {mode: {k: float(np.mean(v)) for k, v in d.items()}
                       for mode, d in modes.items()} for m, modes in ms.items()}
               for s, ms in per.items()}
    for ms in results.values():
        for modes in ms.values():
            modes["psnr_change_db"] = modes["auto"]["psnr"] - modes["off"]["psnr"]
    return {"images": len(files), "results": results,
            "clean_photos": {k: float(np.mean(v)) for k, v in clean.items()}}
