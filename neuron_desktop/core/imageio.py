"""Image and mask I/O: safe loading, atomic saving, tensor conversion.

Images travel through the app as float32 RGB arrays of shape (H, W, 3) in [0, 1] with any
alpha channel kept aside as (H, W) in [0, 1]. Pillow decodes everything; 16-bit colour data,
which Pillow truncates to 8 bits, is decoded and encoded with OpenCV instead.
"""

from __future__ import annotations

import io
import os
import secrets
import struct
import threading
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image, ImageCms, ImageFile, TiffImagePlugin, TiffTags

from neuron_desktop.core.errors import ImageLoadError, ImageSaveError, MaskError

DEFAULT_MAX_PIXELS = 200_000_000
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

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.rgb.shape[1], self.rgb.shape[0]


# ----------------------------------------------------------------------------------- loading


def load_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Decode an image file fully; every failure raises ``ImageLoadError`` naming the file."""
    path = Path(path)
    data = _read_bytes(path)
    try:
        return _decode(data, path, max_pixels)
    except ImageLoadError:
        raise
    except MemoryError as exc:
        raise ImageLoadError(f"cannot open '{path}': not enough memory to decode it") from exc
    except Exception as exc:  # any decoder failure on a bad file
        raise ImageLoadError(f"cannot open '{path}': corrupt or truncated image ({exc})") from exc


def _read_bytes(path: Path) -> bytes:
    if path.is_dir():
        raise ImageLoadError(f"cannot open '{path}': it is a directory, not an image file")
    try:
        data = path.read_bytes()
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
        old_limit = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = old_limit


def _open_header(data: bytes, path: Path, max_pixels: int) -> Image.Image:
    """Parse only the header; refuse images with more than ``max_pixels`` pixels."""
    try:
        im = Image.open(io.BytesIO(data), formats=_OPEN_FORMATS)
    except Image.UnidentifiedImageError as exc:
        raise ImageLoadError(
            f"cannot open '{path}': not a supported image (JPEG, PNG, TIFF, WebP, BMP)"
        ) from exc
    w, h = im.size
    if w * h > max_pixels:
        raise Image.DecompressionBombError(f"{w}×{h}")
    if w < 1 or h < 1:
        raise ImageLoadError(f"cannot open '{path}': image has no pixels ({w}×{h})")
    return im


def _decode(data: bytes, path: Path, max_pixels: int) -> LoadedImage:
    try:
        with _pillow_pixel_limit(max_pixels):
            im = _open_header(data, path, max_pixels)
            deep = _is_16bit_colour(im)
            header_orientation = im.getexif().get(_ORIENTATION, 1)
            im.load()  # full decode: truncated or corrupt data fails here
    except Image.DecompressionBombError as exc:
        raise ImageLoadError(
            f"cannot open '{path}': image is too large ({exc}; limit {max_pixels:,} pixels)"
        ) from exc
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
    return LoadedImage(np.ascontiguousarray(rgb), alpha, path, bit_depth, exif, icc, fmt,
                       source_mode)


def _is_16bit_colour(im: Image.Image) -> bool:
    """True for 16-bit RGB/RGBA/LA data that Pillow would truncate to 8 bits."""
    if im.mode not in ("RGB", "RGBA", "LA") or not im.tile:
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
        x = np.clip(x if mode == "F" else x / 65535.0, 0.0, 1.0)
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
            return ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"),
                                             outputMode="RGB")
    return im.convert("RGB")


def _apply_orientation(x: np.ndarray, orientation: object) -> np.ndarray:
    """Apply an EXIF orientation (1..8) to an (H, W[, C]) array, like ImageOps.exif_transpose."""
    if orientation in (2, 4, 5, 7):  # mirrored variants: flip left-right first
        x = x[:, ::-1]
    return np.rot90(x, {3: 2, 4: 2, 5: 1, 6: 3, 7: 3, 8: 1}.get(orientation, 0))


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
            data = _encode_cv2(fmt, x, a, bit_depth, exif, icc_profile)
        else:
            data = _encode_pil(fmt, x, a, exif, icc_profile, quality)
    except Exception as exc:  # bad array, or the encoder rejected data or metadata
        raise ImageSaveError(f"cannot save '{path}': {exc}") from exc
    _write_atomic(path, data)
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
    args = dict(alpha=alpha, exif=original.exif, icc_profile=original.icc_profile,
                bit_depth=original.bit_depth, source=original.path)
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
                 icc: bytes | None, quality: int) -> bytes:
    pixels = x if alpha is None else np.dstack([x, alpha])
    im = Image.fromarray(_quantize(pixels, 8), "RGB" if alpha is None else "RGBA")
    opts: dict = {}
    if exif:
        opts["exif"] = exif
    if icc:
        opts["icc_profile"] = icc
    if fmt == "JPEG":
        opts.update(quality=quality, subsampling=0 if quality >= 90 else 2)
    elif fmt == "WEBP":
        opts.update(quality=quality, lossless=quality >= 100, method=4)
    buf = io.BytesIO()
    im.save(buf, fmt, **opts)
    return buf.getvalue()


def _encode_cv2(fmt: str, x: np.ndarray, alpha: np.ndarray | None, bits: int,
                exif: bytes | None, icc: bytes | None) -> bytes:
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
    return _tiff_add_metadata(data, exif, icc)


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


def _tiff_add_metadata(data: bytes, exif: bytes | None, icc: bytes | None) -> bytes:
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
    return header + ifd.tobytes(8) + strips


def _write_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, then ``os.replace`` onto ``path``."""
    if not path.parent.is_dir():
        raise ImageSaveError(f"cannot save '{path}': folder '{path.parent}' does not exist")
    if path.is_dir():
        raise ImageSaveError(f"cannot save '{path}': it is a directory")
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
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
    return (img.rgb @ np.array([0.299, 0.587, 0.114], np.float32)).clip(0.0, 1.0)


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
    _write_atomic(path, buf.getvalue())
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
