"""Capabilities: each operation declared once, for the CLI, the editor and its settings.

A capability module in this package defines ``CAPABILITY = Capability(...)``: its name (the
CLI subcommand and settings group), the layer it writes, its parameters (type, default,
range, help in plain words), the weights it needs and a function returning its pipeline.
The front ends generate from these declarations: ``cli.py`` a subcommand per capability,
``qt/forms.py`` the editor's operation forms, ``qt/settings.py`` the saved settings and
``batch/steps.py`` the batch recipe steps.
No Qt here: this package sits between ``pipelines/`` and the front ends.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from neuron_desktop.core.errors import NeuronError
from neuron_desktop.core.progress import CancelToken, Pipeline


@dataclass(frozen=True)
class Choice:
    """One value of a choice parameter; ``needs`` names weights it cannot run without."""

    value: str
    label: str
    help: str
    needs: str | None = None

    def installed(self) -> bool:
        from neuron_desktop.models.weights import installed

        return self.needs is None or installed(self.needs)


@dataclass(frozen=True)
class Param:
    """A parameter of a capability.

    ``kind`` is bool, int, float or str. ``default`` is what the pipeline gets when nobody
    says otherwise (None: the pipeline decides); ``initial`` is the editor's starting value
    where the default is None. ``percent`` shows a 0..1 float as a 0-100 % slider.
    ``scope``: "all" (pipeline, CLI and editor), "cli" (pipeline and CLI only) or "editor"
    (an editor option, not passed to the pipeline). ``shown_when=(param, value)`` shows the
    editor row only while another parameter has that value ("*": any value). ``batch`` False: a CLI
    parameter that a batch recipe cannot take (a per-photo file, say). ``image_file``: a str
    that names an image file (the editor adds a Browse… button).
    """

    name: str
    kind: type
    default: Any
    help: str
    label: str = ""
    min: float | None = None
    max: float | None = None
    step: float | None = None
    decimals: int = 2
    suffix: str = ""
    choices: tuple[Choice, ...] = ()
    percent: bool = False
    initial: Any = None
    required: bool = False
    scope: str = "all"
    shown_when: tuple[str, str] | None = None
    batch: bool = True
    image_file: bool = False  # a str naming an image file: the editor offers Browse…

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def in_cli(self) -> bool:
        return self.scope in ("all", "cli")

    @property
    def in_editor(self) -> bool:
        return self.scope in ("all", "editor")

    @property
    def in_recipe(self) -> bool:
        """A parameter of the capability's batch recipe step."""
        return self.in_cli and self.batch

    @property
    def start(self) -> Any:
        """The value a new editor form shows."""
        return self.initial if self.default is None else self.default

    def check(self, value: Any) -> Any:
        """``value`` converted to ``kind`` and checked against the range and choices."""
        if value is None and not self.required:
            return None
        if self.kind in (int, float) or isinstance(value, str):  # str: a blend dict passes
            try:
                value = self.kind(value)
            except (TypeError, ValueError) as exc:
                raise NeuronError(f"{self.name}: expected {self.kind.__name__}, got "
                                  f"{value!r}") from exc
        if self.choices and value not in [c.value for c in self.choices]:
            names = ", ".join(c.value for c in self.choices)
            raise NeuronError(f"{self.name}: {value!r} is not one of {names}")
        if (self.min is not None and value < self.min) or (
                self.max is not None and value > self.max):
            raise NeuronError(f"{self.name} must be between {self.min:g} and {self.max:g}, "
                              f"got {value}")
        return value

    def parse(self, text: str) -> Any:
        """argparse ``type=``: a usage error (exit 2) on a bad value."""
        try:
            return self.check(text)
        except NeuronError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc


@dataclass
class Inputs:
    """What a capability works on: the photo ``(1, 3, H, W)`` RGB in [0, 1], the mask
    ``(1, 1, H, W)`` (1 = selected) and colour hints, as its ``needs`` says."""

    image: Tensor
    mask: Tensor | None = None
    hints: list = field(default_factory=list)

    def to(self, device: torch.device | str) -> Inputs:
        mask = None if self.mask is None else self.mask.to(device)
        return Inputs(self.image.to(device), mask, list(self.hints))


RunFn = Callable[[Inputs, dict[str, Any], Any, CancelToken | None], Pipeline[Tensor]]


