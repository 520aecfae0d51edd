"""Reliability glue for the `neuron` command (Qt-free; argparse is its only UI).

Kept apart from cli.py so that the CLI's commands only make one call at each choke point:

- :func:`add_image_options` / :func:`start`: ``--max-megapixels`` on every
  command that reads images;
- :func:`plan`: every output checked against every input and the other outputs before
  any work (core/outputs.py);
- :func:`report`: any exception -> one line on stderr and a documented exit code, never a
  traceback (``NEURON_DEBUG=1`` adds it);
- input checks whose failure would otherwise be silent garbage: finite hints, a style
  argument naming a missing file, a colour photo given to colorize.

See docs/reliability.md.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path

from neuron_desktop.core.errors import NeuronError, describe_failure

log = logging.getLogger("neuron_desktop.cli")

# Commands whose inputs are images besides the capabilities' (which all take --max-megapixels).
IMAGE_COMMANDS = ("metrics",)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"must be a number, got {text}") from exc
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def add_image_options(subparsers: argparse._SubParsersAction) -> None:
    """Add ``--max-megapixels`` to each image command of ``subparsers``: ``IMAGE_COMMANDS``
    and every capability's subcommand."""
    from neuron_desktop.capabilities import all_capabilities
    from neuron_desktop.core.imageio import DEFAULT_MAX_MEGAPIXELS, ENV_MAX_MEGAPIXELS

    for name in (*IMAGE_COMMANDS, *(cap.name for cap in all_capabilities())):
        if (p := subparsers.choices.get(name)) is not None:
            p.add_argument("--max-megapixels", type=_positive_float, default=None,
                           metavar="MP",
                           help=f"refuse images over MP megapixels, checked from the file's "
                                f"header before decoding (default {DEFAULT_MAX_MEGAPIXELS}, "
                                f"or ${ENV_MAX_MEGAPIXELS})")


class _StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is at the time (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


def start(args: argparse.Namespace) -> None:
    """At the start of a command: warnings to stderr as ``neuron: warning: ...`` and
    ``--max-megapixels`` in force for this process."""
    from neuron_desktop.core.imageio import set_max_megapixels

    root = logging.getLogger("neuron_desktop")
    if not any(isinstance(h, _StderrHandler) for h in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("neuron: %(levelname)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.DEBUG if os.environ.get("NEURON_DEBUG") else
                      logging.INFO if getattr(args, "verbose", False) else logging.WARNING)
        root.propagate = False

    if getattr(args, "max_megapixels", None) is not None:
        set_max_megapixels(args.max_megapixels)
    check_side_inputs(args)


MAX_HINTS_BYTES = 16 << 20


def check_side_inputs(args: argparse.Namespace) -> None:
    """The files a command reads besides its photos (--hints, --guide, --mask) must be
    regular files (a FIFO would block, /dev/zero never ends), checked before anything is
    read; a hints file over 16 MB is refused (it is a short JSON list)."""
    from neuron_desktop.core.imageio import check_regular_file

    for name in ("hints", "guide", "mask"):
        value = getattr(args, name, None)
        if not isinstance(value, str) or not value:
            continue
        path = Path(value)
        if not os.path.lexists(path) or (name == "mask" and path.is_dir()):
            continue  # the command says what is missing
        try:
            st = check_regular_file(path)
        except NeuronError as exc:
            raise NeuronError(f"--{name}: {exc}") from exc
        if name == "hints" and st.st_size > MAX_HINTS_BYTES:
            raise NeuronError(f"--hints '{path}' is {st.st_size / 2**20:,.0f} MB; a hints "
                              "file is a short JSON list")


def plan(pairs: Sequence[tuple[Path, Path]], args: argparse.Namespace, *,
         extra: Iterable[tuple[str | Path | None, str]] = (), suffix: str | None = None,
         batch: bool | None = None) -> list[tuple[Path, Path]]:
    """(source, output) pairs checked before any work (see core/outputs.py).

    ``extra``: (path or None, role) of the other files the run reads; a folder stands for
    every image in it. A single input with ``-o`` naming an existing folder writes into it.
    """
    from neuron_desktop.core.imageio import SUPPORTED_EXTENSIONS
    from neuron_desktop.core.outputs import plan_outputs

    pairs = [(Path(s), Path(d)) for s, d in pairs]
    if batch is None:
        batch = len(pairs) > 1
    if not batch and pairs and pairs[0][1].is_dir():
        pairs = [(pairs[0][0], pairs[0][1] / pairs[0][0].name)]
        batch = True
    inputs: list[tuple[Path, str]] = []
    for path, role in extra:
        if not path:
            continue
        path = Path(path)
        if path.is_dir():
            inputs += [(p, role) for p in sorted(path.iterdir())
                       if p.suffix.lower() in SUPPORTED_EXTENSIONS]
        else:
            inputs.append((path, role))
    return plan_outputs(pairs, extra_inputs=inputs, overwrite=bool(args.overwrite),
                        batch=batch, suffix=suffix,
                        extensions=(".png",) if suffix else SUPPORTED_EXTENSIONS)


def report(exc: BaseException, *, prefix: str = "neuron: error: ",
           source: Path | None = None) -> int:
    """Print one line for ``exc`` on stderr; return its exit code (docs/reliability.md).
    ``source``: the file being processed, named in the line when the message does not."""
    message, code = describe_failure(exc)
    if source is not None and str(source) not in message:
        message = f"'{source}': {message}"
    if os.environ.get("NEURON_DEBUG") or not isinstance(exc, (NeuronError, OSError)):
        log.debug("failure", exc_info=exc)
    if os.environ.get("NEURON_DEBUG"):
        traceback.print_exception(exc, file=sys.stderr)
    print(f"{prefix}{message}", file=sys.stderr)
    return code


def finite_hints(hints: list, path: str) -> list:
    """Refuse hints with NaN/inf coordinates, colours or ab values (they paint black)."""
    for i, h in enumerate(hints):
        values = [h.x, h.y, h.size, *getattr(h, "rgb", ()), *getattr(h, "ab", ())]
        if not all(math.isfinite(float(v)) for v in values):
            raise NeuronError(f"cannot read hints '{path}': hint {i + 1} has a value that is "
                              "not a finite number (NaN or infinity)")
    return hints


def check_style_argument(style: str) -> None:
    """A --style that names a file (has an image extension or a folder part) must be a
    readable regular file: say so instead of "unknown style"."""
    from neuron_desktop.core.imageio import SUPPORTED_EXTENSIONS, check_regular_file

    looks_like_file = (Path(style).suffix.lower() in SUPPORTED_EXTENSIONS
                       or os.sep in style or (os.altsep or os.sep) in style)
    if os.path.lexists(style) or looks_like_file:
        try:
            os.stat(style)
        except FileNotFoundError as exc:  # a dangling symlink too
            raise NeuronError(f"style image '{style}' not found") from exc
        except OSError:
            pass  # e.g. a name over 255 bytes: check_regular_file says what
        check_regular_file(Path(style))


def warn_if_colour(image, path: Path) -> None:
    """Warn when a photo given to colorize already has colours (they will be replaced)."""
    from neuron_desktop.core.imageio import detect_monochrome

    info = detect_monochrome(image.rgb)
    if info.kind == "color":
        log.warning("'%s' is already a colour photo (mean chroma %.0f); colorizing replaces "
                    "its colours with predicted ones", path, info.mean_chroma)
