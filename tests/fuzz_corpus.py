"""A corpus of bad and unusual image inputs (issue 25), generated in a few seconds.

``make_corpus(folder)`` writes every case into ``folder`` and returns them as ``Case``s:
``expect`` is "ok" (a valid image every command must process), "error" (must be refused
with one clear message) or "either" (valid but unusual: processed, or refused clearly).
Nothing here is committed data: each file is made from code.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, TiffImagePlugin


@dataclass(frozen=True)
class Case:
    name: str
    expect: str  # "ok", "error" or "either"
    note: str


def _gradient(w: int = 48, h: int = 36, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x / max(w, 1), y / max(h, 1), (x + y) / max(w + h, 1)], -1) * 200
    return np.clip(img + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)


def _gray(w: int = 48, h: int = 36) -> np.ndarray:
    return _gradient(w, h).mean(axis=2).astype(np.uint8)


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (struct.pack(">I", len(payload)) + kind + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))


def _png(w: int, h: int, *, color_type: int = 0, depth: int = 8, idat: bytes | None = None,
         extra: bytes = b"") -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 0)
    if idat is None:
        idat = zlib.compress(b"\x00" * 64)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + extra + _chunk(b"IDAT", idat)
            + _chunk(b"IEND", b""))


def _real_png_bomb(w: int, h: int) -> bytes:
    """A valid 8-bit gray PNG of w x h black pixels: tiny file, w*h bytes decoded."""
    comp = zlib.compressobj(1)
    rows = b"\x00" * ((w + 1) * 500)
    parts = [comp.compress(rows) for _ in range(h // 500)]
    parts.append(comp.compress(b"\x00" * ((w + 1) * (h % 500))))
    parts.append(comp.flush())
    return _png(w, h, idat=b"".join(parts))


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _tiff_header_bomb(w: int, h: int) -> bytes:
    ifd = TiffImagePlugin.ImageFileDirectory_v2()
    ifd[256], ifd[257], ifd[258], ifd[259], ifd[262] = w, h, 8, 1, 1
    ifd[273], ifd[278], ifd[279] = 8, h, w * h
    body = ifd.tobytes(8)
    return b"II*\x00" + struct.pack("<I", 8) + body + b"\x00" * 64


def _exif_bomb() -> bytes:
    """EXIF whose IFD0 claims 65535 entries, each pointing far outside the data."""
    entries = b"".join(struct.pack("<HHII", 0x010E, 2, 0x7FFFFFFF, 0x7FFFFF00)
                       for _ in range(2000))
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 65535) + entries
    return b"Exif\x00\x00" + tiff


def make_corpus(folder: Path) -> list[Case]:
    """Write the corpus into ``folder`` (which must exist); returns its cases."""
    folder = Path(folder)
    cases: list[Case] = []
    rgb = Image.fromarray(_gradient())

    def put(name: str, data: bytes, expect: str, note: str) -> None:
        (folder / name).write_bytes(data)
        cases.append(Case(name, expect, note))

    png = _save(rgb, "PNG")
    jpg = _save(rgb, "JPEG", quality=90)
    # --- valid images of every kind ---------------------------------------------------
    put("plain.png", png, "ok", "8-bit RGB PNG")
    put("plain.jpg", jpg, "ok", "baseline JPEG")
    put("progressive.jpg", _save(rgb, "JPEG", progressive=True), "ok", "progressive JPEG")
    put("gray.png", _save(Image.fromarray(_gray()), "PNG"), "ok", "8-bit gray")
    put("palette.png", _save(rgb.convert("P", palette=Image.ADAPTIVE), "PNG"), "ok", "palette")
    pal = rgb.convert("P", palette=Image.ADAPTIVE)
    put("palette_trns.png", _save(pal, "PNG", transparency=0), "ok", "palette + tRNS")
    put("bilevel.png", _save(Image.fromarray(_gray() > 100), "PNG"), "ok", "1-bit")
    put("la.png", _save(Image.fromarray(_gray()).convert("LA"), "PNG"), "ok", "gray + alpha")
    rgba = np.dstack([_gradient(), np.full((36, 48), 128, np.uint8)])
    put("alpha.png", _save(Image.fromarray(rgba), "PNG"), "ok", "RGBA, half transparent")
    rgba0 = np.dstack([_gradient(), np.zeros((36, 48), np.uint8)])
    put("alpha_zero.png", _save(Image.fromarray(rgba0), "PNG"), "ok", "fully transparent")
    ok, b16 = cv2.imencode(".png", (_gradient().astype(np.uint16) * 257)[..., ::-1])
    put("rgb16.png", b16.tobytes(), "ok", "16-bit RGB PNG")
    ok, b16a = cv2.imencode(".png", np.dstack([(_gradient().astype(np.uint16) * 257),
                                               np.full((36, 48), 40000, np.uint16)]))
    put("rgba16.png", b16a.tobytes(), "ok", "16-bit RGBA PNG")
    put("gray16.tif", _save(Image.fromarray(_gray().astype(np.uint16) * 257), "TIFF"), "ok",
        "16-bit gray TIFF")
    ok, t16 = cv2.imencode(".tiff", (_gradient().astype(np.uint16) * 257))
    put("rgb16.tif", t16.tobytes(), "ok", "16-bit RGB TIFF")
    put("float.tif", _save(Image.fromarray(_gray().astype(np.float32) / 255, "F"), "TIFF"),
        "ok", "32-bit float gray TIFF")
    nan = _gray().astype(np.float32) / 255
    nan.flat[::17] = np.nan
    nan[0, :5] = np.inf
    put("float_nan.tif", _save(Image.fromarray(nan, "F"), "TIFF"), "ok",
        "float TIFF with NaN and inf pixels (repaired with a warning)")
    ok, tf = cv2.imencode(".tiff", _gradient().astype(np.float32) / 255)
    put("float_rgb.tif", tf.tobytes(), "either", "32-bit float RGB TIFF")
    put("int32.tif", _save(Image.fromarray(_gray().astype(np.int32) * 100, "I"), "TIFF"),
        "ok", "32-bit integer TIFF")
    put("cmyk.tif", _save(rgb.convert("CMYK"), "TIFF"), "ok", "CMYK TIFF")
    put("cmyk.jpg", _save(rgb.convert("CMYK"), "JPEG"), "ok", "CMYK JPEG")
    put("lab.tif", _save(rgb.convert("LAB"), "TIFF"), "either", "CIELAB TIFF")
    put("ycbcr.jpg", _save(rgb, "JPEG", subsampling=2), "ok", "4:2:0 JPEG")
    put("strips.tif", _save(rgb, "TIFF", **{"tiffinfo": {278: 1}}), "ok",
        "one row per strip TIFF")
    put("jpeg_in.tif", _save(rgb, "TIFF", compression="jpeg"), "either", "JPEG-compressed TIFF")
    put("lzw.tif", _save(rgb, "TIFF", compression="tiff_lzw"), "ok", "LZW TIFF")
    frames = [Image.fromarray(_gradient(seed=i)) for i in range(3)]
    put("animated.gif", _save(frames[0], "GIF", save_all=True, append_images=frames[1:]),
        "either", "animated GIF (first frame)")
    put("animated.png", _save(frames[0], "PNG", save_all=True, append_images=frames[1:]),
        "ok", "APNG (first frame)")
    pages = [Image.fromarray(_gradient(48, 36)), Image.fromarray(_gradient(20, 10, 1))]
    put("multipage.tif", _save(pages[0], "TIFF", save_all=True, append_images=pages[1:]),
        "ok", "two-page TIFF of different sizes (first page)")
    put("lossless.webp", _save(Image.fromarray(rgba), "WEBP", lossless=True), "ok",
        "WebP with alpha")
    put("plain.bmp", _save(rgb, "BMP"), "ok", "BMP")
    exif = Image.Exif()
    exif[0x0112] = 6
    put("rotated.jpg", _save(rgb, "JPEG", exif=exif.tobytes()), "ok", "EXIF orientation 6")
    exif[0x0112] = 99
    put("bad_orientation.jpg", _save(rgb, "JPEG", exif=exif.tobytes()), "ok",
        "EXIF orientation 99")
    put("tiny_1x1.png", _save(Image.fromarray(_gradient(1, 1)), "PNG"), "ok", "1x1")
    put("tiny_2x3.png", _save(Image.fromarray(_gradient(2, 3)), "PNG"), "ok", "2x3")
    put("strip_1x300.png", _save(Image.fromarray(_gradient(1, 300)), "PNG"), "ok", "1x300")
    put("strip_300x1.png", _save(Image.fromarray(_gradient(300, 1)), "PNG"), "ok", "300x1")
    put("фото ☃ name.png", png, "ok", "non-ASCII name with spaces")
    # --- wrong extensions (content decides) ---------------------------------------------
    put("png_named.jpg", png, "ok", "PNG data, .jpg name")
    put("jpeg_named.tif", jpg, "ok", "JPEG data, .tif name")
    put("webp_named.png", _save(rgb, "WEBP"), "ok", "WebP data, .png name")
    put("bmp_named.png", _save(rgb, "BMP"), "ok", "BMP data, .png name")
    # --- metadata bombs ----------------------------------------------------------------
    put("exif_bomb.jpg", _save(rgb, "JPEG", exif=_exif_bomb()[:65000]), "either",
        "EXIF with 65535 bogus entries")
    put("exif_bomb.png", _png(48, 36, color_type=0, idat=zlib.compress(
        b"".join(b"\x00" + bytes(_gray()[y]) for y in range(36))),
        extra=_chunk(b"eXIf", _exif_bomb()[6:] + b"\x00" * 4_000_000)), "either",
        "4 MB eXIf chunk of bogus entries")
    put("huge_icc.png", _png(48, 36, idat=zlib.compress(
        b"".join(b"\x00" + bytes(_gray()[y]) for y in range(36))),
        extra=_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(b"\x00" * 4_000_000, 9))),
        "either", "iCCP inflating to 4 MB")
    put("huge_icc.jpg", _save(rgb, "JPEG", icc_profile=os.urandom(3_000_000)), "either",
        "3 MB random ICC profile in APP2 chunks")
    put("ztxt_bomb.png", _png(48, 36, idat=zlib.compress(
        b"".join(b"\x00" + bytes(_gray()[y]) for y in range(36))),
        extra=_chunk(b"zTXt", b"k\x00\x00" + zlib.compress(b"a" * 8_000_000, 9))),
        "either", "zTXt inflating to 8 MB")
    # --- pixel bombs (refused from the header, before decoding) -------------------------
    put("bomb_header.png", _png(100_000, 100_000), "error", "10 GP PNG header")
    put("bomb_196mp.png", _real_png_bomb(14_000, 14_000), "error",
        "valid 196 MP PNG of ~200 KB")
    put("bomb_wide.png", _png(2_000_000, 40), "error", "80 MP strip header")
    put("bomb.tif", _tiff_header_bomb(60_000, 60_000), "error", "3.6 GP TIFF header")
    bmp = bytearray(_save(rgb, "BMP"))
    struct.pack_into("<ii", bmp, 18, 50_000, 50_000)
    put("bomb.bmp", bytes(bmp), "error", "2.5 GP BMP header")
    put("bomb_frames.gif", _save(Image.new("L", (1, 1)), "GIF")[:6]
        + struct.pack("<HH", 65535, 65535) + _save(Image.new("L", (1, 1)), "GIF")[10:],
        "error", "GIF with a 65535x65535 screen")
    # --- broken files --------------------------------------------------------------------
    put("empty.png", b"", "error", "0 bytes")
    put("truncated.png", png[: len(png) // 2], "error", "PNG cut in half")
    put("truncated.jpg", jpg[: len(jpg) // 2], "error", "JPEG cut in half")
    put("header_only.jpg", jpg[:200], "error", "JPEG header only")
    bad = bytearray(png)
    bad[40:60] = b"\xff" * 20
    put("bad_crc.png", bytes(bad), "error", "PNG with corrupt IDAT")
    put("random.png", np.random.default_rng(1).bytes(5000), "error", "random bytes")
    put("text.png", b"this is not an image\n" * 20, "error", "a text file")
    put("zero_size.png", _png(0, 10), "error", "PNG header with width 0")
    put("svg.png", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
        "error", "SVG named .png")
    put("ico.png", _save(rgb, "ICO"), "error", "ICO named .png (format not accepted)")
    put("eps.png", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",
        "error", "EPS named .png (never run through Ghostscript)")
    # --- not regular files ---------------------------------------------------------------
    os.mkfifo(folder / "fifo.png")
    cases.append(Case("fifo.png", "error", "a FIFO: would block forever"))
    (folder / "folder.png").mkdir()
    cases.append(Case("folder.png", "error", "a directory named like an image"))
    (folder / "zero.png").symlink_to("/dev/zero")
    cases.append(Case("zero.png", "error", "a symlink to /dev/zero"))
    (folder / "dangling.png").symlink_to(folder / "no_such_file.png")
    cases.append(Case("dangling.png", "error", "a dangling symlink"))
    return cases
