"""What every training loop shares: the cosine learning-rate schedule, and resumable
checkpoints (model/optimiser states, RNG states, step, history and the recipe fields a
resumed run must share)."""

from __future__ import annotations

import argparse
import json
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuron_desktop.core.errors import NeuronError


def cosine_lr(recipe: Any, step: int, warmup: int = 0) -> float:
    """``recipe.lr`` decayed to ``recipe.lr_final`` along a half cosine over
    ``recipe.steps``, after a linear warm-up over the first ``warmup`` steps."""
    t = min(step / max(recipe.steps, 1), 1.0)
    lr = recipe.lr_final + 0.5 * (recipe.lr - recipe.lr_final) * (1 + math.cos(math.pi * t))
    return lr * min(1.0, (step + 1) / warmup) if warmup else lr


class TimeBudget:
    """``--time-budget`` seconds (0: none) for a run of ``args.steps``: once the step rate
    is known, ``schedule.steps`` (what :func:`cosine_lr` anneals over) shrinks to the steps
    the budget allows, so a time-boxed run still ends its schedule at ``lr_final``."""

    def __init__(self, args: Any, start: int) -> None:
        self.args, self.start, self.t0 = args, start, time.monotonic()
        self.schedule = argparse.Namespace(**vars(args))

    def spent(self, step: int) -> bool:
        budget = getattr(self.args, "time_budget", 0)
        elapsed = time.monotonic() - self.t0
        if not budget:
            return False
        if elapsed >= budget:
            return True
        if step - self.start >= 20:  # the rate is known
            rate = (step - self.start) / elapsed
            self.schedule.steps = min(self.args.steps, self.start + int(rate * budget))
        return False


