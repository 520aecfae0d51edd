"""Image and mask I/O: safe loading, atomic saving, tensor conversion.

Images travel through the app as float32 RGB arrays of shape (H, W, 3) in [0, 1] with any
alpha channel kept aside as (H, W) in [0, 1]. Pillow decodes everything; 16-bit colour data,
which Pillow truncates to 8 bits, is decoded and encoded with OpenCV instead.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import secrets
import stat
import struct
import threading
import time
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image, ImageCms, ImageFile, TiffImagePlugin, TiffTags

from neuron_desktop.core.color import rgb_to_lab_array
from neuron_desktop.core.errors import ImageLoadError, ImageSaveError, ImageTooLargeError, MaskError

log = logging.getLogger(__name__)

# Images over this many pixels are refused from their header, before decoding (memory per
# pixel: docs/reliability.md); `--max-megapixels` or the environment variable
# NEURON_MAX_MEGAPIXELS raises it.
DEFAULT_MAX_MEGAPIXELS = 50
ENV_MAX_MEGAPIXELS = "NEURON_MAX_MEGAPIXELS"
_max_pixels_override: int | None = None
SUPPORTED_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp")

_SAVE_FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
    ".bmp": "BMP",
}
_ALPHA_FORMATS = {"PNG", "TIFF", "WEBP"}
_METADATA_FORMATS = {"JPEG", "PNG", "TIFF", "WEBP"}
# Formats Pillow may open (JPEG includes MPO); others (EPS via Ghostscript...) are refused.
_OPEN_FORMATS = ("JPEG", "PNG", "TIFF", "WEBP", "BMP", "GIF")
_ORIENTATION = 0x0112
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
# Descriptive IFD0 tags worth carrying from a TIFF into EXIF (not image-structure tags).
_TIFF_EXIF_TAGS = {270, 271, 272, _ORIENTATION, 282, 283, 296, 305, 306, 315, 33432, _EXIF_IFD,
                   _GPS_IFD}

ImageFile.LOAD_TRUNCATED_IMAGES = False  # truncated files must fail, not load half-grey
_PIL_LIMIT_LOCK = threading.Lock()


@dataclass
class LoadedImage:
    """A decoded image: ``rgb`` (H, W, 3) float32 in [0, 1], EXIF orientation applied."""

    rgb: np.ndarray
    alpha: np.ndarray | None  # (H, W) float32 in [0, 1]
    path: Path | None
    bit_depth: int  # 8 or 16, of the source
    exif: bytes | None  # "Exif\0\0" + TIFF data, Orientation reset to 1
    icc_profile: bytes | None
    format: str  # "JPEG", "PNG", "TIFF", "WEBP", "BMP", ...
    source_mode: str  # Pillow mode of the file: "RGB", "L", "P", "CMYK", "I;16", ...
    notes: tuple[str, ...] = ()  # repairs made while loading (NaN pixels...), for the user
    dpi: tuple[float, float] | None = None  # resolution in the file (PNG pHYs, JFIF, TIFF)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.rgb.shape[1], self.rgb.shape[0]


# ----------------------------------------------------------------------------------- loading


def set_max_megapixels(megapixels: float | None) -> None:
    """Set the process-wide pixel limit (None: back to the environment / default)."""
    global _max_pixels_override
    if megapixels is not None and not (math.isfinite(megapixels) and megapixels > 0):
        raise ValueError(f"the megapixel limit must be a positive number, got {megapixels}")
    _max_pixels_override = None if megapixels is None else int(megapixels * 1e6)


def max_pixels() -> int:
    """The pixel limit in force: set_max_megapixels(), else $NEURON_MAX_MEGAPIXELS, else
    DEFAULT_MAX_MEGAPIXELS million."""
    if _max_pixels_override is not None:
        return _max_pixels_override
    env = os.environ.get(ENV_MAX_MEGAPIXELS, "").strip()
    try:
        if env and math.isfinite(float(env)) and float(env) > 0:
            return int(float(env) * 1e6)
    except ValueError:
        log.warning("ignoring %s=%r (not a number)", ENV_MAX_MEGAPIXELS, env)
    return DEFAULT_MAX_MEGAPIXELS * 1_000_000


def _megapixels(n: float) -> str:
    mp = n / 1e6
    return f"{mp:.0f} MP" if mp >= 10 else f"{mp:.2g} MP"


def too_large_message(path: Path, w: int, h: int, limit: int) -> str:
    """The one message for an image over the pixel limit: its size, the limit, what to do."""
    need = w * h * 40 / 2**30  # decoded + float copies while a pipeline runs, roughly
    return (f"cannot open '{path}': the image is too large: {w}×{h} "
            f"({_megapixels(w * h)}), over the limit of {_megapixels(limit)}; processing it "
            f"needs about {need:.0f} GB of memory. Downscale it, or pass --max-megapixels "
            f"{math.ceil(w * h / 1e6)} "
            f"(or set {ENV_MAX_MEGAPIXELS}) if this computer has the memory")


def load_image(path: str | Path, *, max_pixels: int | None = None) -> LoadedImage:
    """Decode an image file fully; every failure raises ``ImageLoadError`` naming the file.

    Non-regular files (FIFOs, devices, folders) are refused before anything is read, and
    images over ``max_pixels`` (default: :func:`max_pixels`) from their header, before
    decoding. NaN/inf pixels (float TIFF) are replaced by 0 and reported in ``notes``."""
    path = Path(path)
    limit = globals()["max_pixels"]() if max_pixels is None else max_pixels
    data = _read_bytes(path, limit)
    try:
        return _decode(data, path, limit)
    except ImageLoadError:
        raise
    except MemoryError as exc:
        raise ImageLoadError(f"cannot open '{path}': not enough memory to decode it") from exc
    except Exception as exc:  # any decoder failure on a bad file
        raise ImageLoadError(f"cannot open '{path}': corrupt or truncated image ({exc})") from exc


def check_regular_file(path: Path, what: str = "an image file") -> os.stat_result:
    """stat() ``path`` and refuse anything but a regular file (a FIFO would block forever,
    /dev/zero never ends), without opening it (``what`` it should be: for the message).
    Returns the stat result."""
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise ImageLoadError(f"cannot open '{path}': file not found") from exc
    except OSError as exc:
        raise ImageLoadError(f"cannot open '{path}': {exc.strerror or exc}") from exc
    if stat.S_ISDIR(st.st_mode):
        raise ImageLoadError(f"cannot open '{path}': it is a directory, not {what}")
    if not stat.S_ISREG(st.st_mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(st.st_mode) else
                "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        raise ImageLoadError(f"cannot open '{path}': it is {kind}, not {what}")
    return st


def _read_bytes(path: Path, limit: int | None = None) -> bytes:
    st = check_regular_file(path)
    # No image format needs more than 8 bytes a pixel (16-bit RGBA) plus its metadata.
    cap = 8 * (max_pixels() if limit is None else limit) + (64 << 20)
    if st.st_size > cap:
        raise ImageTooLargeError(f"cannot open '{path}': the file is {st.st_size / 2**20:,.0f} "
                                 f"MB, more than any image within the limit of "
                                 f"{_megapixels(cap // 8)} could be; pass --max-megapixels "
                                 "to allow bigger images")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # swapped since the stat
                raise ImageLoadError(f"cannot open '{path}': not a regular file")
            data = f.read(cap + 1)
    except FileNotFoundError as exc:
        raise ImageLoadError(f"cannot open '{path}': file not found") from exc
    except OSError as exc:
        raise ImageLoadError(f"cannot open '{path}': {exc.strerror or exc}") from exc
    if not data:
        raise ImageLoadError(f"cannot open '{path}': file is empty (0 bytes)")
    return data


@contextmanager
def _pillow_pixel_limit(max_pixels: int) -> Iterator[None]:
    """Raise Pillow's global bomb limit to ours for a while (under a lock; we check sizes)."""
    with _PIL_LIMIT_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.simplefilter("ignore", UserWarning)  # Pillow on bad metadata (EXIF...)
        old_limit = Image.MAX_IMAGE_PIXELS
        # Our own check (one limit, one message) runs on the header; Pillow's would quote
        # other numbers, so it is off while we decode (only the first frame is decoded).
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = old_limit


