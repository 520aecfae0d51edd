"""Issue 25: an image repaired while loading (NaN/inf pixels of a float TIFF) is opened in
the editor with the repair said in the status bar, as the CLI warns."""

from __future__ import annotations

import numpy as np
from PIL import Image

from tests.qt.conftest import open_photo


def test_nan_pixels_repaired_are_said_in_the_status_bar(make_window, qtbot, tmp_path):
    x = np.tile(np.linspace(0, 1, 48, dtype=np.float32), (36, 1))
    x.flat[::17] = np.nan
    x[0, :5] = np.inf
    Image.fromarray(x, "F").save(tmp_path / "float_nan.tif")
    w = open_photo(qtbot, make_window(), tmp_path / "float_nan.tif")
    assert np.isfinite(w.doc.image).all()
    message = w.statusBar().currentMessage()
    assert "float_nan.tif" in message and "NaN" in message, message
    # a clean photo: no note
    clean = (np.nan_to_num(x, posinf=1.0) * 255).astype(np.uint8)
    Image.fromarray(clean).save(tmp_path / "clean.png")
    w = open_photo(qtbot, make_window(), tmp_path / "clean.png")
    assert "NaN" not in w.statusBar().currentMessage()
