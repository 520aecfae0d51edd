"""Training of the semantic colorizer's decoder on cached encoder features.

``python -m neuron_desktop.train.colorize_semantic cache OUT --data DIR...`` encodes one
random crop per photo (validation photos, by name hash, into ``OUT/val``);
``... train RUN --cache OUT`` trains the decoder, resumable: it checkpoints every few
minutes to ``RUN/checkpoint.pt`` and continues from there when run again. New shards written
while it trains are picked up as they appear. Loss: Zhang et al.'s class-rebalanced soft
cross-entropy over the ab bins, with hints simulated from the truth (2017).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from neuron_desktop.core.color import lab_to_rgb, normalize_ab, normalize_l
from neuron_desktop.core.metrics import colorfulness, psnr
from neuron_desktop.data.hints import hints_from_truth, random_hint_points, uniform_hint_points
from neuron_desktop.data.photos import list_images, split
from neuron_desktop.models.colorization import (
    SemanticColorizer,
    nearest_bin,
    rebalance_weights,
    soft_encode,
)
from neuron_desktop.train.colorize_cache import FeatureCache, build_cache
from neuron_desktop.train.runs import (
    TimeBudget,
    cosine_lr,
    end_of_step,
    resume,
    run_fields,
    save_run,
    stop_requests,
)

log = logging.getLogger("neuron.train.colorize")


def interleave(groups: list[list[Path]], seed: int = 0) -> list[Path]:
    """Shuffle each group and deal them round-robin, so any prefix is a balanced mix."""
    rng = np.random.default_rng(seed)
    shuffled = [list(np.array(g, dtype=object)[rng.permutation(len(g))]) for g in groups if g]
    out, i = [], 0
    while any(shuffled):
        g = shuffled[i % len(shuffled)]
        if g:
            out.append(g.pop())
        i += 1
    return out


def cache_pass(net, groups: list[list[Path]], out: Path, crop: int, seed: int = 0,
               tag: str = "", val_fraction: float = 0.05) -> int:
    """One pass of random crops of ``groups`` (lists of photos, dealt round-robin) into the
    cache ``out``: training crops into ``train[_TAG][_SEED]``, validation crops (split by name
    hash) into ``val``, built by the first untagged seed-0 pass or whichever pass finds none.
    Returns the number of training crops."""
    splits = [split(g, val_fraction) for g in groups]
    if not (out / "val").exists() or (seed == 0 and not tag):
        log.info("validation crops: %d", build_cache(interleave([v for _, v in splits], 1),
                                                     out / "val", net, crop))
    name = "_".join(["train"] + ([tag] if tag else []) + ([str(seed)] if seed else []))
    return build_cache(interleave([t for t, _ in splits]), out / name, net, crop, seed=seed)


def cache_main(args) -> None:
    groups = []
    for spec in args.data:
        folder, _, span = spec.partition(":")
        start, _, stop = span.rpartition("-") if "-" in span else ("0", "", span)
        files = list_images([folder])
        groups.append(files[int(start or 0): int(stop) if stop else None])
    net = SemanticColorizer(pretrained_semantic=True).eval().to(args.device)
    cache_pass(net, groups, Path(args.out), args.crop, args.seed, args.tag, args.val_fraction)


def training_step_loss(net, b: dict, weights: torch.Tensor, rng: np.random.Generator,
                       p_no_hints: float = 0.5) -> torch.Tensor:
    ab2, l2 = b["ab2"], b["l2"]
    n, _, h, w = ab2.shape
    points = random_hint_points(rng, n, h, w, p_none=p_no_hints)
    hint_ab, mask = hints_from_truth(ab2, points)
    logits = net.decode_features(b["f4"], b["f8"], b["f16"], b["f32"], normalize_l(l2),
                                 normalize_ab(hint_ab), mask)
    target_ab = F.adaptive_avg_pool2d(ab2, logits.shape[-2:])
    target = soft_encode(target_ab, net.bins)
    wt = weights[target.argmax(1)]
    logp = F.log_softmax(logits.float(), dim=1)
    return -(wt * (target * logp).sum(1)).mean()


@torch.no_grad()
def validate(net, val: dict, weights: torch.Tensor, temps=(0.2, 0.3)) -> dict:
    """Loss, and PSNR/colourfulness at stride 2 (gray, automatic at a few T, 10 hints)."""
    net.eval()
    rng = np.random.default_rng(0)
    out = {"loss": 0.0}
    sums: dict[str, float] = {}
    n = len(val["l2"])
    for i in range(0, n, 32):
        b = {k: v[i:i + 32] for k, v in val.items()}
        out["loss"] += float(training_step_loss(net, b, weights, np.random.default_rng(i),
                                                p_no_hints=1.0)) * len(b["l2"])
        l2, ab2 = b["l2"], b["ab2"]
        truth = lab_to_rgb(torch.cat([l2, ab2], 1))
        gray = lab_to_rgb(torch.cat([l2, ab2 * 0], 1))
        zeros = torch.zeros_like(ab2)
        logits = net.decode_features(b["f4"], b["f8"], b["f16"], b["f32"], normalize_l(l2),
                                     zeros, zeros[:, :1])
        pts = [uniform_hint_points(rng, *l2.shape[-2:], 10) for _ in range(len(l2))]
        h_ab, h_m = hints_from_truth(ab2, pts)
        logits_h = net.decode_features(b["f4"], b["f8"], b["f16"], b["f32"], normalize_l(l2),
                                       normalize_ab(h_ab), h_m)
        cands = {"gray": gray}
        for t in temps:
            for a in (0.0, 0.5):
                ab = F.interpolate(net.decode(logits, t, a), size=l2.shape[-2:],
                                   mode="bilinear", align_corners=False)
                cands[f"T{t}_a{a}"] = lab_to_rgb(torch.cat([l2, ab], 1))
        ab = F.interpolate(net.decode(logits_h, 0.2, 0.8), size=l2.shape[-2:],
                           mode="bilinear", align_corners=False)
        cands["hints10"] = lab_to_rgb(torch.cat([l2, ab], 1))
        for j in range(len(l2)):
            t = truth[j:j + 1]
            sums["cf_true"] = sums.get("cf_true", 0) + float(colorfulness(t))
            for k, img in cands.items():
                sums[f"psnr_{k}"] = sums.get(f"psnr_{k}", 0) + float(psnr(img[j:j + 1], t))
                sums[f"cf_{k}"] = sums.get(f"cf_{k}", 0) + float(colorfulness(img[j:j + 1]))
    out["loss"] /= n
    for k, v in sums.items():
        if k.startswith("psnr_"):
            out[k] = v / n
        elif k != "cf_true" and k != "cf_gray":
            out[k.replace("cf_", "cfr_")] = v / max(sums["cf_true"], 1e-6)
    return out


def bin_prior(cache: FeatureCache, bins: torch.Tensor, shards: int = 8) -> torch.Tensor:
    counts = torch.zeros(len(bins), dtype=torch.float64)
    for s in cache.shards[:shards]:
        ab = torch.from_numpy(np.asarray(s["ab2"][:, :, ::2, ::2]).astype(np.float32))
        counts += torch.bincount(nearest_bin(ab, bins).flatten(), minlength=len(bins)).double()
    return counts


def train_main(args) -> None:
    torch.manual_seed(args.seed)
    run = Path(args.run)
    run.mkdir(parents=True, exist_ok=True)
    cache_dir = Path(args.cache)
    cache = FeatureCache(sorted(cache_dir.glob("train*")))
    device = torch.device(args.device)
    val = FeatureCache([cache_dir / "val"]).all()
    if args.val_limit:
        val = {k: v[: args.val_limit] for k, v in val.items()}
    val = {k: v.to(device) for k, v in val.items()}
    net = SemanticColorizer(widths=tuple(args.widths)).to(device)
    params = [p for k, p in net.named_parameters() if not k.startswith("semantic.")]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=1e-4)
    rng = np.random.default_rng(args.seed)
    ckpt, fixed = run / "checkpoint.pt", run_fields(args)
    parts = {"model": net, "optimizer": opt}
    step, history = resume(ckpt, fixed, parts, rng, log.info)
    if not step:
        prior = bin_prior(cache, net.bins)
        net.prior_log_weights.copy_(torch.log(rebalance_weights(prior.to(device), net.bins,
                                                                lam=args.rebalance_lambda)))
    weights = net.prior_log_weights.exp()

    def save() -> None:
        save_run(ckpt, fixed, parts, rng, step, history)

    t_save = t0 = time.monotonic()
    seen, loss_avg = 0, None
    budget = TimeBudget(args, step)
    with stop_requests() as stop:
        while step < budget.schedule.steps and not stop.is_set() and not budget.spent(step):
            if step % 200 == 0 and step:
                cache = FeatureCache(sorted(cache_dir.glob("train*")))  # pick up new shards
            net.train()
            for g in opt.param_groups:
                g["lr"] = cosine_lr(budget.schedule, step, warmup=200)
            batch = {k: v.to(device, non_blocking=True)
                     for k, v in cache.batch(rng, args.batch).items()}
            with torch.autocast(device.type, dtype=torch.bfloat16,
                                enabled=device.type == "cuda"):
                loss = training_step_loss(net, batch, weights, rng)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            seen += args.batch
            v = float(loss.detach())
            loss_avg = v if loss_avg is None else 0.98 * loss_avg + 0.02 * v
            if step % 25 == 0:
                log.info("step %d loss %.4f %.1f crops/s, %d cached crops", step, loss_avg,
                         seen / (time.monotonic() - t0), len(cache))
            t_save = end_of_step(args, run, history, {"step": step, "train_loss": loss_avg},
                                 lambda: validate(net, val, weights), save, t_save, log.info)
        save()
    log.info("stopped at step %d", step)


def export_main(args) -> None:
    """Checkpoint -> safetensors weights and a manifest entry (``args.name``)."""
    from neuron_desktop.models.weights import save_weights

    state = torch.load(Path(args.run) / "checkpoint.pt", map_location="cpu", weights_only=True)
    run_args, history = state["fixed"], state["history"]
    decoder = {k: v.float() for k, v in state["model"].items() if not k.startswith("semantic.")}
    save_weights(args.name, decoder,
                 task="colorization", arch="SemanticColorizer",
                 recipe={k: run_args[k] for k in ("batch", "lr", "lr_final", "widths",
                                                  "rebalance_lambda", "seed")}
                 | {"step": state["step"], "script": "neuron_desktop.train.colorize_semantic"},
                 data={"cache": run_args["cache"], "val_fraction": 0.05},
                 metrics={"validation": history[-1] if history else {}},
                 preprocessing={"arch": {"widths": run_args["widths"]},
                                "l": "(L - 50) / 100", "hint_ab": "ab / 110"},
                 directory=args.weights_dir)
    log.info("exported step %d as '%s'", state["step"], args.name)


def ensemble_main(args) -> None:
    """The U-Net colorizer and a semantic decoder as one ColorizerEnsemble weights file."""
    from neuron_desktop.models.weights import get_entry, load_weights, save_weights

    parts = {}
    for prefix, spec in (("unet", args.unet), ("sem", args.semantic)):
        folder, _, name = spec.rpartition(":")
        entry = get_entry(name, folder or None)
        parts[prefix] = (entry, load_weights(name, directory=folder or None))
    (u, ustate), (s, sstate) = parts["unet"], parts["sem"]
    if (u.arch, s.arch) != ("ColorizationNet", "SemanticColorizer"):
        raise SystemExit(f"need a ColorizationNet and a SemanticColorizer, got {u.arch}, {s.arch}")
    state = {f"unet.{k}": v for k, v in ustate.items()} | {f"sem.{k}": v for k, v in sstate.items()}
    arch = {"unet": {k: v for k, v in u.preprocessing.get("arch", {}).items() if k != "semantic"},
            "semantic": s.preprocessing.get("arch", {}), "weight": args.weight}
    save_weights(args.name, state, task="colorization", arch="ColorizerEnsemble",
                 recipe={"unet": {"sha256": u.sha256, **u.recipe},
                         "semantic": {"sha256": s.sha256, **s.recipe},
                         "script": "neuron_desktop.train.colorize_semantic ensemble"},
                 data={"unet": u.data, "semantic": s.data},
                 metrics={"unet": u.metrics, "semantic": s.metrics},
                 preprocessing={**u.preprocessing, "arch": arch}, directory=args.weights_dir)
    log.info("wrote ensemble '%s' (weight %.2f on the U-Net)", args.name, args.weight)


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cache")
    c.add_argument("out")
    c.add_argument("--data", nargs="+", required=True,
                   help="FOLDER[:STOP] or FOLDER:START-STOP (slices of the sorted file list)")
    c.add_argument("--seed", type=int, default=0, help="crop positions (a second pass of the "
                   "same photos with another seed gives other crops)")
    c.add_argument("--crop", type=int, default=224)
    c.add_argument("--tag", default="", help="another set of photos into the same cache: "
                   "its crops go to train_TAG[_SEED]; validation stays the first set's")
    c.add_argument("--val-fraction", type=float, default=0.05)
    t = sub.add_parser("train")
    t.add_argument("run")
    t.add_argument("--cache", required=True)
    t.add_argument("--steps", type=int, default=20000)
    t.add_argument("--batch", type=int, default=24)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--lr-final", type=float, default=3e-5)
    t.add_argument("--widths", type=int, nargs=3, default=[96, 128, 192])
    t.add_argument("--rebalance-lambda", type=float, default=0.5)
    t.add_argument("--val-every", type=int, default=500)
    t.add_argument("--val-limit", type=int, default=256)
    t.add_argument("--save-every-s", type=float, default=180)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--time-budget", type=float, default=0,
                   help="seconds; the schedule shrinks to the steps they allow (0: none)")
    for q in (c, t):
        q.add_argument("--device", default="cpu")
    e = sub.add_parser("export")
    e.add_argument("run")
    e.add_argument("--name", default="colorizer-candidate")
    e.add_argument("--weights-dir", default=None, help="where to write (default: the package's)")
    m = sub.add_parser("ensemble", help="U-Net + semantic decoder as one weights file")
    m.add_argument("--unet", default="colorizer", help="[FOLDER:]NAME of a ColorizationNet")
    m.add_argument("--semantic", required=True, help="[FOLDER:]NAME of a SemanticColorizer")
    m.add_argument("--weight", type=float, default=0.7, help="the U-Net's share (log domain)")
    m.add_argument("--name", default="colorizer")
    m.add_argument("--weights-dir", default=None)
    for q in (c, t, e, m):
        q.add_argument("--threads", type=int, default=2, help="CPU threads (1 when the "
                       "machine is shared: a waiting thread stalls the other)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    {"cache": cache_main, "train": train_main, "export": export_main,
     "ensemble": ensemble_main}[args.cmd](args)


if __name__ == "__main__":
    main()