def _open_header(data: bytes, path: Path, max_pixels: int) -> Image.Image:
    """Parse only the header; refuse images with more than ``max_pixels`` pixels."""
    try:
        im = Image.open(io.BytesIO(data), formats=_OPEN_FORMATS)
    except Image.UnidentifiedImageError as exc:
        kind = _sniff(data)
        if kind is None:
            raise ImageLoadError(
                f"cannot open '{path}': not a supported image (JPEG, PNG, TIFF, WebP, BMP)"
                + (", it looks like a text file" if _looks_like_text(data) else "")
            ) from exc
        raise ImageLoadError(f"cannot open '{path}': a corrupt {kind} file, or a {kind} "
                             "variant this program cannot read") from exc
    except ValueError as exc:
        if "too large" in str(exc):  # Pillow's metadata bomb guard (iCCP, zTXt, ...)
            raise ImageLoadError(
                f"cannot open '{path}': its metadata (an ICC profile or text) inflates to "
                "over 1 MB, which no photo needs (a decompression bomb?)") from exc
        raise
    w, h = im.size
    if w * h > max_pixels:
        raise ImageTooLargeError(too_large_message(path, w, h, max_pixels))
    if w < 1 or h < 1:
        raise ImageLoadError(f"cannot open '{path}': image has no pixels ({w}×{h})")
    return im


_MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8", "JPEG"), (b"II*\x00", "TIFF"),
          (b"MM\x00*", "TIFF"), (b"GIF8", "GIF"), (b"BM", "BMP"))


