"""Training of the inpainting network (`neuron train inpaint`): resumable, seeded, logged.

Random crops and flips of the training photos; holes generated on the fly: DeepFill v2
free-form strokes and boxes covering 5-50 % of the crop (stroke widths drawn so that they
match the hole widths the pipeline feeds the network, see ``pipelines.inpaint``), and thin
scratch/dust masks (``data.damage``). Loss: L1 inside the hole for the coarse and the
refined output (optionally plus ``mse_weight`` times their squared error), plus (from
``gan_start``) a small SN-PatchGAN hinge loss on the refined composite. Validation: PSNR on
held-out photos with seeded 20-30 % masks, against Telea and against the network's own
harmonic pre-fill.
"""

from __future__ import annotations

import functools
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from neuron_desktop.core.metrics import psnr
from neuron_desktop.core.progress import Cancelled, Pipeline, Progress
from neuron_desktop.data.damage import DamageSpec, damage
from neuron_desktop.data.masks import free_form_mask
from neuron_desktop.data.photos import PhotoBank, list_images, split
from neuron_desktop.models.inpainting import (
    PREFILL_ITERS,
    InpaintNet,
    PatchCritic,
    harmonic_fill,
    hinge_d_loss,
    hinge_g_loss,
)
from neuron_desktop.train.colorize import DEFAULT_DATA
from neuron_desktop.train.runs import (
    batch_stream,
    cosine_lr,
    fixed_fields,
    init_from,
    log_entry,
    resume,
    save_run,
    stop_requests,
)


@dataclass
class InpaintRecipe:
    data: list[str] = field(default_factory=lambda: [DEFAULT_DATA])
    val_fraction: float = 0.05
    steps: int = 3000
    batch: int = 8
    crop: int = 128
    lr: float = 1e-3
    lr_final: float = 5e-5
    width: int = 16
    p_scratch: float = 0.2
    stroke_scale: tuple[float, float] = (0.35, 0.9)  # 4-36 px strokes
    area: tuple[float, float] = (0.05, 0.5)
    grad_clip: float = 1.0  # max gradient norm of the generator (0 = off)
    adv_weight: float = 0.003
    mse_weight: float = 0.0  # weight of the squared error in the hole (PSNR's own measure)
    zero_residuals: bool = True  # start both stages at the pre-fill (also when fine-tuning)
    gan_start: float = 0.5  # fraction of the steps after which the critic joins
    seed: int = 0
    init: str = ""  # safetensors file to start from (fine-tuning), "" = random
    val_every: int = 500
    val_images: int = 48
    log_every: int = 50


def training_mask(rng: np.random.Generator, size: int, recipe: InpaintRecipe) -> np.ndarray:
    """One (size, size) float32 hole mask: free-form (area in the recipe's range) or
    thin scratches and dust."""
    if rng.random() < recipe.p_scratch:
        spec = DamageSpec(scratches=(1, 6), dust=(0, 15), folds=(0, 1))
        m = damage(np.zeros((size, size, 3), np.float32), rng, spec)[1]
        if m.any():
            return m
    lo = rng.uniform(recipe.area[0], recipe.area[1] - 0.1)
    return free_form_mask(size, size, rng, (lo, lo + 0.1), scale=rng.uniform(*recipe.stroke_scale))


