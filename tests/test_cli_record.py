"""Every capability command that writes an output embeds the edit record (XMP: the step, its
settings and models, the source's sha256, the app version), and ``--no-record`` skips it:
the same flag on every command, generated from the capability declarations."""

import hashlib

import numpy as np
import pytest

from neuron_desktop import capabilities
from neuron_desktop.cli import build_parser, main
from neuron_desktop.core.imageio import save_image
from neuron_desktop.core.record import RecordError, read_record


def _photo(tmp_path):
    rng = np.random.default_rng(3)
    img = np.clip(rng.random((40, 56, 3), dtype=np.float32) * 0.6 + 0.2, 0, 1)
    img[10:12, :] = 1.0  # a "scratch" for the detector
    return save_image(tmp_path / "scan.png", img)


def test_every_capability_command_has_no_record():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for cap in capabilities.all_capabilities():
        flags = {s for a in sub.choices[cap.name]._actions for s in a.option_strings}
        assert "--no-record" in flags, cap.name


@pytest.mark.parametrize("argv,out_name,step", [
    (["levels", "--black", "20"], "out.png", "Levels"),
    (["levels", "--black", "20"], "out.tif", "Levels"),
    (["rotate"], "out.jpg", None),
    (["detect-scratches", "--method", "classical"], "mask.png", None),
])
def test_outputs_carry_the_record_unless_no_record(tmp_path, capsys, argv, out_name, step):
    src = _photo(tmp_path)
    out = tmp_path / out_name
    assert main([*argv, str(src), "-o", str(out), "-q"]) == 0
    rec = read_record(out)
    assert rec.steps[-1].name == "export" and len(rec.steps) == 2
    assert rec.steps[0].settings["capability"] == argv[0]
    if step:
        assert rec.steps[0].name == step and rec.steps[0].settings["black"] == 20
    assert rec.source_sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    assert rec.app_version
    bare = tmp_path / f"bare{out.suffix}"
    assert main([*argv, str(src), "-o", str(bare), "-q", "--no-record"]) == 0
    with pytest.raises(RecordError):
        read_record(bare)


def test_colorize_records_the_restorer_it_read_the_photo_through(tmp_path):
    """``--clean-view auto`` reads a damaged print through the restorer (the record names
    both models); the default (off) reads it as it is: other colours, only the colorizer."""
    from neuron_desktop.core.imageio import load_image
    from neuron_desktop.data.degrade import degrade

    y, x = np.mgrid[0:96, 0:128] / np.float32(96)
    gray = np.repeat((0.3 + 0.4 * x * (y > 0.5) + 0.2 * y)[..., None], 3, -1)
    src = save_image(tmp_path / "print.png", degrade(gray, seed=1, severity=0.85,
                                                     toning=0.0).image)
    outs = {}
    for mode in ("auto", "on", "off"):
        outs[mode] = tmp_path / f"{mode}.png"
        extra = [] if mode == "off" else ["--clean-view", mode]
        assert main(["colorize", str(src), "-o", str(outs[mode]), "-q", *extra]) == 0
    steps = {k: read_record(p).steps[0] for k, p in outs.items()}
    assert {k: [m.name for m in s.models] for k, s in steps.items()} == {
        "auto": ["colorizer", "restorer"], "on": ["colorizer", "restorer"],
        "off": ["colorizer"]}
    assert steps["auto"].settings["clean_view"] == "auto"
    assert steps["off"].settings["clean_view"] == "off"  # the default, recorded
    on, off = (load_image(outs[k]).rgb for k in ("on", "off"))
    assert np.abs(on - off).mean() > 0.5 / 255  # the view changed the colours