@contextmanager
def stop_requests():
    """While a training loop runs: SIGTERM or Ctrl-C sets the yielded event, so that the loop
    can stop at the end of its step with a checkpoint; a second one interrupts at once.
    (Signals reach the main thread only: elsewhere the event is never set.)"""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def request(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    old = {s: signal.signal(s, request) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def fixed_fields(recipe: Any, volatile: tuple[str, ...]) -> dict:
    """The recipe as plain JSON minus the fields a resumed run may change (steps, logging)."""
    return {k: v for k, v in json.loads(json.dumps(asdict(recipe))).items() if k not in volatile}


RUN_VOLATILE = ("cmd", "run", "steps", "val_every", "val_limit", "save_every_s", "threads",
                "device", "workers", "time_budget")


def run_fields(args: Any, volatile: tuple[str, ...] = RUN_VOLATILE) -> dict:
    """:func:`fixed_fields` for a script's argparse options."""
    return {k: v for k, v in json.loads(json.dumps(vars(args))).items() if k not in volatile}


def load_checkpoint(path: Path, fixed: dict) -> dict | None:
    """The saved state (weights_only), or None without a checkpoint; a checkpoint of another
    recipe is refused."""
    if not path.exists():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state["fixed"] != fixed:
        raise NeuronError(f"{path} was made with a different recipe; use another run dir")
    return state


def save_checkpoint(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def resume(path: Path, fixed: dict, parts: dict[str, Any], rng, log=print
           ) -> tuple[int, list]:
    """Restore ``parts`` (name -> module or optimiser), the numpy ``rng`` and torch's RNG from
    the checkpoint at ``path`` if there is one; returns (step, history), (0, []) without."""
    if (state := load_checkpoint(path, fixed)) is None:
        return 0, []
    for name, part in parts.items():
        part.load_state_dict(state[name])
    rng.bit_generator.state = state["rng"]
    torch.set_rng_state(state["torch_rng"])
    log(f"resumed from {path} at step {state['step']}")
    return state["step"], state["history"]


def save_run(path: Path, fixed: dict, parts: dict[str, Any], rng, step: int,
             history: list) -> None:
    """The checkpoint :func:`resume` reads."""
    save_checkpoint(path, {**{name: part.state_dict() for name, part in parts.items()},
                           "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                           "step": step, "history": history, "fixed": fixed})


def log_entry(run_dir: Path, entry: dict, log=print) -> None:
    """Print ``entry`` and append it to ``run_dir/log.jsonl``."""
    log(json.dumps(entry))
    with open(run_dir / "log.jsonl", "a") as f:
        f.write(json.dumps(entry) + "\n")


def init_from(net: torch.nn.Module, path: str, log=print) -> None:
    """Load a safetensors state dict (a fine-tuning start) into ``net``: an unreadable file
    or one that does not fit (another width or network) is a one-line error."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(path)
    except (OSError, SafetensorError) as exc:
        raise NeuronError(f"--init '{path}' cannot be read as safetensors weights: "
                          f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                          ) from exc
    load_init(net, state, path, min_share=1.0)
    log(f"initialised from {path}")


def load_init(net: torch.nn.Module, state: dict, source: str | Path,
              min_share: float = 0.5) -> None:
    """Start ``net`` from ``state`` (a ``--init`` checkpoint), refusing one that does not
    fit: any tensor of another shape, or fewer than ``min_share`` of the network's
    trainable tensors found (a checkpoint of another network would otherwise be skipped
    silently by ``strict=False`` and training would start from scratch)."""
    own = net.state_dict()
    trainable = (set(net.trainable_state_dict()) if hasattr(net, "trainable_state_dict")
                 else {k for k, p in net.named_parameters() if p.requires_grad})
    wrong = [f"{k} {tuple(v.shape)} (network: {tuple(own[k].shape)})" for k, v in state.items()
             if k in own and tuple(v.shape) != tuple(own[k].shape)]
    if wrong:
        raise NeuronError(f"--init '{source}' does not fit this network: {len(wrong)} "
                          f"tensor(s) have another shape, e.g. {wrong[0]}; was it made with "
                          "another --width or network?")
    bad = [k for k, v in state.items()
           if torch.is_tensor(v) and v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise NeuronError(f"--init '{source}' holds NaN or infinite values ({len(bad)} "
                          f"tensor(s), e.g. {bad[0]}); it is damaged or diverged")
    found = sum(1 for k in trainable if k in state)
    if trainable and found < min_share * len(trainable):
        raise NeuronError(f"--init '{source}' holds {found} of the network's "
                          f"{len(trainable)} trainable tensors; it is a checkpoint of another "
                          "network")
    net.load_state_dict(state, strict=False)


def end_of_step(args: Any, run_dir: Path, history: list, train: dict,
                validate: Callable[[], dict], save: Callable[[], None], saved_at: float,
                log=print) -> float:
    """A run's cadence after each step (``train["step"]``): every ``args.val_every`` steps
    and at the last, ``train`` plus ``validate()`` is kept in ``history``, logged and saved
    with a checkpoint; between them a checkpoint every ``args.save_every_s`` seconds.
    Returns when it last saved."""
    step = train["step"]
    if step % args.val_every == 0 or step == args.steps:
        entry = {**train, **validate()}
        history.append(entry)
        log_entry(run_dir, entry, log)
    elif time.monotonic() - saved_at <= args.save_every_s:
        return saved_at
    save()
    return time.monotonic()


class _BatchStream(torch.utils.data.IterableDataset):
    """Endless ``make(rng)`` batches in DataLoader worker processes, each worker seeded by
    (seed, starting step, worker index)."""

    def __init__(self, make: Callable[[np.random.Generator], Any], seed: int,
                 start: int) -> None:
        self.make, self.seed, self.start = make, seed, start

    def __iter__(self):
        worker = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, self.start, worker.id if worker else 0])
        while True:
            yield self.make(rng)


def batch_stream(make: Callable[[np.random.Generator], Any], rng: np.random.Generator,
                 seed: int, start: int, workers: int) -> Iterator[Any]:
    """Training batches ``make(rng)``: made here from ``rng`` (``workers`` = 0: a resumed run
    replays the same data) or by ``workers`` processes (fast enough to feed a GPU). Close
    the generator to stop the workers."""
    if workers <= 0:
        while True:
            yield make(rng)
    loader = torch.utils.data.DataLoader(
        _BatchStream(make, seed, start), batch_size=None, num_workers=workers,
        pin_memory=torch.cuda.is_available(), prefetch_factor=4, persistent_workers=True)
    yield from loader
