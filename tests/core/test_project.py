"""Project files: round trip, atomic writes, clear errors on damaged files."""

import json
import zipfile

import numpy as np
import pytest

from neuron_desktop.core.project import Project, ProjectError, load_project, save_project


def _project(h=40, w=60):
    rng = np.random.default_rng(0)
    orig = rng.random((h, w, 3), dtype=np.float32)
    mask = np.zeros((h, w), np.float32)
    mask[5:15, 10:30] = 1
    return Project(orig, np.clip(orig * 0.5 + 0.2, 0, 1), mask,
                   hints=[{"x": 3, "y": 4, "rgb": [1, 0, 0], "size": 5}],
                   steps=[{"name": "Colorize", "capability": "colorize",
                           "params": {"temperature": 0.2},
                           "models": [{"name": "colorizer", "sha256": "ab" * 32}]}],
                   settings={"inpaint": {"method": "auto"}},
                   source={"name": "scan.png", "path": "/photos/scan.png"})


def test_round_trip_keeps_layers_record_and_settings(tmp_path):
    p = _project()
    path = save_project(tmp_path / "work", p)
    assert path.name == "work.neuron"
    q = load_project(path)
    assert np.abs(q.original - p.original).max() < 1 / 65535 + 1e-6
    assert np.abs(q.current - p.current).max() < 1 / 65535 + 1e-6
    assert np.array_equal(q.mask, p.mask)
    assert q.steps == p.steps and q.hints == p.hints and q.settings == p.settings
    assert q.source["name"] == "scan.png"
    assert [f for f in tmp_path.iterdir()] == [path]  # no temporary file left


@pytest.mark.parametrize("damage", ["truncated", "garbage", "no_record", "newer", "bad_layer",
                                    "missing_layer", "other_zip", "size"])
def test_damaged_projects_give_one_clear_error(tmp_path, damage):
    path = save_project(tmp_path / "p.neuron", _project())
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not a zip at all" * 10)
    else:
        with zipfile.ZipFile(path) as z:
            members = {n: z.read(n) for n in z.namelist()}
        record = json.loads(members["project.json"])
        if damage == "no_record":
            del members["project.json"]
        elif damage == "newer":
            members["project.json"] = json.dumps({**record, "version": 99}).encode()
        elif damage == "bad_layer":
            members["current.png"] = b"\x89PNG broken"
        elif damage == "missing_layer":
            del members["original.png"]
        elif damage == "other_zip":
            members = {"readme.txt": b"hello"}
        elif damage == "size":
            members["project.json"] = json.dumps({**record, "size": [1, 1]}).encode()
        with zipfile.ZipFile(path, "w") as z:
            for n, b in members.items():
                z.writestr(n, b)
    before = path.read_bytes()
    with pytest.raises(ProjectError) as err:
        load_project(path)
    assert "p.neuron" in str(err.value)
    assert path.read_bytes() == before  # reading never changes the file


def test_a_failed_save_keeps_the_old_project(tmp_path, monkeypatch):
    path = save_project(tmp_path / "p.neuron", _project())
    before = path.read_bytes()
    import neuron_desktop.core.imageio as mod  # where the atomic write happens

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mod.os, "replace", boom)
    with pytest.raises(ProjectError, match="No space left"):
        save_project(path, _project())
    assert path.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["p.neuron"]  # the temporary file is gone


def test_special_files_and_bombs_are_refused_before_reading(tmp_path):
    """Issue 25 for projects: a FIFO named .neuron is refused from stat() (it would block the
    loading worker, and the editor's exit, forever), so is /dev/zero; a project whose layer
    is a tiny PNG of 196 MP is refused from the layer's header, before it is decoded."""
    import os
    import sys
    import threading
    import time
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1]))
    from fuzz_corpus import _real_png_bomb

    fifo = tmp_path / "pipe.neuron"
    os.mkfifo(fifo)
    (tmp_path / "zero.neuron").symlink_to("/dev/zero")
    for path, words in ((fifo, "FIFO"), (tmp_path / "zero.neuron", "device")):
        result = []

        def load(p=path, out=result):
            try:
                load_project(p)
            except ProjectError as exc:
                out.append(str(exc))

        t = threading.Thread(target=load, daemon=True)
        t.start()
        t.join(10)
        if t.is_alive():  # unblock the reader so that the test run can end
            with open(fifo, "wb"):
                pass
            pytest.fail(f"{path.name}: load_project blocked")
        assert result and words in result[0] and path.name in result[0], result
    good = save_project(tmp_path / "good", _project())
    bomb = tmp_path / "bomb.neuron"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bomb, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            dst.writestr(item, _real_png_bomb(14000, 14000) if item.filename == "current.png"
                         else data)
    t0 = time.perf_counter()
    with pytest.raises(ProjectError, match="196 MP"):
        load_project(bomb)
    assert time.perf_counter() - t0 < 10
