"""The step table: recipe step names -> calls of the existing pipeline functions.

One thin table (``STEPS``) so that it can later be replaced by capability lookups. Each
entry has its parameters (type, default, range), a ``load`` that loads its models once per
worker, a ``run`` that transforms a :class:`Work` item, and the manifest names of the models
it used (for the edit record). ``Processor`` chains them: decode -> steps -> encode; both
engines call exactly these functions, so their outputs are identical.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuron_desktop.core.errors import NeuronError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Param:
    """A step parameter: type, default and allowed values (a range or choices)."""

    type: type
    default: Any
    lo: float | None = None
    hi: float | None = None
    choices: tuple = ()
    lo_open: bool = False
    help: str = ""

    def check(self, value: Any) -> Any:
        """``value`` converted to the type; ValueError says what is allowed."""
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, self.type) or (self.type is int and isinstance(value, bool)):
            raise ValueError(f"must be {self.type.__name__}, got {value!r}")
        if self.choices and value not in self.choices:
            raise ValueError(f"must be one of {', '.join(map(str, self.choices))}, "
                             f"got {value!r}")
        low_bad = self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo)
        if low_bad or (self.hi is not None and value > self.hi):
            lb = "(" if self.lo_open else "["
            raise ValueError(f"must be in {lb}{self.lo}, {self.hi}], got {value!r}")
        return value


@dataclass
class Work:
    """One photo on its way through the steps. ``image`` (1, 3, H, W) RGB [0, 1];
    ``mask`` (1, 1, H, W) {0, 1} once detected; ``records`` the edit record's steps."""

    key: str
    original: Any  # LoadedImage (pixels, EXIF, ICC, bit depth of the source)
    image: Any
    mask: Any = None
    records: list = field(default_factory=list)
    seconds: dict = field(default_factory=lambda: {"wall": {}, "cpu": {}})  # per step

    def timed(self, name: str, wall: float, cpu: float) -> None:
        """Add a step's wall time and process CPU time (from perf_counter/process_time)."""
        for kind, start, now in (("wall", wall, time.perf_counter()),
                                 ("cpu", cpu, time.process_time())):
            self.seconds[kind][name] = self.seconds[kind].get(name, 0.0) + now - start


@dataclass(frozen=True)
class StepSpec:
    params: dict[str, Param]
    load: Callable[[dict, Any], Any]  # (params, device) -> context (models), once per worker
    run: Callable[[Any, Work, dict, Any], dict]  # -> settings for the record (default params)
    models: Callable[[dict, Any], list[str]]  # manifest names of the weights it uses


def _nothing(params: dict, device: Any) -> None:
    return None


def _no_models(params: dict, device: Any) -> list[str]:
    return []


def _drive(gen):
    from neuron_desktop.core.progress import run_pipeline

    return run_pipeline(gen)


# --- detect-scratches ------------------------------------------------------------------


def _scratch_method(params: dict) -> str:
    from neuron_desktop.pipelines import scratches

    if params["method"] != "auto":
        return params["method"]
    return "network" if scratches.PREFER_NETWORK and scratches.network_available() else "classical"


def _load_scratches(params: dict, device: Any) -> None:
    from neuron_desktop.pipelines import scratches

    if _scratch_method(params) == "network":
        scratches.load_scratch_net(str(device))


def _run_scratches(ctx: Any, work: Work, params: dict, device: Any) -> dict:
    from neuron_desktop.pipelines.scratches import detect_scratches

    method = _scratch_method(params)
    work.mask = _drive(detect_scratches(work.image, sensitivity=params["sensitivity"],
                                        method=method, device=device)).cpu()
    return {"method": method, "damaged_fraction": round(float(work.mask.mean()), 6)}


def _scratch_models(params: dict, device: Any) -> list[str]:
    from neuron_desktop.pipelines.scratches import NET_WEIGHTS

    return [NET_WEIGHTS] if _scratch_method(params) == "network" else []


# --- inpaint ---------------------------------------------------------------------------


