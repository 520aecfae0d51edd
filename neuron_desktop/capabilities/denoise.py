"""Denoise: remove film grain and sensor noise (non-local means)."""

from __future__ import annotations

from neuron_desktop.capabilities import Capability, Inputs, Param
from neuron_desktop.pipelines.denoise import denoise


def _run(inputs: Inputs, p: dict, device, cancel):
    return denoise(inputs.image, strength=p["strength"], cancel=cancel)


CAPABILITY = Capability(
    name="denoise",
    title="Denoise",
    help="remove film grain and sensor noise (non-local means)",
    icon="mdi6.grain",
    order=45,
    run=_run,
    params=(
        Param("strength", float, 0.5, min=0.0, max=1.0, percent=True,
              help="How strongly noise is smoothed: higher removes more grain, and more "
                   "fine detail with it"),
    ),
)
