"""The XMP edit record: round trip, embedded in PNG/JPEG/TIFF, sidecar otherwise."""

import numpy as np
import pytest
from PIL import Image

from neuron_desktop.core.imageio import load_image, save_image
from neuron_desktop.core.record import (
    EditRecord,
    ModelRef,
    RecordError,
    StepRecord,
    add_record,
    from_xmp,
    read_record,
    sidecar_path,
)

RECORD = EditRecord(
    (StepRecord("detect-scratches", {"sensitivity": 0.5, "method": "network"},
                (ModelRef("scratch_net", "ab" * 32),)),
     StepRecord("export", {"format": "tiff", "note": "<&\"'>"})),
    "0.1.0", "cd" * 32, "restore-scan")


def test_round_trip():
    packet = RECORD.to_xmp()
    assert packet.startswith(b"<?xpacket") and b"Neuron Desktop 0.1.0" in packet
    assert from_xmp(packet) == RECORD


@pytest.mark.parametrize("ext, bits", [(".png", 8), (".png", 16), (".jpg", 8), (".tif", 8),
                                       (".tif", 16)])
def test_embedded_and_pixels_unchanged(tmp_path, ext, bits):
    rgb = np.random.default_rng(0).random((20, 30, 3)).astype(np.float32)
    path = save_image(tmp_path / f"a{ext}", rgb, bit_depth=bits)
    before = load_image(path).rgb
    add_record(path, RECORD)
    assert read_record(path) == RECORD
    assert not sidecar_path(path).exists()
    np.testing.assert_array_equal(load_image(path).rgb, before)
    with Image.open(path) as im:  # where other tools look for it
        if ext == ".png":
            xmp = im.info["XML:com.adobe.xmp"]
        elif ext == ".tif":
            xmp = im.tag_v2[700]
        else:
            xmp = [d for m, d in im.applist if m == "APP1" and d.startswith(b"http://ns.adobe")][0]
    assert from_xmp(xmp if isinstance(xmp, (str, bytes)) else bytes(xmp)) == RECORD


def test_sidecar_for_other_formats(tmp_path):
    path = save_image(tmp_path / "a.webp", np.zeros((8, 8, 3), np.float32))
    add_record(path, RECORD)
    assert sidecar_path(path).name == "a.webp.xmp"
    assert read_record(path) == RECORD


def test_no_record(tmp_path):
    path = save_image(tmp_path / "a.png", np.zeros((8, 8, 3), np.float32))
    with pytest.raises(RecordError, match="no edit record"):
        read_record(path)
