"""Auto contrast: stretch the tones so the darkest pixels are black and the brightest white."""

from __future__ import annotations

from neuron_desktop.capabilities import Capability, Param
from neuron_desktop.capabilities._scan import tone
from neuron_desktop.core import adjust


def _run(inputs, p, device, cancel):
    return tone(lambda img: adjust.auto_contrast(img, p["clip"] / 100, p["per_channel"]),
                "Auto contrast")(inputs, p, device, cancel)


CAPABILITY = Capability(
    name="auto-contrast",
    title="Auto contrast",
    help="stretch the tones so the darkest pixels become black and the brightest white",
    icon="mdi6.contrast-box",
    group="scan",
    order=240,
    run=_run,
    params=(
        Param("clip", float, 0.5, min=0.0, max=5.0, step=0.1, decimals=1, suffix=" %",
              label="Ignore extremes",
              help="Share of the darkest and of the brightest pixels allowed to clip (dust "
                   "and specks should not set the range)"),
        Param("per_channel", bool, False, label="Also neutralise colours",
              help="Stretch red, green and blue separately: also removes a colour cast "
                   "(faded prints), but can shift colours that were right"),
    ),
)
