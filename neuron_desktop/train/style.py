"""Training of the fast multi-style network (`neuron train style`).

Perceptual loss of Johnson et al. 2016 with the Gatys losses of ``models.style`` (the same
loss network, layers and balance as the Gatys pipeline): every crop in a batch gets a random
gallery style; the network learns one set of conditional instance-norm parameters per style
(Dumoulin et al. 2017). :func:`train_new_style` adds one style to a trained network by
training only that style's normalisation parameters.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from neuron_desktop.core.errors import NeuronError
from neuron_desktop.core.imageio import load_image, to_tensor
from neuron_desktop.core.progress import Pipeline, Progress
from neuron_desktop.data.photos import PhotoBank, list_images, split
from neuron_desktop.models.style import (
    CONTENT_TAP,
    STYLE_TAPS,
    FastStyleNet,
    StyleFeatures,
    content_loss,
    gram,
    style_layer_loss,
    tv_loss,
)
from neuron_desktop.pipelines.stylize import GatysSettings, resize_to_long
from neuron_desktop.train.colorize import DEFAULT_DATA
from neuron_desktop.train.runs import cosine_lr, fixed_fields, log_entry, resume, save_run

DEFAULT_STYLES = str(Path(DEFAULT_DATA).parent / "styles")
STYLE_SIDE = 512  # style images are seen with this long side (as Gatys and the eval do)


@dataclass
class StyleRecipe:
    data: list[str] = field(default_factory=lambda: [DEFAULT_DATA])
    styles: str = DEFAULT_STYLES
    val_fraction: float = 0.05
    steps: int = 2000
    batch: int = 4
    crop: int = 192
    lr: float = 2e-3
    lr_final: float = 2e-4
    width: int = 16
    blocks: int = 4
    style_weight: float = GatysSettings().style_weight
    content_weight: float = GatysSettings().content_weight
    tv_weight: float = GatysSettings().tv_weight
    seed: int = 0
    log_every: int = 25
    checkpoint_every: int = 100
    init: str | None = None  # safetensors weights to start from (fine-tuning)
    # per-style factor on content_weight (style name -> factor), for a painting whose
    # style term alone would repaint the photo (flat colour fields: Hokusai)
    content_boost: dict[str, float] = field(default_factory=dict)


def load_styles(folder: str | Path) -> tuple[list[str], list[torch.Tensor]]:
    """(names, images (1, 3, h, w) with long side STYLE_SIDE) of a folder of paintings."""
    files = list_images([folder])
    return [p.stem for p in files], [style_tensor(p) for p in files]


def style_tensor(path: str | Path) -> torch.Tensor:
    return resize_to_long(to_tensor(load_image(path).rgb), STYLE_SIDE)


def style_targets(net: StyleFeatures, images: list[torch.Tensor]) -> list[list[torch.Tensor]]:
    """Per layer, the stacked Gram targets of every style: [(S, C, C), ...]."""
    with torch.no_grad():
        per_style = [[gram(f)[0] for f in net(img)] for img in images]
    return [torch.stack(layer) for layer in zip(*per_style, strict=True)]


def perceptual_loss(net: StyleFeatures, out: torch.Tensor, photo: torch.Tensor,
                    targets: list[torch.Tensor], recipe: StyleRecipe,
                    content_factor: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Style (Gram, per sample's style targets), content and TV terms for a batch
    (``content_factor``: a per-sample factor (B,) on the content term)."""
    feats = net(out)
    with torch.no_grad():
        content_target = net(photo)[STYLE_TAPS.index(CONTENT_TAP)]
    style = sum(style_layer_loss(f, t) for f, t in zip(feats, targets, strict=True)) / len(feats)
    f = feats[STYLE_TAPS.index(CONTENT_TAP)]
    content = content_loss(f, content_target)
    weighted = content
    if content_factor is not None:
        per_sample = ((f - content_target) ** 2).flatten(1).mean(1)
        weighted = (per_sample * content_factor).mean()
    tv = tv_loss(out)
    total = recipe.style_weight * style + recipe.content_weight * weighted + recipe.tv_weight * tv
    return {"total": total, "style": style, "content": content, "tv": tv}


def _batch(bank: PhotoBank, rng: np.random.Generator, recipe: StyleRecipe,
           device: torch.device) -> torch.Tensor:
    crops = bank.random_crops(rng, recipe.batch, recipe.crop)
    return torch.from_numpy(crops).permute(0, 3, 1, 2).to(device)


