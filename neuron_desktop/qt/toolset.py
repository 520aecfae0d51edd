"""The restorer's toolset, added to a built window in one call: the Scan dock and its
canvas tools (``scan_tools.py``), mask shapes and brush resizing (``mask_tools.py``), fill as
you paint and compare methods (``live_fill.py``, ``compare_fills.py``), the clone / heal
brush (``clone_tool.py``), the Help menu's shortcuts and user guide and the no-photo state
(``help.py``), the live scratch preview, progress in words and the plain-words fixes
(``feedback.py``)."""

from __future__ import annotations


def install(window) -> None:
    """Add the toolset to ``window`` (after its docks, menus and toolbar exist)."""
    from PySide6.QtCore import QThreadPool

    from neuron_desktop.qt import (
        clone_tool,
        dock_layout,
        export,
        feedback,
        help,
        live_fill,
        mask_tools,
        scan_tools,
    )

    scan_tools.install(window)
    mask_tools.install(window)
    pool = QThreadPool(window)  # retouching never waits behind a long job
    window.live_fill = live_fill.LiveFill(window, pool)
    window.clone_tool = clone_tool.CloneTool(window, window.live_fill.overlay, pool)
    window.on_shutdown = [window.live_fill.shutdown, window.clone_tool.shutdown]
    export.install(window)  # File: Export before/after, Export options (JPEG quality)
    feedback.install(window)  # live scratch preview, progress words, plain labels
    help.install(window)  # lists every action made above
    dock_layout.install(window)  # last: sizes the docks around what they hold
