"""Pick the colorizer's decoding temperature and refinement radius on the VALIDATION split
of the training photos (never on eval/). Prints a table, writes docs/eval/colorize_tuning.json.

    .venv/bin/python scripts/tune_colorize.py [--weights default]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

import neuron_desktop.pipelines.colorize as pc
from neuron_desktop.core.color import lab_to_rgb, rgb_to_lab
from neuron_desktop.core.imageio import load_image, to_tensor
from neuron_desktop.core.metrics import colorfulness, psnr
from neuron_desktop.evaluation.colorize import default_files
from neuron_desktop.evaluation.common import print_table, to_8bit, write_json
from neuron_desktop.models.colorization import annealed_mean

TEMPERATURES = (0.2, 0.3, 0.38, 0.5, 0.7, 1.0)
RADII_AT_512 = (0, 10, 20, 40)  # 0 = no refinement


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="default")
    args = parser.parse_args()
    net = pc.load_colorizer(args.weights, "cpu")
    files = default_files(validation=True)
    stats: dict[tuple[float, int], dict[str, list[float]]] = {}
    gray_psnr, truth_cf = [], []
    for path in files:
        truth = to_8bit(to_tensor(load_image(path).rgb))
        lab = rgb_to_lab(truth)
        prep = pc.prepare(net, truth, pc.DEFAULT_RENDER_SIZE)
        logits = pc.predict_logits(net, prep, [])
        gray = lab_to_rgb(torch.cat([prep.l_full, torch.zeros_like(lab[:, 1:])], 1))
        gray_psnr.append(float(psnr(to_8bit(gray), truth)))
        truth_cf.append(float(colorfulness(truth)))
        h, w = prep.work_size
        for t in TEMPERATURES:
            ab = annealed_mean(logits, net.bins, t)
            ab = torch.nn.functional.interpolate(ab, scale_factor=2, mode="bilinear")[..., :h, :w]
            for r in RADII_AT_512:
                pc.REFINE_RADIUS_AT_512 = r or 40
                out = to_8bit(pc.finish(prep, ab, refine=r > 0))
                s = stats.setdefault((t, r), {"psnr": [], "cf": []})
                s["psnr"].append(float(psnr(out, truth)))
                s["cf"].append(float(colorfulness(out)))
    rows = [{"temperature": t, "radius_at_512": r, "psnr": float(np.mean(s["psnr"])),
             "psnr_minus_gray": float(np.mean(s["psnr"]) - np.mean(gray_psnr)),
             "colorfulness_ratio": float(np.mean(s["cf"]) / np.mean(truth_cf))}
            for (t, r), s in stats.items()]
    print(f"validation photos: {len(files)}; gray baseline PSNR {np.mean(gray_psnr):.2f} dB")
    print_table(rows, [("temperature", "T", ".2f"), ("radius_at_512", "radius@512", ""),
                       ("psnr", "PSNR", ".2f"), ("psnr_minus_gray", "vs gray", "+.2f"),
                       ("colorfulness_ratio", "colorfulness", ".3f")])
    write_json(Path("docs/eval/colorize_tuning.json"),
               {"split": "train validation (5 %)", "images": len(files),
                "gray_psnr": float(np.mean(gray_psnr)), "rows": rows})


if __name__ == "__main__":
    main()
