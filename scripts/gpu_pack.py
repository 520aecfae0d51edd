"""Split the training photos into folders that each fit, beside the working tree, in one
device call's 64 MiB (see scripts/gpu_inpaint.sh): .gpu/1/data, .gpu/2/data, ... The
validation photos go into the first, so validation is the same from the first step.

    python3 scripts/gpu_pack.py [--data ../shared/data/train] [--out .gpu]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

from neuron_desktop.data.photos import list_images, split
from neuron_desktop.train.inpaint import InpaintRecipe

LIMIT = 64 * 2**20
MARGIN = 2**20


def tree_bytes() -> int:
    """Bytes of what a device call carries besides ``carry``: tracked and untracked files
    that git does not ignore."""
    names = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"],
                           capture_output=True, check=True).stdout.split(b"\0")
    return sum(p.stat().st_size for n in names if n and (p := Path(n.decode())).is_file())


def main() -> None:
    recipe = InpaintRecipe()
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=recipe.data[0])
    p.add_argument("--out", default=".gpu")
    a = p.parse_args()
    root, out = Path(a.data).resolve(), Path(a.out)
    train, val = split(list_images([root]), recipe.val_fraction)
    files = val + train
    budget = LIMIT - tree_bytes() - MARGIN
    sizes = [f.stat().st_size for f in files]
    if budget <= max(sizes):
        raise SystemExit(f"the working tree leaves {budget} bytes per call: too little")
    parts = -(-sum(sizes) // budget)
    share = min(budget, -(-sum(sizes) // parts) + max(sizes))  # balanced parts
    shutil.rmtree(out, ignore_errors=True)
    part, used = 1, 0
    for f, size in zip(files, sizes, strict=True):
        if used + size > share:
            part, used = part + 1, 0
        dest = out / str(part) / "data" / f.relative_to(root)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dest)
        used += size
    print(f"{len(files)} photos in {part} parts of at most {share / 2**20:.1f} MiB "
          f"under {out}/N/data (carry {out}/N)")


if __name__ == "__main__":
    main()
