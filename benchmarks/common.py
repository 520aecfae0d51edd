"""Helpers shared by the benchmark files: timing and result rows."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def measure(fn: Callable[[], object], *, device: str = "cpu", repeat: int = 5,
            warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds (device synchronised around each call)."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def rows_with_ratios(rows: list[dict], baseline_impl: str) -> list[dict]:
    """Add 'baseline' and 'speedup_vs_baseline' (baseline time / this time) within a benchmark."""
    base = {r["benchmark"]: r["seconds"] for r in rows if r["impl"] == baseline_impl}
    for r in rows:
        if r["benchmark"] in base:
            r["baseline"] = baseline_impl
            r["speedup_vs_baseline"] = base[r["benchmark"]] / r["seconds"]
    return rows