def _sniff(data: bytes) -> str | None:
    """The image format ``data`` starts like, or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return next((name for magic, name in _MAGIC if data.startswith(magic)), None)


def _looks_like_text(data: bytes) -> bool:
    head = data[:512]
    return bool(head) and all(32 <= c < 127 or c in (9, 10, 13) for c in head)


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a TIFF's first IFD, or None."""
    try:
        ifd = TiffImagePlugin.ImageFileDirectory_v2(ifh=data[:8])
        fp = io.BytesIO(data)
        fp.seek(ifd.next)
        ifd.load(fp)
        return int(ifd[256]), int(ifd[257])
    except Exception:
        return None


def _decode_cv2_tiff(data: bytes, path: Path, max_pixels: int) -> LoadedImage | None:
    """TIFF variants Pillow cannot open (float RGB, ...) through OpenCV, size-checked from
    the header first; None when OpenCV cannot either."""
    size = _tiff_size(data)
    if size is None:
        return None
    if size[0] * size[1] > max_pixels:
        raise ImageTooLargeError(too_large_message(path, *size, max_pixels))
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.ndim not in (2, 3):
        return None
    x = arr.astype(np.float32)
    if arr.dtype == np.uint8:
        x /= 255.0
    elif arr.dtype == np.uint16:
        x /= 65535.0
    elif arr.dtype.kind in "iu":
        x /= float(np.iinfo(arr.dtype.name).max)
    if x.ndim == 2:
        x = x[..., None]
    rgb = np.repeat(x[..., :1], 3, axis=2) if x.shape[2] <= 2 else x[..., 2::-1]
    alpha = x[..., 3] if x.shape[2] == 4 else (x[..., 1] if x.shape[2] == 2 else None)
    rgb = np.where(np.isfinite(rgb), np.clip(rgb, 0.0, 1.0), rgb)
    rgb, notes = repair_non_finite(np.ascontiguousarray(rgb), f"'{path}'")
    if alpha is not None:
        alpha, more = repair_non_finite(np.clip(alpha, 0.0, 1.0), f"the alpha of '{path}'")
        notes += more
    depth = 8 if arr.dtype == np.uint8 else 16
    return LoadedImage(rgb, alpha, path, depth, None, None, "TIFF", f"cv2:{arr.dtype}", notes)


def _decode(data: bytes, path: Path, max_pixels: int) -> LoadedImage:
    if _sniff(data) == "TIFF":
        try:
            with _pillow_pixel_limit(max_pixels):
                Image.open(io.BytesIO(data), formats=("TIFF",))
        except Image.UnidentifiedImageError:
            fallback = _decode_cv2_tiff(data, path, max_pixels)
            if fallback is not None:
                return fallback
        except Exception:  # noqa: BLE001 - Pillow reports it below, as for any file
            pass
    try:
        with _pillow_pixel_limit(max_pixels):
            im = _open_header(data, path, max_pixels)
            deep = _is_16bit_colour(im)
            header_orientation = im.getexif().get(_ORIENTATION, 1)
            im.load()  # full decode: truncated or corrupt data fails here
    except Image.DecompressionBombError as exc:  # a later frame or tile bigger than the header
        raise ImageTooLargeError(
            f"cannot open '{path}': the image is too large ({exc}); the limit is "
            f"{_megapixels(max_pixels)} (--max-megapixels raises it)") from exc
    fmt = "JPEG" if im.format == "MPO" else (im.format or "")
    source_mode = im.mode
    tags = im.getexif()  # after load(): PNG may store eXIf after the pixels
    # Pillow already rotates TIFFs while loading (and drops the tag); the rest is ours to do.
    orientation = tags.get(_ORIENTATION, 1)
    exif = _exif_from_tiff_tags(tags) if fmt == "TIFF" else _reset_orientation(im.info.get("exif"))
    icc = im.info.get("icc_profile") or None
    if im.mode == "CMYK":
        im, icc = _cmyk_to_rgb(im, icc), None
    rgb, alpha, bit_depth = _pil_arrays(im)
    rgb = _apply_orientation(rgb, orientation)
    alpha = None if alpha is None else _apply_orientation(alpha, orientation)
    if deep:
        full = _cv2_16bit(data, rgb, (1, header_orientation, orientation))
        if full is not None:
            (rgb, alpha), bit_depth = full, 16
    alpha = None if alpha is None else np.ascontiguousarray(alpha)
    rgb, notes = repair_non_finite(rgb, f"'{path}'")
    if alpha is not None:
        alpha, more = repair_non_finite(alpha, f"the alpha channel of '{path}'")
        notes += more
    return LoadedImage(np.ascontiguousarray(rgb), alpha, path, bit_depth, exif, icc, fmt,
                       source_mode, notes, _dpi(im.info.get("dpi")))


