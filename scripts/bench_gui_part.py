"""Run some of benchmarks/bench_gui.py's functions alone (the whole module takes long):

    PYTHONPATH=. python scripts/bench_gui_part.py bench_retouch bench_operation_stalls \
        [--out benchmarks/results/gui-part-cpu.json] [--quick]

Prints the table and writes the rows with the environment as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from neuron_desktop.bench import BENCH_DIR, _import, environment, print_table  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("functions", nargs="+", help="bench_gui function names")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "gui-part-cpu.json"))
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    module = _import(BENCH_DIR / "bench_gui.py")
    rows = []
    for name in args.functions:
        rows += getattr(module, name)(args.quick)
    print_table(rows)
    meta = {**environment(["cpu"]), "load_average_at_end": os.getloadavg(),
            "functions": args.functions}
    Path(args.out).write_text(json.dumps({"environment": meta, "results": rows}, indent=2,
                                         default=str) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
