"""Issue 25, data loss: no output ever lands on an input of the run or on another output,
checked before any work (core/outputs.py, cli_guard.plan). Runs in-process, no display."""

import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from neuron_desktop.cli import main
from neuron_desktop.core.errors import EXIT_ERROR, EXIT_OK, EXIT_REFUSED, OutputClashError
from neuron_desktop.core.outputs import plan_outputs, same_file


def _img(path: Path, seed: int = 0, size=(40, 30), mode="RGB") -> Path:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).convert(mode).save(path)
    return path


def _mask(path: Path, size=(40, 30)) -> Path:
    m = np.zeros((size[1], size[0]), np.uint8)
    m[10:14, 5:30] = 255
    Image.fromarray(m).save(path)
    return path


def _snapshot(*paths: Path) -> dict:
    return {p: p.read_bytes() for p in paths}


def _unchanged(snap: dict) -> bool:
    return all(p.read_bytes() == data for p, data in snap.items())


# --- single files: every input is protected ---------------------------------------------

def test_inpaint_output_over_the_mask_is_refused(tmp_path, capsys):
    photo, mask = _img(tmp_path / "photo.jpg"), _mask(tmp_path / "mask.png")
    snap = _snapshot(photo, mask)
    assert main(["inpaint", str(photo), "--mask", str(mask), "-o", str(mask), "-q"]) \
        == EXIT_REFUSED
    err = capsys.readouterr().err
    assert "mask" in err and "Traceback" not in err
    assert _unchanged(snap)
    # even --overwrite only allows writing over the photo itself
    assert main(["inpaint", str(photo), "--mask", str(mask), "-o", str(mask), "-q",
                 "--overwrite"]) == EXIT_REFUSED
    assert _unchanged(snap)


def test_stylize_output_over_the_style_image_is_refused_before_any_work(tmp_path, capsys):
    photo, style = _img(tmp_path / "photo.jpg"), _img(tmp_path / "my_style.jpg", 1)
    snap = _snapshot(photo, style)
    start = time.perf_counter()
    assert main(["stylize", str(photo), "--style", str(style), "-o", str(style), "-q",
                 "--iterations", "300"]) == EXIT_REFUSED
    assert time.perf_counter() - start < 20  # refused before 300 Gatys steps
    assert "style image" in capsys.readouterr().err
    assert _unchanged(snap)


def test_refine_output_over_the_guide_is_refused(tmp_path, capsys):
    photo, guide = _img(tmp_path / "photo.jpg"), _img(tmp_path / "guide.jpg", 1)
    snap = _snapshot(photo, guide)
    assert main(["refine", str(photo), "--guide", str(guide), "-o", str(guide), "-q"]) \
        == EXIT_REFUSED
    assert "guide" in capsys.readouterr().err
    assert _unchanged(snap)


def test_symlink_and_hard_link_to_an_input_are_refused(tmp_path):
    photo, mask = _img(tmp_path / "photo.png"), _mask(tmp_path / "mask.png")
    snap = _snapshot(photo, mask)
    (tmp_path / "link.png").symlink_to(photo)
    os.link(mask, tmp_path / "hard.png")
    for out in ("link.png", "hard.png"):
        assert main(["inpaint", str(photo), "--mask", str(mask), "-o",
                     str(tmp_path / out), "-q"]) == EXIT_REFUSED
    # a path spelled differently (.., ./) is the same file
    odd = tmp_path / "sub" / ".." / "photo.png"
    (tmp_path / "sub").mkdir()
    assert main(["refine", str(photo), "-o", str(odd), "-q"]) == EXIT_REFUSED
    assert _unchanged(snap)


# --- folders: distinct names or a refusal, before any work ------------------------------

def test_scratches_folder_into_itself_does_not_write_a_mask_over_a_photo(tmp_path, capsys):
    d = tmp_path / "scans"
    jpg, png = _img(d / "scan.jpg"), _img(d / "scan.png", 1)
    snap = _snapshot(jpg, png)
    assert main(["detect-scratches", str(d), "-o", str(d), "-q",
                 "--method", "classical"]) == EXIT_REFUSED
    assert "nothing was done" in capsys.readouterr().err
    assert _unchanged(snap) and sorted(p.name for p in d.iterdir()) == ["scan.jpg", "scan.png"]


def test_scratches_masks_of_same_stem_get_distinct_names(tmp_path):
    d = tmp_path / "scans"
    _img(d / "scan.jpg"), _img(d / "scan.png", 1)
    out = tmp_path / "masks"
    assert main(["detect-scratches", str(d), "-o", str(out), "-q",
                 "--method", "classical"]) == EXIT_OK
    assert sorted(p.name for p in out.iterdir()) == ["scan-2.png", "scan.png"]