def train_style_net(recipe: StyleRecipe, run_dir: Path, device: torch.device,
                    log=print) -> Pipeline[tuple[FastStyleNet, list[str], dict]]:
    """Train (or resume from ``run_dir/checkpoint.pt``); returns (net, style names, metrics)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(recipe.seed)
    names, images = load_styles(recipe.styles)
    train_files, val_files = split(list_images(recipe.data), recipe.val_fraction)
    log(f"styles: {', '.join(names)}; data: {len(train_files)} training photos")
    bank = PhotoBank(train_files)
    loss_net = StyleFeatures().to(device)
    targets = [t.to(device) for t in style_targets(loss_net, [i.to(device) for i in images])]
    net = FastStyleNet(len(names), recipe.width, recipe.blocks)
    if recipe.init:
        from neuron_desktop.train.runs import init_from

        init_from(net, recipe.init, log)
    net = net.to(device)
    opt = torch.optim.Adam(net.parameters(), lr=recipe.lr)
    rng = np.random.default_rng(recipe.seed)
    ckpt = run_dir / "checkpoint.pt"
    fixed = fixed_fields(recipe, ("steps", "log_every", "checkpoint_every"))
    parts = {"model": net, "optimizer": opt}
    step, history = resume(ckpt, fixed, parts, rng, log)
    t0, seen, avg = time.perf_counter(), 0, None
    eye = torch.eye(len(names), device=device)
    unknown = set(recipe.content_boost) - set(names)
    if unknown:
        raise NeuronError(f"--content-boost names unknown styles: {sorted(unknown)}")
    factors = torch.tensor([recipe.content_boost.get(n, 1.0) for n in names], device=device)
    while step < recipe.steps:
        for g in opt.param_groups:
            g["lr"] = cosine_lr(recipe, step)
        photo = _batch(bank, rng, recipe, device)
        which = torch.from_numpy(rng.integers(len(names), size=recipe.batch)).to(device)
        out = net(photo, eye[which])
        losses = perceptual_loss(loss_net, out, photo, [t[which] for t in targets], recipe,
                                 factors[which] if recipe.content_boost else None)
        opt.zero_grad(set_to_none=True)
        losses["total"].backward()
        opt.step()
        step += 1
        seen += recipe.batch
        values = {k: float(v.detach()) for k, v in losses.items()}
        avg = values if avg is None else {k: 0.97 * avg[k] + 0.03 * values[k] for k in avg}
        yield Progress(step / recipe.steps, f"step {step} loss {avg['total']:.3f}")
        if step % recipe.log_every == 0 or step == recipe.steps:
            entry = {"step": step, **{k: round(v, 5) for k, v in avg.items()},
                     "images_per_s": round(seen / (time.perf_counter() - t0), 2)}
            history.append(entry)
            log_entry(run_dir, entry, log)
        if step % recipe.checkpoint_every == 0 or step == recipe.steps:
            save_run(ckpt, fixed, parts, rng, step, history)
    return net, names, history[-1] if history else {}


def train_new_style(net: FastStyleNet, style: torch.Tensor, *, steps: int = 300,
                    lr: float = 1e-2, device: torch.device | str = "cpu",
                    recipe: StyleRecipe | None = None) -> Pipeline[dict[str, torch.Tensor]]:
    """Add ``style`` (1, 3, h, w) to ``net`` by training only its new normalisation slot,
    on the recipe's photos, crops, batch, loss weights and seed.

    Returns that slot's parameters (``FastStyleNet.style_params``); the rest of the network
    is unchanged (checked by the tests)."""
    recipe = recipe or StyleRecipe()
    device = torch.device(device)
    rng = np.random.default_rng(recipe.seed)
    torch.manual_seed(recipe.seed)
    bank = PhotoBank(split(list_images(recipe.data), recipe.val_fraction)[0])
    loss_net = StyleFeatures().to(device)
    targets = [t.to(device) for t in style_targets(loss_net, [resize_to_long(
        style, STYLE_SIDE).to(device)])]
    net = net.to(device).train()
    index = net.add_style()
    net.requires_grad_(False)
    params = []
    for norm in net.norms():
        norm.gamma.requires_grad_(True)
        norm.beta.requires_grad_(True)
        params += [norm.gamma, norm.beta]
    opt = torch.optim.Adam(params, lr=lr)
    w = torch.zeros(1, net.styles, device=device)
    w[0, index] = 1
    for step in range(steps):
        photo = _batch(bank, rng, recipe, device)
        out = net(photo, w)
        loss = perceptual_loss(loss_net, out, photo, [t.expand(len(photo), -1, -1)
                                                      for t in targets], recipe)["total"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        for p in params:  # only the new style's row moves
            p.grad[:index] = 0
        opt.step()
        yield Progress((step + 1) / steps, f"step {step + 1} loss {float(loss.detach()):.3f}")
    net.requires_grad_(False).eval()
    return net.style_params(index)
