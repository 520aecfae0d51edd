"""Detect scratches: propose a mask of scratches and dust (added to the painted mask)."""

from __future__ import annotations

from neuron_desktop.capabilities import Capability, Choice, Inputs, Param
from neuron_desktop.pipelines import inpaint as pi
from neuron_desktop.pipelines import scratches as ps


def _run(inputs: Inputs, p: dict, device, cancel):
    # looked up on pipelines.inpaint, which re-exports it (tests replace it there)
    return pi.detect_scratches(inputs.image, sensitivity=p["sensitivity"], method=p["method"],
                               device=device, cancel=cancel)


def _uses(p: dict, device) -> tuple[str, ...]:
    """The learned detector's weights when it runs ("auto": when installed and preferred)."""
    network = p["method"] == "network" or (
        p["method"] == "auto" and ps.PREFER_NETWORK and ps.network_available())
    return (ps.NET_WEIGHTS,) if network else ()


CAPABILITY = Capability(
    name="detect-scratches",
    title="Detect scratches",
    help="find scratches and dust in old photos; writes a mask PNG",
    icon="mdi6.magnify-scan",
    target="mask",
    order=30,
    run=_run,
    uses=_uses,
    params=(
        Param("method", str, "auto", label="Detector",
              help="Which scratch detector runs; what it finds is added to the painted mask",
              choices=(
                  Choice("auto", "Auto", "The learned detector when installed, else the "
                                         "classical one"),
                  Choice("network", "Learned", "Small network trained on synthetic scratches, "
                         "dust, folds and craquelure, on modern photos and toned old prints: "
                         "the more precise and the default", ps.NET_WEIGHTS),
                  Choice("classical", "Classical", "Morphological line and speck detector: "
                         "needs no weights; sees bright and dark lines anywhere"))),
        Param("sensitivity", float, 0.5, min=0.0, max=1.0, percent=True,
              help="Scratch detection sensitivity: higher finds fainter marks (and more "
                   "false ones)"),
    ),
)
