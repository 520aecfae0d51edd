"""Rotate: quarter turns of the photo (exact, no resampling)."""

from __future__ import annotations

from neuron_desktop.capabilities import Capability, Choice, Param
from neuron_desktop.capabilities._scan import geometry_run
from neuron_desktop.core.adjust import TURNS, Geometry


def geometry(p: dict, width: int, height: int) -> Geometry:
    return Geometry("rotate", width, height, turns=TURNS[p["turn"]])


CAPABILITY = Capability(
    name="rotate",
    title="Rotate",
    help="turn the photo by quarter turns (exact, no resampling)",
    icon="mdi6.rotate-right",
    group="scan",
    order=210,
    run=geometry_run(geometry),
    geometry=geometry,
    job_title=lambda p: geometry(p, 2, 1).describe(),
    params=(
        Param("turn", str, "right", label="Turn",
              help="Which way to turn the photo",
              choices=(Choice("right", "Right (clockwise)", "A quarter turn clockwise"),
                       Choice("left", "Left (anticlockwise)", "A quarter turn anticlockwise"),
                       Choice("180", "Upside down", "A half turn"))),
    ),
)
