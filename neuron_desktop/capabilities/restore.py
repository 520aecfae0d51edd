"""Restore: the learned clean-up of grain, noise, blur, fading and JPEG damage."""

from __future__ import annotations

from neuron_desktop.capabilities import Capability, Inputs, Param
from neuron_desktop.pipelines import restore as pr


def _run(inputs: Inputs, p: dict, device, cancel):
    return pr.restore(inputs.image, strength=p["strength"], keep_tone=p["keep_tone"],
                      device=device, cancel=cancel)


CAPABILITY = Capability(
    name="restore",
    title="Restore",
    help="remove film grain, scanner noise, blur, fading and JPEG damage from old scans",
    icon="mdi6.auto-fix",
    weights=(pr.DEFAULT_WEIGHTS,),
    order=5,
    run=_run,
    job_title=lambda p: f"Restore ({round(p['strength'] * 100)} %)",
    params=(
        Param("strength", float, 1.0, min=0.0, max=1.0, step=0.05, percent=True,
              label="Strength",
              help="How much of the clean-up to apply: 0 keeps the scan, 1 is the "
                   "network's full result"),
        Param("keep_tone", bool, True, label="Keep the print's tone",
              help="Keep a sepia or toned print's colour; turn off to neutralise it "
                   "(toned black-and-white becomes neutral gray)"),
    ),
)
