"""Run pipeline generators off the GUI thread and report through Qt signals.

A :class:`JobSpec` says how to build a pipeline on a device (on the worker thread, so even
model loading stays off the GUI thread); a :class:`JobManager` runs one job at a time for a
document: submitting a new job cancels the previous one (latest request wins) and signals
of superseded jobs are dropped. Cancellation is cooperative (between steps or tiles) through
the core ``CancelToken``. Out-of-memory retries (smaller tiles, then the CPU) happen inside
the pipelines (``core.device.run_with_fallback``); the worker only reports each
``Fallback`` event as a message.

The GUI thread only receives ready data: previews arrive as QImages (converted and
downscaled on the worker) and progress is throttled to about 30 signals a second.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from neuron_desktop.core.device import choose_device
from neuron_desktop.core.errors import NeuronError
from neuron_desktop.core.progress import (
    Cancelled,
    CancelToken,
    Fallback,
    Preview,
    Progress,
    run_pipeline,
)
from neuron_desktop.qt.qimage import to_qimage

log = logging.getLogger(__name__)

_job_ids = itertools.count(1)
WORKER_NICENESS = 10
PROGRESS_INTERVAL = 1 / 30  # seconds between progress signals (except phase changes, 100 %)


def lower_thread_priority(niceness: int = WORKER_NICENESS) -> None:
    """Make the calling worker thread yield the CPU to the GUI thread: its nice value
    becomes the process's (the GUI thread's) plus ``niceness`` (Linux per-thread nice;
    elsewhere a no-op). Keeps the editor responsive on busy machines."""
    try:
        tid = threading.get_native_id()
        target = min(19, os.getpriority(os.PRIO_PROCESS, os.getpid()) + niceness)
        if os.getpriority(os.PRIO_PROCESS, tid) < target:
            os.setpriority(os.PRIO_PROCESS, tid, target)
    except (AttributeError, OSError):
        pass


def tensor_preview(image: Any, max_side: int = 1024) -> np.ndarray:
    """A Preview's (1, 3, h, w) tensor (or an (h, w, 3) array) -> float32 (h', w', 3) in
    [0, 1], area-downscaled so its longer side is at most ``max_side``."""
    import cv2
    import torch

    if isinstance(image, torch.Tensor):
        x = image.detach().to("cpu", torch.float32)
        x = x[0] if x.ndim == 4 else x
        arr = x.permute(1, 2, 0).numpy()
    else:
        arr = np.asarray(image, np.float32)
    arr = np.clip(arr, 0.0, 1.0)
    h, w = arr.shape[:2]
    scale = max_side / max(h, w)
    if scale < 1:
        arr = cv2.resize(arr, (max(1, round(w * scale)), max(1, round(h * scale))),
                         interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(arr, dtype=np.float32)


@dataclass
class JobSpec:
    """A job: ``make(device, cancel)`` returns the pipeline generator.

    ``postprocess(result)`` runs on the worker thread too (e.g. tensor -> array), so the GUI
    thread only receives ready data.
    """

    name: str
    make: Callable[..., Any]
    device: str | None = None
    postprocess: Callable[[Any], Any] | None = None
    preview_side: int = 1024
    payload: dict = field(default_factory=dict)  # carried back with the result


class JobSignals(QObject):
    started = Signal(int, str)  # job id, device description
    progress = Signal(int, float, str)
    preview = Signal(int, object)  # QImage
    message = Signal(int, str)  # out-of-memory fallbacks (Fallback events)
    finished = Signal(int, object)
    error = Signal(int, object)  # the exception
    cancelled = Signal(int)


class _Runnable(QRunnable):
    def __init__(self, job_id: int, spec: JobSpec, signals: JobSignals,
                 token: CancelToken) -> None:
        super().__init__()
        self.job_id, self.spec, self.signals, self.token = job_id, spec, signals, token
        self.setAutoDelete(True)

    def run(self) -> None:
        jid, spec, sig, token = self.job_id, self.spec, self.signals, self.token
        lower_thread_priority()
        try:
            token.check()
            device = choose_device(spec.device)
            sig.started.emit(jid, str(device))
            gen = spec.make(device, token)
            last = [float("-inf"), None]  # time and message of the last progress signal

            def on_progress(e: Progress, force: bool = False) -> None:
                if isinstance(e, Fallback):
                    sig.message.emit(jid, e.message)
                now = time.monotonic()
                if (force or e.fraction >= 1 or e.message != last[1]
                        or now - last[0] >= PROGRESS_INTERVAL):
                    last[:] = [now, e.message]
                    sig.progress.emit(jid, float(e.fraction), e.message)

            def on_preview(e: Preview) -> None:
                sig.preview.emit(jid, to_qimage(tensor_preview(e.image, spec.preview_side)))
                on_progress(e, force=True)

            result = run_pipeline(gen, on_progress, on_preview, token)
            if spec.postprocess is not None:
                result = spec.postprocess(result)
            token.check()
        except Cancelled:
            sig.cancelled.emit(jid)
        except NeuronError as exc:  # an expected, explained error (a bad mask, an unreadable file)
            log.warning("job %r: %s", spec.name, exc)
            sig.error.emit(jid, exc)
        except BaseException as exc:  # reported to the GUI, never raised into Qt
            log.error("job %r failed", spec.name, exc_info=True)
            sig.error.emit(jid, exc)
        else:
            sig.finished.emit(jid, result)


class JobManager(QObject):
    """One running job at a time; a new submission cancels the current one."""

    started = Signal(str, str)  # job name, device
    progress = Signal(float, str)
    preview = Signal(object)  # QImage
    message = Signal(str)
    finished = Signal(str, object, object)  # name, result, JobSpec
    error = Signal(str, object, object)  # name, exception, JobSpec
    cancelled = Signal(str)
    busyChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None, pool: QThreadPool | None = None) -> None:
        super().__init__(parent)
        self.pool = pool or QThreadPool.globalInstance()
        self._current: int | None = None
        self._jobs: dict[int, tuple[JobSpec, JobSignals, CancelToken]] = {}

    @property
    def busy(self) -> bool:
        return self._current is not None

    @property
    def current_spec(self) -> JobSpec | None:
        return None if self._current is None else self._jobs[self._current][0]

    @property
    def current_name(self) -> str | None:
        return None if self._current is None else self._jobs[self._current][0].name

    def submit(self, spec: JobSpec) -> int:
        """Start ``spec`` on the pool, cancelling any current job; returns its id."""
        self.cancel()
        jid = next(_job_ids)
        sig, token = JobSignals(), CancelToken()
        sig.started.connect(self._on_started)
        sig.progress.connect(self._on_progress)
        sig.preview.connect(self._on_preview)
        sig.message.connect(self._on_message)
        sig.finished.connect(self._on_finished)
        sig.error.connect(self._on_error)
        sig.cancelled.connect(self._on_cancelled)
        self._jobs[jid] = (spec, sig, token)
        self._current = jid
        self.busyChanged.emit(True)
        self.pool.start(_Runnable(jid, spec, sig, token))
        return jid

    def cancel(self) -> None:
        """Ask the current job to stop; its signals are ignored from now on."""
        if self._current is None:
            return
        name = self._jobs[self._current][0].name
        self._jobs[self._current][2].cancel()
        self._current = None
        self.busyChanged.emit(False)
        self.cancelled.emit(name)

    def wait(self, msecs: int = 30000) -> bool:
        """Block until every job of the pool has finished (shutdown, tests)."""
        return self.pool.waitForDone(msecs)

    def shutdown(self, msecs: int = 30000) -> bool:
        for _, _, token in self._jobs.values():
            token.cancel()
        self._current = None
        return self.wait(msecs)

    # slots (GUI thread) ---------------------------------------------------------------

    def _live(self, jid: int) -> bool:
        return jid == self._current

    def _done(self, jid: int) -> JobSpec | None:
        spec_sig = self._jobs.pop(jid, None)
        if jid == self._current:
            self._current = None
            self.busyChanged.emit(False)
            return spec_sig[0] if spec_sig else None
        return None

    def _on_started(self, jid: int, device: str) -> None:
        if self._live(jid):
            self.started.emit(self._jobs[jid][0].name, device)

    def _on_progress(self, jid: int, fraction: float, text: str) -> None:
        if self._live(jid):
            self.progress.emit(fraction, text)

    def _on_preview(self, jid: int, image: object) -> None:
        if self._live(jid):
            self.preview.emit(image)

    def _on_message(self, jid: int, text: str) -> None:
        if self._live(jid):
            self.message.emit(text)

    def _on_finished(self, jid: int, result: object) -> None:
        spec = self._done(jid)
        if spec is not None:
            self.finished.emit(spec.name, result, spec)

    def _on_error(self, jid: int, exc: object) -> None:
        spec = self._done(jid)
        if spec is not None:
            self.error.emit(spec.name, exc, spec)

    def _on_cancelled(self, jid: int) -> None:
        self._jobs.pop(jid, None)  # the "cancelled" signal went out when cancel() was called
