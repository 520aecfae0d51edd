"""A fill of one region (fill as you paint, compare methods) and its commit as one undo
step: the image inside the region's box and the mask there, as tile diffs of that box."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtGui import QImage

from neuron_desktop import capabilities
from neuron_desktop.core.clone import patch_diff
from neuron_desktop.qt.commands import EditCommand
from neuron_desktop.qt.jobs import step_entry

Box = tuple[int, int, int, int]

METHOD_WORDS = {"harmonic": "Smooth (harmonic)", "telea": "Fast (Telea)",
                "ns": "Fast (Navier-Stokes)", "exemplar": "Copy texture (exemplar)",
                "network-fast": "Network, fast", "network": "Network"}


@dataclass
class Fill:
    """A fill computed for ``box``: its pixels, from the document at ``revisions``."""

    box: Box
    pixels: np.ndarray
    method: str
    revisions: dict
    image: QImage | None = None
    seconds: float = 0.0


def commit_fill(window, fill: Fill, name: str) -> bool:
    """Apply ``fill`` to the window's photo as one undo step (the image inside its box,
    and the mask there cleared); False when the photo or mask changed since."""
    doc = window.doc
    if doc is None or any(doc.revisions[k] != v for k, v in fill.revisions.items()):
        window.statusBar().showMessage("The photo or mask changed since this fill was made: "
                                       "it was not applied", 6000)
        return False
    x0, y0, x1, y1 = fill.box
    diffs = [patch_diff("image", doc.image, fill.box, fill.pixels),
             patch_diff("mask", doc.mask, fill.box, np.zeros((y1 - y0, x1 - x0), np.float32))]
    cmd = EditCommand(doc, name, diffs=diffs)
    cap = capabilities.get("inpaint")
    params = {**window.capability_params("inpaint"), "method": fill.method}
    record = step_entry(cap, params)
    record["name"] = name
    record["params"] = {**record["params"], "region": [int(v) for v in fill.box]}
    cmd.record = record
    if not cmd.changes_nothing:
        window.history.push(cmd)
    return True


def fill_name(method: str) -> str:
    """The History's name of a fill by ``method``."""
    return f"Fill: {METHOD_WORDS.get(method, method)}"
