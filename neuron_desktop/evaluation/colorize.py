"""`neuron eval colorize`: the colorizer on held-out photos, against the gray baseline.

For each photo: L of the ground truth -> colorize -> compare in 8-bit sRGB at full size.
Configurations: gray (ab = 0), automatic, automatic without refinement, and k hints
(seeded uniform points, 5x5 patch-mean ab of the ground truth); and a colour reference: the
photo's own left half (a photo of the same scene) or the next photo (an unrelated one).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from neuron_desktop.core.color import lab_to_rgb, rgb_to_lab
from neuron_desktop.core.imageio import from_tensor, load_image, to_tensor
from neuron_desktop.core.metrics import (
    colorfulness,
    colour_cast,
    colour_tone,
    pooled_colour_cast,
    psnr,
    ssim,
)
from neuron_desktop.core.paths import samples_dir
from neuron_desktop.core.progress import Pipeline, Progress
from neuron_desktop.data.hints import uniform_hint_points
from neuron_desktop.data.photos import list_images
from neuron_desktop.evaluation.common import SHARED_DATA, contact_sheet, to_8bit
from neuron_desktop.pipelines.colorize import (
    DEFAULT_PROPAGATION,
    DEFAULT_REFERENCE_STRENGTH,
    AbHint,
    Propagation,
    finish,
    prepare,
    work_ab,
)

HINT_COUNTS = (1, 5, 10, 20)
AUC_MAX = 150  # Zhang et al.'s raw accuracy: ab error thresholds 0..150
SEPIA_SHARE_BELOW = 0.3  # a result keeping < 30 % of its truth's colourfulness
LOCAL_RADIUS = 0.15  # a hint's neighbourhood: this fraction of the long side around it


class AbErrorCurves:
    """Accumulates per-pixel ab errors for the AuC of the share of pixels within a threshold,
    raw and class-rebalanced (each ground-truth ab bin weighted equally)."""

    def __init__(self, bins: torch.Tensor) -> None:
        self.bins = bins
        self.raw = torch.zeros(AUC_MAX + 1, dtype=torch.float64)
        self.per_bin = torch.zeros(len(bins), AUC_MAX + 1, dtype=torch.float64)

    def add(self, ab_pred: torch.Tensor, ab_true: torch.Tensor) -> None:
        from neuron_desktop.models.colorization import nearest_bin

        err = (ab_pred - ab_true).norm(dim=1).flatten()
        e = err.clamp(max=AUC_MAX + 1).ceil().long().clamp(max=AUC_MAX + 1)  # 0..151
        keep = e <= AUC_MAX
        self.raw += torch.bincount(e[keep], minlength=AUC_MAX + 1).double()[:AUC_MAX + 1]
        q = nearest_bin(ab_true, self.bins).flatten()
        self.per_bin.view(-1).index_add_(0, q[keep] * (AUC_MAX + 1) + e[keep],
                                         torch.ones(int(keep.sum()), dtype=torch.float64))
        self._n = getattr(self, "_n", 0) + err.numel()
        self._n_bin = getattr(self, "_n_bin", torch.zeros(len(self.bins), dtype=torch.float64))
        self._n_bin += torch.bincount(q, minlength=len(self.bins)).double()

    def auc(self) -> dict[str, float]:
        raw = (self.raw.cumsum(0) / self._n).mean()
        seen = self._n_bin > 0
        curves = self.per_bin[seen].cumsum(1) / self._n_bin[seen, None]
        return {"auc_raw": float(raw), "auc_rebalanced": float(curves.mean())}


def hint_locality(net, prep, lab: torch.Tensor, truth: torch.Tensor, auto: torch.Tensor,
                  temperature: float, seed: int,
                  propagation: Propagation = DEFAULT_PROPAGATION) -> dict[str, float]:
    """One seeded truth hint: PSNR change (hinted − automatic) within the hint's
    neighbourhood and over the rest of the photo, as mean squared errors there."""
    hint = truth_hints(lab, 1, seed)[0]
    out = to_8bit(finish(prep, work_ab(net, prep, [hint], temperature, propagation), True))
    h, w = truth.shape[-2:]
    ys = torch.arange(h)[:, None]
    xs = torch.arange(w)[None, :]
    near = ((ys - hint.y) ** 2 + (xs - hint.x) ** 2) <= (LOCAL_RADIUS * max(h, w)) ** 2
    res = {}
    for name, region in (("near", near), ("rest", ~near)):
        for tag, img in (("auto", auto), ("hint", out)):
            res[f"mse_{tag}_{name}"] = float(((img - truth) ** 2)[..., region].mean())
    return res


def locality_summary(trials: list[dict[str, float]]) -> dict[str, float]:
    """:func:`hint_locality` trials -> the PSNR change near the hint and over the rest (of
    the mean squared errors), the share of trials whose rest loses more than 0.1 dB, and
    the mean squared errors."""
    loc = {k: float(np.mean([d[k] for d in trials])) for k in trials[0]}

    def db(a: float, b: float) -> float:
        return float(10 * np.log10(a / b))  # PSNR gain of b over a

    return {"psnr_change_near": db(loc["mse_auto_near"], loc["mse_hint_near"]),
            "psnr_change_rest": db(loc["mse_auto_rest"], loc["mse_hint_rest"]),
            "photos_rest_drop_over_0.1dB": float(np.mean(
                [10 * np.log10(d["mse_hint_rest"] / d["mse_auto_rest"]) > 0.1
                 for d in trials])),
            **loc}


def reference_scores(net, truth: torch.Tensor, other: torch.Tensor, auto: torch.Tensor,
                     gray: torch.Tensor, temperature: float, render_size: int
                     ) -> dict[str, float]:
    """A colour reference at the default strength: the photo's own left half (a photo of
    the same scene: scored on the whole photo and on the right half it never showed) and
    an unrelated photo ``other`` (a wrong reference); PSNR and colourfulness."""
    w = truth.shape[-1]
    right = slice(w // 2, None)
    res = {"gray_right": float(psnr(gray[..., right], truth[..., right])),
           "auto_right": float(psnr(auto[..., right], truth[..., right]))}
    for tag, ref in (("same", truth[..., : w // 2]), ("other", other)):
        prep = prepare(net, truth, render_size, reference=ref)
        out = to_8bit(finish(prep, work_ab(net, prep, [], temperature), True))
        res[f"{tag}_psnr"] = float(psnr(out, truth))
        res[f"{tag}_colorfulness"] = float(colorfulness(out))
        if tag == "same":
            res["same_right"] = float(psnr(out[..., right], truth[..., right]))
    return res


def configurations() -> list[str]:
    return ["gray", "auto", "auto_no_refine", *[f"hints_{k}" for k in HINT_COUNTS],
            "hints_10_no_propagation"]


def truth_hint(lab: torch.Tensor, x: int, y: int, size: int = 5) -> AbHint:
    """A hint at (x, y) with the 5x5 patch-mean ab of the ground truth ``lab``."""
    y0, x0 = max(0, y - 2), max(0, x - 2)
    ab = lab[0, 1:, y0:y0 + 5, x0:x0 + 5].mean((1, 2))
    return AbHint(int(x), int(y), (float(ab[0]), float(ab[1])), size)


def truth_hints(lab: torch.Tensor, k: int, seed: int) -> list[AbHint]:
    """k seeded uniform points with the 5x5 patch-mean ab of the ground truth."""
    h, w = lab.shape[-2:]
    rng = np.random.default_rng(seed)
    return [truth_hint(lab, x, y, size) for y, x, size in uniform_hint_points(rng, h, w, k, 5)]


def evaluate(net, files: list[Path], *, temperature: float, render_size: int,
             sheet_path: Path | None = None, sheet_images: int = 4,
             historical: Path | None = None) -> Pipeline[dict]:
    """Run every configuration on every photo; returns {config: metrics, ...}."""
    per = {c: {"psnr": [], "ssim": [], "colorfulness": []} for c in configurations()}
    truth_cf, sets, locality, reference, cast, cleaned = [], [], [], [], [], []
    curves = {c: AbErrorCurves(net.bins.cpu()) for c in ("gray", "auto")}
    sheet_rows = []
    for i, path in enumerate(files):
        rgb = to_tensor(load_image(path).rgb).clamp(0, 1)
        truth = to_8bit(rgb)
        lab = rgb_to_lab(truth)
        prep = prepare(net, truth, render_size)
        cleaned.append(prep.cleaned)
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
        cast.append(colour_cast(to_8bit(outs["auto"]), truth))
        sets.append(path.parent.name)
        for c in curves:
            curves[c].add(rgb_to_lab(to_8bit(outs[c]))[:, 1:], lab[:, 1:])
        locality.append(hint_locality(net, prep, lab, truth, to_8bit(outs["auto"]),
                                      temperature, seed=5000 + i))
        other = files[(i + 1) % len(files)]  # an unrelated photo as a (wrong) reference
        reference.append(reference_scores(
            net, truth, to_8bit(to_tensor(load_image(other).rgb).clamp(0, 1)),
            to_8bit(outs["auto"]), to_8bit(outs["gray"]), temperature, render_size))
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
        sepia = np.array(m["colorfulness"]) / np.maximum(truth_cf, 1e-6) < SEPIA_SHARE_BELOW
        results[name]["sepia_share"] = {
            **{s_: float(sepia[np.array(sets) == s_].mean()) for s_ in sorted(set(sets))},
            "all": float(sepia.mean())}
    for c, acc in curves.items():
        results[c].update(acc.auc())
    if cast:  # PSNR alone rewards a brown wash
        results["auto"]["colour_cast"] = pooled_colour_cast(cast)
        results["auto"]["read_through_restorer"] = float(np.mean(cleaned))  # prepare's view
    if locality:
        results["hint_locality"] = {**locality_summary(locality), "radius": LOCAL_RADIUS}
    if reference:
        mean = {k: float(np.mean([d[k] for d in reference])) for k in reference[0]}
        results["reference"] = {
            "strength": DEFAULT_REFERENCE_STRENGTH,
            "same_scene": {"psnr": mean["same_psnr"], "psnr_right_half": mean["same_right"],
                           "colorfulness_ratio": mean["same_colorfulness"] / np.mean(truth_cf)},
            "unrelated": {"psnr": mean["other_psnr"],
                          "colorfulness_ratio": mean["other_colorfulness"] / np.mean(truth_cf)},
            "auto_psnr_right_half": mean["auto_right"], "gray_psnr_right_half": mean["gray_right"]}
    if sheet_path is not None and sheet_rows:
        contact_sheet(sheet_rows, ["gray (input)", "ours, automatic", "ours, 10 hints",
                                   "ground truth"], sheet_path)
    if historical is not None and historical.is_dir():
        rows, tones = [], []
        for path in list_images([historical]):
            rgb = to_tensor(load_image(path).rgb)
            prep = prepare(net, rgb, render_size)
            out = finish(prep, work_ab(net, prep, [], temperature), True)
            tones.append({**colour_tone(to_8bit(out)), "read_through_restorer": prep.cleaned})
            if len(rows) < 8:
                rows.append([from_tensor(rgb), from_tensor(out)])
        if rows:
            contact_sheet(rows, ["historical photo", "ours, automatic"],
                          sheet_path.with_name("colorize_historical.jpg") if sheet_path else
                          Path("docs/colorize_historical.jpg"))
            # no truth there: how warm the colours are, and how much green and blue
            results["historical_tone"] = {"photos": len(tones), **{
                k: float(np.mean([t[k] for t in tones])) for k in tones[0]}}
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
