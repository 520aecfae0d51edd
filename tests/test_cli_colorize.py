"""`neuron colorize`: single file, folders (one bad file reported, the rest done), hints file."""

import json

import numpy as np
import pytest
from PIL import Image

from neuron_desktop.cli import load_hints_file, main
from neuron_desktop.core.errors import NeuronError
from neuron_desktop.models.weights import read_manifest

pytestmark = pytest.mark.skipif("colorizer" not in read_manifest(),
                                reason="no shipped colorizer weights")


def _gray(path, seed=0, size=(96, 72)):
    rng = np.random.default_rng(seed)
    small = (rng.random((6, 8)) * 255).astype(np.uint8)
    Image.fromarray(small).resize(size, Image.BICUBIC).convert("RGB").save(path)
    return path


def test_single_file_with_hints(tmp_path):
    src = _gray(tmp_path / "old.png")
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps([{"x": 10, "y": 10, "color": "#3060c0", "size": 5},
                                 {"x": 50, "y": 40, "ab": [30, 20]}]))
    out = tmp_path / "out.png"
    assert main(["colorize", str(src), "-o", str(out), "--hints", str(hints), "-q"]) == 0
    result = np.asarray(Image.open(out)).astype(float)
    assert result.shape == (72, 96, 3)
    assert np.abs(result[..., 0] - result[..., 2]).mean() > 1  # it has colour now


def test_folder_goes_on_past_a_bad_file(tmp_path, capsys):
    folder = tmp_path / "scans"
    folder.mkdir()
    _gray(folder / "a.png", 1)
    _gray(folder / "c.jpg", 2)
    (folder / "b.png").write_text("not an image")
    out = tmp_path / "coloured"
    assert main(["colorize", str(folder), "-o", str(out), "-q"]) == 1
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "c.jpg"]
    err = capsys.readouterr().err
    assert "b.png" in err and "1 of 3 files failed" in err


def test_bad_hints_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "h.json"
    bad.write_text('[{"x": 1}]')
    with pytest.raises(NeuronError, match="h.json"):
        load_hints_file(str(bad))


def test_a_hints_spread_in_the_file_is_read_clamped_and_checked(tmp_path):
    path = tmp_path / "h.json"
    path.write_text(json.dumps([{"x": 1, "y": 2, "color": "#ffffff", "spread": 0.5},
                                {"x": 3, "y": 4, "ab": [1, 2], "spread": 40},
                                {"x": 5, "y": 6, "color": [0, 0, 0]}]))
    assert [h.spread for h in load_hints_file(str(path))] == [0.5, 3.0, 1.0]
    path.write_text('[{"x": 1, "y": 2, "color": "#ffffff", "spread": "wide"}]')
    with pytest.raises(NeuronError, match="h.json"):
        load_hints_file(str(path))