def _inpaint_network(params: dict, device: Any) -> str | None:
    from neuron_desktop.pipelines import inpaint as ip

    method = ip.auto_network(device) if params["method"] == "auto" else params["method"]
    return ip.NETWORK_WEIGHTS.get(method)


def _load_inpaint(params: dict, device: Any) -> None:
    from neuron_desktop.pipelines.inpaint import load_inpainter

    name = _inpaint_network(params, device)
    if name is not None:
        load_inpainter(str(device), name)


def _run_inpaint(ctx: Any, work: Work, params: dict, device: Any) -> dict:
    from neuron_desktop.pipelines.inpaint import inpaint

    if work.mask is None or not bool(work.mask.any()):
        return {"skipped": "no damage found"}
    work.image = _drive(inpaint(work.image, work.mask, method=params["method"],
                                radius=params["radius"], device=device)).cpu()
    return {}


def _inpaint_models(params: dict, device: Any) -> list[str]:
    name = _inpaint_network(params, device)
    return [name] if name else []


# --- colorize --------------------------------------------------------------------------


def _colorizer_name(params: dict) -> str:
    return "colorizer" if params["weights"] == "default" else params["weights"]


def _load_colorize(params: dict, device: Any):
    from neuron_desktop.pipelines.colorize import load_colorizer

    return load_colorizer(params["weights"], device)


def _run_colorize(net: Any, work: Work, params: dict, device: Any) -> dict:
    from neuron_desktop.pipelines.colorize import colorize

    try:
        work.image = _drive(colorize(
            work.image, temperature=params["temperature"], render_size=params["render_size"],
            refine=params["refine"], device=device, model=net,
            prior_correction=params["prior_correction"])).cpu()
    except ValueError as exc:
        raise NeuronError(f"colorize: {exc}") from exc
    return {}


# --- refine ----------------------------------------------------------------------------


def _run_refine(ctx: Any, work: Work, params: dict, device: Any) -> dict:
    from neuron_desktop.pipelines.refine import refine_colors

    work.image = _drive(refine_colors(work.image, radius=params["radius"], eps=params["eps"],
                                      subsample=params["subsample"])).cpu()
    return {}


# --- stylize ---------------------------------------------------------------------------


def _load_stylize(params: dict, device: Any):
    from neuron_desktop.pipelines.stylize import load_style_bank

    bank = load_style_bank(params["weights"], device=device)
    bank.weights(params["style"])  # an unknown style fails before any photo is read
    return bank


def _run_stylize(bank: Any, work: Work, params: dict, device: Any) -> dict:
    from neuron_desktop.pipelines.stylize import fast

    work.image = _drive(fast(work.image, params["style"], size=params["size"] or None,
                             strength=params["strength"],
                             preserve_color=params["preserve_color"], bank=bank,
                             device=device)).cpu()
    return {}


def _style_models(params: dict, device: Any) -> list[str]:
    from neuron_desktop.pipelines.stylize import FAST_WEIGHTS

    return [FAST_WEIGHTS if params["weights"] == "default" else params["weights"]]


# --- export (the last step; runs in the encoder) ----------------------------------------


EXTENSIONS = {"tiff": ".tif", "png": ".png", "jpeg": ".jpg", "webp": ".webp"}


def _export_not_a_work_step(ctx: Any, work: Work, params: dict, device: Any) -> dict:
    raise AssertionError("export runs in Processor.encode")


# The pipelines' defaults, repeated so that parsing a recipe imports no model code
# (tests/batch/test_recipe.py checks they match pipelines.colorize).
COLORIZE_DEFAULTS = {"temperature": 0.2, "prior_correction": 0.43, "render_size": 256}
_INPAINT_METHODS = ("auto", "harmonic", "telea", "ns", "exemplar", "network", "network-fast",
                    "network-best")

