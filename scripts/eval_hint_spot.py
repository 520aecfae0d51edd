"""Does "Add a hint where the model is least sure" (pipelines.colorize.hint_spot) put hints
where they help? On a split's photos, 1-3 true hints (the truth's 5x5 patch-mean ab, as in
`neuron eval colorize`) are placed one after another where hint_spot says, the confidence
map recomputed after each, against seeded random points (3 seeds for one hint, 2 for three);
the score is the whole photo's PSNR gain over the automatic result. Prints a table and
writes docs/eval/colorize_hint_spot_<split>.json.

    .venv/bin/python scripts/eval_hint_spot.py --split val|eval [--jobs 2] [--limit N]
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def _photo(args: tuple[int, str]) -> dict:
    """Gains (dB over automatic) on photo ``i``: spot1-3, rand1 and rand3 (seed means)."""
    import neuron_desktop.pipelines.colorize as pc
    from neuron_desktop.core.color import rgb_to_lab
    from neuron_desktop.core.imageio import load_image, to_tensor
    from neuron_desktop.evaluation.colorize import truth_hint, truth_hints
    from neuron_desktop.evaluation.common import to_8bit

    i, path = args
    torch.set_grad_enabled(False)
    torch.set_num_threads(1)
    net = pc.load_colorizer("default", "cpu")
    truth = to_8bit(to_tensor(load_image(path).rgb).clamp(0, 1))
    lab = rgb_to_lab(truth)
    prep = pc.prepare(net, truth, pc.DEFAULT_RENDER_SIZE)

    def mse(hints) -> float:
        ab = pc.work_ab(net, prep, hints, pc.DEFAULT_TEMPERATURE)
        return float(((to_8bit(pc.finish(prep, ab, True)) - truth) ** 2).mean())

    auto = mse([])
    gain = lambda errors: float(np.mean([10 * np.log10(auto / e) for e in errors]))  # noqa: E731
    out, hints = {"photo": Path(path).name}, []
    for k in range(3):
        spot = pc.hint_spot(pc.confidence_map(net, prep, hints), hints)
        if spot is None:
            break
        hints.append(truth_hint(lab, *spot))
        out[f"spot{k + 1}"] = gain([mse(hints)])
    out["rand1"] = gain([mse(truth_hints(lab, 1, 5000 + 100 * s + i)) for s in range(3)])
    out["rand3"] = gain([mse(truth_hints(lab, 3, 7000 + 100 * s + i)) for s in range(2)])
    return out


def main() -> int:
    from neuron_desktop.evaluation.colorize import default_files
    from neuron_desktop.evaluation.common import print_table, write_json

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=("val", "eval"), required=True)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--limit", type=int)
    args = ap.parse_args()
    files = default_files(validation=args.split == "val")[:args.limit]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(_photo, enumerate(str(f) for f in files)))
    summary = {}
    for key in ("spot1", "rand1", "spot2", "spot3", "rand3"):
        v = np.array([r[key] for r in rows if key in r])
        base = np.array([r["rand1" if key == "spot1" else "rand3"] for r in rows if key in r])
        summary[key] = {"mean_db": float(v.mean()), "median_db": float(np.median(v)),
                        "photos": len(v)}
        if key in ("spot1", "spot3"):
            summary[key]["beats_random_share"] = float((v > base).mean())
    print_table([{"placement": k, **s} for k, s in summary.items()],
                [("placement", "placement", ""), ("mean_db", "mean dB", "+.3f"),
                 ("median_db", "median dB", "+.3f"),
                 ("beats_random_share", "beats random", ".0%")])
    write_json(ROOT / "docs" / "eval" / f"colorize_hint_spot_{args.split}.json",
               {"split": args.split, "summary": summary, "photos": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
