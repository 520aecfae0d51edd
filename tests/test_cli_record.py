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
