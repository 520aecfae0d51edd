"""Detect scratches: propose a mask of scratches and dust (added to the painted mask)."""

from __future__ import annotations

from neuron_desktop.capabilities import Capability, Choice, Inputs, Param
from neuron_desktop.pipelines import inpaint as pi
from neuron_desktop.pipelines import scratches as ps


def _run(inputs: Inputs, p: dict, device, cancel):
    # looked up on pipelines.inpaint, which re-exports it (tests replace it there)
    extra = {"protect_faces": True} if p.get("protect_faces") else {}
    return pi.detect_scratches(inputs.image, sensitivity=p["sensitivity"], method=p["method"],
                               device=device, cancel=cancel, **extra)


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
                  Choice("network", "Learned", "A small trained model that recognises "
                         "scratches, dust, folds and fine cracks: the more precise one and "
                         "the default", ps.NET_WEIGHTS),
                  Choice("classical", "Classical", "Finds thin lines and specks by their "
                         "shape: needs no model; also marks thin dark lines of the picture "
                         "itself at high sensitivity"))),
        Param("sensitivity", float, 0.5, min=0.0, max=1.0, percent=True,
              help="How faint a mark may be and still count: higher finds fainter "
                   "scratches (and more false ones). The photo shows what it would find as "
                   "you move the slider"),
        Param("protect_faces", bool, False, label="Protect faces",
              help="Keep the detector off the faces it recognises: on a face a mark counts "
                   "only if it is clear, and never on the eyes, nose or mouth (a scratch "
                   "crossing the face is kept)"),
    ),
)
