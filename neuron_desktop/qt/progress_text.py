"""Progress in words with the time left, in the status bar, for every long job.

"Colorizing… 40 % — about 12 s left": :class:`ProgressText` listens to the window's job
managers (operations, photo loading, whole-mask edits, scan basics) and shows the running
job's name as a verb, its percentage and the time left, estimated from the rate of progress
so far (smoothed; shown once the job has run for a moment and made some progress). The text
sits in a permanent label beside the progress bar, so passing status messages do not hide
it. The phase text a pipeline reports (e.g. "Loading the model") stays in the tooltip.

The same fraction goes to the taskbar / dock icon where the platform has a way
(``taskbar.py``: the LauncherEntry D-Bus signal on Linux, ITaskbarList3 on Windows).
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel

from neuron_desktop.qt import taskbar
from neuron_desktop.qt.taskbar import TaskbarProgress

MIN_ELAPSED_S = 0.8  # no estimate before the job has run this long ...
MIN_FRACTION = 0.03  # ... and made this much progress
SMOOTHING = 0.3  # weight of the newest estimate
VERBS = {"colorize": "Colorizing", "inpaint": "Inpainting", "refine": "Refining",
         "stylize": "Stylizing", "restore": "Restoring", "denoise": "Denoising",
         "detect": "Detecting", "open": "Opening", "opening": "Opening", "crop": "Cropping",
         "rotate": "Rotating", "flip": "Flipping", "straighten": "Straightening",
         "clear": "Clearing", "invert": "Inverting", "import": "Importing",
         "grow": "Growing", "shrink": "Shrinking", "feather": "Feathering",
         "restoring": "Restoring", "suggest": "Suggesting",
         "load": "Loading", "loading": "Loading", "save": "Saving", "export": "Exporting"}


def doing(name: str) -> str:
    """A job name as what is being done: "Colorize" -> "Colorizing", "Levels" -> "Applying
    levels"."""
    first, _, rest = name.strip().partition(" ")
    verb = VERBS.get(first.lower().rstrip("…:"))
    if verb is None:
        return f"Applying {name.strip().lower()}" if name.strip() else "Working"
    return f"{verb} {rest}".strip()


def time_left(seconds: float) -> str:
    if seconds < 1.5:
        return "about 1 s left"
    if seconds < 60:
        return f"about {round(seconds)} s left"
    minutes = seconds / 60
    if minutes < 60:
        return f"about {round(minutes)} min left"
    return f"about {minutes / 60:.1f} h left"


class Estimate:
    """Time left from the progress so far: elapsed x (1 - f) / f, smoothed."""

    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self.start = clock()
        self.left: float | None = None

    def update(self, fraction: float) -> float | None:
        elapsed = self.clock() - self.start
        if elapsed < MIN_ELAPSED_S or fraction < MIN_FRACTION or fraction >= 1:
            return self.left if fraction < 1 else 0.0
        raw = elapsed * (1 - fraction) / fraction
        self.left = raw if self.left is None else (SMOOTHING * raw
                                                   + (1 - SMOOTHING) * self.left)
        return self.left


def describe(name: str, fraction: float, left: float | None) -> str:
    text = f"{doing(name)}… {max(0, min(100, round(fraction * 100)))} %"
    return text + (f" — {time_left(left)}" if left is not None and fraction < 1 else "")


class ProgressText(QObject):
    """The status bar's words for the running job(s) of ``window``."""

    def __init__(self, window, managers: list, taskbar: TaskbarProgress | None = None) -> None:
        super().__init__(window)
        self.w = window
        self.taskbar = taskbar or TaskbarProgress(None)
        self.label = QLabel()
        self.label.setObjectName("progress_text")
        self.label.hide()
        window.statusBar().insertPermanentWidget(0, self.label)  # left of the progress bar
        self.managers = managers
        self._jobs: dict[int, tuple[str, Estimate]] = {}  # per manager
        for m in managers:
            m.started.connect(lambda name, _dev, m=m: self._started(m, name))
            m.progress.connect(lambda f, text, m=m: self._progress(m, f, text))
            m.busyChanged.connect(lambda busy, m=m: self._busy(m, busy))

    @property
    def text(self) -> str:
        return self.label.text() if self.label.isVisible() else ""

    def _started(self, manager, name: str) -> None:
        self._jobs[id(manager)] = (name, Estimate())
        self._show(name, 0.0, None)
        self.taskbar.update(0.0)

    def _progress(self, manager, fraction: float, phase: str) -> None:
        job = self._jobs.get(id(manager))
        if job is None:
            return
        name, est = job
        self._show(name, fraction, est.update(fraction))
        self.taskbar.update(fraction)
        if phase:
            self.label.setToolTip(phase)

    def _busy(self, manager, busy: bool) -> None:
        if not busy:
            self._jobs.pop(id(manager), None)
            if not any(m.busy for m in self.managers):
                self.label.hide()
                self.label.clear()
                self.taskbar.clear()

    def _show(self, name: str, fraction: float, left: float | None) -> None:
        self.label.setText(describe(name, fraction, left))
        self.label.show()


def install(window) -> ProgressText:
    managers = [window.jobs, window.load_jobs, window.mask_jobs]
    scan = getattr(window, "scan_tools", None)
    if scan is not None:
        managers.append(scan.jobs)
    window.progress_text = ProgressText(window, managers, taskbar.install(window))
    return window.progress_text
