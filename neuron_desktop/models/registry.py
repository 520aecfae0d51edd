"""The one way a network is loaded: manifest entry -> ``arch`` builder -> verified weights.

Each weights entry in the manifest names its architecture (``arch``). A model module registers
a builder for that name with ``@register_arch("Name")``: ``builder(entry) -> nn.Module`` reads
the layout it needs from the entry (``recipe``/``preprocessing``). :func:`load` builds the
network, loads its sha256-checked safetensors and caches it per weights folder, file checksum
and device, so every pipeline, the CLI and the editor share one copy.

A network whose state partly comes from elsewhere (the colorizer's frozen ImageNet branch)
defines ``trainable_state_dict()``: only those keys must be in the file.
"""

from __future__ import annotations

import functools
import importlib
import logging
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

from neuron_desktop.core.errors import WeightsError
from neuron_desktop.models import weights as weights_registry
from neuron_desktop.models.weights import WeightEntry

log = logging.getLogger(__name__)

Builder = Callable[[WeightEntry], nn.Module]
B = TypeVar("B", bound=Builder)
N = TypeVar("N", bound=nn.Module)

_ARCHS: dict[str, Builder] = {}


def register_arch(name: str) -> Callable[[B], B]:
    """Decorator: ``builder(entry) -> nn.Module`` builds manifest entries with ``arch=name``."""

    def decorate(builder: B) -> B:
        old = _ARCHS.get(name)
        if old is not None and _qualname(old) != _qualname(builder):
            raise ValueError(f"arch {name!r} is already registered by {_qualname(old)}")
        _ARCHS[name] = builder
        return builder

    return decorate


def _qualname(fn: Callable) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


@functools.cache
def _import_model_modules() -> None:
    """Import every module of ``neuron_desktop.models`` so their registrations run."""
    import neuron_desktop.models as package

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")


def list_archs() -> list[str]:
    _import_model_modules()
    return sorted(_ARCHS)


def build(entry: WeightEntry) -> nn.Module:
    """A randomly initialised network for ``entry`` (its arch's builder)."""
    _import_model_modules()
    if entry.arch not in _ARCHS:
        known = ", ".join(sorted(_ARCHS)) or "none"
        raise WeightsError(f"weights {entry.name!r}: unknown arch {entry.arch!r} "
                           f"(registered: {known})")
    return _ARCHS[entry.arch](entry)


def load_state(net: nn.Module, state: dict[str, torch.Tensor], name: str,
               strict: bool = True) -> None:
    """Load ``state`` into ``net``; with ``strict`` every trainable key must be present."""
    net.load_state_dict(state, strict=False)
    own = getattr(net, "trainable_state_dict", net.state_dict)()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(net.state_dict()))
    if strict and (missing or unexpected):
        raise WeightsError(f"weights {name!r} do not fit their arch: missing "
                           f"{missing[:3]}, unexpected {unexpected[:3]}")


def load(name: str, device: torch.device | str = "cpu",
         directory: Path | str | None = None) -> nn.Module:
    """The network of manifest entry ``name``: built, sha256-checked, in eval mode, frozen,
    on ``device``; cached (a retrained file with a new checksum is reloaded)."""
    d = str(weights_registry.weights_dir() if directory is None else Path(directory))
    entry = weights_registry.get_entry(name, d)
    return _cached(name, d, entry.sha256, str(torch.device(device)))


def load_as(kind: type[N], name: str, device: torch.device | str = "cpu",
            directory: Path | str | None = None) -> N:
    """:func:`load`, checked to be a ``kind`` (the class its pipeline drives)."""
    net = load(name, device, directory)
    if not isinstance(net, kind):
        raise WeightsError(f"weights {name!r} hold a {type(net).__name__}, "
                           f"not a {kind.__name__}")
    return net


@functools.lru_cache(maxsize=8)
def _cached(name: str, directory: str, sha256: str, device: str) -> nn.Module:
    entry = weights_registry.get_entry(name, directory)
    log.info("loading network %s (%s) on %s", name, entry.arch, device)
    net = build(entry)
    load_state(net, weights_registry.load_weights(name, directory=directory), name)
    return net.eval().requires_grad_(False).to(device)