STEPS: dict[str, StepSpec] = {
    "detect-scratches": StepSpec(
        {"sensitivity": Param(float, 0.5, 0.0, 1.0, help="higher finds more"),
         "method": Param(str, "auto", choices=("auto", "classical", "network"))},
        _load_scratches, _run_scratches, _scratch_models),
    "inpaint": StepSpec(
        {"method": Param(str, "auto", choices=_INPAINT_METHODS),
         "radius": Param(int, 3, 1, 64, help="classical fill radius in px")},
        _load_inpaint, _run_inpaint, _inpaint_models),
    "colorize": StepSpec(
        {"temperature": Param(float, COLORIZE_DEFAULTS["temperature"], 0.0, 2.0, lo_open=True),
         "prior_correction": Param(float, COLORIZE_DEFAULTS["prior_correction"], 0.0, 1.0),
         "render_size": Param(int, COLORIZE_DEFAULTS["render_size"], 64, 4096),
         "refine": Param(bool, True),
         "weights": Param(str, "default")},
        _load_colorize, _run_colorize, lambda p, d: [_colorizer_name(p)]),
    "refine": StepSpec(
        {"radius": Param(int, 40, 1, 1000), "eps": Param(float, 1e-4, 0.0, 1.0, lo_open=True),
         "subsample": Param(int, 1, 1, 16)},
        _nothing, _run_refine, _no_models),
    "stylize": StepSpec(
        {"style": Param(str, "van_gogh_starry_night_1889", help="gallery style name"),
         "strength": Param(float, 1.0, 0.0, 1.0),
         "preserve_color": Param(bool, False),
         "size": Param(int, 0, 0, 20000, help="working long side, 0 = full resolution"),
         "weights": Param(str, "default")},
        _load_stylize, _run_stylize, _style_models),
    "export": StepSpec(
        {"format": Param(str, "tiff", choices=tuple(EXTENSIONS)),
         "bit_depth": Param(int, 16, choices=(8, 16), help="PNG/TIFF; JPEG/WebP are 8-bit"),
         "quality": Param(int, 95, 1, 100, help="JPEG/WebP quality"),
         "suffix": Param(str, "", help="added to the file name's stem")},
        _nothing, _export_not_a_work_step, _no_models),
}


# --- scan basics: generated from their capability declarations ------------------------

SCAN_STEPS = ("crop", "rotate", "flip", "straighten", "levels", "curves", "auto-contrast",
              "white-balance")


def _scan_step(name: str) -> StepSpec:
    """The step of scan capability ``name``: its CLI parameters, its pipeline; a geometry
    step also transforms a detected mask."""
    import importlib

    cap = importlib.import_module(f"neuron_desktop.capabilities.{name.replace('-', '_')}"
                                  ).CAPABILITY
    params = {p.name: Param(p.kind, "" if p.default is None else p.default, p.min, p.max,
                            tuple(c.value for c in p.choices), help=p.help)
              for p in cap.params if p.in_cli}

    def run(ctx: Any, work: Work, values: dict, device: Any) -> dict:
        from neuron_desktop.capabilities import Inputs
        from neuron_desktop.core.adjust import apply_to_tensor

        p = cap.resolve({k: (None if v == "" else v) for k, v in values.items()})
        if cap.geometry is None:
            work.image = _drive(cap.pipeline(Inputs(work.image), p, prepared=True)).cpu()
            return {}
        g = cap.geometry(p, work.image.shape[-1], work.image.shape[-2])
        if not g.identity:
            work.image = apply_to_tensor(g, work.image)
            if work.mask is not None:
                work.mask = apply_to_tensor(g, work.mask)
        return {"size": list(g.size)}

    return StepSpec(params, _nothing, run, _no_models)


STEPS.update({name: _scan_step(name) for name in SCAN_STEPS})


def output_name(relative: Path, export: dict) -> Path:
    """Where ``relative`` (an input's path below its root) goes below OUT."""
    return relative.with_name(relative.stem + export["suffix"] + EXTENSIONS[export["format"]])


# --- the chain -------------------------------------------------------------------------


