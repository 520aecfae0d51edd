"""Curves: a smooth tone curve through points (the same for all channels)."""

from __future__ import annotations

from neuron_desktop.capabilities import Capability, Param
from neuron_desktop.capabilities._scan import tone
from neuron_desktop.core import adjust


def _run(inputs, p, device, cancel):
    return tone(lambda img: adjust.curves(img, p["points"]), "Curves")(inputs, p, device,
                                                                        cancel)


def _prepare(p: dict, device) -> dict:
    adjust.parse_points(p["points"])  # a bad curve fails before any photo is read
    return p


CAPABILITY = Capability(
    name="curves",
    title="Curves",
    help="reshape the tones with a smooth curve through points (in 0-255)",
    icon="mdi6.chart-bell-curve-cumulative",
    group="scan",
    order=235,
    run=_run,
    prepare=_prepare,
    params=(
        Param("points", str, "0,0 255,255", label="Curve points",
              help="Input,output pairs from 0 to 255, e.g. '0,0 64,48 192,210 255,255' "
                   "(an S-curve adds contrast). In the editor, drag the points on the curve"),
    ),
)
