"""Create the bundled sample photos (neuron_desktop/resources/samples/) from scikit-image.

    python scripts/make_samples.py

Sources (licences in neuron_desktop/resources/samples/LICENSES.md): ``skimage.data.coffee()`` (CC0),
``skimage.data.astronaut()`` (NASA, public domain) and ``skimage.data.chelsea()`` (CC0),
which is turned into a damaged sepia "old photo". Seeded, so reruns give the same pixels.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from skimage import data

from neuron_desktop.core.imageio import save_image, save_mask

OUT = Path(__file__).resolve().parents[1] / "neuron_desktop" / "resources" / "samples"
QUALITY = 92
SEED = 1907


def as_float(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) / 255.0


def old_photo(rgb: np.ndarray, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Colour (H, W, 3) in [0, 1] -> (faded sepia print with grain, vignette, scratches, dust,
    (H, W) mask of the damage, dilated by 1 px)."""
    rng = np.random.default_rng(seed)
    h, w = rgb.shape[:2]
    gray = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    gray = cv2.GaussianBlur(gray, (0, 0), 0.6)  # soft old lens / print
    gray = 0.08 + 0.82 * gray  # faded: lifted blacks, dull whites

    grain = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 0.7)
    gray += 0.035 * grain / grain.std()

    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((x - w / 2) / (w / 2)) ** 2 + ((y - h / 2) / (h / 2)) ** 2
    gray *= 1.0 - 0.18 * r2 / 2  # faint vignette, darkest in the corners

    damage = np.zeros((h, w), np.float32)  # 1 = paper showing through
    dirt = np.zeros((h, w), np.float32)
    for _ in range(3):  # long, thin, slightly wavy scratches
        x0, x1 = rng.uniform(0.1, 0.9, 2) * w
        ys = np.linspace(rng.uniform(0, 0.3) * h, rng.uniform(0.6, 1.0) * h, 12)
        xs = np.linspace(x0, x1, 12) + rng.normal(0, 1.5, 12)
        points = np.stack([xs, ys], axis=1).round().astype(np.int32)
        cv2.polylines(damage, [points], False, float(rng.uniform(0.6, 0.9)), 1, cv2.LINE_AA)
    for _ in range(14):  # dust: bright specks (paper) and dark specks (dirt)
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        radius = int(rng.integers(1, 3))
        if rng.random() < 0.6:
            cv2.circle(damage, (cx, cy), radius, 0.85, -1, cv2.LINE_AA)
        else:
            cv2.circle(gray, (cx, cy), radius, 0.12, -1, cv2.LINE_AA)
            cv2.circle(dirt, (cx, cy), radius, 1.0, -1, cv2.LINE_AA)
    gray = gray * (1 - damage) + 0.96 * damage

    dark = np.array([0.10, 0.07, 0.04], np.float32)  # sepia ramp: brown shadows,
    light = np.array([1.0, 0.95, 0.86], np.float32)  # cream highlights
    mask = cv2.dilate(((damage > 0.05) | (dirt > 0.05)).astype(np.uint8), np.ones((3, 3)))
    return np.clip(dark + np.clip(gray, 0, 1)[..., None] * (light - dark), 0, 1), mask


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    outputs = {
        "coffee.jpg": as_float(data.coffee()),
        "astronaut.jpg": as_float(data.astronaut()),
    }
    outputs["old_photo.jpg"], damage_mask = old_photo(as_float(data.chelsea()))
    save_mask(OUT / "old_photo_mask.png", damage_mask.astype(np.float32))
    for name, rgb in outputs.items():
        path = save_image(OUT / name, rgb, quality=QUALITY)
        print(f"{path}  {rgb.shape[1]}x{rgb.shape[0]}  {path.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
