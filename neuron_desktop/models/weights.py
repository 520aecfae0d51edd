"""Weights registry: safetensors files described by a ``manifest.json`` in one folder.

Manifest layout::

    {"format": 1, "models": {"<name>": {"file": "<name>.safetensors", "sha256": "...",
     "bytes": 123, "task": "...", "arch": "...", "recipe": {}, "data": {}, "metrics": {},
     "preprocessing": {}, "created": "ISO date"}}}
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor

from neuron_desktop.core.errors import WeightsError
from neuron_desktop.core.paths import package_data

ENV_WEIGHTS_DIR = "NEURON_WEIGHTS_DIR"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")


@dataclass(frozen=True)
class WeightEntry:
    """One manifest entry; ``file`` is relative to the weights directory."""

    name: str
    file: str
    sha256: str
    bytes: int
    task: str
    arch: str
    recipe: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    preprocessing: dict = field(default_factory=dict)
    created: str = ""

    def path(self, weights_dir: Path | str) -> Path:
        return Path(weights_dir) / self.file

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        del data["name"]
        return data


_REQUIRED = ("file", "sha256", "bytes", "task", "arch")


def weights_dir() -> Path:
    """The weights folder: env ``NEURON_WEIGHTS_DIR`` or the package's ``weights/``."""
    env = os.environ.get(ENV_WEIGHTS_DIR)
    if env:
        return Path(env).expanduser()
    return package_data("weights")


def _dir(directory: Path | str | None) -> Path:
    return weights_dir() if directory is None else Path(directory)


