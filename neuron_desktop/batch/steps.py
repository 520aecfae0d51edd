"""The step table: recipe step names -> capability pipelines, generated from the declarations.

Every capability in ``capabilities/`` is a recipe step of the same name (unless it declares
``not_batchable`` with a reason): its recipe parameters are the declared CLI parameters
(type, default, range, choices; ``Param.batch`` False leaves one out), its ``load`` resolves
the parameters (``prepare``) and loads the weights it uses once per worker, its ``run``
transforms a :class:`Work` item through the capability's pipeline, and ``models`` names the
weights it used (for the edit record). ``export`` is the one hand-written step (the encoder).
``Processor`` chains them: decode -> steps -> encode; both engines call exactly these
functions, so their outputs are identical.
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
    help: str = ""
    required: bool = False

    @classmethod
    def declared(cls, p: Any) -> Param:
        """The recipe parameter of capability parameter ``p`` (``capabilities.Param``)."""
        return cls(p.kind, p.default, p.min, p.max, tuple(c.value for c in p.choices),
                   p.help, p.required)

    def check(self, value: Any) -> Any:
        """``value`` converted to the type; ValueError says what is allowed."""
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, self.type) or (self.type is int and isinstance(value, bool)):
            raise ValueError(f"must be {self.type.__name__}, got {value!r}")
        if self.choices and value not in self.choices:
            raise ValueError(f"must be one of {', '.join(map(str, self.choices))}, "
                             f"got {value!r}")
        if (self.lo is not None and value < self.lo) or (self.hi is not None and
                                                          value > self.hi):
            raise ValueError(f"must be in [{_num(self.lo)}, {_num(self.hi)}], got {value!r}")
        return value


def _num(x: float | None) -> str:
    return "..." if x is None else f"{x:g}"


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
    needs: tuple[str, ...] = ()  # inputs beyond the image: "mask" (made by an earlier step)
    target: str = "image"  # the layer it writes: "image" or "mask"
    check: Callable[[dict], None] | None = None  # cross-parameter checks, when parsed
    weights: Callable[[dict, Any], list[str]] | None = None  # needed, not installed


def _nothing(params: dict, device: Any) -> None:
    return None


def _no_models(params: dict, device: Any) -> list[str]:
    return []


def _drive(gen):
    from neuron_desktop.core.progress import run_pipeline

    return run_pipeline(gen)


# --- capability steps: generated from the declarations ---------------------------------


def capability_step(cap: Any) -> StepSpec:
    """The recipe step of capability ``cap``: its declared CLI parameters (``batch`` ones),
    its pipeline. A mask step replaces the mask; a step that needs a mask is skipped when it
    is empty; a geometry step also transforms the mask."""

    def missing(values: dict, device: Any) -> list[str]:
        from neuron_desktop.models.weights import installed

        return [n for n in cap.weights_used(values, device) if not installed(n)]

    def load(values: dict, device: Any) -> dict:
        from neuron_desktop.models.registry import load as load_network

        if absent := missing(values, device):
            raise NeuronError(f"{cap.title} model not installed (weights {', '.join(absent)})")
        for name in cap.weights_used(values, device):  # cached: the pipelines get these
            load_network(name, device)
        return cap.resolve(values, device)  # prepare once per worker

    def check(values: dict) -> None:
        """The declaration's own checks (``prepare``: e.g. levels' white above black, a
        known gallery style), when the recipe is read."""
        if cap.prepare is not None:
            cap.resolve(values, "cpu")

    def run(prepared: dict, work: Work, values: dict, device: Any) -> dict:
        from neuron_desktop.capabilities import Inputs
        from neuron_desktop.core.adjust import apply_to_tensor

        if cap.geometry is not None:
            g = cap.geometry(prepared, work.image.shape[-1], work.image.shape[-2])
            if not g.identity:
                work.image = apply_to_tensor(g, work.image)
                if work.mask is not None:
                    work.mask = apply_to_tensor(g, work.mask)
            return {"size": list(g.size)}
        mask = work.mask if "mask" in cap.needs else None
        if "mask" in cap.needs and (mask is None or not bool(mask.any())):
            return {"skipped": "no damage found"}
        try:
            result = _drive(cap.pipeline(Inputs(work.image, mask).to(device), prepared,
                                         device=device, prepared=True)).cpu()
        except ValueError as exc:
            raise NeuronError(f"{cap.name}: {exc}") from exc
        if cap.target == "mask":
            work.mask = result
            return {"damaged_fraction": round(float(result.mean()), 6)}  # share marked
        work.image = result
        return {}

    params = {p.name: Param.declared(p) for p in cap.params if p.in_recipe}
    return StepSpec(params, load, run, lambda values, device: list(cap.weights_used(
        values, device)), tuple(cap.needs), cap.target, check, missing)


# --- export (the last step; runs in the encoder) ----------------------------------------


EXTENSIONS = {"tiff": ".tif", "png": ".png", "jpeg": ".jpg", "webp": ".webp"}


def _export_not_a_work_step(ctx: Any, work: Work, params: dict, device: Any) -> dict:
    raise AssertionError("export runs in Processor.encode")


def _steps() -> tuple[dict[str, StepSpec], dict[str, str]]:
    from neuron_desktop.capabilities import all_capabilities

    steps = {c.name: capability_step(c) for c in all_capabilities() if not c.not_batchable}
    steps["export"] = StepSpec(
        {"format": Param(str, "tiff", choices=tuple(EXTENSIONS)),
         "bit_depth": Param(int, 16, choices=(8, 16), help="PNG/TIFF; JPEG/WebP are 8-bit"),
         "quality": Param(int, 95, 1, 100, help="JPEG/WebP quality"),
         "suffix": Param(str, "", help="added to the file name's stem")},
        _nothing, _export_not_a_work_step, _no_models)
    return steps, {c.name: c.not_batchable for c in all_capabilities() if c.not_batchable}


STEPS, NOT_BATCHABLE = _steps()  # NOT_BATCHABLE: capability name -> why it is no step


def check_weights(recipe, device: Any = None) -> None:
    """Every step's weights are installed (the driver checks before worker processes start,
    so a missing model is one clear error naming the recipe line)."""
    for step in recipe.work_steps:
        spec = STEPS[step.use]
        absent = spec.weights(step.params, device) if spec.weights else []
        if absent:
            raise NeuronError(f"{recipe.source}:{step.line}: {step.use}: model not installed "
                              f"(weights {', '.join(absent)})")


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
        self.contexts = [self._load(s) for s in recipe.work_steps]

    def _load(self, step) -> Any:
        """Step ``step``'s context (its models loaded, its parameters prepared); an error
        names the recipe line, before any photo is read."""
        try:
            return STEPS[step.use].load(step.params, self.device)
        except NeuronError as exc:
            raise NeuronError(f"{self.recipe.source}:{step.line}: {step.use}: {exc}") from exc

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
            given = {k: v for k, v in step.params.items() if v is not None}  # None: default
            settings = given | spec.run(ctx, work, step.params, self.device)
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