def _hole_mean(err: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Mean of a per-pixel RGB error over hole pixels (per channel)."""
    return (err * hole).sum() / (hole.sum() * 3).clamp_min(1)


def hole_l1(pred: torch.Tensor, truth: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over hole pixels."""
    return _hole_mean((pred - truth).abs(), hole)


def hole_mse(pred: torch.Tensor, truth: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Mean squared error over hole pixels."""
    return _hole_mean((pred - truth) ** 2, hole)


def reconstruction_loss(coarse: torch.Tensor, refined: torch.Tensor, truth: torch.Tensor,
                        hole: torch.Tensor, recipe: InpaintRecipe
                        ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """(logged parts, total): hole L1 of both stages, plus ``mse_weight`` times their hole
    squared error."""
    losses = {"l1_coarse": hole_l1(coarse.float(), truth, hole),
              "l1": hole_l1(refined.float(), truth, hole)}
    total = losses["l1_coarse"] + losses["l1"]
    if recipe.mse_weight > 0:
        losses["mse"] = hole_mse(refined.float(), truth, hole)
        total = total + recipe.mse_weight * (losses["mse"]
                                             + hole_mse(coarse.float(), truth, hole))
    return losses, total


@torch.no_grad()
def validate(net: InpaintNet, bank: PhotoBank, n: int, seed: int = 1) -> dict[str, float]:
    """Mean PSNR of network and Telea composites on ``n`` held-out photos with 20-30 % holes
    (seeded: the same masks every time)."""
    net.eval()
    device = next(net.parameters()).device
    rng = np.random.default_rng(seed)
    ours, telea, prefill = [], [], []
    for img in bank.images[:n]:
        h, w = img.shape[:2]
        hole = free_form_mask(h, w, rng, (0.2, 0.3))
        truth = torch.from_numpy(img).permute(2, 0, 1)[None].float().to(device) / 255
        m = torch.from_numpy(hole)[None, None].to(device)
        out = net(truth, m)[1]
        guess = harmonic_fill(truth, m, PREFILL_ITERS)
        prefill.append(float(psnr((guess * 255).round() / 255, truth)))
        comp = truth * (1 - m) + out * m
        t = cv2.inpaint(img, (hole * 255).astype(np.uint8), 3, cv2.INPAINT_TELEA)
        t = torch.from_numpy(t).permute(2, 0, 1)[None].float().to(device) / 255
        q = (comp * 255).round() / 255
        ours.append(float(psnr(q, truth)))
        telea.append(float(psnr(t, truth)))
    net.train()
    return {"val_psnr": float(np.mean(ours)), "val_psnr_telea": float(np.mean(telea)),
            "val_psnr_prefill": float(np.mean(prefill)), "val_images": len(ours)}


def make_batch(bank: PhotoBank, rng: np.random.Generator, recipe: InpaintRecipe
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """One training batch: crops (B, 3, S, S) and hole masks (B, 1, S, S), float32."""
    crops = bank.random_crops(rng, recipe.batch, recipe.crop)
    masks = np.stack([training_mask(rng, recipe.crop, recipe) for _ in range(recipe.batch)])
    return torch.from_numpy(crops).permute(0, 3, 1, 2), torch.from_numpy(masks)[:, None]


def batches(bank: PhotoBank, rng: np.random.Generator, recipe: InpaintRecipe, start: int,
            workers: int):
    """Training batches (:func:`~neuron_desktop.train.runs.batch_stream`)."""
    return batch_stream(functools.partial(_make, bank, recipe), rng, recipe.seed, start,
                        workers)


def _make(bank: PhotoBank, recipe: InpaintRecipe, rng: np.random.Generator):
    return make_batch(bank, rng, recipe)


def train_inpainter(recipe: InpaintRecipe, run_dir: Path, device: torch.device,
                    log=print, workers: int = 0) -> Pipeline[tuple[InpaintNet, dict]]:
    """Train (or resume from ``run_dir/checkpoint.pt``); returns (net, final metrics).
    ``workers`` > 0 makes the batches in that many processes."""
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(recipe.seed)
    train_files, val_files = split(list_images(recipe.data), recipe.val_fraction)
    log(f"data: {len(train_files)} training, {len(val_files)} validation photos")
    bank = PhotoBank(train_files)
    val_bank = PhotoBank(val_files) if val_files else None
    net = InpaintNet(recipe.width).to(device)
    if recipe.init:
        init_from(net, recipe.init, log)
    if recipe.zero_residuals:
        net.zero_residuals()
    critic = PatchCritic().to(device)
    opt = torch.optim.Adam(net.parameters(), lr=recipe.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(critic.parameters(), lr=recipe.lr, betas=(0.5, 0.999))
    rng = np.random.default_rng(recipe.seed)
    ckpt = run_dir / "checkpoint.pt"
    fixed = fixed_fields(recipe, ("steps", "val_every", "val_images", "log_every"))
    parts = {"model": net, "critic": critic, "optimizer": opt, "optimizer_d": opt_d}
    step, history = resume(ckpt, fixed, parts, rng, log)
    use_amp = device.type == "cuda"
    if use_amp:
        torch.backends.cudnn.benchmark = True  # fixed crop size
    t0, seen, avg, shown = time.perf_counter(), 0, None, {}
    # closing the batch stream stops its worker processes, however the loop ends
    with stop_requests() as stop, closing(batches(bank, rng, recipe, step, workers)) as stream:
        while step < recipe.steps:
            lr = cosine_lr(recipe, step)
            for o in (opt, opt_d):
                for g in o.param_groups:
                    g["lr"] = lr
            truth, hole = (t.to(device, non_blocking=True) for t in next(stream))
            gan = step >= recipe.gan_start * recipe.steps and recipe.adv_weight > 0
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                coarse, refined = net(truth, hole)
                comp = truth * (1 - hole) + refined * hole
                losses, total = reconstruction_loss(coarse, refined, truth, hole, recipe)
                if gan:
                    losses["g_adv"] = hinge_g_loss(critic(comp, hole).float())
                    total = total + recipe.adv_weight * losses["g_adv"]
            opt.zero_grad(set_to_none=True)
            total.backward()
            if recipe.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(net.parameters(), recipe.grad_clip)
            opt.step()
            if gan:
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                    d = hinge_d_loss(critic(truth, hole).float(),
                                     critic(comp.detach(), hole).float())
                opt_d.zero_grad(set_to_none=True)
                d.backward()
                opt_d.step()
                losses["d"] = d
            step += 1
            seen += recipe.batch
            # running means stay on the device (reading them each step makes the host wait
            # for the GPU every step)
            values = {k: v.detach().float() for k, v in losses.items()}
            avg = values if avg is None else {k: 0.97 * avg.get(k, v) + 0.03 * v
                                              for k, v in values.items()}
            logging = step % recipe.log_every == 0
            validating = step % recipe.val_every == 0 or step == recipe.steps
            if logging or validating:
                shown = {k: float(v) for k, v in avg.items()}
            yield Progress(step / recipe.steps, f"step {step} L1 {shown['l1']:.4f}" if shown
                           else f"step {step}")
            if logging:
                rate = seen / (time.perf_counter() - t0)
                log(f"step {step}/{recipe.steps} "
                    + " ".join(f"{k} {v:.4f}" for k, v in shown.items())
                    + f" lr {lr:.2e} {rate:.1f} img/s")
            if validating:
                entry = {"step": step, **shown,
                         "images_per_s": seen / (time.perf_counter() - t0)}
                if val_bank is not None:
                    entry.update(validate(net, val_bank, recipe.val_images))
                history.append(entry)
                log_entry(run_dir, entry, log)
            stopping = stop.is_set()  # read once: a signal may arrive in between
            if validating or stopping:
                save_run(ckpt, fixed, parts, rng, step, history)
            if stopping:
                log(f"stopped at step {step}: checkpoint saved; --resume continues")
                raise Cancelled(f"training stopped at step {step}")
    net.eval()
    return net, history[-1] if history else {}
