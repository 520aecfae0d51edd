"""Large holes, looked at: writes docs/large_tears.jpg (kept out of git: shared data).

Rows 1-3: Kodak eval photos (looked at only, nothing tuned) with the eval's 30-40 % mask.
Rows 4-7: the real scratched scans with a synthetic tear (an irregular band 3-5 % of the
long side wide across the photo, seeded), filled with the editor's grain default ("auto").
Columns: input with the hole in red | harmonic | exemplar | network | network-best.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import torch

from neuron_desktop.core.imageio import load_image, to_tensor
from neuron_desktop.core.progress import run_pipeline
from neuron_desktop.data.masks import mask_set
from neuron_desktop.data.photos import list_images
from neuron_desktop.evaluation.common import SHARED_DATA, contact_sheet
from neuron_desktop.evaluation.inpaint import EVAL_SEED, _hwc, _overlay
from neuron_desktop.pipelines.inpaint import inpaint

METHODS = ("harmonic", "exemplar", "network", "network-best")


def tear_mask(h: int, w: int, seed: int) -> np.ndarray:
    """An irregular band across the photo, like a torn and rejoined print."""
    rng = np.random.default_rng(seed)
    width = rng.uniform(0.03, 0.05) * max(h, w)
    xs = np.linspace(0, w - 1, 24)
    y0 = rng.uniform(0.3, 0.7) * h
    ys = y0 + np.cumsum(rng.normal(0, 0.02 * h, len(xs))) + (xs - w / 2) * rng.uniform(-0.3, 0.3)
    m = np.zeros((h, w), np.uint8)
    for i in range(len(xs) - 1):
        t = int(max(2, width * rng.uniform(0.6, 1.2)))
        cv2.line(m, (int(xs[i]), int(ys[i])), (int(xs[i + 1]), int(ys[i + 1])), 1, t)
    return m > 0


def row(rgb: np.ndarray, hole: np.ndarray) -> list[np.ndarray]:
    image = to_tensor(rgb)
    mask = torch.from_numpy(hole.astype(np.float32))[None, None]
    fills = [_hwc(run_pipeline(inpaint(image, mask, method=m))) for m in METHODS]
    return [_overlay(rgb, hole), *fills]


def main(out: Path = Path("docs/large_tears.jpg")) -> None:
    rows = []
    kodak = [p for p in list_images([SHARED_DATA / "eval"]) if "kodak" in str(p)]
    for i in (2, 13, 22):
        rgb = np.clip(load_image(kodak[i]).rgb, 0, 1)
        h, w = rgb.shape[:2]
        rows.append(row(rgb, mask_set(h, w, EVAL_SEED + i)["30-40%"] > 0))
    for k, path in enumerate(list_images([SHARED_DATA / "old_photos" / "scratched"])):
        rgb = np.clip(load_image(path).rgb, 0, 1)
        s = min(1.0, 768 / max(rgb.shape[:2]))
        if s < 1:
            rgb = cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        rows.append(row(rgb, tear_mask(*rgb.shape[:2], seed=k)))
    contact_sheet(rows, ["hole (red)", *METHODS], out, cell=320)
    print(out)


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:]))
