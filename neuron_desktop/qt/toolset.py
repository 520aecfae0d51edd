"""The restorer's toolset, added to a built window in one call: the Scan dock and its
canvas tools (``scan_tools.py``), mask shapes and brush resizing (``mask_tools.py``), the
Help menu's shortcuts and user guide and the no-photo state (``help.py``), the live
scratch preview, progress in words and the plain-words fixes (``feedback.py``)."""

from __future__ import annotations


def install(window) -> None:
    """Add the toolset to ``window`` (after its docks, menus and toolbar exist)."""
    from neuron_desktop.qt import feedback, help, mask_tools, scan_tools

    scan_tools.install(window)
    mask_tools.install(window)
    feedback.install(window)  # live scratch preview, progress words, plain labels
    help.install(window)  # last: lists every action made above
