"""Editor export (issue 20): the dpi is kept in PNG, TIFF and JPEG, each export carries the
edit record (File ▸ Embed edit record turns it off), and an export aimed at the original
offers a copy instead of a refusal (bug 10b)."""

import hashlib
import shutil

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QFileDialog

from neuron_desktop.core.record import RecordError, read_record
from tests.qt.conftest import SAMPLES, open_photo
from tests.qt.prompting import Std, answer


@pytest.mark.parametrize("bits,ext", [(8, "png"), (16, "png"), (8, "tif"), (16, "tif"),
                                      (8, "jpg")])
def test_export_keeps_the_dpi(window, qtbot, tmp_path, bits, ext):
    """Bug 10c: PNG (and TIFF) exports dropped the scan's 600 dpi."""
    src = tmp_path / "scan.png"
    rng = np.random.default_rng(0)
    if bits == 8:
        Image.fromarray(rng.integers(0, 255, (60, 80, 3), np.uint8)).save(src, dpi=(600, 600))
    else:
        Image.fromarray(rng.integers(0, 65535, (60, 80), np.uint16)).save(src, dpi=(600, 600))
    w = open_photo(qtbot, window, src)
    w.invert_mask(wait=True)
    out = tmp_path / f"out.{ext}"
    assert w.save_as(out)
    dpi = Image.open(out).info.get("dpi")
    assert dpi is not None and np.allclose(dpi, (600, 600), atol=0.1)
    read_record(out)  # the edit record is there too


def test_export_carries_the_edit_record(photo_window, qtbot, tmp_path):
    w = photo_window
    w.invert_mask(wait=True)
    with qtbot.waitSignal(w.jobs.finished, timeout=20000):
        w.panels["refine"].apply.click()
    out = tmp_path / "out.jpg"
    assert w.save_as(out)
    rec = read_record(out)
    assert [s.name for s in rec.steps] == ["Invert mask", "Refine colours", "export"]
    refine = rec.steps[1]
    assert refine.settings["capability"] == "refine" and "radius" in refine.settings
    assert rec.source_sha256 == hashlib.sha256((SAMPLES / "old_photo.jpg").read_bytes()
                                               ).hexdigest()
    assert rec.app_version
    w.act_record.trigger()  # File ▸ Embed edit record in exports: off
    bare = tmp_path / "bare.png"
    assert w.save_as(bare)
    with pytest.raises(RecordError):
        read_record(bare)


def test_export_over_the_original_offers_a_copy(window, qtbot, tmp_path, monkeypatch):
    """Bug 10b: after Qt's "Replace?" the export was refused with advice the UI offered no
    way to follow."""
    photo = tmp_path / "family.jpg"
    shutil.copy(SAMPLES / "old_photo.jpg", photo)
    before = photo.read_bytes()
    w = open_photo(qtbot, window, photo)
    w.invert_mask(wait=True)
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(photo), "JPEG (*.jpg *.jpeg)"))
    seen = answer(w, "Save as &copy")
    w.act_save.trigger()  # File ▸ Export
    assert seen and "family_restored.jpg" in seen[0]
    assert photo.read_bytes() == before
    assert (tmp_path / "family_restored.jpg").is_file() and w.history.isClean()
    # a second time the name is free-numbered; Cancel writes nothing
    w.invert_mask(wait=True)
    seen = answer(w, Std.Cancel)
    assert not w.save_as()
    assert "family_restored-2.jpg" in seen[0]
    assert not (tmp_path / "family_restored-2.jpg").exists()


def test_a_failed_export_is_logged_with_its_traceback(photo_window, tmp_path, caplog):
    """Issue 19: every failure shown as a message is in the log with its traceback."""
    import logging

    w = photo_window
    (tmp_path / "file.png").write_bytes(b"not a folder")
    with caplog.at_level(logging.ERROR, logger="neuron_desktop.qt.main_window"):
        assert not w.save_as(tmp_path / "file.png" / "out.png")  # its folder is a file
    assert w.error_box is not None and w.error_box.windowTitle() == "Cannot export"
    records = [r for r in caplog.records if r.getMessage().startswith("Cannot export: ")]
    assert len(records) == 1 and records[0].exc_info is not None
    assert isinstance(records[0].exc_info[1], Exception)
    assert "Traceback (most recent call last)" in caplog.text
    assert "documents.py" in caplog.text  # the frame that failed: the export
    w.error_box.close()
