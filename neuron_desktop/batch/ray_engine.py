"""The Ray engine: the same recipe on a Ray cluster with Ray Data (``pip install
'neuron-desktop[cluster]'``; imported only when ``--engine ray`` is asked for).

Pipeline of three stages over a dataset of pending rows:

1. ``decode`` - CPU tasks read and decode each file;
2. ``_StepActor`` - a stateful actor class for the model steps (one step group): each actor
   loads the models once, with ``num_gpus`` per actor on GPU nodes;
3. ``encode`` - CPU tasks encode, embed the edit record and rename the file into place.

The driver keeps the SQLite state and records each row as it streams back, so a cluster job
resumes like a local one. Outputs go to OUT, which on a multi-node cluster must be a folder
every node sees (NFS, a mounted bucket); the state stays on the driver. Photos travel between
stages as pickled :class:`~neuron_desktop.batch.steps.Work` (pixels as float32).
"""

from __future__ import annotations

import logging
import pickle
import time
from pathlib import Path

from neuron_desktop.batch.job import tmp_dir
from neuron_desktop.batch.recipe import Recipe
from neuron_desktop.batch.state import JobState
from neuron_desktop.batch.steps import Processor, check_weights, encode, failure
from neuron_desktop.core.errors import NeuronError

log = logging.getLogger(__name__)


def import_ray():
    """``ray`` and ``ray.data``, or a NeuronError saying how to install them."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise NeuronError("--engine ray needs Ray: pip install 'neuron-desktop[cluster]' "
                          f"({exc})") from exc
    return ray


def _decode_row(row: dict) -> dict:
    start = time.perf_counter()
    try:
        work = Processor.decode(row)
        return {**row, "work": pickle.dumps(work, protocol=5), "error": "", "t0": start}
    except Exception as exc:
        return {**row, "work": b"", "error": failure(row, exc, start)["error"], "t0": start}


class _StepActor:
    """One step group: loads every model step of the recipe once per actor."""

    def __init__(self, recipe: Recipe, device: str | None, threads: int | None) -> None:
        logging.basicConfig(level=logging.WARNING)
        self.processor = Processor(recipe, device, threads)

    def __call__(self, row: dict) -> dict:
        if row["error"]:
            return row
        try:
            work = self.processor.process(pickle.loads(row["work"]))
            return {**row, "work": pickle.dumps(work, protocol=5)}
        except Exception as exc:
            return {**row, "work": b"", "error": failure(row, exc, row["t0"])["error"]}


def _encode_row(row: dict, recipe: Recipe, tmp: str) -> dict:
    job = {k: row[k] for k in ("key", "input", "output")}
    if row["error"]:
        result = {"key": row["key"], "status": "failed", "output": None, "error": row["error"],
                  "seconds": time.perf_counter() - row["t0"], "steps": {}}
    else:
        try:
            result = encode(recipe, job, pickle.loads(row["work"]), row["t0"], Path(tmp))
        except Exception as exc:
            result = failure(job, exc, row["t0"])
    return {"result": pickle.dumps(result)}


def run_ray(recipe: Recipe, state: JobState, *, address: str | None = None,
            actors: int | None = None, device: str | None = None, threads: int | None = None,
            num_cpus: int | None = None, on_result=None) -> None:
    """Run the pending rows of ``state`` on Ray. ``address``: an existing cluster (``auto``
    or ``ray://host:10001``); None starts a local Ray with ``num_cpus`` CPUs."""
    ray = import_ray()
    check_weights(recipe, device)  # on the driver: a missing model is one clear error
    jobs = state.pending()
    if not jobs:
        return
    if not ray.is_initialized():
        ray.init(address=address, num_cpus=None if address else num_cpus,
                 include_dashboard=False, log_to_driver=False)
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0)) if device != "cpu" else 0
    if not actors:  # on CPUs, leave one CPU to the decode and encode tasks (else they starve)
        actors = gpus or max(1, (int(resources.get("CPU", 1)) - 1) // max(1, threads or 1))
    log.info("ray engine: %d photos, %d actors, %d GPUs in the cluster", len(jobs), actors, gpus)
    ds = ray.data.from_items(jobs)
    # decoding asks for less CPU than the actors: different resources keep Ray Data from
    # fusing it into the actor stage, so decoding runs in its own tasks, beside the models
    ds = ds.map(_decode_row, num_cpus=0.5)
    ds = ds.map(_StepActor, fn_constructor_args=(recipe, "cuda" if gpus else device, threads),
                concurrency=actors, num_gpus=1 if gpus else 0, num_cpus=threads or 1)
    ds = ds.map(_encode_row, fn_kwargs={"recipe": recipe, "tmp": str(tmp_dir(state.path.parent))},
                num_cpus=1)
    state.start([j["key"] for j in jobs])
    try:
        for row in ds.iter_rows():
            result = pickle.loads(row["result"])
            state.finish(result)
            if on_result is not None:
                on_result(result, state)
    finally:
        state.release([j["key"] for j in jobs])  # any not finished go back to pending

