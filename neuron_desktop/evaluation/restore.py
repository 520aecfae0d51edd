"""`neuron eval restore`: the restorer against classical tools on seeded old-print damage.

Each eval photo is degraded by :func:`neuron_desktop.data.degrade.degrade` at three
severities (seeded by the photo's name); every method's output is compared with the clean
target (the photo with the same tone) in 8-bit sRGB. The classical tools run at the setting
that scored best on the training set's validation split for that severity (``tune``): never
tuned on eval/.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from neuron_desktop.core.imageio import from_tensor, load_image, to_tensor
from neuron_desktop.core.metrics import psnr, ssim
from neuron_desktop.core.progress import Pipeline, Progress, run_pipeline
from neuron_desktop.data.degrade import SEVERITIES, degrade
from neuron_desktop.evaluation.common import contact_sheet, to_8bit

if TYPE_CHECKING:
    from torch import Tensor


def _u8(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


def nlm(x: np.ndarray, h: float) -> np.ndarray:
    """OpenCV's non-local means (colour), strength ``h`` (8-bit units)."""
    out = cv2.fastNlMeansDenoisingColored(_u8(x), None, h, h, 7, 21)
    return out.astype(np.float32) / 255


def bilateral(x: np.ndarray, sigma_color: float, sigma_space: float) -> np.ndarray:
    return cv2.bilateralFilter(x, -1, sigma_color, sigma_space)


def unsharp(x: np.ndarray, sigma: float, amount: float) -> np.ndarray:
    return np.clip(x + amount * (x - cv2.GaussianBlur(x, (0, 0), sigma)), 0, 1)


CLASSICAL: dict[str, tuple[Callable, list[tuple]]] = {
    "nlm": (nlm, [(h,) for h in (3, 5, 8, 12, 16, 22)]),
    "bilateral": (bilateral, list(itertools.product((0.04, 0.08, 0.15, 0.3), (1.5, 3.0, 6.0)))),
    "unsharp": (unsharp, list(itertools.product((1.0, 2.0), (0.3, 0.6, 1.0, 1.5)))),
}


def name_seed(path: Path, tag: str) -> int:
    """A seed from the photo's name and ``tag``: the same damage wherever the file lives."""
    return int.from_bytes(hashlib.sha256(f"{path.name}/{tag}".encode()).digest()[:4], "little")


def degraded_pair(path: Path, severity: float, salt: int = 0):
    rgb = np.clip(load_image(path).rgb, 0, 1).astype(np.float32)
    d = degrade(rgb, name_seed(path, f"{severity}/{salt}"), severity)
    return d.image, d.clean


def _score(out: np.ndarray, clean: np.ndarray) -> tuple[float, float]:
    a, b = to_8bit(to_tensor(out)), to_8bit(to_tensor(clean))
    return float(psnr(a, b)), float(ssim(a, b))


def tune(files: list[Path]) -> dict[str, dict[str, list]]:
    """Best setting of each classical tool per severity, by mean PSNR on ``files``."""
    best: dict[str, dict[str, list]] = {}
    pairs = {s: [degraded_pair(p, v, salt=1) for p in files] for s, v in SEVERITIES.items()}
    for name, (fn, grid) in CLASSICAL.items():
        best[name] = {}
        for sev, items in pairs.items():
            scores = [np.mean([_score(fn(x, *g), c)[0] for x, c in items]) for g in grid]
            best[name][sev] = list(grid[int(np.argmax(scores))])
    return best


def evaluate(net, files: list[Path], settings: dict[str, dict[str, list]], *,
             sheet_path: Path | None = None) -> Pipeline[dict]:
    from neuron_desktop.pipelines.restore import restore

    per: dict[str, dict[str, dict[str, list]]] = {}
    sheet = []
    n = len(files) * len(SEVERITIES)
    k = 0
    for sev, value in SEVERITIES.items():
        for path in files:
            x, clean = degraded_pair(path, value)
            outs = {"degraded": x}
            for name, (fn, _grid) in CLASSICAL.items():
                outs[name] = fn(x, *settings[name][sev])
            ours = run_pipeline(restore(to_tensor(x), model=net, device="cpu"))
            outs["ours"] = from_tensor(ours)
            for name, out in outs.items():
                p, s = _score(out, clean)
                m = per.setdefault(sev, {}).setdefault(name, {"psnr": [], "ssim": []})
                m["psnr"].append(p)
                m["ssim"].append(s)
            if sheet_path is not None and "kodak" in str(path) and len(sheet) < 6 and \
                    sev != "mild" and len(sheet) < (3 if sev == "medium" else 6):
                sheet.append([x, outs["nlm"], outs["ours"], clean])
            k += 1
            yield Progress(k / n, f"{sev} {path.name}")
    results = {sev: {name: {m: float(np.mean(v)) for m, v in ms.items()}
                     for name, ms in methods.items()} for sev, methods in per.items()}
    for methods in results.values():
        classical = max(methods[c]["psnr"] for c in CLASSICAL)
        methods["ours_minus_best_classical_db"] = methods["ours"]["psnr"] - classical
    if sheet_path is not None and sheet:
        contact_sheet(sheet, ["degraded (medium / strong)", "best classical (NLM)", "ours",
                              "clean"], sheet_path)
    return {"images": len(files), "settings": settings, "results": results}


