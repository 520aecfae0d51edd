"""Shared plumbing of the scan basics (crop, rotate, flip, straighten, levels, curves,
auto-contrast, white balance): pipelines around the Qt-free math in ``core/adjust.py``."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from neuron_desktop.core import adjust
from neuron_desktop.core.progress import Pipeline, Progress


def tone(fn: Callable[[Tensor], Tensor], title: str):
    """A run function: ``fn(image)`` as a one-step pipeline."""

    def run(inputs, p, device, cancel) -> Pipeline[Tensor]:
        yield Progress(0.0, title)
        return fn(inputs.image)

    return run


def geometry_run(make: Callable[[dict, int, int], adjust.Geometry]):
    """A run function applying the capability's geometry to the image (CLI, batches)."""

    def run(inputs, p, device, cancel) -> Pipeline[Tensor]:
        _, _, h, w = inputs.image.shape
        g = make(p, w, h)
        yield Progress(0.0, g.describe())
        return inputs.image if g.identity else adjust.apply_to_tensor(g, inputs.image)

    return run


def rgb_text(text: str | None) -> tuple[float, float, float] | None:
    """"r,g,b" in 0..255 -> floats in [0, 1] (None stays None)."""
    if text is None or not str(text).strip():
        return None
    from neuron_desktop.core.errors import NeuronError

    try:
        r, g, b = (float(v) / 255.0 for v in str(text).replace(" ", "").split(","))
    except ValueError as exc:
        raise NeuronError(f"a colour must look like '200,180,160', got {text!r}") from exc
    if not all(0.0 <= c <= 1.0 for c in (r, g, b)):
        raise NeuronError(f"colour values must be between 0 and 255, got {text!r}")
    return r, g, b
