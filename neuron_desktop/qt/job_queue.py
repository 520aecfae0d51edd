"""Jobs never cancel each other silently: a request while a job runs waits its turn.

The editor's :class:`~neuron_desktop.qt.workers.JobManager` runs one job at a time and a
submission cancels the running one. :class:`JobQueue` sits in front of it: a request made
while a job runs is queued (the status bar says so) and started once the running job's
result has been handled. Only live colorization updates replace each other: a live request
replaces a running or waiting live request, never anything else. Esc (Cancel job) stops the
running job and empties the queue.

Requests are started by a callable, so each job takes its snapshot of the document when it
starts (after the jobs before it were committed), not when it was asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

log = logging.getLogger(__name__)


@dataclass
class Waiting:
    name: str
    start: Callable[[], object]
    live: bool = False


class JobQueue(QObject):
    changed = Signal(int)  # number of requests waiting

    def __init__(self, jobs, status: Callable[[str], None], parent=None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.status = status
        self.waiting: list[Waiting] = []
        self._next_timer = QTimer(self)
        self._next_timer.setSingleShot(True)
        self._next_timer.setInterval(0)  # after the finished job's result was handled
        self._next_timer.timeout.connect(self._start_next)
        jobs.busyChanged.connect(lambda busy: busy or self._next_timer.start())

    @property
    def running_live(self) -> bool:
        spec = self.jobs.current_spec
        return spec is not None and bool(spec.payload.get("live"))

    def request(self, name: str, start: Callable[[], object], *, live: bool = False):
        """Start now (returns what ``start`` returns) or queue it (returns None)."""
        if not self.jobs.busy or (live and self.running_live):
            return start()
        if live:  # a newer live update replaces the waiting one
            self.waiting = [w for w in self.waiting if not w.live]
        self.waiting.append(Waiting(name, start, live))
        if not live:
            self.status(f"{name} queued: it starts when {self.jobs.current_name} finishes "
                        f"({len(self.waiting)} waiting)")
        log.info("queued %s behind %s", name, self.jobs.current_name)
        self.changed.emit(len(self.waiting))
        return None

    def clear(self) -> int:
        n, self.waiting = len(self.waiting), []
        if n:
            self.changed.emit(0)
        return n

    def _start_next(self) -> None:
        if self.jobs.busy or not self.waiting:
            return
        w = self.waiting.pop(0)
        self.changed.emit(len(self.waiting))
        log.info("starting queued %s", w.name)
        w.start()

    def stop(self) -> None:
        self._next_timer.stop()
        self.clear()
