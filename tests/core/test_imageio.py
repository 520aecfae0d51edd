"""Tests for neuron_desktop.core.imageio: formats, metadata, atomic saves, bad files, masks."""

from __future__ import annotations

import io
import os
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image, ImageCms, ImageOps

from neuron_desktop.core import imageio
from neuron_desktop.core.errors import ImageLoadError, ImageSaveError, MaskError
from neuron_desktop.core.imageio import (
    SUPPORTED_EXTENSIONS,
    LoadedImage,
    from_tensor,
    load_image,
    load_mask,
    save_image,
    save_like,
    save_mask,
    to_tensor,
)
from neuron_desktop.core.paths import samples_dir

RNG = np.random.default_rng(1234)
SAMPLES = samples_dir()


def gradient(h: int = 24, w: int = 32) -> np.ndarray:
    """Smooth (H, W, 3) float image in [0, 1] (compresses well, so lossy errors stay small)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([x / (w - 1), y / (h - 1), 1 - x / (w - 1) * 0.5], axis=2)


def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def camera_exif(orientation: int = 1) -> bytes:
    ex = Image.Exif()
    ex[271] = "TestCam"  # Make
    ex[274] = orientation
    ex.get_ifd(0x8769)[0x9003] = "2001:02:03 04:05:06"  # DateTimeOriginal in the EXIF sub-IFD
    return ex.tobytes()


def parse_exif(data: bytes | None) -> Image.Exif:
    ex = Image.Exif()
    if data:
        ex.load(data)
    return ex


def write_pil(path: Path, im: Image.Image, **kw) -> Path:
    im.save(path, **kw)
    return path


def valid_bytes(fmt: str) -> bytes:
    """A small valid file of the given Pillow format (noise, so every byte matters)."""
    arr = RNG.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, fmt)
    return buf.getvalue()


# ------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("ext", SUPPORTED_EXTENSIONS)
def test_roundtrip_8bit(tmp_path: Path, ext: str) -> None:
    rgb = gradient()
    path = save_image(tmp_path / f"img{ext}", rgb)
    img = load_image(path)
    assert isinstance(img, LoadedImage)
    assert img.rgb.shape == (24, 32, 3) and img.rgb.dtype == np.float32
    assert img.size == (32, 24)
    assert img.bit_depth == 8 and img.path == path and img.alpha is None
    assert 0.0 <= img.rgb.min() and img.rgb.max() <= 1.0
    lossy = ext in (".jpg", ".jpeg", ".webp")
    tol = 0.03 if lossy else 0.5 / 255 + 1e-6
    assert np.abs(img.rgb - rgb).max() <= (0.08 if lossy else tol)
    assert np.abs(img.rgb - rgb).mean() <= tol


def test_format_names(tmp_path: Path) -> None:
    names = {".jpg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".webp": "WEBP", ".bmp": "BMP"}
    for ext, name in names.items():
        assert load_image(save_image(tmp_path / f"a{ext}", gradient())).format == name


@pytest.mark.parametrize("ext", [".png", ".tif", ".tiff"])
@pytest.mark.parametrize("with_alpha", [False, True])
def test_roundtrip_16bit_exact(tmp_path: Path, ext: str, with_alpha: bool) -> None:
    values = RNG.integers(0, 65536, (37, 29, 3), dtype=np.uint16)
    alpha = RNG.integers(0, 65536, (37, 29), dtype=np.uint16)
    path = save_image(tmp_path / f"deep{ext}", values.astype(np.float32) / 65535.0,
                      alpha=alpha / 65535.0 if with_alpha else None, bit_depth=16)
    img = load_image(path)
    assert img.bit_depth == 16
    assert np.array_equal(np.rint(img.rgb * 65535).astype(np.uint16), values)
    if with_alpha:
        assert np.array_equal(np.rint(img.alpha * 65535).astype(np.uint16), alpha)
    else:
        assert img.alpha is None
    # other tools agree on the channel order
    assert np.array_equal(cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., 2::-1], values)


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_16bit_gray_loads_exactly(tmp_path: Path, ext: str) -> None:
    gray = RNG.integers(0, 65536, (20, 30), dtype=np.uint16)
    path = tmp_path / f"gray16{ext}"
    path.write_bytes(cv2.imencode(ext, gray)[1].tobytes())
    img = load_image(path)
    assert img.bit_depth == 16 and img.source_mode.startswith("I;16")
    assert np.array_equal(np.rint(img.rgb[..., 1] * 65535).astype(np.uint16), gray)
    assert np.array_equal(img.rgb[..., 0], img.rgb[..., 2])


def test_16bit_request_falls_back_to_8bit_for_jpeg(tmp_path: Path) -> None:
    img = load_image(save_image(tmp_path / "x.jpg", gradient(), bit_depth=16))
    assert img.bit_depth == 8


def test_bad_bit_depth_rejected(tmp_path: Path) -> None:
    with pytest.raises(ImageSaveError):
        save_image(tmp_path / "x.png", gradient(), bit_depth=12)


def test_float_input_clipped_and_rounded(tmp_path: Path) -> None:
    rgb = np.array([[[-0.5, 0.5, 2.0], [np.nan, 1 / 255 * 0.49, 1 / 255 * 0.51]]], np.float32)
    img = load_image(save_image(tmp_path / "c.png", rgb))
    assert np.rint(img.rgb * 255).astype(int).tolist() == [[[0, 128, 255], [0, 0, 1]]]


def test_integer_and_gray_inputs_accepted(tmp_path: Path) -> None:
    u8 = (gradient() * 255).round().astype(np.uint8)
    img = load_image(save_image(tmp_path / "u8.png", u8))
    assert np.array_equal(np.rint(img.rgb * 255).astype(np.uint8), u8)
    gray = load_image(save_image(tmp_path / "g.png", gradient()[..., 0]))
    assert gray.rgb.shape == (24, 32, 3)
    with pytest.raises(ImageSaveError):
        save_image(tmp_path / "bad.png", np.zeros((4, 4, 5)))


def test_one_pixel_image(tmp_path: Path) -> None:
    path = write_pil(tmp_path / "one.png", Image.new("RGB", (1, 1), (10, 20, 30)))
    img = load_image(path)
    assert img.size == (1, 1)
    assert np.rint(img.rgb[0, 0] * 255).tolist() == [10, 20, 30]


# --------------------------------------------------------------------------------- orientation


def test_jpeg_orientation_6_is_rotated(tmp_path: Path) -> None:
    arr = np.zeros((20, 40, 3), np.uint8)  # landscape, red block top-left
    arr[:5, :5] = (255, 0, 0)
    ex = Image.Exif()
    ex[274] = 6  # "rotate 90° clockwise to display"
    path = write_pil(tmp_path / "o6.jpg", Image.fromarray(arr), exif=ex.tobytes(), quality=95)
    img = load_image(path)
    assert img.size == (20, 40)  # now portrait
    assert img.rgb[1, -2, 0] > 0.8 and img.rgb[1, 1, 0] < 0.2  # red block moved top-right
    assert parse_exif(img.exif)[274] == 1  # ready for saving


@pytest.mark.parametrize("orientation", range(1, 9))
def test_all_orientations_match_pillow(tmp_path: Path, orientation: int) -> None:
    arr = RNG.integers(0, 256, (6, 9, 3), dtype=np.uint8)
    ex = Image.Exif()
    ex[274] = orientation
    path = write_pil(tmp_path / "o.png", Image.fromarray(arr), exif=ex.tobytes())
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    got = load_image(path).rgb
    assert np.array_equal(np.rint(got * 255).astype(np.uint8), expected)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_orientation_applied_on_16bit_path(tmp_path: Path, ext: str, orientation: int) -> None:
    # OpenCV rotates TIFFs itself but not PNGs; either way it must happen exactly once.
    values = RNG.integers(0, 65536, (4, 7, 3), dtype=np.uint16)
    encoded = cv2.imencode(ext, values[..., ::-1])[1].tobytes()
    add = imageio._png_add_metadata if ext == ".png" else imageio._tiff_add_metadata
    path = tmp_path / f"o16{ext}"
    path.write_bytes(add(encoded, camera_exif(orientation), None))
    img = load_image(path)
    assert img.bit_depth == 16
    expected = imageio._apply_orientation(values, orientation)
    assert np.array_equal(np.rint(img.rgb * 65535).astype(np.uint16), expected)
    if orientation == 6:
        assert np.array_equal(expected, np.rot90(values, -1))  # 90° clockwise


def test_tiff_orientation_applied_once(tmp_path: Path) -> None:
    arr = RNG.integers(0, 256, (6, 9, 3), dtype=np.uint8)
    ex = Image.Exif()
    ex[274] = 6
    ex[271] = "TestCam"
    img = load_image(write_pil(tmp_path / "o.tif", Image.fromarray(arr), exif=ex.tobytes()))
    assert np.array_equal(np.rint(img.rgb * 255).astype(np.uint8), np.rot90(arr, -1))
    assert parse_exif(img.exif)[271] == "TestCam"


# -------------------------------------------------------------------------- alpha and modes


@pytest.mark.parametrize("ext", [".png", ".tif", ".webp"])
def test_alpha_kept_and_restored(tmp_path: Path, ext: str) -> None:
    rgb = gradient()
    alpha = np.linspace(0, 1, 32, dtype=np.float32)[None, :].repeat(24, 0)
    kw = {"quality": 100} if ext == ".webp" else {}
    img = load_image(save_image(tmp_path / f"a{ext}", rgb, alpha=alpha, **kw))
    assert img.alpha is not None and img.alpha.shape == (24, 32)
    assert np.abs(img.alpha - alpha).max() <= 0.5 / 255 + 1e-6
    again = load_image(save_like(tmp_path / f"b{ext}", img.rgb, img, **kw))
    assert again.alpha is not None and np.abs(again.alpha - img.alpha).max() < 1e-6


def test_alpha_dropped_for_jpeg(tmp_path: Path) -> None:
    img = load_image(save_image(tmp_path / "a.jpg", gradient(), alpha=np.zeros((24, 32))))
    assert img.alpha is None


def test_alpha_shape_mismatch_rejected(tmp_path: Path) -> None:
    with pytest.raises(ImageSaveError):
        save_image(tmp_path / "a.png", gradient(), alpha=np.zeros((5, 5)))


def test_palette_without_transparency(tmp_path: Path) -> None:
    im = Image.fromarray((gradient() * 255).astype(np.uint8)).quantize(16)
    img = load_image(write_pil(tmp_path / "p.png", im))
    assert img.source_mode == "P" and img.alpha is None
    assert np.array_equal(np.rint(img.rgb * 255).astype(np.uint8), np.asarray(im.convert("RGB")))


def test_palette_with_transparency(tmp_path: Path) -> None:
    im = Image.new("P", (4, 3), 0)
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    im.putpixel((1, 1), 1)
    img = load_image(write_pil(tmp_path / "pt.png", im, transparency=0))
    assert img.source_mode == "P" and img.alpha is not None
    assert img.alpha[1, 1] == 1.0 and img.alpha[0, 0] == 0.0
    assert np.rint(img.rgb[1, 1] * 255).tolist() == [0, 0, 255]


def test_gray_alpha_la(tmp_path: Path) -> None:
    la = np.dstack([np.full((5, 6), 100, np.uint8), np.full((5, 6), 50, np.uint8)])
    img = load_image(write_pil(tmp_path / "la.png", Image.fromarray(la, "LA")))
    assert img.source_mode == "LA"
    assert np.allclose(img.rgb, 100 / 255) and np.allclose(img.alpha, 50 / 255)


def test_gray_and_bilevel(tmp_path: Path) -> None:
    img = load_image(write_pil(tmp_path / "l.png", Image.new("L", (3, 2), 77)))
    assert img.source_mode == "L" and img.rgb.shape == (2, 3, 3) and np.allclose(img.rgb, 77 / 255)
    one = load_image(write_pil(tmp_path / "b.bmp", Image.new("1", (3, 2), 1)))
    assert np.allclose(one.rgb, 1.0)


def test_cmyk_jpeg_adobe_inverted(tmp_path: Path) -> None:
    # Pillow writes CMYK JPEGs Adobe-style (inverted); the loader must undo that.
    im = Image.new("CMYK", (16, 8), (255, 0, 0, 0))  # pure cyan
    im.paste((0, 0, 0, 255), (8, 0, 16, 8))  # pure black on the right
    path = write_pil(tmp_path / "cmyk.jpg", im, quality=95)
    with Image.open(path) as check:
        assert "adobe" in check.info
    img = load_image(path)
    assert img.source_mode == "CMYK" and img.icc_profile is None
    assert np.allclose(img.rgb[4, 2], [0, 1, 1], atol=0.05)
    assert np.allclose(img.rgb[4, 12], [0, 0, 0], atol=0.05)


def test_cmyk_with_unusable_profile_falls_back(tmp_path: Path) -> None:
    im = Image.new("CMYK", (8, 8), (0, 255, 0, 0))  # magenta
    path = write_pil(tmp_path / "cmyk.tif", im, icc_profile=b"not a profile")
    img = load_image(path)
    assert np.allclose(img.rgb[4, 4], [1, 0, 1], atol=0.02)


def test_int32_gray_mode(tmp_path: Path) -> None:
    arr = np.array([[0, 1000, 65535]], np.int32)
    img = load_image(write_pil(tmp_path / "i.tif", Image.fromarray(arr, "I")))
    assert img.bit_depth == 16
    assert np.allclose(img.rgb[0, :, 0], arr[0] / 65535)


# ---------------------------------------------------------------------------------- metadata


@pytest.mark.parametrize("ext,bits", [(".jpg", 8), (".png", 8), (".png", 16), (".tif", 8),
                                      (".tif", 16), (".webp", 8)])
def test_icc_and_exif_preserved(tmp_path: Path, ext: str, bits: int) -> None:
    icc = srgb_icc()
    path = save_image(tmp_path / f"m{ext}", gradient(), exif=camera_exif(orientation=8),
                      icc_profile=icc, bit_depth=bits)
    img = load_image(path)
    assert img.icc_profile == icc
    ex = parse_exif(img.exif)
    assert ex[271] == "TestCam" and ex[274] == 1  # orientation reset: pixels are upright
    assert ex.get_ifd(0x8769)[0x9003] == "2001:02:03 04:05:06"
    assert img.size == (32, 24)  # orientation 8 was not applied to already-upright pixels
    # and it survives a second generation through save_like
    again = load_image(save_like(tmp_path / f"n{ext}", img.rgb, img))
    assert again.icc_profile == icc and parse_exif(again.exif)[271] == "TestCam"
    assert again.bit_depth == bits


def test_bmp_drops_metadata_quietly(tmp_path: Path) -> None:
    img = load_image(save_image(tmp_path / "m.bmp", gradient(), exif=camera_exif(),
                                icc_profile=srgb_icc()))
    assert img.exif is None and img.icc_profile is None


def test_save_like_keeps_bit_depth_and_resizes_alpha(tmp_path: Path) -> None:
    src = save_image(tmp_path / "src.png", gradient(), alpha=np.ones((24, 32)) * 0.5, bit_depth=16)
    original = load_image(src)
    bigger = cv2.resize(original.rgb, (64, 48))
    out = load_image(save_like(tmp_path / "out.png", bigger, original))
    assert out.bit_depth == 16 and out.size == (64, 48)
    assert out.alpha is not None and np.allclose(out.alpha, 0.5, atol=1e-4)
    assert load_image(save_like(tmp_path / "out.jpg", bigger, original)).bit_depth == 8


# ------------------------------------------------------------------------------------- saving


def test_atomic_write_leaves_only_the_file(tmp_path: Path) -> None:
    save_image(tmp_path / "a.png", gradient())
    save_image(tmp_path / "a.png", gradient() * 0.5)  # replaces a non-source file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]
    assert abs(load_image(tmp_path / "a.png").rgb.max() - 0.5) < 0.01


def test_source_is_protected(tmp_path: Path) -> None:
    src = save_image(tmp_path / "orig.jpg", gradient())
    before = src.read_bytes()
    original = load_image(src)
    with pytest.raises(ImageSaveError, match="orig.jpg"):
        save_like(src, original.rgb * 0.5, original)
    with pytest.raises(ImageSaveError):
        save_image(tmp_path / "." / "orig.jpg", original.rgb, source=src)
    assert src.read_bytes() == before
    save_like(src, original.rgb * 0.5, original, overwrite=True)
    assert src.read_bytes() != before


def test_hard_link_to_source_is_protected(tmp_path: Path) -> None:
    src = save_image(tmp_path / "orig.png", gradient())
    link = tmp_path / "link.png"
    os.link(src, link)
    with pytest.raises(ImageSaveError):
        save_image(link, gradient(), source=src)


def test_failed_write_keeps_old_file_and_no_temp(tmp_path: Path, monkeypatch) -> None:
    path = save_image(tmp_path / "keep.png", gradient())
    before = path.read_bytes()

    def broken_replace(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(imageio.os, "replace", broken_replace)
    with pytest.raises(ImageSaveError, match="keep.png"):
        save_image(path, gradient() * 0.2)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]


def test_unsupported_extension_and_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageSaveError, match="unsupported"):
        save_image(tmp_path / "x.gif", gradient())
    with pytest.raises(ImageSaveError, match="does not exist"):
        save_image(tmp_path / "nope" / "x.png", gradient())
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(ImageSaveError):
        save_image(tmp_path / "dir.png", gradient())


# -------------------------------------------------------------------------------------- masks


def test_mask_roundtrip(tmp_path: Path) -> None:
    mask = np.zeros((24, 32), np.float32)
    mask[5:10, 3:20] = 1.0
    path = save_mask(tmp_path / "m.png", mask)
    with Image.open(path) as im:
        assert im.mode == "L" and im.format == "PNG"
    got = load_mask(path, (32, 24))
    assert got.shape == (24, 32) and got.dtype == np.float32
    assert np.array_equal(got, mask)
    save_mask(path, mask.astype(bool))  # overwrite allowed by default
    with pytest.raises(ImageSaveError):
        save_mask(path, mask, overwrite=False)
    with pytest.raises(ImageSaveError):
        save_mask(tmp_path / "m.jpg", mask)
    with pytest.raises(ImageSaveError, match="m2.png"):
        save_mask(tmp_path / "m2.png", np.zeros((4, 4, 3)))


def test_mask_size_mismatch(tmp_path: Path) -> None:
    path = save_mask(tmp_path / "m.png", np.ones((24, 32)))
    with pytest.raises(MaskError, match="m.png"):
        load_mask(path, (24, 32))  # (W, H) swapped


def test_mask_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "m.png"
    path.write_text("not a png")
    with pytest.raises(MaskError, match="m.png"):
        load_mask(path, (1, 1))


def test_alpha_only_mask_uses_alpha(tmp_path: Path) -> None:
    rgba = np.zeros((6, 8, 4), np.uint8)  # black everywhere, strokes only in alpha
    rgba[2:4, 1:5, 3] = 255
    path = write_pil(tmp_path / "stroke.png", Image.fromarray(rgba, "RGBA"))
    mask = load_mask(path, (8, 6))
    assert mask.sum() == 8 and mask[2, 1] == 1.0 and mask[0, 0] == 0.0


def test_opaque_rgba_mask_uses_luminance(tmp_path: Path) -> None:
    rgba = np.full((6, 8, 4), 255, np.uint8)
    rgba[:3, :, :3] = 0
    path = write_pil(tmp_path / "opaque.png", Image.fromarray(rgba, "RGBA"))
    mask = load_mask(path, (8, 6))
    assert mask[:3].max() == 0.0 and np.allclose(mask[3:], 1.0)


# ------------------------------------------------------------------------------------ tensors


def test_tensor_roundtrip() -> None:
    rgb = gradient(5, 7)
    t = to_tensor(rgb)
    assert t.shape == (1, 3, 5, 7) and t.dtype == torch.float32
    assert torch.equal(t[0, 1], torch.from_numpy(rgb[..., 1]))
    back = from_tensor(t)
    assert back.shape == (5, 7, 3) and back.dtype == np.float32 and np.array_equal(back, rgb)


def test_tensor_gray_and_other_dtypes() -> None:
    gray = np.arange(12, dtype=np.float64).reshape(3, 4)
    t = to_tensor(gray)
    assert t.shape == (1, 1, 3, 4) and t.dtype == torch.float32
    assert from_tensor(t).shape == (3, 4)
    assert from_tensor(t.to(torch.bfloat16)).dtype == np.float32
    assert from_tensor(t[0]).shape == (3, 4)
    with pytest.raises(ValueError):
        from_tensor(torch.zeros(2, 3, 4, 4))


# ---------------------------------------------------------------------------------- bad input


def assert_load_error(path: Path, *words: str) -> ImageLoadError:
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    message = str(info.value)
    assert path.name in message
    for word in words:
        assert word in message
    return info.value


def test_missing_file(tmp_path: Path) -> None:
    assert_load_error(tmp_path / "ghost.png", "not found")


def test_directory(tmp_path: Path) -> None:
    (tmp_path / "folder.jpg").mkdir()
    assert_load_error(tmp_path / "folder.jpg", "directory")


def test_zero_byte_file(tmp_path: Path) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    assert_load_error(tmp_path / "empty.png", "empty (0 bytes)")


def test_text_renamed_png(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("shopping list: eggs, milk\n" * 20)
    assert_load_error(tmp_path / "notes.png", "not a supported image")


def test_random_bytes(tmp_path: Path) -> None:
    (tmp_path / "noise.jpg").write_bytes(RNG.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    assert_load_error(tmp_path / "noise.jpg")


def test_truncated_jpeg(tmp_path: Path) -> None:
    data = valid_bytes("JPEG")
    (tmp_path / "half.jpg").write_bytes(data[: len(data) // 2])
    assert_load_error(tmp_path / "half.jpg")


def test_eps_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.jpg").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")
    assert_load_error(tmp_path / "x.jpg")


def png_header(width: int, height: int) -> bytes:
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    chunk = b"IHDR" + ihdr
    body = len(ihdr).to_bytes(4, "big") + chunk + zlib.crc32(chunk).to_bytes(4, "big")
    idat = zlib.compress(b"\x00" * 64)
    idat_chunk = len(idat).to_bytes(4, "big") + b"IDAT" + idat
    idat_chunk += zlib.crc32(b"IDAT" + idat).to_bytes(4, "big")
    return b"\x89PNG\r\n\x1a\n" + body + idat_chunk


def test_huge_dimensions_rejected_quickly(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header(100_000, 100_000))
    start = time.perf_counter()
    assert_load_error(path, "too large")
    assert time.perf_counter() - start < 1.0


def test_max_pixels_is_configurable(tmp_path: Path, monkeypatch) -> None:
    path = save_image(tmp_path / "small.png", gradient(100, 100))
    with pytest.raises(ImageLoadError, match="too large"):
        load_image(path, max_pixels=9_999)
    assert load_image(path, max_pixels=10_000).size == (100, 100)
    # Pillow's own (global) bomb limit must not undercut ours
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)
    assert load_image(path).size == (100, 100)
    tif = save_image(tmp_path / "small.tif", gradient(100, 100))  # TIFF checks again in load()
    assert load_image(tif).size == (100, 100)
    assert Image.MAX_IMAGE_PIXELS == 1_000


def test_pillow_limit_restored(tmp_path: Path) -> None:
    before = Image.MAX_IMAGE_PIXELS
    load_image(save_image(tmp_path / "x.png", gradient()), max_pixels=10**9)
    assert Image.MAX_IMAGE_PIXELS == before


def test_truncated_16bit_tiff_and_cmyk_jpeg(tmp_path: Path) -> None:
    tif = save_image(tmp_path / "deep.tif", gradient(40, 40), bit_depth=16)
    assert load_image(tif).bit_depth == 16
    data = tif.read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[: len(data) // 2])
    assert_load_error(tmp_path / "cut.tif")
    buf = io.BytesIO()
    Image.new("CMYK", (40, 40), (10, 200, 30, 5)).save(buf, "JPEG")
    (tmp_path / "cut_cmyk.jpg").write_bytes(buf.getvalue()[:300])
    assert_load_error(tmp_path / "cut_cmyk.jpg")


@pytest.mark.parametrize("fmt,ext", [("JPEG", ".jpg"), ("PNG", ".png"), ("WEBP", ".webp"),
                                     ("TIFF", ".tif"), ("BMP", ".bmp")])
@pytest.mark.parametrize("fraction", [0.01, 0.1, 0.3, 0.5, 0.8, 0.95, 0.999])
def test_truncated_files_only_raise_image_load_error(
    tmp_path: Path, fmt: str, ext: str, fraction: float
) -> None:
    data = valid_bytes(fmt)
    path = tmp_path / f"cut{ext}"
    path.write_bytes(data[: max(1, int(len(data) * fraction))])
    try:
        img = load_image(path)
    except ImageLoadError as exc:
        assert path.name in str(exc)
    else:
        assert img.rgb.shape == (48, 64, 3)


@pytest.mark.parametrize("fmt,ext", [("JPEG", ".jpg"), ("PNG", ".png"), ("WEBP", ".webp"),
                                     ("TIFF", ".tif")])
@pytest.mark.parametrize("seed", range(4))
def test_corrupted_bytes_only_raise_image_load_error(
    tmp_path: Path, fmt: str, ext: str, seed: int
) -> None:
    data = bytearray(valid_bytes(fmt))
    rng = np.random.default_rng(seed)
    for pos in rng.integers(0, len(data), 8):
        data[pos] = int(rng.integers(0, 256))
    path = tmp_path / f"flipped{ext}"
    path.write_bytes(bytes(data))
    try:
        load_image(path)
    except ImageLoadError as exc:
        assert path.name in str(exc)
