"""Batch throughput: the restore-scan recipe, local engine vs one-by-one CLI calls vs Ray.

    PYTHONPATH=. python benchmarks/bench_batch.py [--small 200] [--large 20] [--cli 10]
        [--cli-large 2] [--ray] [--workers N] [--note TEXT]
        [--out benchmarks/results/batch-cpu.json]

Photos are generated (scratched gray "scans"; small = 320x240, large = 4000x3000 = 12 MP),
never taken from the shared data. Each run is a separate process (``neuron batch ...``) so
its peak RSS (largest process: the driver or one worker) is measured alone with
``RUSAGE_CHILDREN``. "cli" is the pre-batch way: per photo one ``neuron detect-scratches``,
one ``neuron inpaint --mask`` and one ``neuron colorize`` process (models load every time);
it is run on the first ``--cli`` small photos only (it is slow) and reported per photo.
Prints a table and writes JSON, including the mean seconds per step from the state DB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def make_scans(folder: Path, n: int, size: tuple[int, int], seed: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    paths = []
    for i in range(n):
        g = 0.45 + 0.25 * np.sin(x / (w / (3 + i % 7))) * np.cos(y / (h / 5)) \
            + 0.04 * rng.standard_normal((h, w), dtype=np.float32)
        for _ in range(3):  # scratches and a dust speck
            r = rng.integers(0, h)
            g[r:r + max(1, h // 300), rng.integers(0, w // 2):] = 0.95
        cy, cx = rng.integers(h // 4, 3 * h // 4), rng.integers(w // 4, 3 * w // 4)
        g[cy:cy + max(2, h // 100), cx:cx + max(2, w // 100)] = 0.05
        img = (np.clip(g, 0, 1) * 255).astype(np.uint8)
        paths.append(folder / f"scan{i:04d}.jpg")
        Image.fromarray(img).save(paths[-1], quality=92)
    return paths


_WRAPPER = ("import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
            "sys.exit(rc)")


def run(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of the largest process of one command (measured by a
    fresh wrapper process, so runs do not mix; Ray's workers are not its descendants)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _WRAPPER, sys.executable, "-m",
                           "neuron_desktop.cli", *args], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode:
        raise RuntimeError(f"neuron {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return seconds, int(done.stderr.strip().splitlines()[-1]) / 1024


def step_seconds(out: Path, kind: str) -> dict[str, float]:
    """Mean seconds per photo and step ("wall" or "cpu": process CPU time) of done rows."""
    with sqlite3.connect(out / "neuron-batch.sqlite") as db:
        rows = [json.loads(s).get(kind, {}) for (s,) in db.execute(
            "SELECT steps FROM photos WHERE status = 'done'")]
    keys = {k for r in rows for k in r}
    return {k: round(sum(r.get(k, 0) for r in rows) / len(rows), 4) for k in sorted(keys)}


def bench_engine(name: str, photos: Path, out: Path, extra: list[str]) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    seconds, rss = run(["batch", "restore-scan", str(photos), "-o", str(out), "-q", *extra])
    n = len(list(photos.iterdir()))
    return {"impl": name, "photos": n, "seconds": round(seconds, 2),
            "photos_per_s": round(n / seconds, 4), "peak_rss_mib": round(rss),
            "step_wall_s": step_seconds(out, "wall"), "step_cpu_s": step_seconds(out, "cpu")}


def bench_cli(photos: list[Path], out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    seconds, rss = 0.0, 0.0
    for p in photos:
        mask, fixed, final = out / f"{p.stem}.mask.png", out / f"{p.stem}.fixed.png", \
            out / f"{p.stem}.tif"
        for cmd in (["detect-scratches", str(p), "-o", str(mask), "-q"],
                    ["inpaint", str(p), "--mask", str(mask), "-o", str(fixed), "-q"],
                    ["colorize", str(fixed), "-o", str(final), "-q"]):
            s, r = run(cmd)
            seconds, rss = seconds + s, max(rss, r)
    return {"impl": "cli one-by-one", "photos": len(photos), "seconds": round(seconds, 2),
            "photos_per_s": round(len(photos) / seconds, 4), "peak_rss_mib": round(rss),
            "step_wall_s": {}, "step_cpu_s": {}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", type=int, default=200, help="0: only the CLI baseline's")
    ap.add_argument("--large", type=int, default=20, help="12 MP photos (20 in the issue)")
    ap.add_argument("--cli", type=int, default=10, help="small photos for the CLI baseline")
    ap.add_argument("--cli-large", type=int, default=0,
                    help="12 MP photos for the CLI baseline (slow: 3 processes each)")
    ap.add_argument("--note", default="", help="what else ran on the machine (JSON meta)")
    ap.add_argument("--workers", type=int, default=None, help="local workers (CPU cores)")
    ap.add_argument("--ray", action="store_true", help="also Ray (local, all CPUs)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "batch-cpu.json"))
    args = ap.parse_args()
    workers = ["--workers", str(args.workers)] if args.workers is not None else []
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_batch_") as tmp:
        tmp = Path(tmp)
        load_before = os.getloadavg()
        small = make_scans(tmp / "small", max(args.small, args.cli), (320, 240), 0)
        sets = [("small 320x240", tmp / "small")] if args.small else []
        large = []
        if args.large or args.cli_large:
            large = make_scans(tmp / "large", max(args.large, args.cli_large), (4000, 3000), 1)
        if args.large:
            sets.append(("12 MP", tmp / "large"))
        for label, folder in sets:
            row = bench_engine("local engine", folder, tmp / "out-local", workers)
            rows.append({"set": label, **row})
            print(f"{label}: {row}", flush=True)
            if args.ray and label.startswith("small"):
                row = bench_engine("ray engine", folder, tmp / "out-ray", ["--engine", "ray"])
                rows.append({"set": label, **row})
                print(f"{label}: {row}", flush=True)
        if args.cli:
            row = bench_cli(small[:args.cli], tmp / "out-cli")
            rows.append({"set": "small 320x240", **row})
            print(f"cli: {row}", flush=True)
        if args.cli_large:
            row = bench_cli(large[:args.cli_large], tmp / "out-cli-large")
            rows.append({"set": "12 MP", **row})
            print(f"cli 12 MP: {row}", flush=True)
    print(f"\n{'set':<15} {'impl':<16} {'photos':>6} {'s':>8} {'photos/s':>9} {'RSS MiB':>8}")
    for r in rows:
        print(f"{r['set']:<15} {r['impl']:<16} {r['photos']:>6} {r['seconds']:>8.1f} "
              f"{r['photos_per_s']:>9.3f} {r['peak_rss_mib']:>8}")
    meta = {"machine": platform.machine(), "cpus": os.cpu_count(),
            "load_average_at_start": load_before, "load_average_at_end": os.getloadavg(),
            "python": platform.python_version(), "note": args.note}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
