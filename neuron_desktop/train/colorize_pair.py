"""Join two trained colorizers into one :class:`ColorizerPair` weights file: one answers
photos without hints (``--auto``), the other hinted ones (``--hinted``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from neuron_desktop.core.imageio import load_image, to_tensor
from neuron_desktop.data.degrade import degrade
from neuron_desktop.data.photos import list_images, split
from neuron_desktop.models.colorization import (
    ColorizationNet,
    colorizer,
    log_average,
    split_weights_spec,
)
from neuron_desktop.models.weights import WeightEntry, get_entry, save_weights
from neuron_desktop.train.colorize import ColorizeRecipe, arch_of

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


def align_photos(data: list[str], count: int, seed: int = 0) -> list[Path]:
    """``count`` photos drawn (seeded) from the training split of ``data``, the split that
    ``neuron train colorize`` trains on; never its validation photos."""
    train = split(list_images(data), ColorizeRecipe.val_fraction)[0]
    if count > len(train):
        raise ValueError(f"--align {count}: only {len(train)} training photos in {data}")
    rng = np.random.default_rng(seed)
    return [train[i] for i in rng.choice(len(train), count, replace=False)]


@torch.no_grad()
def fit_auto_bias(auto: ColorizationNet, hinted: ColorizationNet, auto_weight: float,
                  files: list[Path], severity: float = 0.0) -> torch.Tensor:
    """The per-bin bias that makes the pair's hint-free answer predict each ab bin as often
    (mean softmax over ``files``, at the editor's render size) as ``hinted`` alone does:
    log m_hinted - log m_mix. Mixing in a wider network gains accuracy but shifts how
    often each colour is chosen (towards browns on old photos); the bias undoes the shift
    and keeps the per-pixel gain. ``severity`` > 0: each photo first goes through the
    old-print process (:func:`degrade`, seeded by its index, no toning), so the bias is
    fitted on photos that look like the ones the editor colours."""
    from neuron_desktop.pipelines import colorize as pc

    m_mix = m_hinted = torch.zeros(hinted.num_bins)
    for i, path in enumerate(files):
        rgb = np.clip(load_image(path).rgb, 0, 1).astype(np.float32)
        if severity > 0:
            rgb = degrade(rgb, i, severity, toning=0.0).image
        prep = pc.prepare(hinted, to_tensor(rgb))
        own = pc.predict_logits(hinted, prep, [])
        mix = log_average(pc.predict_logits(auto, prep, []), own, auto_weight)
        m_hinted = m_hinted + torch.softmax(own.float(), 1).mean((0, 2, 3))
        m_mix = m_mix + torch.softmax(mix, 1).mean((0, 2, 3))
        if (i + 1) % 25 == 0:
            log.info("aligning: %d / %d photos", i + 1, len(files))
    return torch.log(m_hinted.clamp_min(1e-6)) - torch.log(m_mix.clamp_min(1e-6))


def half_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` with its float weight matrices and kernels (2+ dims) as float16: half the
    file, read back into the float32 network by ``load_state_dict``. Biases, norms, the
    prior and the fitted bias (1 dim) stay float32."""
    return {k: v.half() if v.is_floating_point() and v.ndim >= 2 else v
            for k, v in state.items()}


def write_pair(auto_spec: str, hinted_spec: str, name: str,
               weights_dir: Path | str | None = None, auto_weight: float = 1.0,
               align: int = 0, align_data: list[str] | None = None,
               align_severity: float = 0.0, half: bool = False) -> WeightEntry:
    """``auto_spec``/``hinted_spec``: weights names (of a pair: its hint member, or
    ``NAME:auto``);
    ``half``: the networks' weight matrices stored as float16 (:func:`half_state`);
    ``auto_weight`` < 1: hint-free photos get both networks' log-probabilities averaged;
    ``align`` > 0: a bias fitted on that many training photos of ``align_data``, aged at
    ``align_severity`` (:func:`fit_auto_bias`)."""
    if not 0 <= auto_weight <= 1:
        raise ValueError(f"--auto-weight must be in [0, 1], got {auto_weight}")
    if align < 0:
        raise ValueError(f"--align must be >= 0, got {align}")
    if not 0 <= align_severity <= 1:
        raise ValueError(f"--align-severity must be in [0, 1], got {align_severity}")
    specs = {"auto": auto_spec, "hinted": hinted_spec}
    nets = {k: colorizer(weights=spec) for k, spec in specs.items()}
    state = pair_state(nets["auto"], nets["hinted"])
    arch_extra: dict = {"auto_weight": auto_weight} if auto_weight < 1 else {}
    data_extra: dict = {}
    if align:
        data = align_data or ColorizeRecipe().data
        files = align_photos(data, align)
        state["auto_bias"] = fit_auto_bias(nets["auto"], nets["hinted"], auto_weight, files,
                                           align_severity)
        arch_extra["auto_bias"] = True
        data_extra["align"] = {"data": [str(d) for d in data], "photos": align, "seed": 0,
                               "split": "training", "severity": align_severity}
        log.info("auto_bias fitted on %d photos: %.2f to %.2f", align,
                 float(state["auto_bias"].min()), float(state["auto_bias"].max()))
    if half:
        state = half_state(state)
        arch_extra["storage"] = "float16"
    info = {k: _member_entry(spec) for k, spec in specs.items()}
    layout = {k: {a: v for a, v in arch_of(net).items() if a != "semantic"}
              for k, net in nets.items()}
    entry = save_weights(
        name, state, task="colorization", arch="ColorizerPair",
        recipe={k: {"weights": specs[k], "sha256": e.sha256, **own(e.recipe)}
                for k, (e, own) in info.items()}
        | {"command": "neuron train colorize-pair", "auto_weight": auto_weight, "align": align,
           "align_severity": align_severity, "half": half},
        data={k: own(e.data) for k, (e, own) in info.items()} | data_extra,
        metrics={k: own(e.metrics) for k, (e, own) in info.items()},
        preprocessing={**info["auto"][0].preprocessing,
                       "arch": layout | arch_extra},
        directory=weights_dir)
    log.info("wrote colorizer pair '%s' (automatic: %s, hints: %s)", name, auto_spec,
             hinted_spec)
    return entry
