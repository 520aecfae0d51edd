"""Compute-device selection, description and out-of-memory fallback for pipelines."""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import TypeVar

import torch

from neuron_desktop.core.errors import NeuronError, is_out_of_memory  # noqa: F401 (re-export)
from neuron_desktop.core.progress import Fallback, Pipeline

log = logging.getLogger(__name__)

T = TypeVar("T")

ENV_DEVICE = "NEURON_DEVICE"
_ATTEMPT = threading.local()  # the fallback attempt now running on this thread


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[str]:
    """Usable device types, best first, e.g. ``["cuda", "cpu"]`` or ``["cpu"]``."""
    devices = []
    if torch.cuda.is_available():
        devices.append("cuda")
    if _mps_available():
        devices.append("mps")
    return [*devices, "cpu"]


def choose_device(preference: str | torch.device | None = None) -> torch.device:
    """Resolve a device preference.

    ``None``/``"auto"``: env ``NEURON_DEVICE`` if set, else CUDA > MPS > CPU. Explicit
    ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"`` (or a ``torch.device``) are checked;
    unavailable -> NeuronError.
    """
    if isinstance(preference, torch.device):
        preference = str(preference)
    if preference is None or preference.strip().lower() in ("", "auto"):
        env = os.environ.get(ENV_DEVICE, "").strip()
        if env and env.lower() != "auto":
            return choose_device(env)
        return torch.device(available_devices()[0])
    try:
        device = torch.device(preference.strip().lower())
    except RuntimeError as exc:
        raise NeuronError(
            f"unknown device {preference!r}; use auto, cpu, cuda, cuda:N or mps"
        ) from exc
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise NeuronError(f"device {preference!r} requested but CUDA is not available")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise NeuronError(
                f"device {preference!r} requested but only {count} CUDA device(s) exist"
            )
        return device
    if device.type == "mps":
        if not _mps_available():
            raise NeuronError(f"device {preference!r} requested but MPS is not available")
        return device
    raise NeuronError(f"unsupported device {preference!r}; use auto, cpu, cuda, cuda:N or mps")


def current_attempt() -> tuple[int, torch.device, int | None] | None:
    """(index, device, tile) of the ``run_with_fallback`` attempt running on this thread (the
    innermost one), or None outside any: lets logs and fault-injection tests see the ladder."""
    return getattr(_ATTEMPT, "value", None)


def describe_device(device: torch.device | str) -> str:
    """Human-readable name, e.g. ``"CUDA: NVIDIA H100 (80 GB)"`` or ``"CPU (2 threads)"``."""
    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(device)
        return f"CUDA: {props.name} ({props.total_memory / 2**30:.0f} GB)"
    if device.type == "mps":
        return "MPS: Apple GPU"
    if device.type == "cpu":
        n = torch.get_num_threads()
        return f"CPU ({n} thread{'s' if n != 1 else ''})"
    return str(device)


def free_device_memory(device: torch.device) -> None:
    """Release cached allocator memory after an OOM (never initialises an absent backend)."""
    gc.collect()
    if device.type == "cuda" and torch.cuda.is_available():
        torch.cuda.empty_cache()
    elif device.type == "mps" and _mps_available():
        torch.mps.empty_cache()


def _attempts(
    device: torch.device, tile_sizes: Iterable[int | None]
) -> list[tuple[torch.device, int | None]]:
    tiles = list(tile_sizes)
    attempts = [(device, t) for t in tiles]
    if device.type != "cpu":
        attempts += [(torch.device("cpu"), t) for t in tiles]
    return attempts


def _describe_attempt(device: torch.device, tile: int | None) -> str:
    return f"{device.type}, " + ("whole image" if tile is None else f"{tile}px tiles")


def run_with_fallback(
    make_job: Callable[[torch.device, int | None], Pipeline[T]],
    *,
    device: torch.device | str,
    tile_sizes: Iterable[int | None] = (None, 1024, 512, 256),
) -> Pipeline[T]:
    """Pipeline: run ``make_job(device, tile)``, retrying on out-of-memory.

    Tries each tile size in order (None = untiled) on ``device``, then, for a GPU, the same
    sizes on CPU. This is the only out-of-memory ladder: pipelines wrap their work in it,
    so the CLI, batch runs and the editor share it. Every fallback is logged and yielded as
    a :class:`~neuron_desktop.core.progress.Fallback` event (front ends only report it);
    the job is re-created from scratch. Non-OOM errors propagate immediately; the last OOM
    is re-raised when every attempt failed.
    """
    attempts = _attempts(torch.device(device), tile_sizes)
    if not attempts:
        raise ValueError("tile_sizes must not be empty")
    for i, (dev, tile) in enumerate(attempts):
        try:
            result = yield from _scoped(make_job(dev, tile), (i, dev, tile))
            return result
        except Exception as exc:
            if not is_out_of_memory(exc) or i == len(attempts) - 1:
                raise
        # Outside the except block so the traceback (and its tensors) can be freed.
        free_device_memory(dev)
        message = (
            f"Out of memory ({_describe_attempt(dev, tile)}); "
            f"retrying with {_describe_attempt(*attempts[i + 1])}"
        )
        log.warning("%s", message)
        yield Fallback(0.0, message)
    raise AssertionError("unreachable")


def _as_generator(events):
    return (yield from events)


def _scoped(gen: Pipeline[T], attempt: tuple) -> Pipeline[T]:
    """Run ``gen`` with ``current_attempt()`` == ``attempt`` while its own code runs; the
    caller's value is put back around every yield. send/throw/close reach ``gen``."""
    if not hasattr(gen, "send"):  # a plain iterator of events: give it the generator API
        gen = _as_generator(gen)
    outer = current_attempt()
    sent, thrown = None, None
    while True:
        _ATTEMPT.value = attempt
        try:
            event = gen.send(sent) if thrown is None else gen.throw(thrown)
        except StopIteration as stop:
            return stop.value
        finally:
            _ATTEMPT.value = outer
        sent, thrown = None, None
        try:
            sent = yield event
        except GeneratorExit:
            gen.close()
            raise
        except BaseException as exc:  # noqa: BLE001 - handed to the job, as yield from does
            thrown = exc
