"""The scripts of a time-boxed GPU training run, smoke-tested on the CPU (a bug found on
the lent machine costs its device time)."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from neuron_desktop.data.photos import is_validation

ROOT = Path(__file__).resolve().parents[1]


def _script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_calibration_times_a_training_step():
    seconds = _script("gpu_calibrate").seconds_per_step(4, 2, 32, steps=1, device="cpu")
    assert 0 < seconds < 60


def test_pack_splits_photos_into_parts_with_validation_first(tmp_path, monkeypatch):
    pack = _script("gpu_pack")
    data = tmp_path / "train" / "set"
    data.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(40):
        Image.fromarray((rng.random((40, 40, 3)) * 255).astype(np.uint8)).save(
            data / f"p{i}.png")
    size = max(p.stat().st_size for p in data.iterdir())
    monkeypatch.setattr(pack, "tree_bytes", lambda: 0)
    monkeypatch.setattr(pack, "LIMIT", pack.MARGIN + 10 * size)  # ~10 photos a part
    out = tmp_path / "gpu"
    monkeypatch.setattr(sys, "argv", ["gpu_pack", "--data", str(tmp_path / "train"),
                                      "--out", str(out)])
    pack.main()
    parts = sorted(out.iterdir())
    names = [sorted(q.name for q in (p / "data" / "set").iterdir()) for p in parts]
    assert len(parts) >= 4 and sorted(sum(names, [])) == sorted(f"p{i}.png" for i in range(40))
    for part in parts:
        assert sum(f.stat().st_size for f in part.rglob("*.png")) <= 10 * size
    val = {f"p{i}.png" for i in range(40) if is_validation(Path(f"p{i}.png"), 0.05)}
    assert val and val <= set(names[0])  # p26.png
