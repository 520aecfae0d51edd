"""`neuron inpaint` (methods, folders), `neuron detect-scratches` and `neuron eval inpaint`."""

import json

import numpy as np
import pytest
from PIL import Image

from neuron_desktop.cli import main
from neuron_desktop.data.damage import damage


def _photo(path, seed=0, h=96, w=128):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x / w, y / h, (x + y) / (h + w)], -1) * 200 + rng.normal(0, 8, (h, w, 3))
    img[:, ::6] += 30  # some texture for the exemplar fill to copy
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
    return path


def _mask(path, h=96, w=128, box=(40, 60, 20, 60)):
    m = np.zeros((h, w), np.uint8)
    y0, y1, x0, x1 = box
    m[y0:y1, x0:x1] = 255
    Image.fromarray(m).save(path)
    return path


def test_help(capsys):
    for argv in (["detect-scratches", "--help"], ["eval", "inpaint", "--help"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 0 and "usage:" in capsys.readouterr().out


@pytest.mark.parametrize("method", ["exemplar", "auto", "ns"])
def test_inpaint_methods_keep_unmasked_pixels(tmp_path, method):
    photo, mask = _photo(tmp_path / "p.png"), _mask(tmp_path / "m.png")
    out = tmp_path / "out.png"
    assert main(["inpaint", str(photo), "--mask", str(mask), "-o", str(out), "-q",
                 "--method", method, "--device", "cpu"]) == 0
    a, b = np.asarray(Image.open(photo)), np.asarray(Image.open(out))
    hole = np.asarray(Image.open(mask)) > 127
    assert np.array_equal(a[~hole], b[~hole]) and not np.array_equal(a[hole], b[hole])


def test_inpaint_folder_with_one_bad_pair(tmp_path, capsys):
    photos, masks, out = tmp_path / "photos", tmp_path / "masks", tmp_path / "out"
    photos.mkdir(), masks.mkdir()
    for i, name in enumerate(["a.png", "b.jpg", "c.png"]):
        _photo(photos / name, seed=i)
    _mask(masks / "a.png")
    _mask(masks / "b.png")  # same stem, other extension: accepted
    _mask(masks / "c.png", h=50, w=50)  # wrong size
    code = main(["inpaint", str(photos), "--mask", str(masks), "-o", str(out), "-q",
                 "--method", "telea"])
    captured = capsys.readouterr()
    assert code == 1
    assert (out / "a.png").is_file() and (out / "b.jpg").is_file()
    assert not (out / "c.png").exists()
    assert "c.png" in captured.err and "1 of 3 files failed" in captured.err


def test_inpaint_missing_mask_is_an_error(tmp_path, capsys):
    photo = _photo(tmp_path / "p.png")
    assert main(["inpaint", str(photo), "--mask", str(tmp_path / "nope.png"), "-o",
                 str(tmp_path / "o.png")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_detect_scratches_writes_a_mask(tmp_path):
    rgb = np.asarray(Image.open(_photo(tmp_path / "p.png"))).astype(np.float32) / 255
    damaged, truth = damage(rgb, 5)
    src = tmp_path / "old.png"
    Image.fromarray((damaged * 255 + 0.5).astype(np.uint8)).save(src)
    out = tmp_path / "mask.png"
    assert main(["detect-scratches", str(src), "-o", str(out), "-q",
                 "--sensitivity", "0.6"]) == 0
    m = np.asarray(Image.open(out))
    assert m.shape == truth.shape and set(np.unique(m)) <= {0, 255}
    assert (m > 0).any() and ((m > 0) & (truth > 0)).sum() > 0.3 * (truth > 0).sum()
    with pytest.raises(SystemExit) as exc:
        main(["detect-scratches", str(src), "-o", str(out), "--sensitivity", "2"])
    assert exc.value.code == 2


def test_detect_scratches_folder(tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "masks"
    photos.mkdir()
    for i in range(2):
        _photo(photos / f"{i}.jpg", seed=i)
    assert main(["detect-scratches", str(photos), "-o", str(out), "-q"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["0.png", "1.png"]


def test_eval_inpaint_on_a_small_folder(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    for i in range(2):
        _photo(data / f"kodak24_{i}.png", seed=i)
    report = tmp_path / "eval.json"
    sheet = tmp_path / "sheet.jpg"
    assert main(["eval", "inpaint", "--data", str(data), "--methods", "telea", "exemplar",
                 "--json-out", str(report), "--sheet", str(sheet), "-q"]) == 0
    r = json.loads(report.read_text())
    assert r["images"] == 2 and set(r["results"]) == {"10-20%", "20-30%", "30-40%",
                                                      "scratches"}
    for per in r["results"].values():
        assert set(per) == {"telea", "exemplar"}
        assert all(np.isfinite(v["psnr"]) and 0 < v["ssim"] <= 1 for v in per.values())
    assert 0.1 <= r["hole_area"]["10-20%"] <= 0.2
    for key in ("detector", "detector_old"):
        assert set(r[key]) >= {"precision", "recall", "precision_1px", "recall_1px",
                               "marks_precision", "marks_recall", "marks_f1"}
    assert r["detector_old"] != r["detector"]
    assert sheet.is_file()
    out = capsys.readouterr().out
    assert "PSNR" in out and "scratch classical detector:" in out and "old prints" in out


def test_train_inpaint_writes_weights_and_guards_its_run_dir(tmp_path, capsys):
    data = tmp_path / "photos"
    data.mkdir()
    for i in range(3):
        _photo(data / f"p{i}.png", seed=i)
    args = ["train", "inpaint", "--data", str(data), "--steps", "2", "--batch", "2",
            "--crop", "32", "--width", "4", "--run-dir", str(tmp_path / "run"),
            "--weights-dir", str(tmp_path / "w"), "--name", "tiny", "-q"]
    assert main(args) == 0
    manifest = json.loads((tmp_path / "w" / "manifest.json").read_text())
    assert manifest["models"]["tiny"]["task"] == "inpainting"
    assert (tmp_path / "w" / "tiny.safetensors").exists()
    assert main(args) != 0  # the run dir holds a run: --resume or another dir
    assert "--resume" in capsys.readouterr().err


def test_detect_scratches_methods(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEURON_WEIGHTS_DIR", str(tmp_path / "no-weights"))
    rgb = np.asarray(Image.open(_photo(tmp_path / "p.png"))).astype(np.float32) / 255
    damaged, truth = damage(rgb, 5)
    src = tmp_path / "old.png"
    Image.fromarray((damaged * 255 + 0.5).astype(np.uint8)).save(src)
    classical, auto = tmp_path / "classical.png", tmp_path / "auto.png"
    assert main(["detect-scratches", str(src), "-o", str(classical), "-q",
                 "--method", "classical"]) == 0
    assert main(["detect-scratches", str(src), "-o", str(auto), "-q"]) == 0
    m = np.asarray(Image.open(classical))
    assert m.shape == truth.shape and ((m > 0) & (truth > 0)).sum() > 0.3 * (truth > 0).sum()
    assert np.array_equal(m, np.asarray(Image.open(auto)))  # no network installed: classical
    capsys.readouterr()
    assert main(["detect-scratches", str(src), "-o", str(tmp_path / "n.png"), "-q",
                 "--method", "network"]) == 1
    assert "not installed" in capsys.readouterr().err


def test_train_scratches_writes_weights_with_the_threshold(tmp_path):
    data = tmp_path / "photos"
    data.mkdir()
    for i in range(6):
        _photo(data / f"p{i}.png", seed=i)
    weights = tmp_path / "w"
    args = ["train", "scratches", "--data", str(data), "--steps", "2", "--batch", "2",
            "--crop", "32", "--width", "4", "--run-dir", str(tmp_path / "run"),
            "--weights-dir", str(weights), "--webs", "1", "1", "-q"]
    assert main(args) == 0
    entry = json.loads((weights / "manifest.json").read_text())["models"]["scratch_net"]
    assert entry["recipe"]["webs"] == [1, 1]
    assert entry["task"] == "scratch-detection" and entry["arch"] == "ScratchNet"
    assert entry["preprocessing"]["threshold"] == entry["metrics"]["validation"]["threshold"]
    assert entry["recipe"]["width"] == 4 and (weights / "scratch_net.safetensors").is_file()
    assert main(args) != 0  # the run dir holds a run
    assert main([*args, "--resume", "--steps", "3"]) == 0
