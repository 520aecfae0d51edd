"""`neuron eval colorize`: the colorizer on held-out photos, against the gray baseline.

For each photo: L of the ground truth -> colorize -> compare in 8-bit sRGB at full size.
Configurations: gray (ab = 0), automatic, automatic without refinement, and k hints
(seeded uniform points, 5x5 patch-mean ab of the ground truth).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from neuron_desktop.core.color import lab_to_rgb, rgb_to_lab
from neuron_desktop.core.imageio import from_tensor, load_image, to_tensor
from neuron_desktop.core.metrics import colorfulness, psnr, ssim
from neuron_desktop.core.paths import samples_dir
from neuron_desktop.core.progress import Pipeline, Progress
from neuron_desktop.data.hints import uniform_hint_points
from neuron_desktop.data.photos import list_images
from neuron_desktop.evaluation.common import SHARED_DATA, contact_sheet, to_8bit
from neuron_desktop.pipelines.colorize import AbHint, finish, prepare, work_ab

HINT_COUNTS = (1, 5, 10, 20)


def configurations() -> list[str]:
    return ["gray", "auto", "auto_no_refine", *[f"hints_{k}" for k in HINT_COUNTS],
            "hints_10_no_propagation"]


def truth_hints(lab: torch.Tensor, k: int, seed: int) -> list[AbHint]:
    """k seeded uniform points with the 5x5 patch-mean ab of the ground truth."""
    h, w = lab.shape[-2:]
    rng = np.random.default_rng(seed)
    hints = []
    for y, x, size in uniform_hint_points(rng, h, w, k, 5):
        y0, x0 = max(0, y - 2), max(0, x - 2)
        ab = lab[0, 1:, y0:y0 + 5, x0:x0 + 5].mean((1, 2))
        hints.append(AbHint(x, y, (float(ab[0]), float(ab[1])), size))
    return hints


def evaluate(net, files: list[Path], *, temperature: float, render_size: int,
             sheet_path: Path | None = None, sheet_images: int = 4,
             historical: Path | None = None) -> Pipeline[dict]:
    """Run every configuration on every photo; returns {config: metrics, ...}."""
    per = {c: {"psnr": [], "ssim": [], "colorfulness": []} for c in configurations()}
    truth_cf = []
    sheet_rows = []
    for i, path in enumerate(files):
        rgb = to_tensor(load_image(path).rgb).clamp(0, 1)
        truth = to_8bit(rgb)
        lab = rgb_to_lab(truth)
        prep = prepare(net, truth, render_size)
        outs = {"gray": lab_to_rgb(torch.cat([prep.l_full, torch.zeros_like(lab[:, 1:])], 1))}
        ab = work_ab(net, prep, [], temperature)
        outs["auto"] = finish(prep, ab, refine=True)
        outs["auto_no_refine"] = finish(prep, ab, refine=False)
        for k in HINT_COUNTS:
            hints = truth_hints(lab, k, seed=1000 + i)
            outs[f"hints_{k}"] = finish(prep, work_ab(net, prep, hints, temperature), True)
            if k == 10:  # the network alone, without spreading the hint corrections
                outs["hints_10_no_propagation"] = finish(
                    prep, work_ab(net, prep, hints, temperature, propagation=None), True)
        for name, out in outs.items():
            out = to_8bit(out)
            per[name]["psnr"].append(float(psnr(out, truth)))
            per[name]["ssim"].append(float(ssim(out, truth)))
            per[name]["colorfulness"].append(float(colorfulness(out)))
        truth_cf.append(float(colorfulness(truth)))
        if sheet_path is not None and "kodak" in str(path) and len(sheet_rows) < sheet_images:
            sheet_rows.append([from_tensor(outs["gray"]), from_tensor(outs["auto"]),
                               from_tensor(outs["hints_10"]), from_tensor(truth)])
        yield Progress((i + 1) / len(files), path.name)
    results = {}
    for name, m in per.items():
        results[name] = {
            "psnr": float(np.mean(m["psnr"])),
            "ssim": float(np.mean(m["ssim"])),
            "colorfulness_ratio": float(np.mean(m["colorfulness"]) / np.mean(truth_cf)),
        }
    if sheet_path is not None and sheet_rows:
        contact_sheet(sheet_rows, ["gray (input)", "ours, automatic", "ours, 10 hints",
                                   "ground truth"], sheet_path)
    if historical is not None and historical.is_dir():
        rows = []
        for path in list_images([historical])[:8]:
            rgb = to_tensor(load_image(path).rgb)
            prep = prepare(net, rgb, render_size)
            out = finish(prep, work_ab(net, prep, [], temperature), True)
            rows.append([from_tensor(rgb), from_tensor(out)])
        contact_sheet(rows, ["historical photo", "ours, automatic"],
                      sheet_path.with_name("colorize_historical.jpg") if sheet_path else
                      Path("docs/colorize_historical.jpg"))
    return {"images": len(files), "results": results}


def default_files(validation: bool = False) -> list[Path]:
    """The held-out eval photos, or (``validation``) the training set's validation split,
    which is what parameters such as the temperature may be tuned on."""
    if validation:
        from neuron_desktop.data.photos import split

        return split(list_images([SHARED_DATA / "train"]), 0.05)[1]
    return list_images([SHARED_DATA / "eval"])


def default_historical() -> Path:
    return SHARED_DATA / "old_photos" / "historical_bw"


SAMPLES = samples_dir()


def samples_sheet(net, path: Path, *, temperature: float, render_size: int) -> None:
    """Contact sheet on the bundled licence-clean samples (safe to commit):
    gray input | automatic | 10 hints | original (the old photo: input | automatic)."""
    rows = []
    for name in ("coffee.jpg", "astronaut.jpg", "old_photo.jpg"):
        rgb = to_8bit(to_tensor(load_image(SAMPLES / name).rgb))
        lab = rgb_to_lab(rgb)
        gray = lab_to_rgb(torch.cat([lab[:, :1], torch.zeros_like(lab[:, 1:])], 1))
        prep = prepare(net, gray, render_size)
        auto = finish(prep, work_ab(net, prep, [], temperature), True)
        if name == "old_photo.jpg":
            rows.append([from_tensor(rgb), from_tensor(auto)])  # no ground truth exists
            continue
        hinted = finish(prep, work_ab(net, prep, truth_hints(lab, 10, seed=7), temperature), True)
        rows.append([from_tensor(gray), from_tensor(auto), from_tensor(hinted),
                     from_tensor(rgb)])
    contact_sheet(rows, ["input", "ours, automatic", "ours, 10 hints", "original"], path,
                  cell=200)
