"""`neuron eval inpaint`: hole filling and scratch detection on held-out photos.

Mask sets, fixed and seeded per photo (index i in the sorted file list):

- ``10-20%``, ``20-30%``, ``30-40%``: DeepFill v2 free-form masks (``data.masks``),
  holes in the clean photo;
- ``scratches``: synthetic damage (``data.damage``, seed ``seed_base + i``): the damaged
  photo with its true mask.

Every method fills every mask; results are compared with the clean photo in 8-bit sRGB:
PSNR and SSIM over the whole image, mean absolute error (L1, [0, 1] scale) inside the hole.
The scratch detectors are scored on the damaged photos and on old-print versions of them
(``data.damage.old_photo_damage``: toned, faded, duller cream cracks and craquelure, scan
softness): pixel precision/recall, strict and with a 1 px tolerance (a detected pixel within
1 px of a true one counts, and vice versa).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from neuron_desktop.core.imageio import load_image, to_tensor
from neuron_desktop.core.metrics import DetectorScore, psnr, ssim
from neuron_desktop.core.progress import Pipeline, Progress, run_pipeline
from neuron_desktop.data.damage import damage, old_photo_damage
from neuron_desktop.data.masks import mask_set
from neuron_desktop.data.photos import list_images
from neuron_desktop.evaluation.common import SHARED_DATA, contact_sheet, to_8bit
from neuron_desktop.pipelines.inpaint import inpaint
from neuron_desktop.pipelines.scratches import detect_scratches, network_available, scratch_mask

METHODS = ("telea", "ns", "harmonic", "exemplar", "network", "network-fast", "network-best")
SETS = ("10-20%", "20-30%", "30-40%", "scratches")
EVAL_SEED, VALIDATION_SEED = 20_000, 10_000


def masked_inputs(rgb: np.ndarray, index: int, seed_base: int
                  ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{set: (input (H, W, 3), hole (H, W) bool)} for one clean photo (H, W, 3) [0, 1]."""
    h, w = rgb.shape[:2]
    out = {name: (rgb, m > 0) for name, m in mask_set(h, w, seed_base + index).items()}
    damaged, m = damage(rgb, seed_base + index)
    out["scratches"] = (damaged, m > 0)
    return out


def _overlay(rgb: np.ndarray, hole: np.ndarray, colour=(1.0, 0.15, 0.1)) -> np.ndarray:
    out = rgb.copy()
    out[hole] = 0.35 * out[hole] + 0.65 * np.float32(colour)
    return out


def _hwc(x: torch.Tensor) -> np.ndarray:
    return x[0].permute(1, 2, 0).numpy()


def evaluate(files: list[Path], *, methods: tuple[str, ...] = METHODS, seed_base: int = EVAL_SEED,
             sheet_path: Path | None = None, scratched: Path | None = None,
             sheet_rows: int = 4) -> Pipeline[dict]:
    """Every method on every mask set of every photo; returns the report dict."""
    per = {s: {m: {"psnr": [], "ssim": [], "l1_hole": [], "seconds": []} for m in methods}
           for s in SETS}
    area = {s: [] for s in SETS}
    kinds = ("detector", "detector_network") if network_available() else ("detector",)
    detectors = {k + old: DetectorScore() for k in kinds for old in ("", "_old")}
    rows: list[list[np.ndarray]] = []
    used: set[int] = set()
    for i, path in enumerate(files):
        truth = to_8bit(to_tensor(load_image(path).rgb))
        for s, (inp, hole) in masked_inputs(_hwc(truth), i, seed_base).items():
            area[s].append(float(hole.mean()))
            image, mask = to_tensor(inp), torch.from_numpy(hole.astype(np.float32))[None, None]
            inside = torch.from_numpy(hole)[None, None].expand_as(truth)
            outs = {}
            for m in methods:
                start = time.process_time()
                out = to_8bit(run_pipeline(inpaint(image, mask, method=m)))
                per[s][m]["seconds"].append(time.process_time() - start)
                per[s][m]["psnr"].append(float(psnr(out, truth)))
                per[s][m]["ssim"].append(float(ssim(out, truth)))
                per[s][m]["l1_hole"].append(float((out - truth).abs()[inside].mean()))
                outs[m] = out
            if s == "scratches":
                _score_detectors(detectors, "", inp, hole)
                old, old_hole = old_photo_damage(_hwc(truth), seed_base + i)
                _score_detectors(detectors, "_old", old, old_hole > 0)
            wanted = SETS[len(rows) % len(SETS)]  # one Kodak photo per row, sets in turn
            if (sheet_path is not None and "kodak24" in str(path) and s == wanted
                    and len(rows) < sheet_rows and i not in used):
                used.add(i)
                shown = _overlay(inp, hole) if s == "scratches" else np.where(
                    hole[..., None], np.float32(1.0), inp)
                rows.append([shown, *(_hwc(outs[m]) for m in methods), _hwc(truth)])
        yield Progress((i + 1) / len(files), path.name)
    results = {s: {m: {k: float(np.mean(v)) for k, v in per[s][m].items()} for m in methods}
               for s in SETS}
    report = {"images": len(files), "seed_base": seed_base, "results": results,
              "hole_area": {s: float(np.mean(a)) for s, a in area.items()},
              **{k: d.result() for k, d in detectors.items()}}
    if sheet_path is not None and rows:
        contact_sheet(rows, ["masked input", *methods, "ground truth"], sheet_path)
    if sheet_path is not None and scratched is not None and scratched.is_dir():
        report["scratched_sheet"] = str(_scratched_sheet(scratched, sheet_path))
    return report


def _score_detectors(detectors: dict[str, DetectorScore], suffix: str, rgb: np.ndarray,
                     truth: np.ndarray) -> None:
    """Add the classical (and, when scored, the network) detector's mask of ``rgb``."""
    detectors["detector" + suffix].add(scratch_mask(rgb), truth)
    if "detector_network" + suffix in detectors:
        found = run_pipeline(detect_scratches(to_tensor(rgb), method="network"))
        detectors["detector_network" + suffix].add(found[0, 0].numpy() > 0.5, truth)


def _scratched_sheet(folder: Path, sheet_path: Path) -> Path:
    """Real scratched photos: photo | detected mask overlay | auto fill of that mask (the
    editor's defaults: the learned detector when installed, harmonic + network fill)."""
    rows = []
    for path in list_images([folder]):
        rgb = load_image(path).rgb
        image = to_tensor(rgb)
        mask = run_pipeline(detect_scratches(image))
        hole = mask[0, 0].numpy() > 0.5
        out = rgb
        if hole.any():
            out = _hwc(run_pipeline(inpaint(image, mask, method="auto")))
        rows.append([rgb, _overlay(rgb, hole), out])
    path = sheet_path.with_name(sheet_path.stem + "_scratched" + sheet_path.suffix)
    contact_sheet(rows, ["scratched photo", "detected scratches", "auto fill of detection"],
                  path, cell=320)
    return path


def default_files(validation: bool = False) -> list[Path]:
    """The held-out eval photos, or (``validation``) the training set's validation split,
    the only images detector thresholds may be tuned on."""
    if validation:
        from neuron_desktop.data.photos import split

        return split(list_images([SHARED_DATA / "train"]), 0.05)[1]
    return list_images([SHARED_DATA / "eval"])


def default_scratched() -> Path:
    return SHARED_DATA / "old_photos" / "scratched"
