"""`neuron project info` / `neuron project export`: inspect and render .neuron projects."""

import json

import numpy as np

from neuron_desktop.cli import main
from neuron_desktop.core.imageio import load_image, save_image
from neuron_desktop.core.project import Project, save_project
from neuron_desktop.core.record import read_record


def _project(tmp_path):
    rng = np.random.default_rng(1)
    orig = rng.random((32, 48, 3), dtype=np.float32)
    photo = save_image(tmp_path / "scan.png", orig)
    p = Project(orig, np.clip(orig * 0.5 + 0.3, 0, 1), np.zeros((32, 48), np.float32),
                hints=[{"x": 3, "y": 4, "rgb": [1.0, 0.0, 0.0], "size": 5}],
                steps=[{"name": "Colorize", "capability": "colorize",
                        "params": {"temperature": 0.2},
                        "models": [{"name": "colorizer", "sha256": "ab" * 32}]}],
                source={"name": "scan.png", "path": str(photo)})
    return save_project(tmp_path / "work.neuron", p), p, photo


def test_project_info_prints_the_record_as_json(tmp_path, capsys):
    path, p, _ = _project(tmp_path)
    assert main(["project", "info", str(path)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["format"] == "neuron-project" and record["steps"] == p.steps
    assert record["hints"] == p.hints and record["size"] == [48, 32]


def test_project_export_renders_the_current_image_with_its_record(tmp_path, capsys):
    path, p, _ = _project(tmp_path)
    out = tmp_path / "out.png"
    assert main(["project", "export", str(path), "-o", str(out)]) == 0
    assert np.abs(load_image(out).rgb - p.current).max() <= 1 / 65535 + 1e-6
    rec = read_record(out)
    assert [s.name for s in rec.steps] == ["Colorize", "export"]
    assert rec.steps[0].models[0].sha256 == "ab" * 32
    assert main(["project", "export", str(path), "-o", str(tmp_path / "bare.png"),
                 "--no-record"]) == 0
    assert b"neuron:steps" not in (tmp_path / "bare.png").read_bytes()


def test_project_export_never_overwrites_the_original_or_the_project(tmp_path, capsys):
    path, _, photo = _project(tmp_path)
    before = photo.read_bytes()
    data = path.read_bytes()
    assert main(["project", "export", str(path), "-o", str(photo)]) != 0
    assert "original photo" in capsys.readouterr().err
    assert main(["project", "export", str(path), "-o", str(path), "--overwrite"]) != 0
    assert photo.read_bytes() == before and path.read_bytes() == data


def test_a_damaged_project_is_one_clear_error(tmp_path, capsys):
    path, _, _ = _project(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert main(["project", "info", str(path)]) == 1
    err = capsys.readouterr().err
    assert "damaged or truncated" in err and "Traceback" not in err
    assert main(["project", "export", str(path), "-o", str(tmp_path / "x.png")]) == 1
    assert not (tmp_path / "x.png").exists()
