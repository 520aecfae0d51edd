"""The `neuron` command: outputs, exit codes and messages (runs in-process, no display)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from neuron_desktop.cli import main


@pytest.fixture
def photo(tmp_path):
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:96, 0:128]
    img = np.stack([x / 128, y / 96, (x + y) / 224], -1) * 200 + rng.normal(0, 8, (96, 128, 3))
    path = tmp_path / "photo.png"
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture
def mask(tmp_path):
    m = np.zeros((96, 128), np.uint8)
    m[40:50, 20:100] = 255
    path = tmp_path / "mask.png"
    Image.fromarray(m).save(path)
    return path


def _commands(parser, prefix=()):
    """Every (sub)command path of ``parser``, e.g. ("eval", "inpaint")."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from _commands(sub, (*prefix, name))


def test_help_everywhere(capsys):
    from neuron_desktop.cli import build_parser

    commands = [(), *_commands(build_parser())]
    assert ("stylize",) in commands and ("eval", "inpaint") in commands
    for command in commands:
        with pytest.raises(SystemExit) as exc:
            main([*command, "--help"])
        assert exc.value.code == 0, command
        assert "usage:" in capsys.readouterr().out


def test_switch_help_says_what_the_flag_does(capsys):
    """An on-by-default switch is offered as its off flag, and its help says so."""
    for command, flag, words in (("colorize", "--no-refine",
                                  'turn off "Fit colours to the photo\'s edges" (on by default)'),
                                 ("stylize", "--preserve-color", "(off by default)")):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        help_text = " ".join(capsys.readouterr().out.split())
        entry = help_text[help_text.index(flag + " ") + len(flag):].split(" --")[0]
        assert words in entry, entry
        assert "(True)" not in help_text and "(False)" not in help_text


def test_every_capability_command_takes_max_megapixels():
    from neuron_desktop.capabilities import all_capabilities
    from neuron_desktop.cli import build_parser

    parser = build_parser()
    for cap in all_capabilities():
        args = parser.parse_args([cap.name, "in.png", "-o", "out.png", "--max-megapixels", "60",
                                  *(["--mask", "m.png"] if "mask" in cap.needs else []),
                                  *[a for p in cap.params if p.required and p.in_cli
                                    for a in (p.flag, "x")]])
        assert args.max_megapixels == 60, cap.name


def test_entry_point_runs_as_subprocess():
    proc = subprocess.run([sys.executable, "-m", "neuron_desktop.cli", "--version"],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "neuron" in proc.stdout


def test_info_json(capsys):
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["devices"] and any("CPU" in d for d in info["devices"])
    assert isinstance(info["models"], dict)


def test_metrics_json_keys_and_values(photo, tmp_path, capsys):
    noisy = np.asarray(Image.open(photo)).astype(np.int16) + 6
    other = tmp_path / "other.png"
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(other)
    assert main(["metrics", str(photo), str(other), "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert set(m) == {"psnr", "ssim", "delta_e", "colorfulness_a", "colorfulness_b"}
    assert 25 < m["psnr"] < 40 and 0.5 < m["ssim"] < 1 and m["delta_e"] > 0


def test_metrics_identical_images_psnr_is_null_in_json(photo, capsys):
    assert main(["metrics", str(photo), str(photo), "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["psnr"] is None and m["ssim"] == pytest.approx(1.0)


def test_metrics_size_mismatch_is_a_clear_error(photo, tmp_path, capsys):
    small = tmp_path / "small.png"
    Image.new("RGB", (10, 10)).save(small)
    assert main(["metrics", str(photo), str(small)]) == 1
    err = capsys.readouterr().err
    assert "differ in size" in err and "small.png" in err


def test_bad_file_is_a_clear_error_without_traceback(tmp_path, photo, capsys):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    assert main(["metrics", str(bad), str(photo)]) == 1
    err = capsys.readouterr().err
    assert "notes.png" in err and "Traceback" not in err


def test_inpaint_writes_output_and_keeps_unmasked_pixels(photo, mask, tmp_path):
    out = tmp_path / "out.png"
    assert main(["inpaint", str(photo), "--mask", str(mask), "-o", str(out), "-q",
                 "--method", "ns"]) == 0
    a, b = np.asarray(Image.open(photo)), np.asarray(Image.open(out))
    m = np.asarray(Image.open(mask)) > 127
    assert a.shape == b.shape
    assert np.array_equal(a[~m], b[~m])
    assert not np.array_equal(a[m], b[m])


def test_inpaint_wrong_mask_size(photo, tmp_path, capsys):
    m = tmp_path / "m.png"
    Image.new("L", (20, 20), 255).save(m)
    assert main(["inpaint", str(photo), "--mask", str(m), "-o", str(tmp_path / "o.png")]) == 1
    assert "m.png" in capsys.readouterr().err


def test_never_overwrites_the_input_unless_asked(photo, mask, capsys):
    before = photo.read_bytes()
    # exit code 3: refused before any work (docs/reliability.md)
    assert main(["inpaint", str(photo), "--mask", str(mask), "-o", str(photo), "-q"]) == 3
    assert "--overwrite" in capsys.readouterr().err
    assert photo.read_bytes() == before
    assert main(["inpaint", str(photo), "--mask", str(mask), "-o", str(photo), "-q",
                 "--overwrite"]) == 0


def test_refine_keeps_size(photo, tmp_path):
    out = tmp_path / "refined.jpg"
    assert main(["refine", str(photo), "-o", str(out), "--radius", "8", "-q"]) == 0
    assert Image.open(out).size == Image.open(photo).size


@pytest.mark.parametrize("argv", [
    ["refine", "x.png", "-o", "y.png", "--radius", "-3"],
    ["inpaint", "x.png", "-o", "y.png"],
    ["inpaint", "x.png", "--mask", "m.png", "-o", "y.png", "--method", "magic"],
    ["nonsense"],
])
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


def test_eval_reports_on_validation_never_overwrite_the_reported_figures():
    from neuron_desktop.cli import _json_out, build_parser

    parse = build_parser().parse_args
    for name in ("colorize", "inpaint", "grain", "restore"):
        assert _json_out(parse(["eval", name])) == Path(f"docs/eval/{name}.json")
        assert _json_out(parse(["eval", name, "--validation"])) == Path(
            f"runs/eval/{name}-validation.json")
        assert _json_out(parse(["eval", name, "--data", "x"])) == Path(
            f"runs/eval/{name}-data.json")
        assert _json_out(parse(["eval", name, "--validation", "--json-out", "r.json"])) == Path(
            "r.json")
