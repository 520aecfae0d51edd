"""Project files (``.neuron``): a restoration saved to resume another day.

A project is a zip archive (stored, not compressed: the layers are PNG already) holding

- ``project.json``: ``{"format": "neuron-project", "version": 1, "app_version", "saved",
  "source": {"name", "path"}, "size": [w, h], "hints": [...], "steps": [...],
  "settings": {...}}`` — ``steps`` is the edit record: one entry per history step with its
  ``name``, ``capability``, ``params`` and ``models`` (name and sha256 of the weights used),
  so a restoration can be re-applied with newer models; ``settings`` the editor's operation
  settings;
- ``original.png`` and ``current.png``: the opened photo and the current result, 16-bit PNG;
- ``mask.png``: the mask, 8-bit (absent when empty).

Files are written atomically (``core.imageio.write_atomic``: a locked temporary file
renamed over the target). Reading checks the
format name and version (newer versions are refused with a message; older ones are upgraded
by :func:`_upgrade`), every member and every layer's size, so a corrupt or truncated
project gives one clear :class:`ProjectError` and loses nothing.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from neuron_desktop import __version__
from neuron_desktop.core.errors import (
    ImageLoadError,
    ImageSaveError,
    ImageTooLargeError,
    NeuronError,
)
from neuron_desktop.core.imageio import write_atomic

FORMAT = "neuron-project"
VERSION = 1
SUFFIX = ".neuron"


class ProjectError(NeuronError):
    """A project file that cannot be read or written."""


class ProjectTooLargeError(ProjectError, ImageTooLargeError):
    """A project whose layers are over the pixel limit (refused before decoding)."""


@dataclass
class Project:
    original: np.ndarray  # (H, W, 3) float32 RGB in [0, 1]
    current: np.ndarray  # (H, W, 3)
    mask: np.ndarray  # (H, W) float32 in [0, 1]
    hints: list[dict] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    source: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)  # format, version, app_version, saved

    def record(self) -> dict:
        """The JSON record (what ``neuron project info`` prints)."""
        h, w = self.original.shape[:2]
        return {"format": FORMAT, "version": VERSION, "app_version": __version__,
                "saved": self.meta.get("saved") or time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                **{k: v for k, v in self.meta.items() if k not in ("format", "version")},
                "source": self.source, "size": [w, h], "hints": self.hints,
                "steps": self.steps, "settings": self.settings,
                "has_mask": bool(np.any(self.mask > 0))}


def _png16(rgb: np.ndarray) -> bytes:
    u16 = (np.clip(rgb, 0, 1) * 65535 + 0.5).astype(np.uint16)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(u16[..., ::-1]))
    if not ok:
        raise ProjectError("could not encode a layer as PNG")
    return buf.tobytes()


def _png8(mask: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", (np.clip(mask, 0, 1) * 255 + 0.5).astype(np.uint8))
    if not ok:
        raise ProjectError("could not encode the mask as PNG")
    return buf.tobytes()


def save_project(path: str | Path, project: Project, *,
                 progress: Callable[[float, str], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> Path:
    """Write ``project`` to ``path`` (``.neuron`` added when missing), atomically.

    ``progress(fraction, text)`` is called as the layers are encoded; when ``cancelled()``
    turns true before the write, :class:`ProjectCancelled` is raised and nothing is written
    (the editor runs this on a worker thread)."""

    def step(fraction: float, text: str) -> None:
        if cancelled is not None and cancelled():
            raise ProjectCancelled("saving the project was cancelled")
        if progress is not None:
            progress(fraction, text)

    path = Path(path)
    if path.suffix.lower() != SUFFIX:
        path = path.with_name(path.name + SUFFIX)
    if project.current.shape != project.original.shape or \
            project.mask.shape != project.original.shape[:2]:
        raise ProjectError("the project's layers do not have the same size")
    project.meta["saved"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("project.json", json.dumps(project.record(), indent=1))
        step(0.0, "Encoding the original")
        z.writestr("original.png", _png16(project.original))
        step(0.4, "Encoding the result")
        z.writestr("current.png", _png16(project.current))
        step(0.8, "Encoding the mask")
        if np.any(project.mask > 0):
            z.writestr("mask.png", _png8(project.mask))
    step(0.9, "Writing the file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, buf.getvalue())
    except (OSError, ImageSaveError) as exc:
        raise ProjectError(f"cannot write project '{path}': {exc}") from exc
    return path


class ProjectCancelled(ProjectError):
    """The user cancelled the save; nothing was written."""


def _upgrade(record: dict) -> dict:
    """Bring an older record to the current version (none older than 1 exists yet)."""
    return record


def _layer(z: zipfile.ZipFile, name: str, path: Path, flags: int) -> np.ndarray:
    """One layer, its size checked against the pixel limit from the header first (as for
    photos: a tiny PNG may decode to gigabytes)."""
    from neuron_desktop.core import imageio

    limit = imageio.max_pixels()
    try:
        info = z.getinfo(name)
    except KeyError:
        raise ProjectError(f"project '{path.name}' is incomplete: {name} is missing") from None
    if info.file_size > 8 * limit + (64 << 20):  # no layer within the limit is this big
        raise ProjectTooLargeError(f"cannot open '{path}': its layer {name} is "
                                   f"{info.file_size / 2**20:,.0f} MB, more than any image "
                                   f"within the limit of {imageio._megapixels(limit)} could be")
    raw = z.read(name)
    try:
        with imageio._pillow_pixel_limit(limit):
            imageio._open_header(raw, path, limit).close()
    except ImageTooLargeError as exc:
        raise ProjectTooLargeError(str(exc)) from None
    except (ImageLoadError, ValueError, OSError):
        pass  # undecodable: cv2 below says the layer is damaged
    img = cv2.imdecode(np.frombuffer(raw, np.uint8), flags)
    if img is None:
        raise ProjectError(f"project '{path.name}' is damaged: {name} cannot be decoded")
    return img


def load_project(path: str | Path) -> Project:
    """Read a project; any problem is one :class:`ProjectError` naming it."""
    path = Path(path)
    if path.exists():  # a FIFO would block the reader forever, /dev/zero never end
        from neuron_desktop.core.imageio import check_regular_file

        try:
            check_regular_file(path, "a project file")
        except ImageLoadError as exc:
            raise ProjectError(str(exc)) from None
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
            if bad is not None:
                raise ProjectError(f"project '{path.name}' is damaged ({bad} fails its check)")
            try:
                record = json.loads(z.read("project.json"))
            except KeyError:
                raise ProjectError(f"'{path.name}' is not a Neuron project "
                                   "(no project.json)") from None
            except ValueError as exc:
                raise ProjectError(f"project '{path.name}' has an unreadable record: {exc}"
                                   ) from exc
            if not isinstance(record, dict) or record.get("format") != FORMAT:
                raise ProjectError(f"'{path.name}' is not a Neuron project")
            version = record.get("version")
            if not isinstance(version, int) or version > VERSION:
                raise ProjectError(f"project '{path.name}' was saved by a newer Neuron "
                                   f"(format version {version}); update the app to open it")
            record = _upgrade(record)
            original = _layer(z, "original.png", path, cv2.IMREAD_UNCHANGED)
            current = _layer(z, "current.png", path, cv2.IMREAD_UNCHANGED)
            names = z.namelist()
            mask = (_layer(z, "mask.png", path, cv2.IMREAD_GRAYSCALE) if "mask.png" in names
                    else None)
    except FileNotFoundError:
        raise ProjectError(f"project '{path}' does not exist") from None
    except zipfile.BadZipFile:
        raise ProjectError(f"'{path.name}' is damaged or truncated (not a readable zip "
                           "archive)") from None
    except (OSError, EOFError) as exc:
        raise ProjectError(f"cannot read project '{path.name}': {exc}") from exc

    def rgb(x: np.ndarray) -> np.ndarray:
        if x.ndim != 3 or x.shape[2] != 3:
            raise ProjectError(f"project '{path.name}' has a layer of the wrong kind")
        scale = 65535.0 if x.dtype == np.uint16 else 255.0
        return np.ascontiguousarray(x[..., ::-1], np.float32) / np.float32(scale)

    original, current = rgb(original), rgb(current)
    h, w = original.shape[:2]
    if current.shape != original.shape or (mask is not None and mask.shape != (h, w)) or \
            record.get("size", [w, h]) != [w, h]:
        raise ProjectError(f"project '{path.name}' is inconsistent: its layers differ in size")
    mask = np.zeros((h, w), np.float32) if mask is None else mask.astype(np.float32) / 255
    meta = {k: record.get(k) for k in ("format", "version", "app_version", "saved")}
    return Project(original, current, mask, list(record.get("hints", [])),
                   list(record.get("steps", [])), dict(record.get("settings", {})),
                   dict(record.get("source", {})), meta)
