"""Measure "Protect faces" of Detect scratches on real old photos with synthetic scratches.

For every photo of the given folders in which a frontal face is found, synthetic damage
(``data.damage.damage``, the project's damage synthesis: scratches, dust, folds) is painted
on the grey photo; each detector then runs with and without face protection. Reported:
recall of the synthetic damage (whole photo) and false-mark pixels inside the face boxes
(marked but not synthetic damage: the eyes, nostrils and mouths the detector takes for
scratches, plus any real damage of the print there). Photos are read from the folders given
(never copied). Usage::

    python scripts/eval_face_protection.py /path/to/old_photos/historical_bw ... [--seeds 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

from neuron_desktop.core.progress import run_pipeline
from neuron_desktop.data.damage import DamageSpec, damage
from neuron_desktop.pipelines import faces
from neuron_desktop.pipelines.scratches import detect_scratches


def _load_grey(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255
    return np.repeat(grey[..., None], 3, axis=2)


def _detect(rgb: np.ndarray, method: str, sensitivity: float, protect: bool) -> np.ndarray:
    image = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]
    out = run_pipeline(detect_scratches(image, sensitivity=sensitivity, method=method,
                                        protect_faces=protect))
    return out[0, 0].numpy() > 0.5


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--seeds", type=int, default=3, help="damage draws per photo")
    ap.add_argument("--methods", default="classical,network")
    ap.add_argument("--sensitivities", default="0.5,0.8")
    args = ap.parse_args(argv)
    photos = sorted(p for f in args.folders for p in f.glob("*.png"))
    cases = []
    for path in photos:
        rgb = _load_grey(path)
        boxes = faces.face_boxes(rgb)
        if not boxes:
            continue
        box_mask = np.zeros(rgb.shape[:2], bool)
        for x, y, w, h in boxes:
            box_mask[y:y + h, x:x + w] = True
        for seed in range(args.seeds):
            damaged, truth = damage(rgb, seed, DamageSpec())
            cases.append((path.parent.name + "/" + path.name, damaged, truth > 0, box_mask))
    print(f"{len(cases)} damaged copies of {len({c[0] for c in cases})} photos with faces",
          file=sys.stderr)
    print("| detector | sensitivity | protect faces | recall | false-mark px in face boxes "
          "| false-mark px elsewhere |")
    print("| --- | --- | --- | --- | --- | --- |")
    for method in args.methods.split(","):
        for s in (float(v) for v in args.sensitivities.split(",")):
            for protect in (False, True):
                hit = total = false_face = false_other = 0
                for _name, damaged, truth, box_mask in cases:
                    pred = _detect(damaged, method, s, protect)
                    hit += int((pred & truth).sum())
                    total += int(truth.sum())
                    false_face += int((pred & ~truth & box_mask).sum())
                    false_other += int((pred & ~truth & ~box_mask).sum())
                print(f"| {method} | {s:.2f} | {'yes' if protect else 'no'} | "
                      f"{hit / max(total, 1):.1%} | {false_face} | {false_other} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
