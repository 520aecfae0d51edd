"""Per-user folders (XDG base directories; the same layout on every platform)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

APP = "neuron-desktop"


def user_cache_dir() -> Path:
    """$XDG_CACHE_HOME/neuron-desktop (default ~/.cache/neuron-desktop): safe to delete."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / APP


def user_data_dir() -> Path:
    """$XDG_DATA_HOME/neuron-desktop (default ~/.local/share/neuron-desktop): the user's own
    files, e.g. styles added with `neuron train style --style`."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / APP


@functools.lru_cache(maxsize=64)
def package_data(*parts: str) -> Path:
    """A file or folder shipped inside the package (weights, sample photos, the icon), found
    through importlib.resources so it works from a wheel as from a checkout (once per path:
    the editor asks on every edit whether the models are installed)."""
    from importlib.resources import files

    return Path(str(files("neuron_desktop").joinpath(*parts)))


def user_guide() -> Path:
    """The user guide (Markdown) that Help ▸ User guide shows; its screenshots are in the
    checkout's docs/screenshots/ only (an installed app shows their captions instead)."""
    return package_data("resources", "user_guide.md")


def samples_dir() -> Path:
    """The bundled sample photos."""
    return package_data("resources", "samples")
