"""Inpaint: fill the selected (masked) area of a photo."""

from __future__ import annotations

from neuron_desktop.capabilities import Capability, Choice, Inputs, Param
from neuron_desktop.pipelines import inpaint as pi

# Plain names shown in the editor (the method ids stay for the CLI, recipes and projects)
LABELS = {
    "telea": "Quick fill",
    "ns": "Flowing fill",
    "harmonic": "Smooth fill",
    "exemplar": "Copy texture from around",
    "network": "AI fill",
    "network-fast": "AI fill, faster",
    "network-best": "AI fill, best quality",
    "auto": "Automatic",
}
HELP = {
    "telea": "Quick and smooth, from the hole's edge inwards: for thin scratches and dust",
    "ns": "Continues the lines that meet the hole into it, smoothly: for thin scratches",
    "harmonic": "Blends the hole's border smoothly across it: fast, the best simple fill for "
                "thin scratches and plain areas",
    "exemplar": "Copies real texture from around each hole: slower, for larger damaged areas",
    "network": "The trained inpainting model: shows a rough fill, then the finished one; the "
               "best fill for larger holes",
    "network-fast": "A lighter version of the inpainting model: about 1.7 times faster on a "
                    "CPU, slightly softer fills",
    "network-best": "The inpainting model run on four mirrored copies of the photo, the fills "
                    "averaged: a little more faithful, four times the time",
    "auto": "Smooth fill for thin scratches, an AI fill for larger areas (the faster one on "
            "a CPU; Copy texture from around when no model is installed)",
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
    job_title=lambda p: f"Inpaint ({LABELS.get(p['method'], p['method'])})",
    params=(
        Param("method", str, "auto", help="How the masked area is filled",
              choices=tuple(Choice(m, LABELS.get(m, m), HELP.get(m, "Inpainting method"),
                                   pi.NETWORK_WEIGHTS.get(m)) for m in pi.INPAINT_METHODS)),
        Param("radius", int, 3, min=1, max=50, label="Reach", suffix=" px",
              help="How far around the hole the quick and flowing fills look for colour"),
        Param("grain", str, "auto", label="Film grain in the fill",
              help="Re-add film grain matching the hole's surroundings, so fills do not look "
                   "smooth on grainy scans",
              choices=(Choice("auto", "Automatic", "When the photo around the hole is "
                                                   "grainy"),
                       Choice("on", "Always", "Always"),
                       Choice("off", "Never", "Never: the plain fill"))),
        Param("clear_mask", bool, True, scope="editor",
              label="Clear the mask after inpainting",
              help="Clear the mask in the same undoable step as the result"),
    ),
)