def test_later_input_is_not_overwritten_before_it_is_read(tmp_path, capsys):
    a = _img(tmp_path / "d1" / "photo.png")
    b = _img(tmp_path / "out" / "photo.png", 1)
    snap = _snapshot(a, b)
    assert main(["detect-scratches", str(a), str(b), "-o", str(tmp_path / "out"), "-q",
                 "--method", "classical"]) == EXIT_REFUSED
    assert _unchanged(snap)


def test_two_inputs_with_the_same_name_keep_both_results(tmp_path, caplog):
    a = _img(tmp_path / "d1" / "photo.png")
    b = _img(tmp_path / "d2" / "photo.png", 1)
    out = tmp_path / "out"
    assert main(["detect-scratches", str(a), str(b), "-o", str(out), "-q",
                 "--method", "classical"]) == EXIT_OK
    assert sorted(p.name for p in out.iterdir()) == ["photo-2.png", "photo.png"]


def test_in_place_folder_with_overwrite_is_allowed(tmp_path):
    d = tmp_path / "d"
    a, b = _img(d / "a.png"), _img(d / "b.png", 1)
    assert main(["detect-scratches", str(d), "-o", str(d), "-q", "--method", "classical",
                 "--overwrite"]) == EXIT_OK
    assert Image.open(a).mode == "L" and Image.open(b).mode == "L"


# --- output paths that cannot be written: a message, not a traceback -------------------

def test_unwritable_output_paths_give_one_clear_message(tmp_path, capsys):
    photo = _img(tmp_path / "photo.png")
    cases = {
        str(tmp_path / "photo.png" / "out.png"): "is a file, not a folder",
        str(tmp_path / "no" / "such" / "out.png"): "does not exist",
        str(tmp_path / ("x" * 300 + ".png")): "too long",
        str(tmp_path / "out.xyz"): "unsupported extension",
    }
    for out, words in cases.items():
        assert main(["refine", str(photo), "-o", out, "-q"]) == EXIT_ERROR, out
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, (out, err)
    # folder mode: -o under a file
    assert main(["detect-scratches", str(photo), str(photo), "-o",
                 str(tmp_path / "photo.png" / "sub"), "-q"]) == EXIT_ERROR
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_new_folder_in_an_unwritable_parent(tmp_path, capsys):
    photo = _img(tmp_path / "photo.png")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert main(["detect-scratches", str(photo), str(photo), "-o",
                     str(locked / "new"), "-q"]) == EXIT_ERROR
        assert "permission" in capsys.readouterr().err.lower()
    finally:
        locked.chmod(0o700)


def test_unwritable_parent_as_seen_by_a_normal_user(tmp_path, capsys, monkeypatch):
    """The same case where the tests run as root (who may write anywhere): the permission
    check is made to answer as it does for a normal user; one message, nothing created."""
    from neuron_desktop.core import outputs

    photo = _img(tmp_path / "photo.png")
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(outputs.os, "access",
                        lambda p, mode, **k: False if Path(p) == locked else real(p, mode, **k))
    for argv in (["detect-scratches", str(photo), str(photo), "-o", str(locked / "new")],
                 ["refine", str(photo), "-o", str(locked / "out.png")]):
        assert main([*argv, "-q"]) == EXIT_ERROR
        err = capsys.readouterr().err
        assert "permission" in err.lower() and "Traceback" not in err, err
    assert list(locked.iterdir()) == []


def test_mask_output_extension_is_checked_first(tmp_path, capsys):
    photo = _img(tmp_path / "photo.png")
    assert main(["detect-scratches", str(photo), "-o", str(tmp_path / "x.jpg"), "-q"]) \
        == EXIT_ERROR
    assert "x.png" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


# --- the planner itself -------------------------------------------------------------------

def test_plan_outputs_unit(tmp_path):
    a, b = _img(tmp_path / "a.png"), _img(tmp_path / "b.png")
    style = _img(tmp_path / "s.png")
    assert same_file(tmp_path / "a.png", tmp_path / "." / "a.png")
    with pytest.raises(OutputClashError, match="style"):
        plan_outputs([(a, style)], extra_inputs=[(style, "style image")])
    with pytest.raises(OutputClashError, match="--overwrite"):
        plan_outputs([(a, a)])
    assert plan_outputs([(a, a)], overwrite=True) == [(a, a)]
    with pytest.raises(OutputClashError, match="another output"):
        plan_outputs([(a, tmp_path / "o.png"), (b, tmp_path / "o.png")], batch=False)
    out = plan_outputs([(a, tmp_path / "o.png"), (b, tmp_path / "o.png")])
    assert [d.name for _, d in out] == ["o.png", "o-2.png"]
    # a renamed output never lands on an input either
    _img(tmp_path / "o-2.png")
    out = plan_outputs([(a, tmp_path / "o.png"), (b, tmp_path / "o.png"),
                        (tmp_path / "o-2.png", tmp_path / "x" / "o-2.png")])
    assert [d.name for _, d in out][:2] == ["o.png", "o-3.png"]


