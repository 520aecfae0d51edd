"""White balance: remove a colour cast (from a picked neutral colour, or estimated)."""

from __future__ import annotations

from neuron_desktop.capabilities import Capability, Param
from neuron_desktop.capabilities._scan import rgb_text, tone
from neuron_desktop.core import adjust


def _run(inputs, p, device, cancel):
    neutral = rgb_text(p["neutral"])
    return tone(lambda img: adjust.white_balance(img, neutral, p["strength"]),
                "White balance")(inputs, p, device, cancel)


def _prepare(p: dict, device) -> dict:
    rgb_text(p["neutral"])  # a bad colour fails before any photo is read
    return p


CAPABILITY = Capability(
    name="white-balance",
    title="White balance",
    help="remove a colour cast: make a picked colour (or the photo's average) neutral grey",
    icon="mdi6.white-balance-sunny",
    group="scan",
    order=250,
    run=_run,
    prepare=_prepare,
    params=(
        Param("neutral", str, None, label="Neutral colour",
              help="The colour (R,G,B from 0 to 255) of something that should be grey or "
                   "white, e.g. '200,180,160'; empty: estimated from the whole photo. In the "
                   "editor, pick it with the eyedropper"),
        Param("strength", float, 1.0, min=0.0, max=1.0, percent=True, label="Strength",
              help="How much of the cast is removed"),
    ),
)
