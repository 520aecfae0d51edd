"""Feedback, added to a built window: the live preview of Detect scratches and its Protect
faces option (``scratch_preview.py``) and progress in words with the time left in the
status bar (``progress_text.py``)."""

from __future__ import annotations


def install(window) -> None:
    from neuron_desktop.qt import progress_text, scratch_preview

    scratch_preview.install(window)
    progress_text.install(window)
