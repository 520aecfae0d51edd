"""Training of the learned scratch/dust detector (`neuron train scratches`): resumable, seeded,
logged.

Random crops and flips of the training photos (some turned gray), damaged on the fly by
``data.damage`` as parts of a virtual photo of ``photo_side`` px, so that scratch widths,
lengths and dust sizes are those of whole photos; ``p_clean`` of the crops stay clean;
``p_old`` of them get the old-print look (toned, faded, duller cream cracks and craquelure,
scan blur/grain/JPEG: ``data.damage.old_photo_damage``).
Loss: BCE with logits (``pos_weight`` for the rare damaged pixels) plus soft Dice.
Validation: the validation split's photos with damage seeded per photo, once as plain damage
and once as old-print damage; the threshold (and whether to dilate by 1 px) that maximises
:func:`selection_score` (pixel F1 with 1 px tolerance and marks F1, one speck counting as
much as one scratch) averaged over the two sets is chosen, and scored next to the classical
detector on the same images.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from neuron_desktop.core.metrics import DetectorScore
from neuron_desktop.core.progress import Pipeline, Progress, run_pipeline
from neuron_desktop.data.damage import (
    OLD_SPEC,
    DamageSpec,
    damage,
    old_look,
    old_photo_damage,
    scan,
)
from neuron_desktop.data.photos import PhotoBank, list_images, split
from neuron_desktop.models.scratch_net import ScratchNet
from neuron_desktop.pipelines.scratches import dilate_1px, network_logits, scratch_mask
from neuron_desktop.train.colorize import DEFAULT_DATA
from neuron_desktop.train.runs import (
    cosine_lr,
    fixed_fields,
    init_from,
    log_entry,
    resume,
    save_run,
)

THRESHOLDS = (*np.round(np.arange(0.2, 0.96, 0.05), 2).tolist(), 0.97, 0.98, 0.99)
VAL_SEED = 10_000  # damage of validation photo i: seed VAL_SEED + i
VAL_SIDE = 512  # validation photos are kept up to this shorter side (about full size)


@dataclass
class ScratchRecipe:
    data: list[str] = field(default_factory=lambda: [DEFAULT_DATA])
    val_fraction: float = 0.05
    steps: int = 1500
    batch: int = 8
    crop: int = 192
    lr: float = 2e-3
    lr_final: float = 1e-4
    width: int = 16
    pos_weight: float = 5.0
    dice_weight: float = 1.0
    p_clean: float = 0.15
    p_gray: float = 0.25
    photo_side: tuple[int, int] = (384, 1024)  # virtual photo the damage is drawn on
    webs: tuple[int, int] = (0, 2)  # craquelure webs per virtual photo (data.damage)
    dust: tuple[int, int] = (5, 40)  # dust specks per virtual photo (data.damage)
    dust_p_bright: float | None = None  # bright share of the specks (None: as the scratches)
    p_old: float = 0.5  # crops given the old-print look and its damage (data.damage)
    seed: int = 0
    init: str = ""  # safetensors file to start from (fine-tuning), "" = random
    val_every: int = 250
    val_images: int = 32
    log_every: int = 50


def damaged_crop(crop: np.ndarray, rng: np.random.Generator, recipe: ScratchRecipe
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(damaged crop, mask) for a (c, c, 3) float32 crop: damage drawn on a virtual photo of
    ``photo_side`` px with the crop at a random place (clean with probability p_clean)."""
    c = crop.shape[0]
    dust = {"dust": recipe.dust, "dust_p_bright": recipe.dust_p_bright}
    spec = DamageSpec(webs=recipe.webs, **dust)
    old = recipe.p_old > 0 and rng.random() < recipe.p_old
    if old:
        crop, paper = old_look(crop, rng)
        spec = replace(OLD_SPEC, paper=paper, **dust)
    elif rng.random() < recipe.p_gray:
        crop = np.repeat(crop @ np.float32([0.299, 0.587, 0.114]), 3).reshape(crop.shape)
    if rng.random() < recipe.p_clean:
        out, mask = crop, np.zeros((c, c), np.float32)
    else:
        side = max(c, int(rng.integers(recipe.photo_side[0], recipe.photo_side[1] + 1)))
        y, x = rng.integers(side - c + 1, size=2)
        canvas = np.zeros((side, side, 3), np.float32)
        canvas[y:y + c, x:x + c] = crop
        out, mask = damage(canvas, rng, spec)
        out, mask = out[y:y + c, x:x + c], mask[y:y + c, x:x + c]
    return (scan(out, rng) if old else out), mask


def scratch_loss(logits: torch.Tensor, truth: torch.Tensor, recipe: ScratchRecipe
                 ) -> dict[str, torch.Tensor]:
    """BCE with logits (positives weighted) and soft Dice over the whole batch."""
    bce = F.binary_cross_entropy_with_logits(
        logits, truth, pos_weight=torch.tensor(recipe.pos_weight, device=logits.device))
    p = torch.sigmoid(logits)
    dice = 1 - (2 * (p * truth).sum() + 1) / (p.sum() + truth.sum() + 1)
    return {"bce": bce, "dice": dice, "loss": bce + recipe.dice_weight * dice}


