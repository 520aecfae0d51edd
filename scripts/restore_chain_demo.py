"""Restore → repair → colorize against colorizing the scan as is, on the historical photos.

    PYTHONPATH=. python scripts/restore_chain_demo.py [FOLDER] [-o docs/restore_chain.jpg]

The sheet holds reduced copies of ../shared/data photos, so it stays out of git."""

import argparse
from pathlib import Path

from neuron_desktop.evaluation.common import SHARED_DATA
from neuron_desktop.evaluation.restore import chain_sheet

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("folder", nargs="?", default=str(SHARED_DATA / "old_photos" / "historical_bw"))
ap.add_argument("-o", "--out", default="docs/restore_chain.jpg")
ap.add_argument("--limit", type=int, default=8)
args = ap.parse_args()
chain_sheet(Path(args.folder), Path(args.out), args.limit)
print(f"wrote {args.out}")
