"""Inpaint: fill the selected (masked) area of a photo."""

from __future__ import annotations

from neuron_desktop.capabilities import Capability, Choice, Inputs, Param
from neuron_desktop.pipelines import inpaint as pi

HELP = {
    "telea": "Fast marching (Telea 2004): quick and smooth; for thin scratches and dust",
    "ns": "Navier-Stokes based fill (Bertalmio et al. 2001): smooth; for thin scratches",
    "harmonic": "Smooth membrane fill from the hole's border: fast, the best classical fill "
                "for thin scratches and plain areas",
    "exemplar": "Copies real texture from around each hole (multi-scale PatchMatch); slower, "
                "for larger damaged areas",
    "network": "Inpainting network (coarse-to-fine with contextual attention): shows a coarse "
               "fill, then the refined one; the best fill for larger holes",
    "network-fast": "The inpainting network's narrower version: faster on a CPU, slightly "
                    "softer fills",
    "network-best": "The inpainting network run on four mirrored copies of the photo, fills "
                    "averaged: the best fills, four times as slow as network",
    "auto": "Harmonic fill for thin scratches, a network for larger areas (network on a GPU, "
            "network-fast on a CPU; exemplar when neither is installed)",
}


def _run(inputs: Inputs, p: dict, device, cancel):
    return pi.inpaint(inputs.image, inputs.mask, method=p["method"], radius=p["radius"],
                      device=device, cancel=cancel, grain=p["grain"])


def _uses(p: dict, device) -> tuple[str, ...]:
    """The network a method runs ("auto": the one it uses for wide holes on ``device``)."""
    name = pi.NETWORK_WEIGHTS.get(pi.auto_network(device) if p["method"] == "auto"
                                  else p["method"])
    return (name,) if name else ()


CAPABILITY = Capability(
    name="inpaint",
    title="Inpaint",
    help="fill the white area of a mask",
    icon="mdi6.auto-fix",
    needs=("mask",),
    order=20,
    run=_run,
    uses=_uses,
    job_title=lambda p: f"Inpaint ({p['method']})",
    params=(
        Param("method", str, "auto", help="How the masked area is filled",
              choices=tuple(Choice(m, m, HELP.get(m, "Inpainting method"),
                                   pi.NETWORK_WEIGHTS.get(m)) for m in pi.INPAINT_METHODS)),
        Param("radius", int, 3, min=1, max=50,
              help="Neighbourhood radius (px) the telea and ns fills sample from"),
        Param("grain", str, "auto", label="Film grain in the fill",
              help="Re-add film grain matching the hole's surroundings, so fills do not look "
                   "smooth on grainy scans",
              choices=(Choice("auto", "auto", "When the photo around the hole is grainy"),
                       Choice("on", "on", "Always"),
                       Choice("off", "off", "Never: the plain fill"))),
        Param("clear_mask", bool, True, scope="editor",
              label="Clear the mask after inpainting",
              help="Clear the mask in the same undoable step as the result"),
    ),
)
