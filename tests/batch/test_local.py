"""The local engine: outputs with records, error rows, status, resume, retry, the CLI."""

import sqlite3

import numpy as np

from neuron_desktop.batch import steps
from neuron_desktop.batch.job import prepare_job
from neuron_desktop.batch.local import run_local
from neuron_desktop.batch.recipe import load_recipe
from neuron_desktop.batch.state import DB_NAME
from neuron_desktop.cli import main
from neuron_desktop.core.imageio import load_image
from neuron_desktop.core.record import read_record

from .conftest import make_photos


def _run(recipe_path, inputs, out, **kw):
    recipe = load_recipe(recipe_path)
    with prepare_job(recipe, inputs, out, retry_failed=kw.pop("retry_failed", False)) as st:
        run_local(recipe, st, workers=0, **kw)
        return st.counts()


def test_folder_recursive_with_a_corrupt_file(tmp_path, cheap_recipe, capsys):
    photos = make_photos(tmp_path / "in", 2) + make_photos(tmp_path / "in" / "sub", 1, seed=1)
    (tmp_path / "in" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (tmp_path / "in" / "sub" / "twin.png").write_bytes(photos[0].read_bytes())
    out = tmp_path / "out"
    counts = _run(cheap_recipe, [tmp_path / "in"], out)
    assert (counts.done, counts.failed, counts.pending) == (3, 1, 0)  # the twin runs once
    assert (out / "photo000.png").is_file() and (out / "sub" / "photo000.png").is_file()
    assert not (out / "sub" / "twin.png").exists()
    record = read_record(out / "photo001.png")
    assert [s.name for s in record.steps] == ["detect-scratches", "inpaint", "refine", "export"]
    assert record.recipe == "cheap" and record.steps[0].settings["method"] == "classical"
    restored = load_image(out / "photo001.png").rgb
    assert restored.shape == (48, 64, 3)
    assert abs(restored[16].mean() - load_image(photos[1]).rgb[16].mean()) > 0.05  # repaired
    assert main(["batch", "status", str(out)]) == 1
    text = capsys.readouterr().out
    assert "cheap: 3 done, 1 failed, 0 to do (of 4)" in text
    assert "broken.png: cannot open" in text
    assert not list((out / ".neuron-batch-tmp").iterdir())


def test_rerun_does_not_redo_and_retry_failed(tmp_path, cheap_recipe, monkeypatch):
    make_photos(tmp_path / "in", 3)
    out = tmp_path / "out"
    real = steps.STEPS["refine"]

    def flaky(ctx, work, params, device):
        if work.original.path.name == "photo001.png":
            raise RuntimeError("flaky")
        return real.run(ctx, work, params, device)

    monkeypatch.setitem(steps.STEPS, "refine", real.__class__(real.params, real.load, flaky,
                                                               real.models))
    assert _run(cheap_recipe, [tmp_path / "in"], out).failed == 1
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")}
    monkeypatch.setitem(steps.STEPS, "refine", real)
    counts = _run(cheap_recipe, [tmp_path / "in"], out)  # no --retry-failed: nothing to do
    assert (counts.done, counts.failed) == (2, 1)
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")} == stamps
    counts = _run(cheap_recipe, [tmp_path / "in"], out, retry_failed=True)
    assert (counts.done, counts.failed) == (3, 0)
    attempts = dict(sqlite3.connect(out / DB_NAME).execute("SELECT input, attempts FROM photos"))
    assert sorted(attempts.values()) == [1, 1, 2]


def test_cli_list_file_jpeg_and_other_recipe_refused(tmp_path, cheap_recipe, capsys):
    photos = make_photos(tmp_path / "in", 2)
    listing = tmp_path / "list.txt"
    listing.write_text(f"# photos\nin/{photos[0].name}\n{photos[1]}\n")
    recipe = tmp_path / "jpeg.toml"
    recipe.write_text(cheap_recipe.read_text().replace('format = "png"',
                                                       'format = "jpeg"\nsuffix = "_r"'))
    out = tmp_path / "out"
    assert main(["batch", str(recipe), str(listing), "-o", str(out), "--workers", "0",
                 "-q"]) == 0
    assert sorted(p.name for p in out.glob("*.jpg")) == ["photo000_r.jpg", "photo001_r.jpg"]
    assert read_record(out / "photo000_r.jpg").steps[-1].settings["quality"] == 95
    assert main(["batch", str(cheap_recipe), str(listing), "-o", str(out)]) == 1
    assert "holds a job of another recipe" in capsys.readouterr().err
    assert main(["batch", "status", str(tmp_path)]) == 1
    assert "no batch job" in capsys.readouterr().err


def test_output_inside_input_is_not_reprocessed(tmp_path, cheap_recipe):
    make_photos(tmp_path / "in", 2)
    out = tmp_path / "in" / "restored"
    assert _run(cheap_recipe, [tmp_path / "in"], out).done == 2
    counts = _run(cheap_recipe, [tmp_path / "in"], out)
    assert (counts.total, counts.done) == (2, 2)
    assert np.isfinite(load_image(out / "photo000.png").rgb).all()


def test_help_and_usage(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["batch", "--help"])
    assert "restore-scan" in capsys.readouterr().out
    assert main(["batch", "restore-scan", "somewhere"]) == 1
    assert "needs -o OUT" in capsys.readouterr().err
