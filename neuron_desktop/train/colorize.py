"""Training of the colorizer (`neuron train colorize`): resumable, seeded, logged.

Loss: multinomial cross-entropy against soft-encoded ab targets (5 nearest bins, σ 5),
weighted per pixel by the class-rebalancing weight of its nearest bin (Zhang et al. 2016),
with hints simulated from the ground truth (Zhang et al. 2017). Optionally (``decoded_weight``)
the automatic decoding the editor uses is scored too, on the crops without hints: its squared
ab error plus a hinge that keeps its colourfulness at ``decoded_colour`` of the truth's, so
the network learns where colour is cheap instead of the decoding greying everything alike.
Optionally (``adv_weight``, seed 003's PatchGAN) a spectral-norm patch critic judges that
decoding against the true colours, given the true lightness (hinge loss).
"""

from __future__ import annotations

import functools
import json
import time
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from neuron_desktop.core.color import (
    lab_to_rgb,
    rgb_to_lab,
)
from neuron_desktop.core.errors import NeuronError
from neuron_desktop.core.metrics import colorfulness, psnr
from neuron_desktop.core.progress import Pipeline, Progress
from neuron_desktop.data.degrade import degrade
from neuron_desktop.data.hints import hints_from_truth, random_hint_points, uniform_hint_points
from neuron_desktop.data.photos import SHARED_DATA, GrowingBank, PhotoBank, list_images, split
from neuron_desktop.models.colorization import (
    REBALANCE_LAMBDA,
    ColorizationNet,
    annealed_mean,
    nearest_bin,
    rebalance_weights,
    soft_encode,
)
from neuron_desktop.models.inpainting import PatchCritic, hinge_d_loss, hinge_g_loss
from neuron_desktop.train.runs import TimeBudget, batch_stream, cosine_lr, log_entry

DEFAULT_DATA = str(SHARED_DATA / "train")


@dataclass
class ColorizeRecipe:
    data: list[str] = field(default_factory=lambda: [DEFAULT_DATA])
    val_fraction: float = 0.05
    steps: int = 3000
    batch: int = 16
    crop: int = 128
    lr: float = 1e-3
    lr_final: float = 1e-4  # cosine decay to this
    weight_decay: float = 1e-5
    width: int = 16
    semantic: bool = True
    seed: int = 0
    temperature: float = 0.38
    rebalance_lambda: float = REBALANCE_LAMBDA
    p_no_hints: float = 0.5
    val_every: int = 500
    val_limit: int = 150  # validation photos used (the first N of the split, by name)
    checkpoint_minutes: float = 5.0
    init: str | None = None  # weights name ("default" = shipped) or checkpoint file to start from
    keep_prior: bool = False  # with init: keep its ab prior (the decoding's α was chosen for it)
    widen: int = 0  # with init: widen it to this width first, keeping what it computes (0: no)
    time_budget: float = 0.0  # seconds (0: none); the cosine schedule ends with the budget
    feed: str | None = None  # a folder whose photo parts join as they arrive (GrowingBank)
    workers: int = 0  # processes making the batches (0: here, reproducible on resume)
    decoded_weight: float = 0.0  # > 0: also train the automatic decoding's output (decoded_loss)
    decoded_colour: float = 0.9  # ...whose colourfulness must reach this share of the truth's
    decoded_colour_weight: float = 10.0  # the weight of that hinge
    # the decoding scored: the editor's defaults when this loss was measured (its alpha is
    # now pipelines.colorize.DEFAULT_PRIOR_CORRECTION); kept so recorded runs resume as they were
    decoded_temperature: float = 0.2
    decoded_prior_correction: float = 0.45
    aged_share: float = 0.0  # share of crops whose lightness comes from an aged copy (degrade)
    adv_weight: float = 0.0  # > 0: a patch critic scores the automatic decoding (adversarial_loss)
    adv_lr: float = 2e-4  # the critic's learning rate