def selection_score(result: dict[str, float]) -> float:
    """What the threshold maximises on one validation set: the mean of the pixel F1 (1 px
    tolerance) and the marks F1 (each scratch or speck counted once)."""
    return (result["f1_1px"] + result["marks_f1"]) / 2


class Validator:
    """Seeded damage of the first ``n`` validation photos (the same every time), plain and
    old-print; the classical detector's scores on them, and the network's best threshold
    (mean :func:`selection_score` over the two sets)."""

    def __init__(self, bank: PhotoBank, n: int) -> None:
        makers = {"": damage, "old_": old_photo_damage}
        self.sets: dict[str, tuple[list, list]] = {}
        self.classical = {}
        for tag, make in makers.items():
            inputs, truths, classical = [], [], DetectorScore()
            for i, img in enumerate(bank.images[:n]):
                damaged, m = make(img.astype(np.float32) / 255, VAL_SEED + i)
                inputs.append(damaged)
                truths.append(m > 0)
                classical.add(scratch_mask(damaged), m > 0)
            self.sets[tag] = (inputs, truths)
            self.classical.update({f"classical_{tag}{k}": v for k, v in classical.result().items()})

    @torch.no_grad()
    def __call__(self, net: ScratchNet) -> dict:
        net.eval()
        device = next(net.parameters()).device
        probs = {}
        for tag, (inputs, _) in self.sets.items():
            probs[tag] = []
            for rgb in inputs:
                x = torch.from_numpy(rgb).permute(2, 0, 1)[None].to(device)
                logits = run_pipeline(network_logits(net, x))
                probs[tag].append(torch.sigmoid(logits)[0, 0].cpu().numpy())
        net.train()
        best = None
        for dilate in (False, True):
            for t in THRESHOLDS:
                scores = {}
                for tag, (_, truths) in self.sets.items():
                    score = DetectorScore()
                    for p, truth in zip(probs[tag], truths, strict=True):
                        pred = p > t
                        score.add(dilate_1px(pred) if dilate else pred, truth)
                    scores[tag] = score.result()
                value = np.mean([selection_score(r) for r in scores.values()])
                if best is None or value > best[2]:
                    best = (t, dilate, value, scores)
        t, dilate, _, scores = best
        found = {f"val_{tag}{k}": v for tag, r in scores.items() for k, v in r.items()}
        return {"threshold": t, "dilate": dilate, **found, **self.classical,
                "val_images": len(self.sets[""][0])}


def train_scratch_net(recipe: ScratchRecipe, run_dir: Path, device: torch.device,
                      log=print) -> Pipeline[tuple[ScratchNet, dict]]:
    """Train (or resume from ``run_dir/checkpoint.pt``); returns (net, final metrics).
    Without validation photos the metrics hold threshold 0.5, no dilation."""
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(recipe.seed)
    train_files, val_files = split(list_images(recipe.data), recipe.val_fraction)
    log(f"data: {len(train_files)} training, {len(val_files)} validation photos")
    bank = PhotoBank(train_files)
    validator = (Validator(PhotoBank(val_files, VAL_SIDE), recipe.val_images)
                 if val_files else None)
    net = ScratchNet(recipe.width).to(device)
    if recipe.init:
        init_from(net, recipe.init, log)
    opt = torch.optim.Adam(net.parameters(), lr=recipe.lr)
    rng = np.random.default_rng(recipe.seed)
    ckpt = run_dir / "checkpoint.pt"
    fixed = fixed_fields(recipe, ("steps", "val_every", "val_images", "log_every"))
    parts = {"model": net, "optimizer": opt}
    step, history = resume(ckpt, fixed, parts, rng, log)
    t0, seen, avg = time.perf_counter(), 0, None
    while step < recipe.steps:
        lr = cosine_lr(recipe, step)
        for g in opt.param_groups:
            g["lr"] = lr
        pairs = [damaged_crop(c, rng, recipe)
                 for c in bank.random_crops(rng, recipe.batch, recipe.crop)]
        x = torch.from_numpy(np.stack([p[0] for p in pairs])).permute(0, 3, 1, 2).to(device)
        truth = torch.from_numpy(np.stack([p[1] for p in pairs]))[:, None].to(device)
        losses = scratch_loss(net(x), truth, recipe)
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        opt.step()
        step += 1
        seen += recipe.batch
        values = {k: float(v.detach()) for k, v in losses.items()}
        avg = values if avg is None else {k: 0.97 * avg[k] + 0.03 * v for k, v in values.items()}
        yield Progress(step / recipe.steps, f"step {step} loss {avg['loss']:.4f}")
        if step % recipe.log_every == 0:
            rate = seen / (time.perf_counter() - t0)
            log(f"step {step}/{recipe.steps} " + " ".join(f"{k} {v:.4f}" for k, v in avg.items())
                + f" lr {lr:.2e} {rate:.1f} img/s")
        if step % recipe.val_every == 0 or step == recipe.steps:
            entry = {"step": step, **avg, "images_per_s": seen / (time.perf_counter() - t0),
                     "threshold": 0.5, "dilate": False}
            if validator is not None:
                entry.update(validator(net))
            history.append(entry)
            log_entry(run_dir, entry, log)
            save_run(ckpt, fixed, parts, rng, step, history)
    net.eval()
    return net, history[-1] if history else {}
