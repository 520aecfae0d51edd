"""The restorer's toolset, added to a built window in one call: the Scan dock and its
canvas tools (``scan_tools.py``), mask shapes and brush resizing (``mask_tools.py``), the
Help menu's shortcuts and user guide and the no-photo state (``help.py``)."""

from __future__ import annotations


def install(window) -> None:
    """Add the toolset to ``window`` (after its docks, menus and toolbar exist)."""
    from neuron_desktop.qt import dock_layout, export, help, mask_tools, scan_tools

    scan_tools.install(window)
    mask_tools.install(window)
    export.install(window)  # File: Export before/after, Export options (JPEG quality)
    help.install(window)  # lists every action made above
    dock_layout.install(window)  # last: sizes the docks around what they hold