def _dpi(value) -> tuple[float, float] | None:
    """Pillow's ``info["dpi"]`` when it is a usable positive pair."""
    with suppress(TypeError, ValueError):
        x, y = (float(v) for v in value)
        if 0 < x < 1e6 and 0 < y < 1e6:
            return x, y
    return None


def repair_non_finite(x: np.ndarray, what: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """``x`` with NaN -> 0, +inf -> 1, -inf -> 0 (and a logged note), or ``x`` unchanged."""
    if x.dtype.kind != "f":
        return x, ()
    bad = ~np.isfinite(x)
    if not bad.any():
        return x, ()
    n = int(bad.any(axis=-1).sum()) if x.ndim == 3 else int(bad.sum())
    note = (f"{what} has {n:,} pixel(s) that are not numbers (NaN/inf); they were replaced "
            "by black (NaN, -inf) or white (+inf)")
    log.warning("%s", note)
    return np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=0.0), (note,)


def _is_16bit_colour(im: Image.Image) -> bool:
    """True for 16-bit RGB/RGBA/LA data that Pillow would truncate to 8 bits."""
    if (im.mode not in ("RGB", "RGBA", "LA") or not isinstance(im, ImageFile.ImageFile)
            or not im.tile):
        return False
    args = im.tile[0].args
    rawmode = args if isinstance(args, str) else (args[0] if args else "")
    return isinstance(rawmode, str) and ";16" in rawmode


