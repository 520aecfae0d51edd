"""Refine: guided-filter the colours (ab) with the full-resolution lightness as guide."""

from __future__ import annotations

from neuron_desktop.capabilities import Capability, Inputs, Param
from neuron_desktop.pipelines.refine import refine_colors


def _prepare(p: dict, device) -> dict:
    if p["guide"] is not None and not hasattr(p["guide"], "shape"):
        from neuron_desktop.core.imageio import load_image, to_tensor

        p = {**p, "guide": to_tensor(load_image(p["guide"]).rgb)}
    return p


def _run(inputs: Inputs, p: dict, device, cancel):
    guide = None if p["guide"] is None else p["guide"].to(inputs.image.device)
    return refine_colors(inputs.image, guide=guide, radius=p["radius"], eps=p["eps"],
                         subsample=p["subsample"], cancel=cancel)


CAPABILITY = Capability(
    name="refine",
    title="Refine",
    help="guided-filter refinement of colours (ab) with full-resolution lightness as guide",
    icon="mdi6.blur",
    order=40,
    run=_run,
    prepare=_prepare,
    job_title=lambda p: "Refine colours",
    params=(
        Param("radius", int, 40, min=1, max=400, label="Smoothing distance", suffix=" px",
              help="How far colour is evened out over similar tones: larger smooths colour "
                   "more"),
        Param("eps", float, 1e-4, min=1e-5, max=1.0, step=1e-4, decimals=5,
              label="Edge smoothing",
              help="How freely colour may cross the photo's edges: smaller keeps colours "
                   "tight to the edges of light and dark, larger smooths over them"),
        Param("subsample", int, 1, min=1, max=16, label="Speed-up",
              help="Work on a copy this many times smaller, then fit the result at full "
                   "size: faster, slightly less exact (1 = exact)"),
        Param("guide", str, None, scope="cli", batch=False,
              help="full-resolution original whose lightness guides (default: the input)"),
    ),
)
