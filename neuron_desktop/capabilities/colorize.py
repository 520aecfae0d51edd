"""Colorize: black-and-white (or sepia) photo + optional colour hints -> colour photo."""

from __future__ import annotations

from pathlib import Path

from neuron_desktop.capabilities import Capability, Choice, Inputs, Param
from neuron_desktop.pipelines import colorize as pc


def read_reference(path: str | Path):
    """The colour reference file as a (1, 3, H, W) RGB tensor; NeuronError naming the file
    when it is missing, unreadable or has no colour."""
    from neuron_desktop.core.errors import NeuronError
    from neuron_desktop.core.imageio import load_image, to_tensor

    path = Path(path)
    if not path.exists():
        raise NeuronError(f"colour reference '{path}' not found")
    image = to_tensor(load_image(path).rgb).clamp(0, 1)  # a clear error for a bad file
    try:
        pc.check_reference(image)
    except ValueError as exc:
        raise NeuronError(f"'{path.name}': {exc}") from exc
    return image


def _prepare(p: dict, device) -> dict:
    """Read the colour reference once (a batch or a job)."""
    return {**p, "reference_image": read_reference(p["reference"]) if p.get("reference")
            else None}


def _run(inputs: Inputs, p: dict, device, cancel):
    extra = {} if p["prior_correction"] is None else {"prior_correction": p["prior_correction"]}
    if p.get("reference_image") is not None:
        extra.update(reference=p["reference_image"], reference_strength=p["reference_strength"])
    if p["weights"] != "default":
        extra["weights"] = p["weights"]
    if p.get("confidence"):
        extra["confidence"] = True
    gen = pc.colorize(inputs.image, hints=list(inputs.hints), temperature=p["temperature"],
                      render_size=p["render_size"], refine=p["refine"], device=device,
                      clean_view=p["clean_view"], vividness=p["vividness"], **extra)
    return _saving_confidence(gen, p.get("confidence")) if p.get("confidence") else gen


def _saving_confidence(gen, path: str):
    """Re-yield ``gen``'s events; its confidence map is written to ``path`` (8-bit PNG,
    white = sure) when it arrives."""
    from neuron_desktop.core.imageio import from_tensor, save_mask
    from neuron_desktop.core.progress import Extra

    try:
        event = next(gen)
        while True:
            if isinstance(event, Extra) and event.name == "confidence":
                save_mask(path, from_tensor(event.value.cpu()))
            yield event
            event = next(gen)
    except StopIteration as stop:
        return stop.value


CAPABILITY = Capability(
    name="colorize",
    title="Colorize",
    help="colorize black-and-white (or sepia) photos",
    icon="mdi6.palette",
    needs=("hints",),
    weights=(pc.DEFAULT_WEIGHTS,),
    order=10,
    run=_run,
    prepare=_prepare,
    uses=lambda p, device: (pc.DEFAULT_WEIGHTS if p["weights"] == "default" else p["weights"],
                            *((pc.RESTORER,) if p.get("clean_view") != "off" else ())),
    params=(
        Param("vividness", float, pc.DEFAULT_VIVIDNESS, min=0.0, max=1.0, step=0.05,
              percent=True, label="Vividness",
              help="How much colour the automatic colours get: higher is bolder but more "
                   "often wrong, lower is calmer and safer; 50 % is the measured balance. "
                   "Your hints keep their own colour"),
        Param("temperature", float, pc.DEFAULT_TEMPERATURE, min=0.01, max=2.0, step=0.02,
              scope="cli",
              help="how a colour is picked from the model's candidates: low takes the "
                   "likeliest, high averages them (0.2 measured best; it changes the amount "
                   "of colour little: use --vividness for that)"),
        Param("prior_correction", float, None, min=0.0, max=1.0, scope="cli",
              help="0..1: undo the training's push towards rare colours; higher = calmer "
                   f"colours (default {pc.DEFAULT_PRIOR_CORRECTION}, "
                   f"{pc.HINTED_PRIOR_CORRECTION} with hints); overrides --vividness"),
        Param("render_size", int, pc.DEFAULT_RENDER_SIZE, min=64, max=2048, step=64,
              suffix=" px", label="Model's view size",
              help="How large the model sees the photo (long side): larger notices smaller "
                   "things but is slower; the colours are then fitted to the full-size photo"),
        Param("refine", bool, True, label="Fit colours to the photo's edges",
              help="Fit the colours to the edges of the full-resolution photo, so they do "
                   "not bleed (recommended)"),
        Param("weights", str, "default", scope="cli", help="colorizer weights name"),
        Param("confidence", str, None, scope="cli", batch=False,
              help="also write where the model is sure of its colours to this PNG (white: "
                   "sure, dark: unsure — a colour hint there helps most)"),
        Param("live", bool, True, scope="editor", label="Live update with every edit",
              help="Re-run colorization after every hint edit or Vividness change (latest "
                   "edit wins); Apply commits the result to the history"),
        Param("clean_view", str, pc.DEFAULT_CLEAN_VIEW, label="Look past grain and fading",
              choices=(Choice("auto", "Where damaged",
                              "Only where the restorer finds grain, blur or JPEG damage (on "
                              "clean photos the network reads them as they are)", "restorer"),
                       Choice("on", "Always", "Always read a cleaned copy", "restorer"),
                       Choice("off", "Never", "Read the photo as it is")),
              help="The model reads a copy of the photo cleaned by the restorer: a damaged "
                   "print keeps more colour, though not more accurate colour (for that, "
                   "restore the print first). auto: only where the restorer finds damage; "
                   "the photo keeps its own detail"),
        Param("reference", str, None, label="Colour reference", image_file=True,
              help="A colour photo of the same place, people or time: each part of the "
                   "photo takes the colours of the parts of the reference that look like it "
                   "(an unrelated photo misleads them)"),
        Param("reference_strength", float, pc.DEFAULT_REFERENCE_STRENGTH, min=0.0, max=1.0,
              percent=True, label="Reference strength", shown_when=("reference", "*"),
              help="How strongly the colour reference's colours are followed"),
    ),
)