def _cv2_16bit(
    data: bytes, ref: np.ndarray, orientations: tuple[object, ...]
) -> tuple[np.ndarray, np.ndarray | None] | None:
    """Full-precision (rgb, alpha) decoded by OpenCV, or None if that fails.

    OpenCV orients some formats itself (TIFF) but not others (PNG eXIf), so the candidate
    orientation whose top byte matches Pillow's oriented 8-bit decode ``ref`` is used.
    """
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16:
        return None
    x = arr.astype(np.float32) / 65535.0
    if x.ndim == 2:
        x = x[..., None]
    if x.shape[2] <= 2:  # gray (+ alpha)
        rgb, alpha = np.repeat(x[..., :1], 3, axis=2), (x[..., 1] if x.shape[2] == 2 else None)
    else:  # BGR(A)
        rgb, alpha = x[..., 2::-1], (x[..., 3] if x.shape[2] == 4 else None)
    step = max(1, max(ref.shape[:2]) // 256)
    for o in dict.fromkeys(orientations):
        candidate = _apply_orientation(rgb, o)
        if candidate.shape == ref.shape and (
            np.abs(candidate[::step, ::step] - ref[::step, ::step]).mean() < 1.0 / 255
        ):
            return candidate, None if alpha is None else _apply_orientation(alpha, o)
    return None


def _pil_arrays(im: Image.Image) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Pillow image of any mode -> (rgb (H,W,3), alpha (H,W) or None, bit depth)."""
    mode = im.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        x = np.asarray(im).astype(np.float32)
        x = x if mode == "F" else x / 65535.0
        x = np.where(np.isfinite(x), np.clip(x, 0.0, 1.0), x)  # NaN/inf: repaired later
        return np.repeat(x[..., None], 3, axis=2), None, 16
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in im.info
        im = im.convert("RGBA" if has_alpha else "RGB")
    elif mode == "1":
        im = im.convert("L")
    elif mode in ("RGBa", "La"):
        im = im.convert(mode.upper())
    elif mode not in ("RGB", "RGBA", "L", "LA"):
        im = im.convert("RGB")  # YCbCr, RGBX, HSV, ...
    x = np.asarray(im).astype(np.float32) / 255.0
    if im.mode == "L":
        return np.repeat(x[..., None], 3, axis=2), None, 8
    if im.mode == "LA":
        return np.repeat(x[..., :1], 3, axis=2), x[..., 1], 8
    return x[..., :3], (x[..., 3] if im.mode == "RGBA" else None), 8


def _cmyk_to_rgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """CMYK -> RGB through the embedded profile when usable, else Pillow's plain formula.

    Pillow already undoes Adobe's inverted CMYK JPEGs while decoding.
    """
    if icc:
        with suppress(Exception):  # broken profiles fall back to the formula
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            out = ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"),
                                            outputMode="RGB")
            if out is not None:
                return out
    return im.convert("RGB")


def _apply_orientation(x: np.ndarray, orientation: object) -> np.ndarray:
    """Apply an EXIF orientation (1..8) to an (H, W[, C]) array, like ImageOps.exif_transpose."""
    if orientation in (2, 4, 5, 7):  # mirrored variants: flip left-right first
        x = x[:, ::-1]
    turns: dict[object, int] = {3: 2, 4: 2, 5: 1, 6: 3, 7: 3, 8: 1}
    return np.rot90(x, turns.get(orientation, 0))


def _reset_orientation(exif: bytes | None) -> bytes | None:
    """EXIF bytes with IFD0 Orientation patched to 1 in place; "Exif\\0\\0" prefix ensured.

    Returns None for empty or malformed EXIF.
    """
    if not exif:
        return None
    body = bytearray(exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
    try:
        endian = {b"II": "<", b"MM": ">"}[bytes(body[:2])]
        (ifd,) = struct.unpack_from(endian + "I", body, 4)
        (count,) = struct.unpack_from(endian + "H", body, ifd)
        for i in range(count):
            pos = ifd + 2 + 12 * i
            tag, typ = struct.unpack_from(endian + "HH", body, pos)
            if tag == _ORIENTATION and typ == 3:  # SHORT, value stored inline
                struct.pack_into(endian + "H", body, pos + 8, 1)
    except (KeyError, struct.error):
        return None
    return b"Exif\x00\x00" + bytes(body)


def _exif_from_tiff_tags(tags: Image.Exif) -> bytes | None:
    """Descriptive TIFF tags (camera, date, EXIF/GPS sub-IFDs) as EXIF bytes, or None.

    Metadata is optional: tags that cannot be re-encoded give None rather than a load error.
    """
    out = Image.Exif()
    try:
        for tag in _TIFF_EXIF_TAGS & set(tags):
            out[tag] = tags.get_ifd(tag) if tag in (_EXIF_IFD, _GPS_IFD) else tags[tag]
        if _ORIENTATION in out:
            out[_ORIENTATION] = 1
        return out.tobytes() if len(out) else None
    except Exception:
        return None


# ------------------------------------------------------------------------------------ saving


def save_image(
    path: str | Path,
    rgb: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    exif: bytes | None = None,
    icc_profile: bytes | None = None,
    bit_depth: int = 8,
    quality: int = 95,
    source: str | Path | None = None,
    overwrite: bool = False,
    dpi: tuple[float, float] | None = None,
) -> Path:
    """Write ``rgb`` (H, W, 3) in [0, 1] (float; uint8/uint16 also accepted) atomically.

    The format follows the extension. Alpha is kept for PNG/TIFF/WebP, EXIF (Orientation
    reset to 1) and ICC for JPEG/PNG/TIFF/WebP, 16 bits for PNG/TIFF (8 elsewhere). The file
    ``source`` (the original) is never overwritten unless ``overwrite=True``; any other
    existing file at ``path`` is replaced.
    """
    path = Path(path)
    fmt = _SAVE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        supported = ", ".join(SUPPORTED_EXTENSIONS)
        raise ImageSaveError(f"cannot save '{path}': unsupported extension (use {supported})")
    if bit_depth not in (8, 16):
        raise ImageSaveError(f"cannot save '{path}': bit depth must be 8 or 16, not {bit_depth}")
    if source is not None and not overwrite and _same_file(path, Path(source)):
        raise ImageSaveError(
            f"refusing to overwrite the original '{path}'; choose another name or allow overwrite"
        )
    if fmt not in _METADATA_FORMATS:
        exif = icc_profile = None
    exif = _reset_orientation(exif)
    try:
        x = _unit_rgb(rgb)
        a = None if alpha is None or fmt not in _ALPHA_FORMATS else _unit_array(alpha)
        if a is not None and a.shape != x.shape[:2]:
            raise ValueError(f"alpha shape {a.shape} does not match the image {x.shape[:2]}")
        if fmt == "TIFF" or (fmt == "PNG" and bit_depth == 16):
            data = _encode_cv2(fmt, x, a, bit_depth, exif, icc_profile, dpi)
        else:
            data = _encode_pil(fmt, x, a, exif, icc_profile, quality, dpi)
        if fmt == "PNG" and dpi:
            data = _png_add_dpi(data, dpi)
    except Exception as exc:  # bad array, or the encoder rejected data or metadata
        raise ImageSaveError(f"cannot save '{path}': {exc}") from exc
    write_atomic(path, data)
    return path


def save_like(
    path: str | Path, rgb: np.ndarray, original: LoadedImage, *, overwrite: bool = False, **kw
) -> Path:
    """Save keeping ``original``'s alpha, EXIF, ICC and bit depth where the format allows.

    Alpha is resized if ``rgb`` has a different size; ``original.path`` is protected unless
    ``overwrite=True``. Keyword arguments override the inherited values.
    """
    alpha = original.alpha
    h, w = np.shape(rgb)[:2]
    if alpha is not None and alpha.shape != (h, w):
        alpha = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_LINEAR)
    args: dict[str, Any] = dict(alpha=alpha, exif=original.exif, icc_profile=original.icc_profile,
                bit_depth=original.bit_depth, source=original.path, dpi=original.dpi)
    args.update(kw)
    return save_image(path, rgb, overwrite=overwrite, **args)


def _same_file(a: Path, b: Path) -> bool:
    with suppress(OSError):
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def _unit_array(x: np.ndarray) -> np.ndarray:
    """Any numeric array -> float32 in [0, 1] (uint8 / 255, uint16 / 65535, others clipped)."""
    x = np.asarray(x)
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    if x.dtype == np.uint16:
        return x.astype(np.float32) / 65535.0
    if x.dtype == bool or np.issubdtype(x.dtype, np.number):
        return np.clip(np.nan_to_num(x.astype(np.float32)), 0.0, 1.0)
    raise ValueError(f"unsupported array type {x.dtype}")


def _unit_rgb(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1]; (H, W) and (H, W, 1) gray are expanded to 3 channels."""
    x = _unit_array(rgb)
    if x.ndim == 3 and x.shape[2] == 1:
        x = x[..., 0]
    if x.ndim == 2:
        x = np.repeat(x[..., None], 3, axis=2)
    if x.ndim != 3 or x.shape[2] != 3 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"expected an (H, W, 3) image, got shape {x.shape}")
    return x


