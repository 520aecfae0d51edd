"""Crop: keep a rectangle of the photo (with an optional aspect ratio)."""

from __future__ import annotations

from neuron_desktop.capabilities import Capability, Choice, Param
from neuron_desktop.capabilities._scan import geometry_run
from neuron_desktop.core.adjust import Geometry

ASPECTS = {"free": None, "original": None, "1:1": 1.0, "3:2": 1.5, "4:3": 4 / 3,
           "5:4": 1.25, "16:9": 16 / 9}


def aspect_ratio(name: str, width: int, height: int) -> float | None:
    """Width / height of preset ``name`` for a ``width`` x ``height`` photo (None: free)."""
    return width / height if name == "original" else ASPECTS.get(name)


def geometry(p: dict, width: int, height: int) -> Geometry:
    x, y, w, h = p["x"], p["y"], p["width"], p["height"]
    ratio = aspect_ratio(p["aspect"], width, height)
    if not w and not h and ratio is not None:  # the largest centred box of that shape
        if ratio >= 1:  # landscape presets turn with a portrait photo
            ratio = ratio if width >= height else 1 / ratio
        w, h = (width, round(width / ratio)) if width / height <= ratio else (
            round(height * ratio), height)
        x, y = (width - w) // 2, (height - h) // 2
    return Geometry.cropping(width, height, x, y, w or width - x, h or height - y)


CAPABILITY = Capability(
    name="crop",
    title="Crop",
    help="keep a rectangle of the photo (pixels), or the largest centred one of an aspect",
    icon="mdi6.crop",
    group="scan",
    order=200,
    run=geometry_run(geometry),
    geometry=geometry,
    job_title=lambda p: "Crop",
    params=(
        Param("aspect", str, "free", label="Aspect",
              help="Shape of the crop. In the editor it holds while you drag; on the command "
                   "line, without a width and height, the largest centred crop of this shape",
              choices=tuple(Choice(k, k.capitalize() if k in ("free", "original") else k,
                                   "Any shape" if k == "free" else
                                   "The photo's own shape" if k == "original" else
                                   f"Width to height {k} (turned for portrait crops)")
                            for k in ASPECTS)),
        Param("x", int, 0, min=0, max=1_000_000, label="Left", suffix=" px",
              help="Left edge of the crop, in pixels from the left"),
        Param("y", int, 0, min=0, max=1_000_000, label="Top", suffix=" px",
              help="Top edge of the crop, in pixels from the top"),
        Param("width", int, 0, min=0, max=1_000_000, label="Width", suffix=" px",
              help="Width of the crop in pixels (0: to the right edge)"),
        Param("height", int, 0, min=0, max=1_000_000, label="Height", suffix=" px",
              help="Height of the crop in pixels (0: to the bottom edge)"),
    ),
)
