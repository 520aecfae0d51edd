"""Progress/cancel protocol for generator pipelines.

A pipeline is a generator function: it yields ``Progress`` and ``Preview`` events and
*returns* its result (``StopIteration.value``). Callers drive it with ``run_pipeline``;
cancellation is cooperative: the driver raises ``Cancelled`` at the next event.
Nested sub-steps map their own 0..1 range into a slice of the parent with
``wrap_progress``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from typing import Any, TypeVar

T = TypeVar("T")


class Cancelled(Exception):
    """Raised inside a pipeline (or by its driver) when the user cancelled the job."""


@dataclass(frozen=True)
class Progress:
    """Fraction done in [0, 1] and a short message for the status bar."""

    fraction: float
    message: str = ""


@dataclass(frozen=True)
class Fallback(Progress):
    """Out of memory: the step starts again with smaller tiles or on the CPU (``message``
    says which). Yielded by ``core.device.run_with_fallback``; front ends report it."""


@dataclass(frozen=True)
class Preview:
    """An intermediate result to show: float32 RGB tensor (1, 3, h, w) in [0, 1], any size."""

    image: Any
    fraction: float = 0.0
    message: str = ""


@dataclass(frozen=True)
class Extra:
    """A named by-product of a pipeline (e.g. the colorizer's confidence map), a tensor."""

    name: str
    value: Any


Event = Progress | Preview | Extra
Pipeline = Generator[Event, None, T]


class CancelToken:
    """Thread-safe cancel flag shared between a GUI/CLI and a running pipeline."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled by the user")


def wrap_progress(gen: Pipeline[T], start: float, end: float) -> Pipeline[T]:
    """Re-yield ``gen``'s events with fractions mapped from [0, 1] into [start, end]."""
    span = end - start

    def fmap(f: float) -> float:
        return start + span * min(max(f, 0.0), 1.0)

    def scaled(event: Event) -> Event:
        if isinstance(event, Progress):  # a Fallback stays one
            return replace(event, fraction=fmap(event.fraction))
        if isinstance(event, Extra):
            return event
        return Preview(event.image, fmap(event.fraction), event.message)

    result = yield from map_events(gen, scaled)
    return result


def map_events(gen: Pipeline[T], fn: Callable[[Event], Event]) -> Pipeline[T]:
    """Re-yield ``fn(event)`` for each of ``gen``'s events; return its result."""
    try:
        event = next(gen)
        while True:
            sent = yield fn(event)
            event = gen.send(sent)
    except StopIteration as stop:
        return stop.value


def run_pipeline(
    gen: Pipeline[T],
    on_progress: Callable[[Progress], None] | None = None,
    on_preview: Callable[[Preview], None] | None = None,
    cancel: CancelToken | None = None,
    on_extra: Callable[[Extra], None] | None = None,
) -> T:
    """Drive ``gen`` to completion, dispatching events; raise ``Cancelled`` on cancel.

    On cancel the generator is closed (its ``finally`` blocks run) before ``Cancelled``
    propagates, so no half-finished state leaks out.
    """
    try:
        while True:
            if cancel is not None and cancel.cancelled:
                gen.close()
                raise Cancelled("cancelled by the user")
            try:
                event = next(gen)
            except StopIteration as stop:
                return stop.value
            if isinstance(event, Progress) and on_progress is not None:
                on_progress(event)
            elif isinstance(event, Preview) and on_preview is not None:
                on_preview(event)
            elif isinstance(event, Extra) and on_extra is not None:
                on_extra(event)
    finally:
        gen.close()


