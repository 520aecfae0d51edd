"""Model registry: named builder functions, each tied to a task and default weights.

Builders take keyword-only ``weights: str | None = "default"``: a weights-manifest name,
``None`` for random initialisation, or ``"default"`` (resolve with :func:`resolve_weights`;
:func:`get_model` resolves it before calling the builder).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from neuron_desktop.core.errors import WeightsError
from neuron_desktop.models import weights as weights_registry

B = TypeVar("B", bound=Callable[..., Any])


@dataclass(frozen=True)
class ModelSpec:
    name: str
    task: str
    default_weights: str | None
    builder: Callable[..., Any]


_MODELS: dict[str, ModelSpec] = {}


def register_model(
    name: str, *, task: str, default_weights: str | None = None
) -> Callable[[B], B]:
    """Decorator registering a model builder under ``name``."""

    def decorate(builder: B) -> B:
        old = _MODELS.get(name)
        if old is not None and _qualname(old.builder) != _qualname(builder):
            raise ValueError(f"model {name!r} is already registered by {_qualname(old.builder)}")
        _MODELS[name] = ModelSpec(name, task, default_weights, builder)
        return builder

    return decorate


def _qualname(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def _spec(name: str) -> ModelSpec:
    if name not in _MODELS:
        known = ", ".join(sorted(_MODELS)) or "none"
        raise WeightsError(f"unknown model {name!r} (known: {known})")
    return _MODELS[name]


def resolve_weights(name: str, weights: str | None) -> str | None:
    """Map ``"default"`` to the model's default weights name; other values pass through."""
    return _spec(name).default_weights if weights == "default" else weights


def get_model(name: str, **kwargs: Any) -> Any:
    """Build model ``name``; ``weights="default"`` (the default) uses its default weights."""
    kwargs["weights"] = resolve_weights(name, kwargs.get("weights", "default"))
    return _spec(name).builder(**kwargs)


def list_models(task: str | None = None) -> list[str]:
    """Registered model names (sorted), optionally only those for ``task``."""
    return sorted(n for n, s in _MODELS.items() if task is None or s.task == task)


def model_info(name: str) -> dict[str, Any]:
    """Name, task, default weights and, when in the manifest, that entry's details."""
    spec = _spec(name)
    info: dict[str, Any] = {
        "name": spec.name,
        "task": spec.task,
        "default_weights": spec.default_weights,
        "weights": None,
    }
    if spec.default_weights is not None:
        entries = weights_registry.read_manifest()
        entry = entries.get(spec.default_weights)
        info["weights"] = None if entry is None else entry.to_json()
    return info