def _quantize(x: np.ndarray, bits: int) -> np.ndarray:
    top = (1 << bits) - 1
    return np.rint(x * top).astype(np.uint8 if bits == 8 else np.uint16)


def _encode_pil(fmt: str, x: np.ndarray, alpha: np.ndarray | None, exif: bytes | None,
                 icc: bytes | None, quality: int,
                 dpi: tuple[float, float] | None = None) -> bytes:
    pixels = x if alpha is None else np.dstack([x, alpha])
    im = Image.fromarray(_quantize(pixels, 8), "RGB" if alpha is None else "RGBA")
    opts: dict = {}
    if exif:
        opts["exif"] = exif
    if icc:
        opts["icc_profile"] = icc
    if dpi and fmt == "JPEG":  # JFIF density (PNG: pHYs, added by save_image)
        opts["dpi"] = (round(dpi[0]), round(dpi[1]))
    if fmt == "JPEG":
        opts.update(quality=quality, subsampling=0 if quality >= 90 else 2)
    elif fmt == "WEBP":
        opts.update(quality=quality, lossless=quality >= 100, method=4)
    buf = io.BytesIO()
    im.save(buf, fmt, **opts)
    return buf.getvalue()


def _encode_cv2(fmt: str, x: np.ndarray, alpha: np.ndarray | None, bits: int,
                exif: bytes | None, icc: bytes | None,
                dpi: tuple[float, float] | None = None) -> bytes:
    """PNG/TIFF via OpenCV, which (unlike Pillow) handles 16-bit RGB; metadata added after.

    TIFF always goes this way: Pillow's libtiff writer rejects EXIF sub-IFDs.
    """
    bgr = x[..., ::-1] if alpha is None else np.dstack([x[..., ::-1], alpha])
    ok, buf = cv2.imencode(".png" if fmt == "PNG" else ".tiff", _quantize(bgr, bits))
    if not ok:
        raise ValueError("OpenCV could not encode the image")
    data = buf.tobytes()
    if fmt == "PNG":
        return _png_add_metadata(data, exif, icc)
    return _tiff_add_metadata(data, exif, icc, dpi)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(
        ">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def _png_add_metadata(data: bytes, exif: bytes | None, icc: bytes | None) -> bytes:
    """Insert iCCP and eXIf chunks right after IHDR (which ends at byte 33)."""
    chunks = b""
    if icc:
        chunks += _png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc))
    if exif:
        chunks += _png_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
    return data[:33] + chunks + data[33:]


def _png_add_dpi(data: bytes, dpi: tuple[float, float]) -> bytes:
    """Insert a pHYs chunk (pixels per metre) right after IHDR, unless one is there."""
    if b"pHYs" in data[:data.find(b"IDAT")]:
        return data
    ppm = struct.pack(">IIB", round(dpi[0] / 0.0254), round(dpi[1] / 0.0254), 1)
    return data[:33] + _png_chunk(b"pHYs", ppm) + data[33:]


def _tiff_add_metadata(data: bytes, exif: bytes | None, icc: bytes | None,
                       dpi: tuple[float, float] | None = None) -> bytes:
    """Rewrite an OpenCV TIFF as header + IFD0 (plus EXIF tags, ICC, alpha marking) + strips.

    That is the layout Pillow's IFD writer expects: strip offsets count from the data start.
    """
    header = data[:4] + (8).to_bytes(4, "little" if data[:2] == b"II" else "big")
    tags = TiffImagePlugin.ImageFileDirectory_v2(ifh=data[:8])
    fp = io.BytesIO(data)
    fp.seek(tags.next)
    tags.load(fp)
    offsets, counts = tags[273], tags[279]  # StripOffsets, StripByteCounts
    strips = b"".join(data[o : o + c] for o, c in zip(offsets, counts, strict=True))
    ifd = TiffImagePlugin.ImageFileDirectory_v2(ifh=header)
    for tag, value in tags.items():
        ifd[tag] = value
        ifd.tagtype[tag] = tags.tagtype[tag]
    ifd[273] = tuple(int(v) for v in np.cumsum((0, *counts[:-1])))
    if ifd.get(277) == 4 and 338 not in ifd:  # OpenCV omits ExtraSamples: unassociated alpha
        ifd[338] = 2
        ifd.tagtype[338] = TiffTags.SHORT
    if exif:
        ex = Image.Exif()
        ex.load(exif)
        for tag in set(ex) - set(ifd):  # never override image-structure tags
            ifd[tag] = ex.get_ifd(tag) if tag in (_EXIF_IFD, _GPS_IFD) else ex[tag]
    if icc:
        ifd[34675] = icc
        ifd.tagtype[34675] = TiffTags.UNDEFINED
    if dpi:  # XResolution, YResolution, ResolutionUnit (inch)
        ifd[282], ifd[283], ifd[296] = float(dpi[0]), float(dpi[1]), 2
        ifd.tagtype[282] = ifd.tagtype[283] = TiffTags.RATIONAL
        ifd.tagtype[296] = TiffTags.SHORT
    return header + ifd.tobytes(8) + strips