def bin_prior(bank: PhotoBank, bins: torch.Tensor, stride: int = 4) -> torch.Tensor:
    """Empirical distribution ``(Q,)`` of nearest ab bins over the photos (subsampled)."""
    counts = torch.zeros(len(bins), dtype=torch.float64)
    for img in bank.images:
        rgb = torch.from_numpy(img[::stride, ::stride]).permute(2, 0, 1)[None].float() / 255
        idx = nearest_bin(rgb_to_lab(rgb)[:, 1:], bins)
        counts += torch.bincount(idx.flatten(), minlength=len(bins)).double()
    return counts


def training_loss(net: ColorizationNet, rgb: torch.Tensor, weights: torch.Tensor,
                  points: list, recipe: ColorizeRecipe | None = None,
                  shown: torch.Tensor | None = None, critic: PatchCritic | None = None,
                  critic_pairs: list | None = None) -> torch.Tensor:
    """Rebalanced soft cross-entropy for a batch of RGB crops ``(B, 3, H, W)``, plus
    ``decoded_loss`` and ``adversarial_loss`` on the crops without hints when the recipe asks
    for them. ``shown``: the crops as the network sees them (e.g. aged copies); their
    lightness is its input, while the colours to learn stay ``rgb``'s. With a ``critic``,
    ``critic_pairs`` receives its (real, fake) inputs for the critic's own step."""
    lab = rgb_to_lab(rgb)
    l, ab = lab[:, :1], lab[:, 1:]
    seen = l if shown is None else rgb_to_lab(shown)[:, :1]
    hint_ab, hint_mask = hints_from_truth(ab, points)
    logits = net(net.normalize_l(seen), net.normalize_ab(hint_ab), hint_mask)
    target_ab = F.adaptive_avg_pool2d(ab, logits.shape[-2:])
    target = soft_encode(target_ab, net.bins)
    w = weights.to(rgb.device)[target.argmax(1)]  # (B, h, w)
    logp = F.log_softmax(logits.float(), dim=1)
    loss = -(w * (target * logp).sum(1)).mean()
    free = [i for i, p in enumerate(points) if not p]
    if recipe is None or not free:
        return loss
    if recipe.decoded_weight:
        loss = loss + recipe.decoded_weight * decoded_loss(net, logits[free], target_ab[free],
                                                           recipe)
    if recipe.adv_weight and critic is not None:
        small_l = F.adaptive_avg_pool2d(l[free], logits.shape[-2:])
        g, real, fake = adversarial_loss(net, critic, logits[free], small_l, target_ab[free],
                                         recipe)
        loss = loss + recipe.adv_weight * g
        if critic_pairs is not None:
            critic_pairs[:] = [real, fake.detach()]
    return loss