def _read_raw(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.exists():
        return {"format": MANIFEST_FORMAT, "models": {}}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{path}: cannot read weights manifest ({exc})") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("models"), dict):
        raise WeightsError(f"{path}: malformed weights manifest (expected a 'models' object)")
    if raw.get("format") != MANIFEST_FORMAT:
        raise WeightsError(f"{path}: unsupported manifest format {raw.get('format')!r}")
    return raw


def _entry(name: str, spec: Any, path: Path) -> WeightEntry:
    if not isinstance(spec, dict) or any(k not in spec for k in _REQUIRED):
        raise WeightsError(f"{path}: malformed entry {name!r} (needs {', '.join(_REQUIRED)})")
    known = {f.name for f in dataclasses.fields(WeightEntry)} - {"name"}
    try:
        return WeightEntry(name=name, **{k: v for k, v in spec.items() if k in known})
    except TypeError as exc:
        raise WeightsError(f"{path}: malformed entry {name!r} ({exc})") from exc


_parsed: dict[str, tuple[tuple, dict[str, WeightEntry]]] = {}  # path -> (file's stat, entries)


def read_manifest(directory: Path | str | None = None) -> dict[str, WeightEntry]:
    """All entries of ``manifest.json``; a missing manifest gives ``{}``, a bad one WeightsError.
    Parsed once per version of the file (the editor asks on every edit)."""
    d = _dir(directory)
    path = d / MANIFEST
    try:
        st = path.stat()
        stamp: tuple | None = (st.st_ino, st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = None
    cached = _parsed.get(str(path))
    if stamp is not None and cached is not None and cached[0] == stamp:
        return dict(cached[1])
    raw = _read_raw(d)
    entries = {name: _entry(name, spec, path) for name, spec in raw["models"].items()}
    if stamp is not None:
        _parsed[str(path)] = (stamp, entries)
    return dict(entries)


def get_entry(name: str, directory: Path | str | None = None) -> WeightEntry:
    """The manifest entry ``name``; unknown -> WeightsError listing the known names."""
    entries = read_manifest(directory)
    if name not in entries:
        known = ", ".join(sorted(entries)) or "none"
        raise WeightsError(f"unknown weights {name!r} (known: {known})")
    return entries[name]


def sha256_file(path: Path | str, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def load_weights(
    name: str, *, directory: Path | str | None = None, device: torch.device | str = "cpu"
) -> dict[str, Tensor]:
    """Load the verified state dict of ``name`` (sha256 checked before loading)."""
    d = _dir(directory)
    entry = get_entry(name, d)
    path = entry.path(d)
    if not path.is_file():
        raise WeightsError(f"weights file missing for {name!r}: {path}")
    actual = sha256_file(path)
    if actual != entry.sha256:
        raise WeightsError(
            f"checksum mismatch for {path}: expected {entry.sha256}, got {actual}"
            " (file corrupt or replaced)"
        )
    try:
        return load_file(str(path), device=str(torch.device(device)))
    except Exception as exc:
        raise WeightsError(f"{path}: cannot load safetensors ({exc})") from exc


def installed(name: str, directory: Path | str | None = None) -> bool:
    """Is ``name`` in the manifest with its file present?"""
    try:
        return get_entry(name, directory).path(_dir(directory)).is_file()
    except WeightsError:
        return False


def _atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write via ``write(tmp)`` in the same folder, then ``os.replace`` onto ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide shipped files from others
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_manifest(directory: Path, raw: dict[str, Any]) -> None:
    text = json.dumps(raw, sort_keys=True, indent=2) + "\n"
    _atomic_write(directory / MANIFEST, lambda p: p.write_text(text, encoding="utf-8"))


def save_weights(
    name: str,
    state_dict: Mapping[str, Tensor],
    *,
    directory: Path | str | None = None,
    task: str,
    arch: str,
    recipe: dict | None = None,
    data: dict | None = None,
    metrics: dict | None = None,
    preprocessing: dict | None = None,
) -> WeightEntry:
    """Write ``<name>.safetensors`` and its manifest entry (both atomically)."""
    d = _dir(directory)
    raw = _read_raw(d)
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state_dict.items()}
    path = d / f"{name}.safetensors"
    meta = {"name": name, "task": task, "arch": arch}
    _atomic_write(path, lambda p: save_file(tensors, str(p), metadata=meta))
    entry = WeightEntry(
        name=name,
        file=path.name,
        sha256=sha256_file(path),
        bytes=path.stat().st_size,
        task=task,
        arch=arch,
        recipe=dict(recipe or {}),
        data=dict(data or {}),
        metrics=dict(metrics or {}),
        preprocessing=dict(preprocessing or {}),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    raw["models"][name] = entry.to_json()
    _write_manifest(d, raw)
    return entry


def update_metrics(
    name: str, metrics: Mapping[str, Any], directory: Path | str | None = None
) -> WeightEntry:
    """Merge ``metrics`` into the entry's metrics and rewrite the manifest."""
    d = _dir(directory)
    entry = get_entry(name, d)
    entry = dataclasses.replace(entry, metrics={**entry.metrics, **metrics})
    raw = _read_raw(d)
    raw["models"][name] = entry.to_json()
    _write_manifest(d, raw)
    return entry


def _unwrap_state_dict(obj: Any, path: Path) -> dict[str, Tensor]:
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model"):
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
    if (
        not isinstance(obj, Mapping)
        or not obj
        or not all(isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items())
    ):
        raise WeightsError(f"{path}: not a state dict (expected a mapping of names to tensors)")
    return dict(obj)


def load_user_checkpoint(path: Path | str) -> dict[str, Tensor]:
    """Load a user-supplied checkpoint as a CPU state dict, never unpickling arbitrary code.

    ``.safetensors`` via safetensors; ``.pt``/``.pth``/``.ckpt`` via
    ``torch.load(weights_only=True)``. ``{"state_dict": ...}``/``{"model": ...}`` are unwrapped.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: checkpoint file not found")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        try:
            obj: Any = load_file(str(path), device="cpu")
        except Exception as exc:
            raise WeightsError(f"{path}: cannot read safetensors file ({exc})") from exc
    elif suffix in CHECKPOINT_SUFFIXES:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            raise WeightsError(
                f"{path}: refused to load: the checkpoint contains Python objects other than "
                "tensors, which could run arbitrary code. Re-save it as a plain state dict "
                "(torch.save(model.state_dict(), ...)) or as .safetensors."
            ) from exc
        except Exception as exc:
            raise WeightsError(f"{path}: cannot read checkpoint ({exc})") from exc
    else:
        raise WeightsError(
            f"{path}: unsupported checkpoint type {suffix or '(none)'!r}; "
            "use .safetensors, .pt, .pth or .ckpt"
        )
    return _unwrap_state_dict(obj, path)


def verify_all(directory: Path | str | None = None) -> dict[str, bool]:
    """For each manifest entry: does its file exist with the recorded sha256?"""
    d = _dir(directory)
    return {
        name: entry.path(d).is_file() and sha256_file(entry.path(d)) == entry.sha256
        for name, entry in read_manifest(d).items()
    }
