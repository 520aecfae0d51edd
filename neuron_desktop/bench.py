"""Benchmark runner behind `neuron bench`: discovers benchmarks/bench_*.py in the source tree."""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from neuron_desktop import __version__

BENCH_DIR = Path(__file__).resolve().parent.parent / "benchmarks"


def discover(bench_dir: Path = BENCH_DIR) -> dict[str, Path]:
    """Map benchmark name -> file, for every benchmarks/bench_<name>.py."""
    return {p.stem[len("bench_"):]: p for p in sorted(bench_dir.glob("bench_*.py"))}


def _import(path: Path):
    if str(path.parent.parent) not in sys.path:
        sys.path.insert(0, str(path.parent.parent))  # lets benchmarks import tests.* references
    spec = importlib.util.spec_from_file_location(f"neuron_bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def environment(devices: list[str]) -> dict:
    import cv2
    import numpy
    import torch

    env = {
        "neuron": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "opencv": cv2.__version__,
        "numpy": numpy.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "devices": devices,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(0)
    return env


def print_table(rows: list[dict]) -> None:
    """Print rows as an aligned table: benchmark, implementation, device, time, ratio, target."""
    headers = ["benchmark", "implementation", "device", "median", "vs baseline", "target"]
    lines = []
    for r in rows:
        ratio = r.get("speedup_vs_baseline")
        target = r.get("target", "")
        if target and "meets_target" in r:
            target += " ✓" if r["meets_target"] else " ✗"
        lines.append([
            r["benchmark"], r["impl"], r["device"], _fmt_time(r["seconds"]),
            f"{ratio:.1f}× faster" if ratio and r.get("baseline") != r["impl"] else
            ("baseline" if r.get("baseline") == r["impl"] else ""),
            target,
        ])
        if r.get("throughput"):
            lines[-1][3] += f" ({r['throughput']})"
    widths = [max(len(h), *(len(x[i]) for x in lines)) if lines else len(h)
              for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for x in lines:
        print("  ".join(c.ljust(w) for c, w in zip(x, widths, strict=True)))


def _fmt_time(s: float) -> str:
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def run_benchmarks(
    only: list[str] | None = None,
    device: str | None = None,
    out_dir: str | None = None,
    quick: bool = False,
) -> int:
    from neuron_desktop.core.device import available_devices, choose_device

    found = discover()
    if not found:
        print(f"neuron: error: no benchmarks found in {BENCH_DIR} (a source checkout is needed)",
              file=sys.stderr)
        return 1
    unknown = sorted(set(only or []) - set(found))
    if unknown:
        print(f"neuron: error: unknown benchmark(s) {unknown}; known: {sorted(found)}",
              file=sys.stderr)
        return 2
    devices = ["cpu"]
    accel = choose_device(device)
    if accel.type != "cpu":
        devices.append(str(accel))
    env = environment(available_devices())
    out = Path(out_dir) if out_dir else BENCH_DIR / "results"
    out.mkdir(parents=True, exist_ok=True)
    tag = "gpu" if len(devices) > 1 else "cpu"
    for name in only or found:
        module = _import(found[name])
        print(f"\n== {name} ==", flush=True)
        rows = module.run(devices=devices, quick=quick)
        print_table(rows)
        path = out / f"{name}-{tag}{'-quick' if quick else ''}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"environment": env, "results": rows}, indent=2) + "\n")
        os.replace(tmp, path)
        print(f"wrote {path}")
    return 0
