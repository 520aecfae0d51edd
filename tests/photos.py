"""Throw-away training sets for tests: folders of random-noise PNGs."""

from pathlib import Path

import numpy as np
from PIL import Image


def noise_photos(folder: Path, n: int = 3, h: int = 80, w: int = 100, seed: int = 0) -> Path:
    """``n`` random-noise PNGs (``h`` x ``w``) in a new ``folder``; returns it."""
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray((rng.random((h, w, 3)) * 255).astype(np.uint8)).save(
            folder / f"p{i}.png")
    return folder
