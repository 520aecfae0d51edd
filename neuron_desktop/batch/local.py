"""The local engine: worker processes on this machine, each loading the models once.

The driver (the calling thread) owns the state database: it hands at most two photos per
worker out at a time, marks them ``running``, and records each result as it comes back.
``workers=0`` runs in the calling process (the editor's dialog on small jobs, tests).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from neuron_desktop.batch.job import tmp_dir
from neuron_desktop.batch.recipe import Recipe
from neuron_desktop.batch.state import JobState
from neuron_desktop.batch.steps import Processor, check_weights
from neuron_desktop.core.progress import Cancelled

log = logging.getLogger(__name__)

OnResult = Callable[[dict, JobState], None]
_PROCESSOR: Processor | None = None  # one per worker process


def default_workers(device: str | None = None) -> int:
    """One worker per CPU core; one per GPU when photos run on a GPU."""
    from neuron_desktop.core.device import choose_device

    if choose_device(device).type != "cpu":
        import torch

        return max(1, torch.cuda.device_count())
    return os.cpu_count() or 1


def threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def _init_worker(recipe: Recipe, device: str | None, threads: int, tmp: Path) -> None:
    global _PROCESSOR
    logging.basicConfig(level=logging.WARNING)
    _PROCESSOR = Processor(recipe, device, threads, tmp)


def _run_one(job: dict) -> dict:
    assert _PROCESSOR is not None, "worker not initialised"
    return _PROCESSOR(job)


def run_local(recipe: Recipe, state: JobState, *, workers: int | None = None,
              device: str | None = None, threads: int | None = None, cancel=None,
              on_result: OnResult | None = None) -> None:
    """Run the pending rows of ``state``. ``cancel``: an object with ``.cancelled``; on
    cancel no new photo starts, those in flight finish, and ``Cancelled`` is raised."""
    check_weights(recipe, device)  # here, not in a worker that could only die of it
    workers = default_workers(device) if workers is None else workers
    tmp = tmp_dir(state.path.parent)
    jobs = state.pending()
    log.info("local engine: %d photos, %d workers", len(jobs), workers)
    if workers == 0:
        processor = Processor(recipe, device, threads, tmp)
        for job in jobs:
            if cancel is not None and cancel.cancelled:
                raise Cancelled("batch cancelled")
            state.start([job["key"]])
            _record(state, processor(job), on_result)
        return
    threads = threads or threads_per_worker(workers)
    jobs.reverse()  # pop() from the end keeps the sorted order
    while jobs:
        _run_pool(recipe, state, jobs, workers, device, threads, tmp, cancel, on_result)


def _run_pool(recipe, state, jobs, workers, device, threads, tmp, cancel, on_result) -> None:
    """Run ``jobs`` (popped as they go) until done, cancelled, or the pool breaks."""
    ctx = multiprocessing.get_context("spawn")  # no fork: torch's threads do not survive it
    inflight: dict[Future, dict] = {}
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(recipe, device, threads, tmp)) as pool:
        try:
            while jobs or inflight:
                cancelled = cancel is not None and cancel.cancelled
                while jobs and len(inflight) < 2 * workers and not cancelled:
                    job = jobs.pop()
                    try:
                        inflight[pool.submit(_run_one, job)] = job
                    except BrokenProcessPool:
                        jobs.append(job)  # not started: the next pool takes it
                        raise
                    state.start([job["key"]])
                if cancelled:
                    for fut in [f for f in inflight if f.cancel()]:
                        state.release([inflight.pop(fut)["key"]])
                    if not inflight:
                        raise Cancelled("batch cancelled")
                done, _ = wait(inflight, timeout=0.5, return_when=FIRST_COMPLETED)
                for fut in done:
                    job = inflight.pop(fut)
                    try:
                        result = fut.result()
                    except BrokenProcessPool:
                        result = {"key": job["key"], "status": "failed",
                                  "error": "the worker process died (out of memory?)"}
                    _record(state, result, on_result)
        except BrokenProcessPool:
            log.error("worker pool broke; restarting it")
        finally:
            for job in inflight.values():
                state.release([job["key"]])


def _record(state: JobState, result: dict, on_result: OnResult | None) -> None:
    state.finish(result)
    if result["status"] == "failed":
        log.info("failed: %s", result.get("error"))
    if on_result is not None:
        on_result(result, state)