class Processor:
    """Runs a recipe on photos; loads every step's models once (per worker).

    ``decode`` / ``process`` / ``encode`` are separate so the Ray engine can run them as
    separate stages; ``__call__`` runs all three (the local engine)."""

    def __init__(self, recipe, device: str | None = None, threads: int | None = None,
                 tmp_dir: Path | None = None) -> None:
        import torch

        from neuron_desktop.core.device import choose_device

        if threads:
            torch.set_num_threads(threads)
        self.recipe = recipe
        self.device = choose_device(device)
        self.tmp_dir = tmp_dir
        self.contexts = [STEPS[s.use].load(s.params, self.device) for s in recipe.work_steps]

    def __call__(self, job: dict) -> dict:
        start = time.perf_counter()
        try:
            work = self.decode(job)
            self.process(work)
            return self.encode(job, work, start)
        except Exception as exc:  # one bad photo is an error row; the job goes on
            return failure(job, exc, start)

    @staticmethod
    def decode(job: dict) -> Work:
        from neuron_desktop.core.imageio import load_image, to_tensor

        t, c = time.perf_counter(), time.process_time()
        original = load_image(job["input"])
        image = to_tensor(original.rgb)  # a copy: the original's pixels are not needed again
        work = Work(job["key"], dataclasses.replace(original, rgb=original.rgb[:0, :0]), image)
        work.timed("decode", t, c)
        return work

    def process(self, work: Work) -> Work:
        from neuron_desktop.core.record import StepRecord

        for step, ctx in zip(self.recipe.work_steps, self.contexts, strict=True):
            t, c = time.perf_counter(), time.process_time()
            spec = STEPS[step.use]
            settings = dict(step.params) | spec.run(ctx, work, step.params, self.device)
            models = () if "skipped" in settings else tuple(
                _model_ref(m) for m in spec.models(step.params, self.device))
            work.records.append(StepRecord(step.use, settings, models))
            work.timed(step.use, t, c)
        return work

    def encode(self, job: dict, work: Work, start: float) -> dict:
        return encode(self.recipe, job, work, start, self.tmp_dir)


def encode(recipe, job: dict, work: Work, start: float, tmp_dir: Path | None) -> dict:
    """Export ``work`` to ``job["output"]`` with its edit record; atomic (a temp file is
    encoded first, then the final file appears in one rename)."""
    import secrets

    from neuron_desktop import __version__
    from neuron_desktop.core.imageio import from_tensor, save_like
    from neuron_desktop.core.record import EditRecord, StepRecord, write_with_record

    t, c = time.perf_counter(), time.process_time()
    export = recipe.export.params
    out = Path(job["output"])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = (tmp_dir or out.parent) / f".{secrets.token_hex(8)}{out.suffix}"
    bits = export["bit_depth"] if export["format"] in ("tiff", "png") else 8
    try:
        save_like(tmp, from_tensor(work.image.clamp(0, 1)), work.original,
                  bit_depth=bits, quality=export["quality"])
        data = tmp.read_bytes()
    finally:
        tmp.unlink(missing_ok=True)
    steps = (*work.records, StepRecord("export", dict(export)))
    record = EditRecord(steps, __version__, job["key"], recipe.name)
    write_with_record(out, data, record, tmp_dir)  # tmp_dir: emptied when a job starts
    work.timed("encode", t, c)
    return {"key": job["key"], "status": "done", "output": str(out), "error": None,
            "seconds": time.perf_counter() - start, "steps": work.seconds}


def failure(job: dict, exc: BaseException, start: float) -> dict:
    message = str(exc) if isinstance(exc, NeuronError) else f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, NeuronError):
        log.exception("unexpected error on %s", job["input"])
    return {"key": job["key"], "status": "failed", "output": None, "error": message,
            "seconds": time.perf_counter() - start, "steps": {}}


_REFS: dict[str, Any] = {}


def _model_ref(name: str):
    from neuron_desktop.core.record import ModelRef
    from neuron_desktop.models.weights import get_entry

    def model_ref(n: str) -> ModelRef:  # sha256 from the manifest
        return ModelRef(n, get_entry(n).sha256)

    if name not in _REFS:
        _REFS[name] = model_ref(name)
    return _REFS[name]