def test_colorize_second_input_in_the_output_folder(tmp_path, capsys):
    """`neuron colorize d1/photo.jpg out/photo.jpg -o out/`: refused before the first result
    could be written over the second input; same-named inputs elsewhere get distinct names."""
    a = _img(tmp_path / "d1" / "photo.jpg")
    b = _img(tmp_path / "out" / "photo.jpg", 1)
    snap = _snapshot(a, b)
    assert main(["colorize", str(a), str(b), "-o", str(tmp_path / "out"), "-q",
                 "--render-size", "64"]) == EXIT_REFUSED
    assert _unchanged(snap)
    c = _img(tmp_path / "d2" / "photo.jpg", 2)
    assert main(["colorize", str(a), str(c), "-o", str(tmp_path / "res"), "-q",
                 "--render-size", "64"]) == EXIT_OK
    assert sorted(p.name for p in (tmp_path / "res").iterdir()) == ["photo-2.jpg", "photo.jpg"]


def test_300_byte_names_anywhere_give_one_clear_message(tmp_path, capsys, monkeypatch):
    """A name over 255 bytes as the photo, the mask, the style, the hints file, the output
    file or the output folder: one line that says the name is too long (never "cannot
    write" for a file that is read, never a traceback), exit 1, nothing written."""
    monkeypatch.chdir(tmp_path)
    photo = _img(tmp_path / "p.png")
    long = "y" * 300
    read = [  # the long name is read
        ["refine", f"{long}.png", "-o", "o.png"],
        ["metrics", str(photo), f"{long}.png"],
        ["inpaint", str(photo), "--mask", f"{long}.png", "-o", "o.png"],
        ["stylize", str(photo), "--style", f"{long}.png", "-o", "o.png"],
        ["colorize", str(photo), "--hints", f"{long}.json", "-o", "o.png"],
    ]
    written = [
        ["refine", str(photo), "-o", f"{long}.png"],
        ["detect-scratches", str(photo), str(photo), "-o", long, "--method", "classical"],
    ]
    for argv in read + written:
        assert main(argv + (["-q"] if argv[0] != "metrics" else [])) == EXIT_ERROR, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err, (argv, err)
        assert "too long" in err.lower(), (argv, err)
        if argv in read:
            assert "cannot write" not in err, (argv, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.png"]


def test_output_over_the_hints_file_or_into_the_mask_folder_is_refused(tmp_path, capsys):
    """The last two kinds of input of the issue's list: a hints file (here named like an
    image, so that -o accepts the name) and a mask folder (every mask in it is an input)."""
    photo = _img(tmp_path / "photo.png")
    hints = tmp_path / "hints.png"
    hints.write_text('[{"x": 3, "y": 4, "color": "#ff0000"}]')
    snap = _snapshot(photo, hints)
    assert main(["colorize", str(photo), "--hints", str(hints), "-o", str(hints), "-q",
                 "--render-size", "64", "--overwrite"]) == EXIT_REFUSED
    assert "hint" in capsys.readouterr().err and _unchanged(snap)
    # inpaint a folder with a mask folder, results into the mask folder: the results for
    # a.png and b.png would land on the masks a.png and b.png; in folder mode they get
    # distinct names instead (with a warning each), the masks are kept
    photos, masks = tmp_path / "photos", tmp_path / "masks"
    a, b = _img(photos / "a.png"), _img(photos / "b.png", 1)
    masks.mkdir()
    ma, mb = _mask(masks / "a.png"), _mask(masks / "b.png")
    snap = _snapshot(a, b, ma, mb)
    assert main(["inpaint", str(photos), "--mask", str(masks), "-o", str(masks), "-q",
                 "--method", "telea"]) == EXIT_OK
    err = capsys.readouterr().err
    assert err.count("WARNING") == 2 and "Traceback" not in err, err
    assert _unchanged(snap)
    assert sorted(p.name for p in masks.iterdir()) == ["a-2.png", "a.png", "b-2.png", "b.png"]
    # one photo given alone (single-file mode): refused, not renamed
    assert main(["inpaint", str(a), "--mask", str(ma), "-o", str(ma), "-q",
                 "--method", "telea"]) == EXIT_REFUSED
    assert _unchanged(snap)
