"""Choose the colorizer's decoding (temperature T, prior correction α) and hint-propagation
parameters on the VALIDATION split of the training photos (never on eval/).
Prints tables and writes docs/eval/colorize_tuning.json.

Criterion (automatic): the issue's two measures at once, with a margin: the best PSNR among
settings whose colourfulness ratio is >= MIN_COLORFULNESS and gain over gray >= MIN_GAIN;
failing that, the setting that comes closest to both. Hints: the propagation with the best
10-hint PSNR among those whose single hint costs the rest of the photo < 0.05 dB.

    .venv/bin/python scripts/tune_colorize.py [--weights default] [--limit N]
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

TEMPERATURES = (0.2, 0.3, 0.45, 0.7, 1.0)
PRIOR_CORRECTIONS = (0.0, 0.25, 0.5, 0.75)
CHROMA_BOOSTS = (0.0, 0.5, 1.0, 1.5)
HINTED_CORRECTIONS = (0.5, 0.8)
MIN_COLORFULNESS, MIN_GAIN = 0.9, 0.6  # the floors are 0.85 and +0.5 dB
PROPAGATIONS = [None] + [pc.Propagation(s, r, d, p) for s, r, d, p in itertools.product(
    (0.08, 0.15), (5.0, 10.0), (0.01,), (0.0, 4.0, 8.0))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="default")
    parser.add_argument("--limit", type=int, default=None, help="first N photos (smoke test)")
    parser.add_argument("--hint-photos", type=int, default=80)
    parser.add_argument("--finalists", type=int, default=6)
    parser.add_argument("--out", default="docs/eval/colorize_tuning.json")
    args = parser.parse_args()
    net = pc.load_colorizer(args.weights, "cpu")
    files = default_files(validation=True)[:args.limit]
    auto: dict[tuple, dict[str, list[float]]] = {}
    gray_psnr, truth_cf, cache = [], [], []
    grid = list(itertools.product(TEMPERATURES, PRIOR_CORRECTIONS, CHROMA_BOOSTS))
    for path in files:  # the whole grid at the working size (cheap)...
        truth = to_8bit(to_tensor(load_image(path).rgb))
        lab = rgb_to_lab(truth)
        prep = pc.prepare(net, truth, pc.DEFAULT_RENDER_SIZE)
        h, w = prep.work_size
        small = F.interpolate(truth, size=(h, w), mode="area")
        gray = lab_to_rgb(torch.cat([prep.l_full, torch.zeros_like(lab[:, 1:])], 1))
        gray_psnr.append(float(psnr(to_8bit(gray), truth)))
        truth_cf.append(float(colorfulness(truth)))
        logits = pc.hint_free_logits(net, prep)
        cache.append((truth, lab, prep))
        for t, a, b in grid:
            ab = pc.upsample_to_work(net.decode(logits, t, a, b), prep)
            out = lab_to_rgb(torch.cat([prep.l_work[..., :h, :w], ab], 1))
            s = auto.setdefault((t, a, b), {"psnr": [], "cf": [], "gray": []})
            s["psnr"].append(float(psnr(out, small)))
            s["gray"].append(float(psnr(lab_to_rgb(torch.cat(
                [prep.l_work[..., :h, :w], ab * 0], 1)), small)))
            s["cf"].append(float(colorfulness(out)))
    gray = float(np.mean(gray_psnr))
    tcf = np.array(truth_cf)

    def row(key, s, full):
        ratios = np.array(s["cf"]) / np.maximum(tcf, 1e-6)
        base = gray if full else float(np.mean(s["gray"]))
        return {"temperature": key[0], "prior_correction": key[1], "chroma_boost": key[2],
                "size": "full, refined" if full else "working",
                "psnr": float(np.mean(s["psnr"])),
                "psnr_minus_gray": float(np.mean(s["psnr"])) - base,
                "colorfulness_ratio": float(np.mean(s["cf"]) / np.mean(tcf)),
                "sepia_share": float(np.mean(ratios < 0.3))}

    proxy = [row(k, s, False) for k, s in auto.items()]

    def score(r):
        return min(r["colorfulness_ratio"] / MIN_COLORFULNESS, r["psnr_minus_gray"] / MIN_GAIN)

    # ...then the most promising settings at full size, refined, as the pipeline runs them
    top = sorted(proxy, key=score, reverse=True)[:args.finalists]
    full = {}
    for r in top:
        for keep in (False, True):
            key = (r["temperature"], r["prior_correction"], r["chroma_boost"], keep)
            s = full.setdefault(key, {"psnr": [], "cf": []})
            for truth, _lab, prep in cache:
                ab = pc.upsample_to_work(net.decode(pc.hint_free_logits(net, prep), *key[:3]),
                                         prep)
                out = to_8bit(pc.finish(prep, ab, refine=True, keep_chroma=keep))
                s["psnr"].append(float(psnr(out, truth)))
                s["cf"].append(float(colorfulness(out)))
    rows = [{**row(k[:3], s, True), "keep_chroma": k[3]} for k, s in full.items()]
    ok = [r for r in rows if r["colorfulness_ratio"] >= MIN_COLORFULNESS
          and r["psnr_minus_gray"] >= MIN_GAIN]
    best = max(ok, key=lambda r: r["psnr"]) if ok else max(rows, key=score)
    t_best, a_best, b_best = best["temperature"], best["prior_correction"], best["chroma_boost"]
    keep_best = best["keep_chroma"]
    pc.DEFAULT_KEEP_CHROMA = keep_best
    rows = proxy + rows

    hint_rows = []
    pre = []  # per photo: working-size truth, automatic image, hinted logits (reused)
    for i, (truth, lab, prep) in enumerate(cache[:args.hint_photos]):
        h, w = prep.work_size
        small = F.interpolate(truth, size=(h, w), mode="area")
        base = pc.upsample_to_work(net.decode(pc.hint_free_logits(net, prep), t_best, a_best,
                                              b_best), prep)
        auto_img = lab_to_rgb(torch.cat([prep.l_work[..., :h, :w], base], 1))
        probs = pc.region_probs(net, prep)
        hinted = {k: (hints, pc.predict_logits(net, prep, hints)) for k in (1, 10)
                  for hints in [truth_hints(lab, k, seed=5000 + i)]}
        hy, hx = hinted[1][0][0].y * h / truth.shape[-2], hinted[1][0][0].x * w / truth.shape[-1]
        ys, xs = torch.arange(h)[:, None], torch.arange(w)[None]
        near = ((ys - hy) ** 2 + (xs - hx) ** 2) <= (0.15 * max(h, w)) ** 2
        pre.append((prep, small, auto_img, probs, hinted, near))
    for a_h, prop in itertools.product(HINTED_CORRECTIONS, PROPAGATIONS):
        p10, near_db, rest_db = [], [], []
        for prep, small, auto_img, probs, hinted, near in pre:
            h, w = prep.work_size
            for k, (hints, logits) in hinted.items():
                ab = pc.upsample_to_work(net.decode(logits, t_best, a_h, b_best), prep)
                if prop is not None:
                    ab = pc.propagate_hints(ab, prep.l_work[..., :h, :w], hints, prep.l_full,
                                            prop, probs)
                img = lab_to_rgb(torch.cat([prep.l_work[..., :h, :w], ab], 1))
                if k == 10:
                    p10.append(float(psnr(img, small)))
                    continue
                for region, out in ((near, near_db), (~near, rest_db)):
                    e_h = float(((img - small) ** 2)[..., region].mean())
                    e_a = float(((auto_img - small) ** 2)[..., region].mean())
                    out.append(10 * np.log10(e_a / max(e_h, 1e-12)))
        hint_rows.append({
            "hinted_prior_correction": a_h,
            "propagation": "none" if prop is None else
            f"{prop.sigma_space}/{prop.sigma_range}/{prop.damping}/{prop.affinity_power}",
            "psnr_hints10": float(np.mean(p10)), "one_hint_near": float(np.mean(near_db)),
            "one_hint_rest": float(np.mean(rest_db))})
    local = [r for r in hint_rows if r["one_hint_rest"] > -0.05 and r["one_hint_near"] > 0]
    hint_best = max(local or hint_rows, key=lambda r: r["psnr_hints10"])
    print(f"validation photos: {len(files)}; gray baseline PSNR {gray:.2f} dB")
    print_table(rows, [("temperature", "T", ".2f"), ("prior_correction", "alpha", ".2f"),
                       ("chroma_boost", "boost", ".2f"), ("size", "compared at", ""),
                       ("keep_chroma", "keep chroma", ""),
                       ("psnr", "PSNR", ".2f"), ("psnr_minus_gray", "vs gray", "+.2f"),
                       ("colorfulness_ratio", "colorfulness", ".3f"),
                       ("sepia_share", "sepia share", ".3f")])
    print(f"\nchosen: T {t_best}, alpha {a_best}, chroma boost {b_best}")
    print("\nhints (working size), best 10 by 10-hint PSNR:")
    print_table(sorted(hint_rows, key=lambda r: -r["psnr_hints10"])[:10],
                [("hinted_prior_correction", "alpha(h)", ".2f"),
                 ("propagation", "space/range/damping/power", ""),
                 ("psnr_hints10", "10 hints", ".2f"), ("one_hint_near", "1 hint near", "+.3f"),
                 ("one_hint_rest", "1 hint rest", "+.3f")])
    print(f"\nchosen for hints: {hint_best}")
    write_json(Path(args.out),
               {"split": "train validation (5 %)", "images": len(files), "gray_psnr": gray,
                "criterion": {"min_colorfulness": MIN_COLORFULNESS, "min_gain_db": MIN_GAIN},
                "chosen": {"temperature": t_best, "prior_correction": a_best,
                           "chroma_boost": b_best, "keep_chroma": keep_best,
                           "hints": hint_best},
                "automatic": rows, "hints": hint_rows})


if __name__ == "__main__":
    main()