_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]{12}\.tmp$")
_TEMP_MIN_AGE_S = 2.0  # younger temp files may be between creation and their lock
_TEMP_MIN_AGE_NO_LOCKS_S = 3600.0  # where advisory locks do not exist (Windows)

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def sweep_temp_files(folder: str | Path, *, now: float | None = None) -> list[Path]:
    """Remove leftovers ``.NAME.<12 hex>.tmp`` of interrupted atomic writes in ``folder``.

    Safe against writers still running: a writer holds an exclusive advisory lock on its
    temp file until it is renamed, so only files whose lock can be taken (their writer
    died: the kernel drops the locks of a killed process) and that are over 2 s old are
    removed; symlinks and anything but regular files are left alone. Without advisory
    locks (Windows) only files over an hour old are removed. Returns the removed paths."""
    folder = Path(folder)
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not _TEMP_RE.match(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode):
                continue
            age = now - st.st_mtime
            if fcntl is None:
                if age > _TEMP_MIN_AGE_NO_LOCKS_S:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
                continue
            if age < _TEMP_MIN_AGE_S:
                continue
            fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            try:
                same = os.fstat(fd).st_ino == st.st_ino
                if same and _try_lock(fd):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
            finally:
                os.close(fd)
        except OSError:
            continue
    for p in removed:
        log.info("removed '%s', left over by an interrupted save", p)
    return removed


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, then ``os.replace`` onto ``path``.

    The temp file is locked (flock) while it exists, so that :func:`sweep_temp_files` (run
    here first) only removes the leftovers of writers that were killed."""
    if not path.parent.is_dir():
        raise ImageSaveError(f"cannot save '{path}': folder '{path.parent}' does not exist")
    if path.is_dir():
        raise ImageSaveError(f"cannot save '{path}': it is a directory")
    sweep_temp_files(path.parent)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        with open(tmp, "xb") as f:
            if fcntl is not None:
                _try_lock(f.fileno())
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            if fcntl is not None:
                os.replace(tmp, path)  # still locked: a sweep never sees it unlocked
        if fcntl is None:
            os.replace(tmp, path)  # Windows cannot rename an open file
    except BaseException as exc:
        with suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise ImageSaveError(f"cannot save '{path}': {exc.strerror or exc}") from exc
        raise
    with suppress(OSError, AttributeError):  # make the rename durable (POSIX only)
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ------------------------------------------------------------------------------------- masks


def load_mask(path: str | Path, size: tuple[int, int]) -> np.ndarray:
    """Mask matching an image of ``size`` = (W, H): (H, W) float32 in [0, 1], white = 1.

    Masks with transparency (strokes painted on a transparent layer) use their alpha.
    """
    path = Path(path)
    try:
        img = load_image(path)
    except ImageLoadError as exc:
        raise MaskError(f"unusable mask: {exc}") from exc
    if img.size != tuple(size):
        raise MaskError(f"mask '{path}' is {img.size[0]}×{img.size[1]} but the image is "
                        f"{size[0]}×{size[1]}")
    if img.alpha is not None and float(img.alpha.min()) < 1.0:
        return img.alpha
    mask = (img.rgb @ np.array([0.299, 0.587, 0.114], np.float32)).clip(0.0, 1.0)
    if not (mask > 0.5).any():
        strokes = img.rgb.max(axis=2)  # strokes in a pure colour (red...) are dark in L
        if (strokes > 0.5).any():
            log.warning("mask '%s' has no white; its coloured strokes are used as the area "
                        "to fill", path)
            return strokes
    return mask


def save_mask(path: str | Path, mask: np.ndarray, *, overwrite: bool = True) -> Path:
    """Write an (H, W) mask in [0, 1] (float, bool or uint8) as an 8-bit grayscale PNG."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ImageSaveError(f"cannot save mask '{path}': masks are saved as .png")
    if not overwrite and path.exists():
        raise ImageSaveError(f"cannot save mask '{path}': file exists")
    try:
        m = _unit_array(mask)
        if m.ndim != 2 or 0 in m.shape:
            raise ValueError(f"expected an (H, W) mask, got shape {m.shape}")
        buf = io.BytesIO()
        Image.fromarray(_quantize(m, 8), "L").save(buf, "PNG")
    except ValueError as exc:
        raise ImageSaveError(f"cannot save mask '{path}': {exc}") from exc
    write_atomic(path, buf.getvalue())
    return path