@dataclass
class Capability:
    """One operation, declared once.

    ``run(inputs, params, device, cancel)`` returns the pipeline; ``prepare(params, device)``
    (optional) resolves and validates parameters once per batch (the CLI) or job (the
    editor) and may raise NeuronError. ``target`` is the layer the result replaces ("image")
    or adds to ("mask"). ``needs`` lists the inputs beyond the image ("mask", "hints").
    ``group`` "scan": a scan basic, shown in the editor's Scan dock rather than as an
    operation tab. ``geometry(params, width, height)`` -> ``core.adjust.Geometry``: the
    operation changes the photo's geometry; the editor applies it to the original, mask and
    hints as well (``run`` then applies it to the image alone, for the CLI and batches).
    ``uses(params, device)``: names of the weights a run with these parameters loads (for
    edit records, and loaded once per batch worker); by default ``weights`` plus those the
    chosen choices need. ``not_batchable``: why it cannot be a batch recipe step (empty: it
    can; its step is generated from this declaration, see ``batch/steps.py``).
    """

    name: str
    title: str
    help: str
    icon: str
    params: tuple[Param, ...]
    run: RunFn
    target: str = "image"
    needs: tuple[str, ...] = ()
    weights: tuple[str, ...] = ()
    prepare: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None
    job_title: Callable[[dict[str, Any]], str] | None = None
    order: int = 100
    group: str = ""
    geometry: Callable[[dict[str, Any], int, int], Any] | None = None
    uses: Callable[[dict[str, Any], Any], tuple[str, ...]] | None = None
    not_batchable: str = ""

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def available(self) -> str | None:
        """None when it can run, else why not (in plain words)."""
        from neuron_desktop.models.weights import installed

        missing = [w for w in self.weights if not installed(w)]
        if missing:
            return f"{self.title} model not installed (weights {', '.join(missing)})"
        return None

    def resolve(self, params: dict[str, Any], device: Any = None) -> dict[str, Any]:
        """Defaults filled in, values checked, then ``prepare``."""
        values = {**self.defaults(), **params}
        for p in self.params:
            if p.scope != "editor":
                values[p.name] = p.check(values[p.name])
        return self.prepare(values, device) if self.prepare else values

    def pipeline(self, inputs: Inputs, params: dict[str, Any], *, device: Any = None,
                 cancel: CancelToken | None = None, prepared: bool = False
                 ) -> Pipeline[Tensor]:
        """The pipeline for ``inputs``; ``prepared``: ``params`` came from :meth:`resolve`."""
        values = params if prepared else self.resolve(params, device)
        return self.run(inputs, values, device, cancel)

    def weights_used(self, params: dict[str, Any], device: Any = None) -> tuple[str, ...]:
        """The weights a run with ``params`` (defaults filled in) loads."""
        if self.uses is not None:
            return tuple(self.uses(params, device))
        names = list(self.weights)
        for p in self.params:
            chosen = next((c for c in p.choices if c.value == params.get(p.name)), None)
            if chosen is not None and chosen.needs and chosen.needs not in names:
                names.append(chosen.needs)
        return tuple(names)

    def describe(self, params: dict[str, Any]) -> str:
        return self.job_title(params) if self.job_title else self.title


def jsonable(value):
    """A parameter value as JSON: paths and enums as strings, tuples as lists."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return str(getattr(value, "value", value))


def model_refs(cap: Capability, params: dict) -> list[dict]:
    """The weights a capability run used: its own plus those of the chosen values, each
    with the sha256 from the weights manifest (None when not installed)."""
    from neuron_desktop.models.weights import WeightsError, get_entry

    refs = []
    for n in cap.weights_used({**cap.defaults(), **params}):
        try:
            refs.append({"name": n, "sha256": get_entry(n).sha256})
        except (WeightsError, OSError):
            refs.append({"name": n, "sha256": None})
    return refs


def record_entry(cap: Capability, params: dict) -> dict:
    """The edit-record entry of one run of ``cap`` (editor steps, projects, CLI outputs):
    its title, the parameters a user sets (no editor-only ones), the weights used."""
    shown = {p.name for p in cap.params if p.scope != "editor"}
    return {"name": cap.describe(params), "capability": cap.name,
            "params": jsonable({k: v for k, v in params.items() if k in shown}),
            "models": model_refs(cap, params)}


@functools.cache
def _discover() -> dict[str, Capability]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        cap = getattr(module, "CAPABILITY", None)
        if isinstance(cap, Capability):
            found.append(cap)
    return {c.name: c for c in sorted(found, key=lambda c: (c.order, c.name))}


def all_capabilities() -> list[Capability]:
    """Every capability, in menu order."""
    return list(_discover().values())


def get(name: str) -> Capability:
    caps = _discover()
    if name not in caps:
        raise NeuronError(f"unknown capability {name!r} (known: {', '.join(caps)})")
    return caps[name]
