"""Choose the colorizer's decoding temperature, refinement radius and hint-propagation
parameters on the VALIDATION split of the training photos (never on eval/).
Prints tables and writes docs/eval/colorize_tuning.json.

    .venv/bin/python scripts/tune_colorize.py [--weights default]
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import neuron_desktop.pipelines.colorize as pc
from neuron_desktop.core.color import lab_to_rgb, rgb_to_lab
from neuron_desktop.core.imageio import load_image, to_tensor
from neuron_desktop.core.metrics import colorfulness, psnr
from neuron_desktop.evaluation.colorize import default_files, truth_hints
from neuron_desktop.evaluation.common import print_table, to_8bit, write_json

TEMPERATURES = (0.2, 0.3, 0.38, 0.5, 0.7, 1.0)
PRIOR_CORRECTIONS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8)
RADII_AT_512 = (0, 20, 40)  # 0 = no refinement
MIN_COLORFULNESS = 0.65  # the floor is 0.6; keep a margin
PROPAGATIONS = [None] + [pc.Propagation(s, r, d) for s, r, d in itertools.product(
    (0.08, 0.15, 0.3), (5.0, 10.0, 20.0), (0.05, 0.2, 1.0))]


def decode(net, prep, logits, t, a):
    h, w = prep.work_size
    ab = net.decode(logits, t, a)
    return F.interpolate(ab, scale_factor=2, mode="bilinear")[..., :h, :w]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="default")
    parser.add_argument("--limit", type=int, default=None, help="first N photos (smoke test)")
    parser.add_argument("--out", default="docs/eval/colorize_tuning.json")
    args = parser.parse_args()
    net = pc.load_colorizer(args.weights, "cpu")
    files = default_files(validation=True)[:args.limit]
    auto: dict[tuple, dict[str, list[float]]] = {}
    hinted: dict[tuple, list[float]] = {}
    gray_psnr, truth_cf = [], []
    cache = []
    for path in files:
        truth = to_8bit(to_tensor(load_image(path).rgb))
        lab = rgb_to_lab(truth)
        prep = pc.prepare(net, truth, pc.DEFAULT_RENDER_SIZE)
        gray = lab_to_rgb(torch.cat([prep.l_full, torch.zeros_like(lab[:, 1:])], 1))
        gray_psnr.append(float(psnr(to_8bit(gray), truth)))
        truth_cf.append(float(colorfulness(truth)))
        logits = pc.predict_logits(net, prep, [])
        cache.append((truth, lab, prep))
        for t, a in itertools.product(TEMPERATURES, PRIOR_CORRECTIONS):
            ab = decode(net, prep, logits, t, a)
            for r in RADII_AT_512:
                pc.REFINE_RADIUS_AT_512 = r or 40
                out = to_8bit(pc.finish(prep, ab, refine=r > 0))
                s = auto.setdefault((t, a, r), {"psnr": [], "cf": []})
                s["psnr"].append(float(psnr(out, truth)))
                s["cf"].append(float(colorfulness(out)))
    pc.REFINE_RADIUS_AT_512 = 40
    gray = float(np.mean(gray_psnr))
    ok = [(np.mean(s["psnr"]), k) for k, s in auto.items()
          if np.mean(s["cf"]) / np.mean(truth_cf) >= MIN_COLORFULNESS and k[2] == 40]
    t_best, a_best, _ = max(ok)[1] if ok else (0.38, 0.0, 40)
    for i, (truth, lab, prep) in enumerate(cache):  # hints at the chosen decoding
        hints = truth_hints(lab, 10, seed=5000 + i)
        logits = pc.predict_logits(net, prep, hints)
        h, w = prep.work_size
        base = decode(net, prep, logits, t_best, a_best)
        for prop in PROPAGATIONS:
            ab = pc.propagate_hints(base, prep.l_work[..., :h, :w], hints, prep.l_full, prop)
            out = to_8bit(pc.finish(prep, ab, refine=True))
            hinted.setdefault(prop, []).append(float(psnr(out, truth)))
    auto_rows = [{"temperature": t, "prior_correction": a, "radius_at_512": r,
                  "psnr": float(np.mean(s["psnr"])),
                  "psnr_minus_gray": float(np.mean(s["psnr"])) - gray,
                  "colorfulness_ratio": float(np.mean(s["cf"]) / np.mean(truth_cf))}
                 for (t, a, r), s in auto.items()]
    hint_rows = [{"propagation": "none" if p is None else
                  f"{p.sigma_space}/{p.sigma_range}/{p.damping}", "psnr": float(np.mean(v))}
                 for p, v in hinted.items()]
    print(f"validation photos: {len(files)}; gray baseline PSNR {gray:.2f} dB")
    print_table(auto_rows, [("temperature", "T", ".2f"), ("prior_correction", "alpha", ".2f"),
                            ("radius_at_512", "radius@512", ""),
                            ("psnr", "PSNR", ".2f"), ("psnr_minus_gray", "vs gray", "+.2f"),
                            ("colorfulness_ratio", "colorfulness", ".3f")])
    print(f"\nchosen: T {t_best}, alpha {a_best} (best PSNR with colorfulness >= "
          f"{MIN_COLORFULNESS}, refined)")
    best = sorted(hint_rows, key=lambda r: -r["psnr"])[:8]
    print("\n10 hints (refined), best propagation settings:")
    print_table(best, [("propagation", "space/range/damping", ""), ("psnr", "PSNR", ".2f")])
    write_json(Path(args.out),
               {"split": "train validation (5 %)", "images": len(files), "gray_psnr": gray,
                "chosen": {"temperature": t_best, "prior_correction": a_best},
                "automatic": auto_rows, "hints_10": hint_rows})


if __name__ == "__main__":
    main()
