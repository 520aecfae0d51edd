"""`neuron-desktop [FILE]`: the editor.

The editor window is not built yet (it is its own issue). Until it lands, this entry point
runs the command-line pipelines on FILE (a bundled sample by default) and prints where the
results are, so the quick start shows the core working end to end.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from neuron_desktop import cli

SAMPLES = Path(__file__).resolve().parent.parent / "resources" / "samples"


def demo(photo: Path, out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    steps = [["info"]]
    refined = out_dir / f"{photo.stem}_refined.png"
    steps.append(["refine", str(photo), "-o", str(refined)])
    mask = photo.with_name(f"{photo.stem}_mask.png")
    if mask.exists():
        for method in ("telea", "ns"):
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="neuron-desktop", description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default=str(SAMPLES / "old_photo.jpg"),
                        help="photo to open (default: the bundled old photo)")
    parser.add_argument("--out-dir", default="out/demo", help="where the demo writes results")
    args = parser.parse_args(argv)
    print("Neuron Desktop: the editor window is not built yet; running the pipelines on "
          f"{args.file} instead.")
    return demo(Path(args.file), Path(args.out_dir))


if __name__ == "__main__":
    sys.exit(main())
