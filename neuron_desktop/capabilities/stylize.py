"""Stylize: neural style transfer with a gallery style (fast network) or any image
(arbitrary: feed-forward, quick; Gatys: optimisation, best quality, slow; timings in
docs/style.md).

``style`` is a gallery name, a blend (``{name: weight}`` or the CLI's ``a=0.7,b=0.3``) or a
style image path; ``method`` None picks fast for names and gatys for image files (the
editor's Styles dock picks arbitrary for dropped images).
"""

from __future__ import annotations

from pathlib import Path

from neuron_desktop.capabilities import Capability, Choice, Inputs, Param
from neuron_desktop.core.device import choose_device
from neuron_desktop.core.errors import NeuronError
from neuron_desktop.pipelines import stylize as st
from neuron_desktop.pipelines.stylize_arbitrary import ARBITRARY_WEIGHTS


def style_blend(text: str) -> dict[str, float]:
    """'a=0.7,b=0.3' (a bare name counts 1) -> {name: weight}."""
    out = {}
    for part in filter(None, text.split(",")):
        name, _, value = part.partition("=")
        try:
            out[name.strip()] = float(value) if value else 1.0
        except ValueError as exc:
            raise NeuronError(f"bad style weight in '{part}'") from exc
    return out


def _prepare(p: dict, device) -> dict:
    """Resolve the method, read a style image once, check gallery names before any photo."""
    from neuron_desktop.core.imageio import load_image, to_tensor

    style, method = p["style"], p["method"]
    if isinstance(style, str) and Path(style).is_file():
        method = method or "gatys"
        if method == "fast":
            raise NeuronError("--method fast takes a gallery style name "
                              f"({', '.join(st.gallery_styles())}); use arbitrary or gatys "
                              "for image files")
        style = to_tensor(load_image(style).rgb)
    else:
        method = method or "fast"
        if method in ("gatys", "arbitrary"):
            raise NeuronError(f"style image '{style}' not found ({method} needs a file)")
        if isinstance(style, str) and ("=" in style or "," in style):
            style = style_blend(style)
    bank = None
    if method == "fast":
        dev = choose_device(device)
        bank = (st._cached_bank(str(dev)) if p["weights"] == "default"
                else st.load_style_bank(p["weights"], device=dev))
        bank.weights(style)  # unknown names fail here, before any photo is read
    return {**p, "style": style, "method": method, "bank": bank}


def _run(inputs: Inputs, p: dict, device, cancel):
    if p["method"] == "arbitrary":
        return st.stylize(inputs.image, style=p["style"], method="arbitrary", size=p["size"],
                          strength=p["strength"], preserve_color=p["preserve_color"],
                          device=device, cancel=cancel)
    if p["method"] == "fast":
        return st.fast(inputs.image, p["style"], size=p["size"], strength=p["strength"],
                       preserve_color=p["preserve_color"], bank=p.get("bank"), device=device,
                       cancel=cancel)
    return st.stylize(inputs.image, style=p["style"], method="gatys", size=p["size"],
                      iterations=p["iterations"], strength=p["strength"],
                      preserve_color=p["preserve_color"], full_resolution=True,
                      style_weight=p["style_weight"], device=device, cancel=cancel)


def _uses(p: dict, device) -> tuple[str, ...]:
    """The fast network (or its ``weights``) for gallery styles, the arbitrary network for
    ``arbitrary``; gatys loads no manifest weights."""
    style, method = p["style"], p["method"]
    if method is None:
        method = "gatys" if isinstance(style, str) and Path(style).is_file() else "fast"
    if method == "fast":
        return (st.FAST_WEIGHTS if p["weights"] == "default" else p["weights"],)
    return (ARBITRARY_WEIGHTS,) if method == "arbitrary" else ()


def _title(p: dict) -> str:
    style = p["style"]
    if p["method"] in ("gatys", "arbitrary"):
        return f"Stylize ({Path(style).stem})" if isinstance(style, str) else "Stylize"
    if isinstance(style, dict):
        return f"Stylize (blend of {len(style)} styles)"
    return f"Stylize ({st.style_title(str(style))})"


CAPABILITY = Capability(
    name="stylize",
    title="Stylize",
    help="neural style transfer (gallery styles or any image)",
    icon="mdi6.brush-variant",
    order=50,
    run=_run,
    prepare=_prepare,
    job_title=_title,
    uses=_uses,
    params=(
        Param("style", str, None, required=True, scope="cli",
              help="gallery style name, a blend 'a=0.7,b=0.3', or a style image file"),
        Param("method", str, None, initial="fast",
              help="How the style is painted: gallery styles quickly (fast); a style image "
                   "in about a second (arbitrary) or at best quality, slowly (the default "
                   "for style images)",
              choices=(Choice("fast", "Gallery styles (quick)", "The built-in styles, which "
                              "can be blended: one quick pass at full resolution",
                              st.FAST_WEIGHTS),
                       Choice("arbitrary", "Any style image (instant)",
                              "Any picture as the style, in about a second, without "
                              "learning it first", ARBITRARY_WEIGHTS),
                       Choice("gatys", "Any style image (best quality, slow)",
                              "Repaints the photo step by step until it matches the style "
                              "image: slower, and you see the picture forming"))),
        Param("strength", float, 1.0, min=0.0, max=1.0, percent=True,
              help="Blend of the stylised result with the photo (100 %: fully stylised)"),
        Param("preserve_color", bool, False, label="Preserve the photo's colours",
              help="Transfer the style's brushwork and texture only: the result keeps the "
                   "photo's colours"),
        Param("size", int, None, initial=st.DEFAULT_SIZE, min=16, max=4096, step=64,
              suffix=" px", shown_when=("method", "gatys"),
              label="Painting size",
              help=f"Long side the best-quality style is painted at (usually "
                   f"{st.DEFAULT_SIZE}; the quick ways work at full size): larger gives "
                   "finer brushwork but is much slower"),
        Param("iterations", int, st.DEFAULT_ITERATIONS, min=1, max=5000, step=50,
              suffix=" steps", shown_when=("method", "gatys"), label="Painting steps",
              help="How many times the best-quality way repaints the picture: more gives a "
                   "stronger, cleaner style (a preview every 10 steps)"),
        Param("style_weight", float, None, min=1e-6, max=1e9, scope="cli",
              help="gatys content/style balance: higher = more style (100)"),
        Param("weights", str, "default", scope="cli", help="fast network weights name"),
    ),
)
