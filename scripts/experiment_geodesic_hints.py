"""How far a colour hint reaches: the straight line against a geodesic distance on lightness.

A hint's correction is weighed by its distance to the hint (with lightness and same-region
terms). With ``Propagation.geodesic`` = BETA > 0 that distance is measured along the photo
(``core/geodesic.py``): a step between neighbouring pixels costs its length times
1 + BETA * |dL| / 10, so crossing an edge in L costs more. STRETCH scales both reaches
(``sigma_space`` 0.15 and ``gate_space`` 0.4, the straight-line setting shipped before the
geodesic one). BETA 0: the straight line. Validation split, the eval's protocol: one seeded
true hint (near / rest PSNR change, share of photos whose rest loses > 0.1 dB;
``--seeds K``: K hints per photo, one at a time) and
1 / 5 / 10 / 20 hints. The first row is the shipped propagation.

    python scripts/experiment_geodesic_hints.py [--limit N] 0:1 1:1.5 5:2.5 ...   (BETA:STRETCH)

An optional third value sets ``Propagation.pull`` (what spreads: 0 the hint's correction,
1 its colour), e.g. ``1:1.5:0.5``, a fourth ``Propagation.sigma_texture`` (0: off).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from neuron_desktop.core.color import rgb_to_lab
from neuron_desktop.core.imageio import load_image, to_tensor
from neuron_desktop.core.metrics import psnr
from neuron_desktop.evaluation import colorize as ec
from neuron_desktop.pipelines import colorize as pc


def propagation(beta: float, stretch: float, pull: float = 0.0, texture: float = 0.0
                ) -> pc.Propagation:
    return pc.Propagation(sigma_space=0.15 * stretch, gate_space=0.4 * stretch, geodesic=beta,
                          pull=pull, sigma_texture=texture)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="+", help="BETA:STRETCH[:PULL[:TEXTURE]]")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--seeds", type=int, default=1,
                        help="one-hint trials per photo (the first is the eval's seed)")
    parser.add_argument("--out", default="runs/eval/geodesic_hints_validation.json")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    configs = {"shipped": pc.DEFAULT_PROPAGATION}
    for c in args.configs:
        configs[c] = propagation(*(float(v) for v in c.split(":")))
    net = pc.load_colorizer()
    t = pc.DEFAULT_TEMPERATURE
    rows: dict[str, dict[str, list]] = {c: {"locality": []} for c in configs}
    for i, path in enumerate(ec.default_files(validation=True)[:args.limit]):
        truth = ec.to_8bit(to_tensor(load_image(path).rgb).clamp(0, 1))
        lab = rgb_to_lab(truth)
        prep = pc.prepare(net, truth, pc.DEFAULT_RENDER_SIZE)
        auto = ec.to_8bit(pc.finish(prep, pc.work_ab(net, prep, [], t), True))
        for c, prop in configs.items():
            row = rows[c]
            for j in range(args.seeds):
                row["locality"].append(ec.hint_locality(net, prep, lab, truth, auto, t,
                                                        5000 + i + 10000 * j, prop))
            row.setdefault("psnr_auto", []).append(float(psnr(auto, truth)))
            for n in ec.HINT_COUNTS:
                hints = ec.truth_hints(lab, n, seed=1000 + i)
                out = ec.to_8bit(pc.finish(prep, pc.work_ab(net, prep, hints, t, prop), True))
                row.setdefault(f"psnr_{n}", []).append(float(psnr(out, truth)))
    summary = {}
    for c, r in rows.items():
        loc = ec.locality_summary(r["locality"])
        summary[c] = {
            "near_db": loc["psnr_change_near"], "rest_db": loc["psnr_change_rest"],
            "share_rest_drop_over_0.1dB": loc["photos_rest_drop_over_0.1dB"],
            **{f"hints_{n}_db": float(np.mean(r[f"psnr_{n}"])) for n in ec.HINT_COUNTS},
            "auto_db": float(np.mean(r["psnr_auto"])), "photos": len(r["psnr_auto"]),
            "one_hint_trials": len(r["locality"])}
        print(c, {k: round(v, 3) for k, v in summary[c].items()})
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
