"""Straighten: turn the photo by a small angle and crop the empty corners."""

from __future__ import annotations

from neuron_desktop.capabilities import Capability, Param
from neuron_desktop.capabilities._scan import geometry_run
from neuron_desktop.core.adjust import Geometry


def geometry(p: dict, width: int, height: int) -> Geometry:
    return Geometry("straighten", width, height, angle=float(p["angle"]), crop=p["crop"])


CAPABILITY = Capability(
    name="straighten",
    title="Straighten",
    help="turn a crooked scan level by an angle; crops the empty corners",
    icon="mdi6.angle-acute",
    group="scan",
    order=220,
    run=geometry_run(geometry),
    geometry=geometry,
    job_title=lambda p: f"Straighten {float(p['angle']):+.1f}°",
    params=(
        Param("angle", float, 0.0, min=-45.0, max=45.0, step=0.1, decimals=2, suffix="°",
              label="Angle",
              help="How far to turn the photo, in degrees: positive turns it clockwise. In "
                   "the editor, draw a line along the horizon (or a wall) to set it"),
        Param("crop", bool, True, label="Crop the empty corners",
              help="Keep the largest rectangle without empty corners (else the corners are "
                   "filled with black)"),
    ),
)
