"""Join two trained colorizers into one :class:`ColorizerPair` weights file: one answers
photos without hints (``--auto``), the other hinted ones (``--hinted``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import torch

from neuron_desktop.models.colorization import ColorizationNet, colorizer, split_weights_spec
from neuron_desktop.models.weights import WeightEntry, get_entry, save_weights
from neuron_desktop.train.colorize import arch_of

log = logging.getLogger(__name__)


def _member_entry(spec: str) -> tuple[WeightEntry, Callable[[dict], dict]]:
    """A member's manifest entry, and what picks its own part of the entry's recipe, data
    and metrics (a pair's entry keeps one part per member)."""
    name, member = split_weights_spec(spec)
    entry = get_entry(name)
    if entry.arch != "ColorizerPair":
        return entry, lambda part: part
    return entry, lambda part: part.get(member, {})


def pair_state(auto: ColorizationNet, hinted: ColorizationNet) -> dict[str, torch.Tensor]:
    """The pair's weights; refuses networks that cannot share one decoding or encoder."""
    if auto.semantic is None or hinted.semantic is None:
        raise ValueError("both colorizers need the EfficientNet-Lite0 branch")
    if auto.num_bins != hinted.num_bins or not torch.allclose(
            auto.prior_log_weights, hinted.prior_log_weights, atol=1e-5):
        raise ValueError("the colorizers were trained with different ab priors (train one "
                         "from the other with --keep-prior)")
    return ({f"auto.{k}": v for k, v in auto.trainable_state_dict().items()}
            | {f"hinted.{k}": v for k, v in hinted.trainable_state_dict().items()})


def write_pair(auto_spec: str, hinted_spec: str, name: str,
               weights_dir: Path | str | None = None, auto_weight: float = 1.0) -> WeightEntry:
    """``auto_spec``/``hinted_spec``: weights names (``NAME:hinted`` for a pair's member);
    ``auto_weight`` < 1: hint-free photos get both networks' log-probabilities averaged."""
    if not 0 <= auto_weight <= 1:
        raise ValueError(f"--auto-weight must be in [0, 1], got {auto_weight}")
    specs = {"auto": auto_spec, "hinted": hinted_spec}
    nets = {k: colorizer(weights=spec) for k, spec in specs.items()}
    state = pair_state(nets["auto"], nets["hinted"])
    info = {k: _member_entry(spec) for k, spec in specs.items()}
    layout = {k: {a: v for a, v in arch_of(net).items() if a != "semantic"}
              for k, net in nets.items()}
    entry = save_weights(
        name, state, task="colorization", arch="ColorizerPair",
        recipe={k: {"weights": specs[k], "sha256": e.sha256, **own(e.recipe)}
                for k, (e, own) in info.items()} | {"command": "neuron train colorize-pair"},
        data={k: own(e.data) for k, (e, own) in info.items()},
        metrics={k: own(e.metrics) for k, (e, own) in info.items()},
        preprocessing={**info["auto"][0].preprocessing,
                       "arch": layout | ({"auto_weight": auto_weight} if auto_weight < 1 else {})},
        directory=weights_dir)
    log.info("wrote colorizer pair '%s' (automatic: %s, hints: %s)", name, auto_spec,
             hinted_spec)
    return entry
