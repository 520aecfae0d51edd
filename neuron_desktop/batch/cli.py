"""`neuron batch RECIPE IN... -o OUT` and `neuron batch status OUT`.

``add_parser(sub)`` registers the group on the main parser (one line in ``cli.py``).
"""

from __future__ import annotations

import argparse
import sys
import time

from neuron_desktop.core.errors import NeuronError

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def add_parser(sub) -> argparse.ArgumentParser:
    from neuron_desktop.batch.recipe import shipped_recipes

    p = sub.add_parser(
        "batch", help="run a recipe over many photos (resumable); 'batch status OUT'",
        description="Run a recipe (a chain of steps) over files, folders (recursive) or list "
                    "files. Re-running the same command resumes; 'neuron batch status OUT' "
                    "prints counts and failures. Shipped recipes: "
                    + ", ".join(shipped_recipes()) + ".")
    p.add_argument("recipe", metavar="RECIPE",
                   help="a recipe .toml, a shipped recipe name, or 'status'")
    p.add_argument("inputs", nargs="+", metavar="IN",
                   help="photos, folders or .txt lists of paths (for 'status': OUT)")
    p.add_argument("-o", "--output", help="output folder (holds the job's state database)")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local worker processes (default) or a Ray cluster")
    p.add_argument("--address", help="Ray cluster address (default: start a local Ray)")
    p.add_argument("--workers", type=int, default=None,
                   help="local: worker processes (default: CPU cores; 0 = in this process); "
                        "ray: model actors (default: cluster CPUs or GPUs)")
    p.add_argument("--device", default=None, help="cpu, cuda, mps or auto (default)")
    p.add_argument("--retry-failed", action="store_true", help="run failed photos again")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_batch)
    return p


def cmd_batch(args: argparse.Namespace) -> int:
    if args.recipe == "status":
        if len(args.inputs) != 1:
            raise NeuronError("usage: neuron batch status OUT")
        return cmd_status(args.inputs[0])
    if not args.output:
        raise NeuronError("neuron batch needs -o OUT (an output folder)")
    if args.workers is not None and args.workers < 0:
        raise NeuronError("--workers must be 0 or more")
    return run_batch(args)


def run_batch(args: argparse.Namespace) -> int:
    from neuron_desktop.batch.job import prepare_job
    from neuron_desktop.batch.recipe import load_recipe

    recipe = load_recipe(args.recipe)
    with prepare_job(recipe, args.inputs, args.output, retry_failed=args.retry_failed) as state:
        counts = state.counts()
        print(f"{recipe.name}: {counts.total} photos, {counts.done} already done, "
              f"{counts.pending} to do, {counts.failed} failed before", file=sys.stderr)
        report = _Reporter(counts.pending, args.quiet)
        if args.engine == "ray":
            from neuron_desktop.batch.ray_engine import run_ray

            run_ray(recipe, state, address=args.address, actors=args.workers,
                    device=args.device, on_result=report)
        else:
            from neuron_desktop.batch.local import run_local

            run_local(recipe, state, workers=args.workers, device=args.device,
                      on_result=report)
        return print_status(state, report.elapsed())


def cmd_status(out_dir: str) -> int:
    from neuron_desktop.batch.state import open_state

    with open_state(out_dir) as state:
        return print_status(state)


def print_status(state, elapsed: float | None = None) -> int:
    c = state.counts()
    name = state.meta("recipe_name") or "?"
    line = f"{name}: {c.done} done, {c.failed} failed, {c.pending + c.running} to do " \
           f"(of {c.total})"
    if elapsed is not None:
        line += f" in {elapsed:.1f}s"
    print(line)
    for kind in ("wall", "cpu"):
        steps = state.step_seconds(kind)
        if steps:
            print(f"mean {kind} seconds per photo: "
                  + ", ".join(f"{k} {v:.3f}" for k, v in steps.items()))
    for path, error in state.failures():
        print(f"  failed: {path}: {error}")
    return EXIT_ERROR if c.failed else EXIT_OK


class _Reporter:
    """Progress lines on stderr: about every 5 % and every failure."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total, self.quiet, self.n = total, quiet, 0
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def __call__(self, result: dict, state) -> None:
        self.n += 1
        if self.quiet:
            return
        if result["status"] == "failed":
            print(f"neuron: failed: {result.get('error')}", file=sys.stderr)
        if self.n == self.total or self.n % max(1, self.total // 20) == 0:
            rate = self.n / max(self.elapsed(), 1e-9)
            print(f"batch {self.n}/{self.total} ({rate:.2f} photos/s)", file=sys.stderr)
