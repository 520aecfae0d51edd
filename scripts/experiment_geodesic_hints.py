"""Experiment (measured, not shipped): hints spread by a geodesic distance on lightness.

The shipped propagation weighs a hint's correction by the straight-line distance to the hint
(with lightness and same-region terms). Here that distance is replaced by a geodesic one: a
step between neighbouring pixels costs its length times 1 + BETA * |dL| / 10, so crossing an
edge in L costs more; STRETCH divides the distance (a longer reach; BETA -1: the straight
line, stretched, as the control; -1:1 is the straight-line reach shipped before 2026-12-07's
nineteenth session, the first row the shipped propagation). Computed at a quarter
of the working size by repeated 8-neighbour relaxation (slow: ~50 ms a hint; a product
version would need a faster scan). Validation split, the eval's protocol: one seeded true
hint (near / rest PSNR change, share of photos whose rest loses > 0.1 dB) and 10 hints.

    python scripts/experiment_geodesic_hints.py [--limit N] 1:1.5 5:2.5 ...   (BETA:STRETCH)
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
import torch.nn.functional as F

from neuron_desktop.core.color import rgb_to_lab
from neuron_desktop.core.imageio import load_image, to_tensor
from neuron_desktop.core.metrics import psnr
from neuron_desktop.evaluation import colorize as ec
from neuron_desktop.pipelines import colorize as pc

STEPS = [(-1, 0, 1.0), (1, 0, 1.0), (0, -1, 1.0), (0, 1, 1.0),
         (-1, -1, 2 ** .5), (-1, 1, 2 ** .5), (1, -1, 2 ** .5), (1, 1, 2 ** .5)]


def geodesic_d2(l: torch.Tensor, centers: torch.Tensor, beta: float, scale: int = 4
                ) -> torch.Tensor:
    """(N, h, w) squared geodesic distance (in pixels of ``l``) from each centre (y, x)."""
    h, w = l.shape[-2:]
    ls = F.avg_pool2d(l, scale, ceil_mode=True)[0, 0]
    gh, gw = ls.shape
    d = torch.full((len(centers), gh, gw), 1e9)
    for i, (cy, cx) in enumerate(centers.tolist()):
        d[i, min(int(cy / scale), gh - 1), min(int(cx / scale), gw - 1)] = 0
    pad = F.pad(ls[None, None], (1, 1, 1, 1), mode="replicate")[0, 0]
    costs = [n * (1 + beta * (ls - pad[1 + dy:1 + dy + gh, 1 + dx:1 + dx + gw]).abs() / 10)
             for dy, dx, n in STEPS]
    for _ in range(gh + gw):
        dp = F.pad(d[None], (1, 1, 1, 1), value=1e9)[0]
        new = d
        for (dy, dx, _), c in zip(STEPS, costs, strict=True):
            new = torch.minimum(new, dp[:, 1 + dy:1 + dy + gh, 1 + dx:1 + dx + gw] + c)
        if torch.equal(new, d):
            break
        d = new
    return (F.interpolate(d[None], size=(h, w), mode="bilinear", align_corners=False)[0]
            * scale) ** 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="+", help="BETA:STRETCH")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", default="runs/eval/geodesic_hints_validation.json")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    setting: dict = {"v": None}
    shipped = pc.hint_geometry

    def geometry(hints, l_full, l_work, sigma_range, probs, boxes=None, geodesic=0.0):
        if setting["v"] is None:  # the shipped propagation as it is
            return shipped(hints, l_full, l_work, sigma_range, probs, boxes, geodesic)
        # a variant of the straight-line reach the experiment started from (0.15 / 0.4)
        g = shipped(hints, l_full, l_work, sigma_range, probs, boxes, 0.0)
        beta, stretch = setting["v"]
        stretch *= 0.15 / pc.DEFAULT_PROPAGATION.sigma_space
        d2 = g.d2 if beta < 0 else geodesic_d2(l_work, g.centers, beta)
        g.d2 = d2 / stretch ** 2
        return g

    pc.hint_geometry = geometry
    configs = [None] + [tuple(float(v) for v in c.split(":")) for c in args.configs]
    net = pc.load_colorizer()
    t = pc.DEFAULT_TEMPERATURE
    rows: dict[str, dict[str, list]] = {str(c): {} for c in configs}
    for i, path in enumerate(ec.default_files(validation=True)[:args.limit]):
        truth = ec.to_8bit(to_tensor(load_image(path).rgb).clamp(0, 1))
        lab = rgb_to_lab(truth)
        prep = pc.prepare(net, truth, pc.DEFAULT_RENDER_SIZE)
        auto = ec.to_8bit(pc.finish(prep, pc.work_ab(net, prep, [], t), True))
        hints = ec.truth_hints(lab, 10, seed=1000 + i)
        for c in configs:
            setting["v"] = c
            loc = ec.hint_locality(net, prep, lab, truth, auto, t, seed=5000 + i)
            ten = ec.to_8bit(pc.finish(prep, pc.work_ab(net, prep, hints, t), True))
            row = rows[str(c)]
            for k, v in (*loc.items(), ("psnr_10", float(psnr(ten, truth))),
                         ("psnr_auto", float(psnr(auto, truth)))):
                row.setdefault(k, []).append(v)
    summary = {}
    for c, r in rows.items():
        def db(a, b):
            return float(10 * np.log10(np.mean(a) / np.mean(b)))
        summary[c] = {
            "near_db": db(r["mse_auto_near"], r["mse_hint_near"]),
            "rest_db": db(r["mse_auto_rest"], r["mse_hint_rest"]),
            "share_rest_drop_over_0.1dB": float(np.mean(
                [10 * np.log10(h / a) > 0.1 for a, h in zip(r["mse_auto_rest"],
                                                           r["mse_hint_rest"], strict=True)])),
            "hints_10_gain_db": float(np.mean(r["psnr_10"]) - np.mean(r["psnr_auto"])),
            "photos": len(r["psnr_10"])}
        print(c, {k: round(v, 3) for k, v in summary[c].items()})
    from pathlib import Path

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