def real_scans_sheet(net, folders: list[Path], path: Path, limit: int = 10) -> None:
    """Input | restored on real old scans (no ground truth): kept out of git."""
    from neuron_desktop.data.photos import list_images
    from neuron_desktop.pipelines.restore import restore

    rows = []
    for f in list_images(folders)[:limit]:
        rgb = to_tensor(np.clip(load_image(f).rgb, 0, 1))
        h, w = rgb.shape[-2:]
        crop = rgb[..., h // 2 - min(h, 384) // 2:, w // 2 - min(w, 384) // 2:][..., :384, :384]
        out = run_pipeline(restore(crop, model=net, device="cpu"))
        rows.append([from_tensor(crop), from_tensor(out)])
    contact_sheet(rows, ["real scan (crop, 100 %)", "restored"], path)


def chain_sheet(folder: Path, path: Path, limit: int = 8, size: int = 512) -> None:
    """Historical scan | colorized as is | restored → scratches repaired → colorized, each
    photo at ``size`` px on the long side (kept out of git: shared data)."""
    import torch.nn.functional as F

    from neuron_desktop.data.photos import list_images
    from neuron_desktop.pipelines.colorize import colorize
    from neuron_desktop.pipelines.inpaint import inpaint
    from neuron_desktop.pipelines.restore import restore
    from neuron_desktop.pipelines.scratches import detect_scratches

    rows = []
    for f in list_images([folder])[:limit]:
        rgb = to_tensor(np.clip(load_image(f).rgb, 0, 1))
        scale = size / max(rgb.shape[-2:])
        if scale < 1:
            rgb = F.interpolate(rgb, scale_factor=scale, mode="area")
        direct = run_pipeline(colorize(rgb, device="cpu"))
        clean = run_pipeline(restore(rgb, device="cpu"))
        mask = run_pipeline(detect_scratches(clean, device="cpu"))
        if float(mask.max()) > 0:
            clean = run_pipeline(inpaint(clean, mask, method="auto", device="cpu"))
        chained = run_pipeline(colorize(clean, device="cpu"))
        rows.append([from_tensor(rgb), from_tensor(direct), from_tensor(chained)])
    contact_sheet(rows, ["scan", "colorized as is", "restored, repaired, colorized"], path)


# how each colorized arm is made: the source (the print or the restored print) and the
# colorizer's clean view (pipelines.colorize.prepare: off by default, or read through the
# restorer where it finds damage)
CHAIN_ARMS = {"colorized as is": ("scan", "off"),
              "colorized as is, clean view auto": ("scan", "auto"),
              "restored, then colorized": ("restored", "off")}
CHAIN = ("print", *CHAIN_ARMS)


CHAIN_ALPHAS = (0.35, 0.45, 0.55, 0.65)  # the colorizer's prior correction, calm as it rises


def evaluate_chain(net, files: list[Path], severity: str = "medium",
                   alphas: tuple[float, ...] = CHAIN_ALPHAS) -> Pipeline[dict]:
    """Does restoring first give a better colorization? Each colour photo becomes a
    black-and-white old print (its luma through :func:`degrade` at ``severity``, seeded by
    name), which is colorized as it is (also with the colorizer's clean view, ``auto``) and
    after the restorer; each (and the print) is compared with the colour photo: PSNR, SSIM,
    mean CIEDE2000 and the colourfulness ratio (results' mean over the photos' mean, as
    `neuron eval colorize` reports it).

    A cleaner print makes the colorizer bolder, and bolder colours cost PSNR and CIEDE2000
    whether or not they are better placed; so both are also colorized at each prior
    correction in ``alphas`` (``frontier``), to compare them at equal colourfulness."""
    from neuron_desktop.core.metrics import colorfulness, delta_e
    from neuron_desktop.pipelines.colorize import colorize
    from neuron_desktop.pipelines.restore import restore

    def scores(out: Tensor, truth: Tensor) -> dict[str, float]:
        o = to_8bit(out)
        return {"psnr": float(psnr(o, truth)), "ssim": float(ssim(o, truth)),
                "delta_e": float(delta_e(o, truth)[0]), "colorfulness": float(colorfulness(o)[0])}

    per: dict[str, list[dict]] = {k: [] for k in CHAIN}
    curve: dict[tuple[str, float], list[dict]] = {(k, a): [] for k in CHAIN_ARMS for a in alphas}
    truth_cf = []
    for i, path in enumerate(files):
        rgb = np.clip(load_image(path).rgb, 0, 1).astype(np.float32)
        luma = rgb @ np.float32([0.299, 0.587, 0.114])
        scan = to_tensor(degrade(np.repeat(luma[..., None], 3, -1), name_seed(path, "chain"),
                                 SEVERITIES[severity]).image)
        restored = run_pipeline(restore(scan, model=net, device="cpu"))
        truth = to_8bit(to_tensor(rgb))
        truth_cf.append(float(colorfulness(truth)[0]))
        per["print"].append(scores(scan, truth))
        for name, (source, view) in CHAIN_ARMS.items():
            src = scan if source == "scan" else restored
            per[name].append(scores(run_pipeline(colorize(src, device="cpu", clean_view=view)),
                                    truth))
            for a in alphas:
                curve[name, a].append(scores(run_pipeline(
                    colorize(src, device="cpu", prior_correction=a, clean_view=view)), truth))
        yield Progress((i + 1) / len(files), path.name)

    def summary(rows: list[dict]) -> dict[str, float]:
        return {**{k: float(np.mean([r[k] for r in rows])) for k in ("psnr", "ssim", "delta_e")},
                "colorfulness_ratio": float(np.mean([r["colorfulness"] for r in rows]) /
                                            np.mean(truth_cf))}

    return {"images": len(files), "severity": severity,
            "results": {name: summary(rows) for name, rows in per.items()},
            "frontier": {name: [{"prior_correction": a, **summary(curve[name, a])}
                                for a in alphas] for name in CHAIN_ARMS}}
