"""Crash-recovery sessions: the editor's autosaved work, one folder per photo opened in a run.

``<recovery folder>/<YYYYmmdd-HHMMSS>-<pid>-<hex>/`` holds

- ``session.json``: ``{"format": "neuron-session", "version": 1, "app_version", "created",
  "updated" (epoch s), "state": "open" | "closed", "dismissed", "generation", "revision",
  "photo": {"name", "path", "width", "height", "bit_depth", "format", "mode", "size",
  "mtime_ns"}, "layers": {"original", "alpha", "exif", "icc", "current", "mask", "thumb"},
  "hints": [...], "steps": [{"name": ...}, ...]}``;
- ``original.png``: the opened photo's pixels, written once (8-bit for 8-bit photos, else
  16-bit), with ``alpha.png``, ``exif.bin`` and ``icc.icc`` when it has them, so a session
  is restored with its metadata even when the photo was moved or changed;
- ``current-N.png`` (16-bit; absent while the image equals the original), ``mask-N.png``
  and ``thumb-N.png``, where N is the generation of the write that made them;
- ``session.lock``: locked (``flock``) by the running editor that owns the session; the
  kernel drops the lock when that process dies, so an ``open`` session without a lock
  holder is a crashed one.

Every file is written atomically (``write_atomic``) and ``session.json`` last: it names the
layer files of its generation, so a kill at any moment leaves the previous state or the new
one, never a mix. Old layer files are removed after the new record is in place.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from neuron_desktop import __version__
from neuron_desktop.core.document import Document
from neuron_desktop.core.errors import ImageLoadError
from neuron_desktop.core.imageio import LoadedImage, load_image, load_mask, write_atomic
from neuron_desktop.core.masks import Hint

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]  # the module is absent there
    import msvcrt

log = logging.getLogger(__name__)

FORMAT, VERSION = "neuron-session", 1
RECORD = "session.json"
LOCK = "session.lock"
KEEP_SESSIONS = 10  # newest sessions kept (live ones come on top)
KEEP_DAYS = 7.0
KEEP_BYTES = 4 << 30  # all kept sessions together (the newest one always stays)
THUMB_SIDE = 160
_NAME = re.compile(r"^\d{8}-\d{6}-\d+-[0-9a-f]{6}$")


class SessionError(ImageLoadError):
    """A session that cannot be restored."""


# ------------------------------------------------------------------------------------ locks


_PROBING = threading.Lock()  # one probe at a time in this process
PROBE_TRIES = 3  # another process's probe holds the lock for an instant: try again


class SessionLock:
    """An exclusive lock on ``folder/session.lock`` held while a running editor owns the
    session; released by the kernel when the process dies (also by kill -9)."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def claim(self, keep: bool = True) -> bool:
        """:meth:`acquire`, but not fooled by a probe (:func:`is_live`) that holds the lock
        for an instant: serialised with this process's probes and retried (``keep=False``:
        a probe, released before the next one may start)."""
        for attempt in range(PROBE_TRIES):
            if attempt:
                time.sleep(0.01)
            with _PROBING:
                if self.acquire():
                    if not keep:
                        self.release()
                    return True
        return False

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # drops the lock
            self._fd = None


def is_live(folder: Path) -> bool:
    """Whether a running editor (this one included) holds the session's lock. A probe
    takes the lock for an instant (:meth:`SessionLock.claim`: serialised here, since two
    threads probing at once would each see the other's, and retried)."""
    if not (Path(folder) / LOCK).exists():
        return False
    try:
        return not SessionLock(folder).claim(keep=False)
    except OSError:
        return True


# --------------------------------------------------------------------------------- writing


def new_session_folder(base: Path) -> Path:
    """Create a fresh, uniquely named session folder under ``base``."""
    name = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{secrets.token_hex(3)}"
    folder = Path(base) / name
    folder.mkdir(parents=True, exist_ok=False)
    return folder


def _png(img: np.ndarray, bits: int) -> bytes:
    """(H, W, 3) RGB or (H, W) in [0, 1] as a PNG of ``bits`` bits (fast compression)."""
    scale, dtype = (65535.0, np.uint16) if bits == 16 else (255.0, np.uint8)
    q = (np.clip(img, 0, 1) * scale + 0.5).astype(dtype)
    if q.ndim == 3:
        q = q[..., ::-1]
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(q), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise ValueError("the layer could not be encoded as PNG")
    return buf.tobytes()


