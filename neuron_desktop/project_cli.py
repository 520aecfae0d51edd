"""`neuron project info FILE.neuron` and `neuron project export FILE.neuron -o OUT`.

``add_parser(sub)`` registers the group on the main parser (one line in ``cli.py``).
Export follows the CLI's output rules (core/outputs.py: never onto an input, the project's
original photo included, unless ``--overwrite``) and embeds the project's edit record
(core/record.py) unless ``--no-record``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

EXIT_OK = 0


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("project", help="inspect or render a .neuron project file")
    psub = p.add_subparsers(dest="what", metavar="ACTION")
    psub.required = True
    i = psub.add_parser("info", help="print the project's record (steps, settings) as JSON")
    i.add_argument("file", metavar="FILE.neuron")
    i.set_defaults(func=cmd_info)
    e = psub.add_parser("export", help="write the project's current image")
    e.add_argument("file", metavar="FILE.neuron")
    e.add_argument("-o", "--output", required=True, help="output image (format from extension)")
    e.add_argument("--overwrite", action="store_true",
                   help="allow writing over the project's original photo")
    e.add_argument("--no-record", action="store_true",
                   help="do not embed the edit record (XMP) in the output")
    e.add_argument("--bit-depth", type=int, choices=(8, 16), default=16,
                   help="PNG/TIFF bits per channel (16)")
    e.add_argument("-q", "--quiet", action="store_true")
    e.set_defaults(func=cmd_export)
    return p


def cmd_info(args: argparse.Namespace) -> int:
    from neuron_desktop.core.project import load_project

    print(json.dumps(load_project(args.file).record(), indent=2))
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from neuron_desktop import __version__
    from neuron_desktop import cli_guard as guard
    from neuron_desktop.core.imageio import save_image
    from neuron_desktop.core.project import load_project
    from neuron_desktop.core.record import add_record, record_from_steps

    src = Path(args.file)
    project = load_project(src)  # a damaged project fails here, before any output
    original = project.source.get("path")
    extra = [(original, "original photo")] if original and Path(original).exists() else []
    [(_, dst)] = guard.plan([(src, Path(args.output))], args, extra=extra, batch=False)
    out = save_image(dst, project.current, bit_depth=args.bit_depth, source=original,
                     overwrite=bool(args.overwrite))
    if not args.no_record:
        steps = [*project.steps, {"name": "export", "params": {"format": out.suffix[1:]}}]
        add_record(out, record_from_steps(steps, __version__))
    if not args.quiet:
        print(f"wrote {out}")
    return EXIT_OK
