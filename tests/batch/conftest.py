"""Tiny generated photos and a cheap recipe (no networks) for the batch tests."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHEAP = """\
[recipe]
name = "cheap"

[[step]]
use = "detect-scratches"
method = "classical"

[[step]]
use = "inpaint"
method = "harmonic"

[[step]]
use = "refine"
radius = 8

[[step]]
use = "export"
format = "png"
"""


def make_photos(folder: Path, n: int, size: tuple[int, int] = (64, 48), seed: int = 0
                ) -> list[Path]:
    """``n`` small scratched gray photos (distinct content) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    w, h = size
    for i in range(n):
        y, x = np.mgrid[0:h, 0:w]
        g = 0.5 + 0.3 * np.sin(x / (5 + i)) * np.cos(y / 7) + 0.05 * rng.random((h, w))
        g[h // 3, w // 8: w - w // 8] = 1.0  # a bright scratch
        img = Image.fromarray((np.clip(g, 0, 1) * 255).astype(np.uint8)).convert("RGB")
        paths.append(folder / f"photo{i:03d}.png")
        img.save(paths[-1])
    return paths


@pytest.fixture
def cheap_recipe(tmp_path) -> Path:
    path = tmp_path / "cheap.toml"
    path.write_text(CHEAP)
    return path


def pytest_collection_modifyitems(config, items):
    """Slow batch tests (a local Ray start) run only when asked for with ``-m slow``."""
    if "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow (starts a local Ray): run with -m slow")
    for item in items:
        if "slow" in item.keywords and "tests/batch" in str(item.fspath).replace("\\", "/"):
            item.add_marker(skip)