def _thumb(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    s = min(1.0, THUMB_SIDE / max(h, w))
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


class SessionWriter:
    """Writes one session's state into its folder. Use from one thread at a time."""

    def __init__(self, folder: Path, record: dict | None = None) -> None:
        self.folder = Path(folder)
        self.record = record or {
            "format": FORMAT, "version": VERSION, "app_version": __version__,
            "created": time.time(), "state": "open", "generation": 0, "layers": {}}

    @property
    def has_original(self) -> bool:
        return bool(self.record["layers"].get("original"))

    def write(self, *, photo: dict, hints: list[dict], steps: list[dict], revision: int,
              closed: bool = False, original: np.ndarray | None = None,
              source: LoadedImage | None = None, image: np.ndarray | None = None,
              mask: np.ndarray | None = None) -> Path:
        """Write a new state. ``original`` (the document's read-only original; its
        ``source`` metadata is stored on the first write) is always given; ``image`` and
        ``mask`` only when they changed since the last write (None: unchanged). Raises
        OSError or ImageSaveError (disk full...)."""
        rec = dict(self.record, layers=dict(self.record["layers"]))
        layers = rec["layers"]
        gen = rec["generation"] + 1
        made: list[Path] = []

        def put(name: str, data: bytes) -> str:
            path = self.folder / name
            write_atomic(path, data)
            made.append(path)
            return name

        reshaped = (original is not None and self.has_original and
                    rec.get("original_shape") not in (None, list(original.shape[:2])))
        if reshaped:  # cropped or turned: the result became the original
            assert original is not None
            bits = 8 if source is None or source.bit_depth <= 8 else 16
            layers["original"] = put(f"original-{gen}.png", _png(original, bits))
            layers.pop("alpha", None)  # the old alpha no longer fits
        if original is not None:
            rec["original_shape"] = list(original.shape[:2])
        if not self.has_original:
            if original is None:
                raise ValueError("the first write of a session needs the original")
            bits = 8 if source is None or source.bit_depth <= 8 else 16
            layers["original"] = put("original.png", _png(original, bits))
            if source is not None and source.alpha is not None:
                layers["alpha"] = put("alpha.png", _png(source.alpha, 16))
            if source is not None and source.exif:
                layers["exif"] = put("exif.bin", source.exif)
            if source is not None and source.icc_profile:
                layers["icc"] = put("icc.icc", source.icc_profile)
            if image is None:
                layers["thumb"] = put(f"thumb-{gen}.png", _png(_thumb(original), 8))
        if image is not None:
            same = original is not None and np.array_equal(image, original)
            layers["current"] = None if same else put(f"current-{gen}.png", _png(image, 16))
            layers["thumb"] = put(f"thumb-{gen}.png", _png(_thumb(image), 8))
        if mask is not None:
            layers["mask"] = put(f"mask-{gen}.png", _png(mask, 8)) if mask.any() else None
        rec.update(generation=gen, revision=revision, updated=time.time(), photo=photo,
                   hints=hints, steps=steps, state="closed" if closed else "open",
                   dismissed=False, app_version=__version__)
        write_atomic(self.folder / RECORD, json.dumps(rec, indent=1).encode())
        self.record = rec
        self._remove_stale()
        return self.folder / RECORD

    def _remove_stale(self) -> None:
        keep = {v for v in self.record["layers"].values() if v} | {RECORD, LOCK}
        for p in self.folder.iterdir():
            if p.name not in keep and not p.name.startswith(".") and p.is_file():
                try:
                    p.unlink()
                except OSError:  # a leftover costs space only; the record is right
                    log.warning("could not remove old recovery layer %s", p)


def read_record(folder: Path) -> dict | None:
    """A session's record, or None when it is missing or unreadable."""
    try:
        rec = json.loads((Path(folder) / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(rec, dict) or rec.get("format") != FORMAT or \
            not isinstance(rec.get("layers"), dict) or not rec["layers"].get("original"):
        return None
    return rec


def set_state(folder: Path, *, closed: bool = True, dismissed: bool = False) -> None:
    """Mark a session closed (a clean end) and/or dismissed (not offered after a crash)."""
    rec = read_record(folder)
    if rec is not None:
        rec.update(state="closed" if closed else rec.get("state", "open"), dismissed=dismissed)
        write_atomic(Path(folder) / RECORD, json.dumps(rec, indent=1).encode())


# --------------------------------------------------------------------------------- listing


@dataclass
class SessionInfo:
    folder: Path
    record: dict
    live: bool  # owned by a running editor

    @property
    def name(self) -> str:
        return str(self.record.get("photo", {}).get("name") or "untitled")

    @property
    def updated(self) -> float:
        return float(self.record.get("updated") or 0)

    @property
    def crashed(self) -> bool:
        """Left open by an editor that is gone (and not yet dismissed)."""
        return self.record.get("state") == "open" and not self.live

    @property
    def steps(self) -> int:
        return len(self.record.get("steps") or [])

    @property
    def thumb(self) -> Path | None:
        name = self.record["layers"].get("thumb")
        return self.folder / name if name else None


def _session_dirs(base: Path) -> list[Path]:
    try:
        return [p for p in Path(base).iterdir()
                if _NAME.match(p.name) and p.is_dir() and not p.is_symlink()]
    except OSError:
        return []


def list_sessions(base: Path) -> list[SessionInfo]:
    """Readable sessions under ``base``, newest first."""
    out = []
    for folder in _session_dirs(base):
        rec = read_record(folder)
        if rec is not None:
            out.append(SessionInfo(folder, rec, is_live(folder)))
    return sorted(out, key=lambda s: s.updated, reverse=True)


def newest_crashed(base: Path) -> SessionInfo | None:
    return next((s for s in list_sessions(base) if s.crashed and not
                 s.record.get("dismissed")), None)


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def prune_sessions(base: Path, *, keep: int = KEEP_SESSIONS, days: float = KEEP_DAYS,
                   max_bytes: int = KEEP_BYTES, now: float | None = None) -> list[Path]:
    """Remove sessions beyond the newest ``keep``, older than ``days`` or over ``max_bytes``
    in all (the newest always stays), and unreadable session folders over a day old.
    Sessions of running editors are never touched. Returns the removed folders."""
    now = time.time() if now is None else now
    removed = []
    kept, kept_bytes = 0, 0
    for s in [s for s in list_sessions(base) if not s.live]:
        size = _size(s.folder)
        too_old = now - s.updated > days * 86400
        too_many = kept >= keep or kept_bytes + size > max_bytes
        if too_old or (kept and too_many):
            removed.append(s.folder)
        else:
            kept, kept_bytes = kept + 1, kept_bytes + size
    listed = {s.folder for s in list_sessions(base)}
    for folder in _session_dirs(base):  # a crash before the first record, or damage
        try:
            old = now - folder.stat().st_mtime > 86400
        except OSError:
            continue
        if folder not in listed and old and not is_live(folder):
            removed.append(folder)
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
        log.info("removed old recovery session %s", folder.name)
    return removed


# ------------------------------------------------------------------------------- restoring


@dataclass
class RestoredSession:
    doc: Document  # the original, with the session's image, mask and hints applied
    folder: Path
    record: dict
    note: str = ""  # e.g. the original photo was moved or changed
    steps: list = field(default_factory=list)


def photo_fields(path: Path | None, width: int, height: int,
                 source: LoadedImage | None) -> dict:
    """The ``photo`` entry of a record: name, path and the file's size and mtime now."""
    fields = {"name": path.name if path else "untitled", "path": str(path) if path else None,
              "width": width, "height": height,
              "bit_depth": source.bit_depth if source else 8,
              "format": source.format if source else "PNG",
              "mode": source.source_mode if source else "RGB"}
    try:
        if path is not None:
            st = path.stat()
            fields.update(size=st.st_size, mtime_ns=st.st_mtime_ns)
    except OSError:
        pass
    return fields


def load_session(folder: Path, check: Callable[[], None] | None = None) -> RestoredSession:
    """Rebuild a session's document from its own files (never from the photo, which may
    have been moved or changed); raises :class:`SessionError` with a clear message."""
    folder = Path(folder)
    rec = read_record(folder)
    if rec is None:
        raise SessionError(f"the recovery session '{folder.name}' is missing or damaged")
    layers, photo = rec["layers"], rec.get("photo") or {}
    w, h = int(photo.get("width", 0)), int(photo.get("height", 0))
    limit = max(w * h + 1, 1)
    try:
        orig = load_image(folder / layers["original"], max_pixels=limit)
        alpha = (load_image(folder / layers["alpha"], max_pixels=limit).rgb[..., 0]
                 if layers.get("alpha") else None)
        exif = (folder / layers["exif"]).read_bytes() if layers.get("exif") else None
        icc = (folder / layers["icc"]).read_bytes() if layers.get("icc") else None
        current = (load_image(folder / layers["current"], max_pixels=limit).rgb
                   if layers.get("current") else None)
        mask = (load_mask(folder / layers["mask"], orig.size) if layers.get("mask") else None)
    except (OSError, ImageLoadError) as exc:
        raise SessionError(f"the recovery session of {photo.get('name')} is damaged: {exc}"
                           ) from exc
    if orig.size != (w, h) or (current is not None and current.shape != orig.rgb.shape):
        raise SessionError(f"the recovery session of {photo.get('name')} is inconsistent")
    path = Path(photo["path"]) if photo.get("path") else None
    source = LoadedImage(orig.rgb, alpha, path, int(photo.get("bit_depth", 8)), exif, icc,
                         str(photo.get("format", "PNG")), str(photo.get("mode", "RGB")))
    doc = Document(orig.rgb, source=source, path=path)
    if current is not None:
        doc.apply_patch(doc.bounds, image=current, notify=False)
    if mask is not None:
        doc.apply_patch(doc.bounds, mask=mask, notify=False)
    doc.hints = tuple(Hint.from_dict(x) for x in rec.get("hints") or [])
    return RestoredSession(doc, folder, rec, _photo_note(path, photo),
                           list(rec.get("steps") or []))


def _photo_note(path: Path | None, photo: dict) -> str:
    if path is None:
        return ""
    try:
        st = path.stat()
    except OSError:
        return (f"The original photo {path} was moved or deleted; the session was restored "
                "from its own copy.")
    if (photo.get("size"), photo.get("mtime_ns")) != (st.st_size, st.st_mtime_ns):
        return (f"The original photo {path.name} has changed since; the session was "
                "restored from its own copy of the original.")
    return ""