def critic_input(l: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """What the colour critic sees: Lab lightness and ab scaled to about [-1, 1]."""
    return torch.cat([l / 50 - 1, ab / 100], 1)


def colour_critic() -> PatchCritic:
    """A spectral-norm patch critic on (L, a, b) at the network's stride-2 output: four
    stride-2 layers, one score per 16 px patch of that output (32 px of the crop)."""
    return PatchCritic(width=32, in_channels=3, depth=4)


def adversarial_loss(net: ColorizationNet, critic: PatchCritic, logits: torch.Tensor,
                     l: torch.Tensor, target_ab: torch.Tensor, recipe: ColorizeRecipe):
    """The generator's hinge loss for the automatic decoding of ``logits``, given the true
    lightness ``l`` at the logits' size; also the critic's real and fake inputs."""
    ab = net.decode(logits.float(), recipe.decoded_temperature, recipe.decoded_prior_correction)
    real, fake = critic_input(l, target_ab), critic_input(l, ab)
    return hinge_g_loss(critic.score(fake)), real, fake


def critic_step(critic: PatchCritic, opt: torch.optim.Optimizer, pairs: list) -> float:
    """One hinge-loss step of the critic on (real, fake) inputs; returns its loss. Between
    its steps the critic's weights need no gradients (the network's step only reads them)."""
    real, fake = pairs
    critic.requires_grad_(True)
    loss = hinge_d_loss(critic.score(real), critic.score(fake))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    critic.requires_grad_(False)
    return float(loss.detach())


def colour_spread(ab: torch.Tensor) -> torch.Tensor:
    """Hasler & Suesstrunk's colourfulness form on Lab ab ``(B, 2, h, w)``: ``(B,)``."""
    f = ab.flatten(2)
    return torch.sqrt(f.var(2, correction=0).sum(1) + 1e-6) + 0.3 * f.mean(2).norm(dim=1)


def decoded_loss(net: ColorizationNet, logits: torch.Tensor, target_ab: torch.Tensor,
                 recipe: ColorizeRecipe) -> torch.Tensor:
    """Squared ab error of the automatic decoding (per pixel, / 100) plus a squared hinge
    on its colourfulness: the batch's must keep ``decoded_colour`` of the truth's."""
    ab = net.decode(logits, recipe.decoded_temperature, recipe.decoded_prior_correction)
    mse = ((ab - target_ab) ** 2).sum(1).mean() / 100
    ratio = colour_spread(ab).sum() / colour_spread(target_ab).sum().clamp_min(1e-3)
    return mse + recipe.decoded_colour_weight * F.relu(recipe.decoded_colour - ratio) ** 2


@torch.no_grad()
def predict_ab(net: ColorizationNet, l: torch.Tensor, hint_ab: torch.Tensor,
               hint_mask: torch.Tensor, temperature: float) -> torch.Tensor:
    """Full-size ab ``(B, 2, H, W)`` from L ``(B, 1, H, W)`` (network at stride 2, upsampled)."""
    h, w = l.shape[-2:]
    pad_h, pad_w = (-h) % 8, (-w) % 8
    args = [F.pad(t, (0, pad_w, 0, pad_h), mode="replicate") for t in (l, hint_ab, hint_mask)]
    logits = net(net.normalize_l(args[0]), net.normalize_ab(args[1]), args[2])
    ab = annealed_mean(logits, net.bins, temperature)
    ab = F.interpolate(ab, scale_factor=2, mode="bilinear", align_corners=False)
    return ab[..., :h, :w]


@torch.no_grad()
def validate(net: ColorizationNet, bank: PhotoBank, device: torch.device, temperature: float,
             hints: int = 10, seed: int = 0) -> dict[str, float]:
    """PSNR (auto, gray, with hints) and colorfulness ratio on held-out photos."""
    net.eval()
    rng = np.random.default_rng(seed)
    sums = {"psnr_gray": 0.0, "psnr_auto": 0.0, f"psnr_hints{hints}": 0.0}
    cf_auto, cf_true = 0.0, 0.0
    for img in bank.images:
        rgb = torch.from_numpy(img).permute(2, 0, 1)[None].float().to(device) / 255
        lab = rgb_to_lab(rgb)
        l = lab[:, :1]
        gray = lab_to_rgb(torch.cat([l, torch.zeros_like(lab[:, 1:])], 1))
        zeros = torch.zeros_like(lab[:, 1:])
        auto = lab_to_rgb(torch.cat([l, predict_ab(net, l, zeros, l * 0, temperature)], 1))
        pts = [uniform_hint_points(rng, *l.shape[-2:], hints)]
        h_ab, h_m = hints_from_truth(lab[:, 1:], pts)
        guided = lab_to_rgb(torch.cat([l, predict_ab(net, l, h_ab, h_m, temperature)], 1))
        for key, out in (("psnr_gray", gray), ("psnr_auto", auto),
                         (f"psnr_hints{hints}", guided)):
            sums[key] += float(psnr(_q8(out), _q8(rgb)))
        cf_auto += float(colorfulness(_q8(auto)))
        cf_true += float(colorfulness(_q8(rgb)))
    n = len(bank)
    out = {k: v / n for k, v in sums.items()}
    out["colorfulness_ratio"] = cf_auto / max(cf_true, 1e-6)
    out["images"] = n
    return out


def _q8(x: torch.Tensor) -> torch.Tensor:
    return torch.round(x.clamp(0, 1) * 255) / 255


def _print(message: str) -> None:
    print(message, flush=True)


def train_colorizer(recipe: ColorizeRecipe, run_dir: Path, device: torch.device,
                    log=_print) -> Pipeline[tuple[ColorizationNet, dict]]:
    """Train (or resume from ``run_dir/checkpoint.pt``); returns (net, final metrics).

    A generator: yields Progress per step so the CLI shows a bar and can cancel.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(recipe.seed)
    files = list_images(recipe.data)
    train_files, val_files = split(files, recipe.val_fraction)
    log(f"data: {len(train_files)} training, {len(val_files)} validation photos")
    train_bank = (GrowingBank(train_files, Path(recipe.feed), recipe.val_fraction)
                  if recipe.feed else PhotoBank(train_files))
    val_bank = PhotoBank(val_files[:recipe.val_limit]) if val_files else None
    net = _initial_net(recipe).to(device)
    if recipe.keep_prior and recipe.init:
        weights = torch.exp(net.prior_log_weights.detach().float().cpu())
    else:
        prior = bin_prior(train_bank, net.bins.cpu())
        weights = rebalance_weights(prior, net.bins.cpu(), lam=recipe.rebalance_lambda)
        net.prior_log_weights.copy_(torch.log(weights))
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=recipe.lr, betas=(0.9, 0.99),
                            weight_decay=recipe.weight_decay)
    critic = critic_opt = None
    if recipe.adv_weight:
        critic = colour_critic().to(device).requires_grad_(False)  # critic_step trains it
        critic_opt = torch.optim.Adam(critic.parameters(), lr=recipe.adv_lr, betas=(0.5, 0.99))
    rng = np.random.default_rng(recipe.seed)
    step, history = 0, []
    ckpt = run_dir / "checkpoint.pt"
    if ckpt.exists():
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        made = {**asdict(ColorizeRecipe()), **state["recipe"]}  # runs from before a field
        if _fixed(made) != _fixed(json.loads(json.dumps(asdict(recipe)))):
            raise NeuronError(f"{ckpt} was made with a different recipe; use another run dir")
        net.load_state_dict(state["model"], strict=False)
        opt.load_state_dict(state["optimizer"])
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        step, history = state["step"], state["history"]
        if critic is not None:
            critic.load_state_dict(state["critic"])
            critic_opt.load_state_dict(state["critic_optimizer"])
        log(f"resumed from {ckpt} at step {step}")
    use_amp = device.type == "cuda"
    t0, seen = time.perf_counter(), 0
    saved_at = t0
    loss_avg = critic_avg = None
    budget = TimeBudget(recipe, step)
    make = functools.partial(_batch, train_bank, recipe)
    stream = batch_stream(make, rng, recipe.seed, step, recipe.workers)

    def checkpoint(entry: dict | None = None) -> None:
        nonlocal saved_at
        if entry is not None:
            if val_bank is not None:
                entry.update(validate(net, val_bank, device, recipe.temperature))
            history.append(entry)
            log_entry(run_dir, entry, log)
        _save_checkpoint(ckpt, net, opt, rng, step, history, recipe, critic, critic_opt)
        saved_at = time.perf_counter()

    with closing(stream):
        while step < budget.schedule.steps and not budget.spent(step):
            net.train()
            for g in opt.param_groups:
                g["lr"] = cosine_lr(budget.schedule, step)
            crops, points, shown = next(stream)
            rgb = crops.to(device, non_blocking=True)
            shown = None if shown is None else shown.to(device, non_blocking=True)
            pairs: list = []
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                loss = training_loss(net, rgb, weights, points, recipe, shown, critic, pairs)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if pairs:
                critic_loss = critic_step(critic, critic_opt, pairs)
                critic_avg = critic_loss if critic_avg is None else (
                    0.98 * critic_avg + 0.02 * critic_loss)
            step += 1
            seen += recipe.batch
            value = float(loss.detach())
            loss_avg = value if loss_avg is None else 0.98 * loss_avg + 0.02 * value
            total = budget.schedule.steps
            yield Progress(step / total, f"step {step} loss {loss_avg:.3f}")
            if step % 50 == 0:
                rate = seen / (time.perf_counter() - t0)
                critic_note = "" if critic_avg is None else f" critic {critic_avg:.3f}"
                log(f"step {step}/{total} loss {loss_avg:.4f}{critic_note} "
                    f"lr {cosine_lr(budget.schedule, step):.2e} {rate:.1f} img/s")
            if step % recipe.val_every == 0 or step == total:
                checkpoint({"step": step, "loss": loss_avg,
                            "images_per_s": seen / (time.perf_counter() - t0)})
            elif time.perf_counter() - saved_at > 60 * recipe.checkpoint_minutes:
                checkpoint()
    if not history or history[-1]["step"] != step:  # stopped by the time budget
        checkpoint({"step": step, "loss": loss_avg,
                    "images_per_s": seen / max(time.perf_counter() - t0, 1e-9)})
    final = history[-1] if history else {}
    final = {**final, "rebalance_weights_range": [float(weights.min()), float(weights.max())]}
    return net, final


def _batch(bank: PhotoBank, recipe: ColorizeRecipe, rng: np.random.Generator):
    """One training batch: RGB crops ``(B, 3, crop, crop)``, their hint points, and (with
    ``aged_share``) the crops as the network sees them: that share aged like old prints."""
    crops = bank.random_crops(rng, recipe.batch, recipe.crop)
    points = random_hint_points(rng, recipe.batch, recipe.crop, recipe.crop,
                                p_none=recipe.p_no_hints)
    shown = aged_crops(crops, rng, recipe.aged_share) if recipe.aged_share > 0 else None
    return _nchw(crops), points, None if shown is None else _nchw(shown)


def _nchw(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()


def aged_crops(crops: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    """``crops`` (B, H, W, 3) float32 in [0, 1], a random ``share`` of them put through the
    old-print process (:func:`degrade`: fading, softness, grain, noise, JPEG; severity
    0.2–0.9, no toning). Sizes are those of a photo at the editor's working size (256 px on
    the long side), since the crops come from photos about that size."""
    out = crops.copy()
    for i in np.flatnonzero(rng.random(len(crops)) < share):
        seed = int(rng.integers(2**31))
        out[i] = degrade(out[i], seed, float(rng.uniform(0.2, 0.9)), toning=0.0, px=0.5).image
    return out


def _fixed(recipe: dict) -> dict:
    """The recipe fields a resumed run must share (steps, budget, data feed, workers and
    logging may change)."""
    volatile = ("steps", "val_every", "val_limit", "checkpoint_minutes", "time_budget",
                "feed", "workers")
    return {k: v for k, v in recipe.items() if k not in volatile}


def _initial_net(recipe: ColorizeRecipe) -> ColorizationNet:
    net = _loaded_net(recipe)
    if recipe.widen and recipe.init:
        from neuron_desktop.train.widen import widen_colorizer

        net = widen_colorizer(net, recipe.widen, seed=recipe.seed)
    return net  # its EfficientNet branch comes frozen (efficientnet_lite0_features)


def _loaded_net(recipe: ColorizeRecipe) -> ColorizationNet:
    if recipe.init and Path(recipe.init).is_file():  # a checkpoint of an earlier run
        from neuron_desktop.models.weights import load_user_checkpoint

        net = ColorizationNet(width=recipe.width, semantic=recipe.semantic)
        from neuron_desktop.train.runs import load_init

        load_init(net, load_user_checkpoint(recipe.init), recipe.init)  # refuses a misfit
        return net
    if recipe.init:
        from neuron_desktop.models.colorization import colorizer

        return colorizer(weights=recipe.init, strict=False)
    return ColorizationNet(width=recipe.width, semantic=recipe.semantic)


def _save_checkpoint(path: Path, net, opt, rng, step, history, recipe, critic=None,
                     critic_opt=None) -> None:
    state = {"model": net.trainable_state_dict(), "optimizer": opt.state_dict(),
             "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
             "step": step, "history": history, "recipe": json.loads(json.dumps(asdict(recipe)))}
    if critic is not None:
        state["critic"] = critic.state_dict()
        state["critic_optimizer"] = critic_opt.state_dict()
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def arch_of(net: ColorizationNet) -> dict:
    width = net.enc1[0].out_channels
    return {"width": width, "semantic": net.semantic is not None}
