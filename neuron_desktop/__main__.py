"""`neuron-desktop [FILE]`: open the editor (on FILE).

``--screenshot OUT.png`` renders the window offscreen to a PNG and exits; ``--demo`` runs the
pipelines from the command line instead (no display needed) and prints where the results are.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from neuron_desktop.core.paths import samples_dir

SAMPLES = samples_dir()


def demo(photo: Path, out_dir: Path) -> int:
    """Headless demo: colorize, refine, inpaint and stylize ``photo`` with the `neuron` CLI
    (every shipped model runs once), print metrics."""
    from neuron_desktop import cli

    out_dir.mkdir(parents=True, exist_ok=True)
    steps = [["info"]]
    steps.append(["colorize", str(photo), "-o", str(out_dir / f"{photo.stem}_colorized.png")])
    refined = out_dir / f"{photo.stem}_refined.png"
    steps.append(["refine", str(photo), "-o", str(refined)])
    steps.append(["stylize", str(photo), "--style", _first_style(), "--strength", "0.8",
                  "-o", str(out_dir / f"{photo.stem}_stylized.png")])
    mask = photo.with_name(f"{photo.stem}_mask.png")
    if mask.exists():
        for method in ("telea", "ns", "auto"):
            out = out_dir / f"{photo.stem}_inpaint_{method}.png"
            steps.append(["inpaint", str(photo), "--mask", str(mask), "-o", str(out),
                          "--method", method])
        steps.append(["metrics", str(photo), str(out_dir / f"{photo.stem}_inpaint_telea.png")])
    for argv in steps:
        print(f"\n$ neuron {' '.join(argv)}", flush=True)
        code = cli.main(argv)
        if code:
            return code
    print(f"\nResults are in {out_dir.resolve()}")
    return 0


def _first_style() -> str:
    from neuron_desktop.models.weights import get_entry
    from neuron_desktop.pipelines.stylize import FAST_WEIGHTS

    return get_entry(FAST_WEIGHTS).recipe["style_names"][0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="neuron-desktop", description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", help="photo to open")
    parser.add_argument("--screenshot", metavar="OUT.png",
                        help="render the window offscreen to OUT.png and exit")
    parser.add_argument("--demo", action="store_true",
                        help="run the pipelines headless on FILE (default: a bundled sample)")
    parser.add_argument("--out-dir", default="out/demo", help="where --demo writes results")
    args = parser.parse_args(argv)
    if args.demo:
        return demo(Path(args.file or SAMPLES / "old_photo.jpg"), Path(args.out_dir))
    from neuron_desktop.qt.app import run

    return run(args.file, args.screenshot)


if __name__ == "__main__":
    sys.exit(main())
