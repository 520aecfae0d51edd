"""Photo banks for training: the growing bank of a GPU lease fed over several calls."""

from pathlib import Path

import numpy as np
from PIL import Image

from neuron_desktop.data.photos import GrowingBank, is_validation


def _photos(folder: Path, names: list[str], value: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        p = folder / name
        Image.fromarray(np.full((40, 60, 3), value, np.uint8)).save(p)
        paths.append(p)
    return paths


def test_growing_bank_takes_in_complete_parts_without_their_validation_photos(tmp_path):
    first = _photos(tmp_path / "first", ["a.png", "b.png"], 10)
    watch = tmp_path / "feed"
    names = [f"p{i}.png" for i in range(60)]
    _photos(watch / "p2", names, 200)
    _photos(watch / "p3", ["late.png"], 100)  # not complete yet: stays out
    (watch / "p2" / ".complete").touch()
    bank = GrowingBank(first, watch, 0.2, every_s=0.0)
    assert len(bank) == 2
    crops = bank.random_crops(np.random.default_rng(0), 64, 32)  # looks at the feed first
    held_out = sum(is_validation(Path(n), 0.2) for n in names)
    assert 0 < held_out < len(names)
    assert len(bank) == 2 + len(names) - held_out
    assert bank.parts == {"p2"}
    assert set(np.unique(np.round(crops * 255))) <= {10.0, 200.0}
    (watch / "p3" / ".complete").touch()
    assert bank.refresh() == 1 and bank.refresh() == 0
    assert len(bank) == 3 + len(names) - held_out


def test_growing_bank_looks_at_most_every_few_seconds(tmp_path):
    watch = tmp_path / "feed"
    bank = GrowingBank(_photos(tmp_path / "first", ["a.png"], 10), watch, 0.0, every_s=3600)
    bank.random_crops(np.random.default_rng(0), 2, 16)
    _photos(watch / "p2", ["x.png"], 50)
    (watch / "p2" / ".complete").touch()
    bank.random_crops(np.random.default_rng(0), 2, 16)
    assert len(bank) == 1  # not looked at again yet
    assert bank.refresh() == 1 and len(bank) == 2
