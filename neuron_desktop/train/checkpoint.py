"""Resumable training runs: a checkpoint holds the model/optimiser states, RNG states, step,
history and the recipe fields a resumed run must share."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from neuron_desktop.core.errors import NeuronError


def fixed_fields(recipe: Any, volatile: tuple[str, ...]) -> dict:
    """The recipe as plain JSON minus the fields a resumed run may change (steps, logging)."""
    return {k: v for k, v in json.loads(json.dumps(asdict(recipe))).items() if k not in volatile}


def load_checkpoint(path: Path, fixed: dict) -> dict | None:
    """The saved state (weights_only), or None without a checkpoint; a checkpoint of another
    recipe is refused."""
    if not path.exists():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state["fixed"] != fixed:
        raise NeuronError(f"{path} was made with a different recipe; use another run dir")
    return state


def save_checkpoint(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
