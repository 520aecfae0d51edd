"""Flip: mirror the photo (exact, no resampling)."""

from __future__ import annotations

from neuron_desktop.capabilities import Capability, Choice, Param
from neuron_desktop.capabilities._scan import geometry_run
from neuron_desktop.core.adjust import Geometry


def geometry(p: dict, width: int, height: int) -> Geometry:
    return Geometry("flip", width, height, axis=p["axis"])


CAPABILITY = Capability(
    name="flip",
    title="Flip",
    help="mirror the photo left-right or top-bottom (e.g. a negative scanned the wrong way)",
    icon="mdi6.flip-horizontal",
    group="scan",
    order=215,
    run=geometry_run(geometry),
    geometry=geometry,
    job_title=lambda p: geometry(p, 1, 1).describe(),
    params=(
        Param("axis", str, "horizontal", label="Mirror",
              help="Which way to mirror the photo",
              choices=(Choice("horizontal", "Left-right", "Swap left and right"),
                       Choice("vertical", "Top-bottom", "Swap top and bottom"))),
    ),
)
