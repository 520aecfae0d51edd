"""Levels: set the black point, white point and midtone brightness."""

from __future__ import annotations

from neuron_desktop.capabilities import Capability, Param
from neuron_desktop.capabilities._scan import tone
from neuron_desktop.core import adjust


def _run(inputs, p, device, cancel):
    return tone(lambda img: adjust.levels(img, p["black"] / 255, p["white"] / 255,
                                          p["gamma"]), "Levels")(inputs, p, device, cancel)


def _prepare(p: dict, device) -> dict:
    from neuron_desktop.core.errors import NeuronError

    if p["white"] <= p["black"]:
        raise NeuronError(f"the white point ({p['white']}) must be above the black point "
                          f"({p['black']})")
    return p


CAPABILITY = Capability(
    name="levels",
    title="Levels",
    help="set the black point, white point and midtone brightness",
    icon="mdi6.chart-histogram",
    group="scan",
    order=230,
    run=_run,
    prepare=_prepare,
    params=(
        Param("black", int, 0, min=0, max=254, label="Black point",
              help="Tones at or below this value (0-255) become pure black: raise it to "
                   "deepen a faded scan's shadows"),
        Param("white", int, 255, min=1, max=255, label="White point",
              help="Tones at or above this value (0-255) become pure white: lower it to "
                   "brighten a dull scan's highlights"),
        Param("gamma", float, 1.0, min=0.1, max=10.0, step=0.05, decimals=2,
              label="Midtones",
              help="Midtone brightness: above 1 brightens the middle greys, below 1 "
                   "darkens them; black and white stay put"),
    ),
)