# ----------------------------------------------------------------------------------- tensors


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """(H, W, C) -> (1, C, H, W) float32; (H, W) -> (1, 1, H, W). Values are not rescaled."""
    x = np.asarray(rgb, dtype=np.float32)
    if x.ndim == 2:
        x = x[..., None]
    if x.ndim != 3:
        raise ValueError(f"expected (H, W) or (H, W, C), got {x.shape}")
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]


def from_tensor(t: torch.Tensor) -> np.ndarray:
    """(1, C, H, W) or (C, H, W) -> (H, W, C) float32 on CPU; C == 1 gives (H, W)."""
    if t.ndim == 4:
        if t.shape[0] != 1:
            raise ValueError(f"expected a batch of one, got {tuple(t.shape)}")
        t = t[0]
    if t.ndim != 3:
        raise ValueError(f"expected (1, C, H, W) or (C, H, W), got {tuple(t.shape)}")
    x = t.detach().to("cpu", torch.float32).permute(1, 2, 0).numpy()
    return np.ascontiguousarray(x[..., 0] if x.shape[2] == 1 else x)


@dataclass(frozen=True)
class MonochromeInfo:
    """Result of ``detect_monochrome``; chroma in CIELAB units, hue spread in degrees."""

    kind: str  # "color", "grayscale" or "toned"
    needs_colorization: bool
    mean_chroma: float
    hue_spread: float


_GRAY_P95_CHROMA = 3.0  # 95th-percentile chroma below this: grayscale
_TONED_MAX_HUE_SPREAD = 30.0  # degrees, circular std of hue weighted by chroma
_TONED_RESIDUAL_FLOOR = 1.5  # colour scatter at equal lightness (Lab units) ...
_TONED_RESIDUAL_RATIO = 0.15  # ... or this fraction of the mean chroma, whichever is larger
_ANALYSIS_SIDE = 256


def detect_monochrome(rgb: np.ndarray) -> MonochromeInfo:
    """Classify (H, W, 3) RGB in [0, 1] as grayscale, toned (sepia, cyanotype...) or color.

    Works on a strided, then area-downscaled copy (<= 256 px; averaging removes grain). Toned
    means the colour is (nearly) a function of lightness — little a/b scatter among pixels
    of equal L — with one dominant hue.
    """
    rgb = np.asarray(rgb)
    if rgb.ndim == 2 or rgb.shape[2] == 1:
        return MonochromeInfo("grayscale", True, 0.0, 0.0)
    step = max(1, max(rgb.shape[:2]) // (4 * _ANALYSIS_SIDE))  # cheap stride first
    x = _unit_array(rgb[::step, ::step, :3])
    h, w = x.shape[:2]
    scale = _ANALYSIS_SIDE / max(h, w)
    if scale < 1:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        x = cv2.resize(x, size, interpolation=cv2.INTER_AREA)
    lab = rgb_to_lab_array(x.reshape(-1, 3)).astype(np.float64)
    L, a, b = lab[:, 0], lab[:, 1], lab[:, 2]
    chroma = np.hypot(a, b)
    mean_chroma = float(chroma.mean())
    weight = chroma.sum()
    resultant = abs((chroma * np.exp(1j * np.arctan2(b, a))).sum()) / weight if weight > 1e-9 else 1
    hue_spread = float(np.degrees(np.sqrt(-2.0 * np.log(np.clip(resultant, 1e-12, 1.0)))))
    if np.percentile(chroma, 95) < _GRAY_P95_CHROMA:
        return MonochromeInfo("grayscale", True, mean_chroma, hue_spread)
    # a/b scatter around their per-lightness mean (32 L bins)
    bins = np.clip((L * 0.32).astype(int), 0, 31)
    counts = np.bincount(bins, minlength=32)
    used = counts > 0
    scatter = 0.0
    for ch in (a, b):
        sums = np.bincount(bins, ch, minlength=32)[used]
        scatter += float((ch**2).sum() - (sums**2 / counts[used]).sum())
    residual = np.sqrt(max(scatter, 0.0) / len(L))
    toned = bool(hue_spread < _TONED_MAX_HUE_SPREAD
             and residual < max(_TONED_RESIDUAL_FLOOR, _TONED_RESIDUAL_RATIO * mean_chroma))
    kind = "toned" if toned else "color"
    return MonochromeInfo(kind, toned, mean_chroma, hue_spread)
