"""Choose the automatic prior correction α (and the refinement radius) on the VALIDATION split
of the training photos (never on eval/), the way the shipped defaults were chosen.

For each radius and α (T fixed at the default), the whole pipeline runs at full size, refined,
and is scored by its mean PSNR gain over the gray image and its colourfulness ratio. The
choice: the most colourful setting whose gain is no lower than the reference's (the current
defaults with the reference weights, measured on the same photos, or ``--min-gain``).
Each row also gives the colour cast (``core.metrics.colour_cast``: the mean b* bias, and the
share of truly blue and green pixels that stay so), since PSNR alone rewards a brown wash.

    .venv/bin/python scripts/select_colorize_alpha.py [--weights default] [--radii 20 40]
        [--reference default | --min-gain DB] [--limit N] [--data FOLDER...] [--out FILE]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

import neuron_desktop.pipelines.colorize as pc
from neuron_desktop.core.color import lab_to_rgb
from neuron_desktop.core.imageio import load_image, to_tensor
from neuron_desktop.core.metrics import colorfulness, colour_cast, pooled_colour_cast, psnr
from neuron_desktop.evaluation.colorize import default_files
from neuron_desktop.evaluation.common import print_table, to_8bit, write_json


def measure(net, logits, truth, prep, alpha: float, radius: int) -> dict[str, float]:
    """PSNR, colourfulness and colour cast of the automatic result at ``alpha`` (moved per
    photo by the scene head where the weights have one), ``radius``."""
    alpha = pc.auto_prior_correction(net, prep, alpha)
    ab = pc.upsample_to_work(net.decode(logits, pc.DEFAULT_TEMPERATURE, alpha), prep)
    out = to_8bit(pc.finish(prep, ab, True, radius_at_512=radius))
    return {"psnr": float(psnr(out, truth)), "colorfulness": float(colorfulness(out)),
            **colour_cast(out, truth)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="default")
    parser.add_argument("--radii", type=int, nargs="+", default=[pc.REFINE_RADIUS_AT_512])
    parser.add_argument("--alphas", type=float, nargs="+",
                        default=[round(a, 2) for a in np.arange(0.25, 0.61, 0.02)])
    ref = parser.add_mutually_exclusive_group()
    ref.add_argument("--reference", default="default",
                     help="weights whose gain at the current defaults is the floor")
    ref.add_argument("--min-gain", type=float, default=None, help="the floor in dB instead")
    parser.add_argument("--limit", type=int, default=None, help="first N photos (smoke test)")
    parser.add_argument("--data", nargs="+", default=None,
                        help="the validation split (5 %% by name) of these folders instead "
                             "of the training photos' (e.g. ../extra_data/voc)")
    parser.add_argument("--out", default="docs/eval/colorize_alpha.json")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    net = pc.load_colorizer(args.weights, "cpu")
    ref_net = None if args.min_gain is not None else pc.load_colorizer(args.reference, "cpu")
    if args.data:
        from neuron_desktop.data.photos import list_images, split

        files = split(list_images(args.data), 0.05)[1][:args.limit]
    else:
        files = default_files(validation=True)[:args.limit]
    grid = [(r, a) for r in args.radii for a in args.alphas]
    scores: dict[tuple[int, float], list[dict[str, float]]] = {k: [] for k in grid}
    gray_psnr, truth_cf, ref_psnr = [], [], []
    for path in files:
        truth = to_8bit(to_tensor(load_image(path).rgb).clamp(0, 1))
        prep = pc.prepare(net, truth, pc.DEFAULT_RENDER_SIZE)
        gray = lab_to_rgb(torch.cat([prep.l_full, torch.zeros(1, 2, *truth.shape[-2:])], 1))
        gray_psnr.append(float(psnr(to_8bit(gray), truth)))
        truth_cf.append(float(colorfulness(truth)))
        logits = pc.hint_free_logits(net, prep)  # the network once per photo
        for key in grid:
            scores[key].append(measure(net, logits, truth, prep, key[1], key[0]))
        if ref_net is not None:
            if ref_net is not net:  # another network: its own features and logits
                prep = pc.prepare(ref_net, truth, pc.DEFAULT_RENDER_SIZE)
                logits = pc.hint_free_logits(ref_net, prep)
            ref_psnr.append(measure(ref_net, logits, truth, prep, pc.DEFAULT_PRIOR_CORRECTION,
                                    pc.REFINE_RADIUS_AT_512)["psnr"])
    gray_mean, tcf = float(np.mean(gray_psnr)), np.array(truth_cf)
    floor = args.min_gain if ref_net is None else float(np.mean(ref_psnr)) - gray_mean
    rows = []
    for (radius, alpha), v in scores.items():
        p, c = (np.array([s[k] for s in v]) for k in ("psnr", "colorfulness"))
        rows.append({"radius_at_512": radius, "prior_correction": alpha,
                     "psnr_minus_gray": float(p.mean()) - gray_mean,
                     "colorfulness_ratio": float(c.mean() / tcf.mean()),
                     "sepia_share": float(np.mean(c / np.maximum(tcf, 1e-6) < 0.3)),
                     **pooled_colour_cast(v)})
    ok = [r for r in rows if r["psnr_minus_gray"] >= floor]
    chosen = max(ok, key=lambda r: r["colorfulness_ratio"]) if ok else \
        max(rows, key=lambda r: r["psnr_minus_gray"])
    print(f"validation photos: {len(files)}; gray {gray_mean:.2f} dB; floor {floor:+.3f} dB")
    print_table(rows, [("radius_at_512", "radius", "d"), ("prior_correction", "alpha", ".2f"),
                       ("psnr_minus_gray", "vs gray", "+.3f"),
                       ("colorfulness_ratio", "colorfulness", ".3f"),
                       ("sepia_share", "sepia share", ".3f"), ("b_bias", "b* bias", "+.2f"),
                       ("blue_recall", "blue recall", ".3f"),
                       ("green_recall", "green recall", ".3f")])
    print(f"\nchosen: {chosen}" if ok else f"\nno setting reaches the floor; best: {chosen}")
    split_name = f"validation (5 %) of {' '.join(args.data)}" if args.data else \
        "train validation (5 %)"
    write_json(Path(args.out), {"split": split_name, "images": len(files),
                                "weights": args.weights, "gray_psnr": gray_mean,
                                "floor_db": floor, "temperature": pc.DEFAULT_TEMPERATURE,
                                "chosen": chosen if ok else None, "rows": rows})


if __name__ == "__main__":
    main()
