"""Training of the restorer on photos degraded by :mod:`neuron_desktop.data.degrade`.

``python -m neuron_desktop.train.restore train RUN --data DIR...`` trains (resumable: a
checkpoint every few minutes in ``RUN/checkpoint.pt``; run the same command again to
continue); ``... export RUN --name restorer`` writes the weights and manifest entry;
``... tone RUN --data DIR...`` fits the whole-photo tone head on top of trained weights
(samples: photos at 320 px degraded at a random severity and run through the restorer; loss:
the photo's log MSE after ``a * restored + b``, exact from five per-photo moments) and
writes the weights with the head.
Each step: random crops, each degraded at a random severity in [0, 1] with a random size
scale (a crop stands for part of a 250-750 px print); loss: Charbonnier (smooth L1), or
per-crop log MSE (``--loss log-mse``).
"""

from __future__ import annotations

import argparse
import functools
import logging
import math
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import torch

from neuron_desktop.core.errors import NeuronError
from neuron_desktop.data.degrade import degrade
from neuron_desktop.data.photos import GrowingBank, PhotoBank, list_images, split
from neuron_desktop.models.restore import DEPTH, Restorer, state_depth
from neuron_desktop.train.runs import (
    TimeBudget,
    batch_stream,
    cosine_lr,
    end_of_step,
    load_init,
    resume,
    run_fields,
    save_run,
    stop_requests,
)

log = logging.getLogger("neuron.train.restore")


def make_batch(bank: PhotoBank, rng: np.random.Generator, n: int, crop: int,
               severity: tuple[float, float] = (0.0, 1.0)) -> tuple[torch.Tensor, torch.Tensor]:
    crops = bank.random_crops(rng, n, crop)
    xs, ys = [], []
    for c in crops:
        d = degrade(c, rng, rng.uniform(*severity), px=rng.uniform(0.5, 1.5))
        xs.append(d.image)
        ys.append(d.clean)
    def t(a):
        return torch.from_numpy(np.stack(a)).permute(0, 3, 1, 2).contiguous()
    return t(xs), t(ys)


def charbonnier(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    return torch.sqrt((a - b) ** 2 + eps**2).mean()


def log_mse(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Mean over crops of log(MSE): minus the mean PSNR up to a constant, so a mildly damaged
    crop counts as much as a strongly damaged one (plain MSE or L1 is dominated by the
    strong ones)."""
    return torch.log(((a - b) ** 2).mean((1, 2, 3)) + eps).mean()


LOSSES = {"charbonnier": charbonnier, "log-mse": log_mse}


def _make(bank: PhotoBank, n: int, crop: int, severity: tuple[float, float],
          rng: np.random.Generator):
    return make_batch(bank, rng, n, crop, severity)


@torch.no_grad()
def validate(net: Restorer, val: list[tuple[torch.Tensor, torch.Tensor]]) -> dict:
    net.eval()
    device = next(net.parameters()).device
    mse_in, mse_out = [], []
    for x, y in val:
        out = net(x.to(device)).float().clamp(0, 1).cpu()
        mse_in.append(float(((x - y) ** 2).mean()))
        mse_out.append(float(((out - y) ** 2).mean()))
    return {"psnr_degraded": float(np.mean([-10 * math.log10(m) for m in mse_in])),
            "psnr_restored": float(np.mean([-10 * math.log10(m) for m in mse_out]))}


def train_main(args) -> None:
    torch.manual_seed(args.seed)
    run = Path(args.run)
    run.mkdir(parents=True, exist_ok=True)
    files = list_images(args.data)
    train_files, val_files = split(files, 0.05)
    rng = np.random.default_rng(args.seed)
    pick = rng.permutation(len(train_files))[: args.max_photos]
    chosen = [train_files[i] for i in sorted(pick)]
    bank = (GrowingBank(chosen, Path(args.feed), 0.05) if args.feed else PhotoBank(chosen))
    if not val_files:  # too few photos for a held-out split (the split is by name hash)
        log.warning("no validation photos in the split; validating on training photos")
        val_files = train_files
    val_bank = PhotoBank(val_files[: args.val_photos])
    vrng = np.random.default_rng(123)
    val = [make_batch(val_bank, vrng, 8, args.crop, (s, s)) for s in (0.25, 0.5, 0.85)]
    log.info("data: %d training photos, %d validation batches", len(bank), len(val))
    device = torch.device(args.device)
    state = None
    if args.init:  # continue from shipped weights (a new run: new optimiser and schedule)
        from neuron_desktop.models.weights import load_weights

        state = load_weights(args.init)
        if args.depth is None:  # the --init weights' own layout
            args.depth = state_depth(state)
    args.depth = list(args.depth or DEPTH)
    net = Restorer(widths=tuple(args.widths), depth=tuple(args.depth))
    if state is not None:
        if extra := sorted(set(state) - set(net.state_dict())):
            raise NeuronError(f"--init '{args.init}' is deeper than --depth {args.depth} "
                              f"(it has {extra[0]}, ...); give its depth or a deeper one")
        load_init(net, state, args.init)
        if added := net.deepened(set(state)):  # a deeper network starts as the shallower one
            log.info("--init '%s': %d new residual blocks start as identities", args.init, added)
    net.to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    ckpt, fixed = run / "checkpoint.pt", run_fields(args)
    parts = {"model": net, "optimizer": opt}
    step, history = resume(ckpt, fixed, parts, rng, log.info)

    def save() -> None:
        save_run(ckpt, fixed, parts, rng, step, history)

    use_amp = device.type == "cuda"
    make = functools.partial(_make, bank, args.batch, args.crop, tuple(args.severity))
    t0 = t_save = time.monotonic()
    seen, loss_avg = 0, None
    budget = TimeBudget(args, step)
    with stop_requests() as stop, closing(batch_stream(make, rng, args.seed, step,
                                                       args.workers)) as stream:
        while step < budget.schedule.steps and not stop.is_set() and not budget.spent(step):
            net.train()
            for g in opt.param_groups:
                g["lr"] = cosine_lr(budget.schedule, step, warmup=200)
            x, y = (t.to(device, non_blocking=True) for t in next(stream))
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                pred = net(x)
            loss = LOSSES[args.loss](pred.float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            seen += args.batch
            v = float(loss.detach())
            loss_avg = v if loss_avg is None else 0.98 * loss_avg + 0.02 * v
            if step % 50 == 0:
                log.info("step %d loss %.5f %.1f crops/s", step, loss_avg,
                         seen / (time.monotonic() - t0))
            t_save = end_of_step(args, run, history, {"step": step, "train_loss": loss_avg},
                                 lambda: validate(net, val), save, t_save, log.info)
        save()
    log.info("stopped at step %d", step)


def export_main(args) -> None:
    from neuron_desktop.models.weights import save_weights

    state = torch.load(Path(args.run) / "checkpoint.pt", map_location="cpu", weights_only=True)
    run_args, history = state["fixed"], state["history"]
    save_weights(args.name, state["model"], task="restoration", arch="Restorer",
                 recipe={k: run_args[k] for k in ("batch", "crop", "lr", "lr_final",
                                                  "widths", "seed", "max_photos")}
                 | {k: run_args.get(k, d) for k, d in (("loss", "charbonnier"),
                                                       ("severity", [0.0, 1.0]),
                                                       ("depth", list(DEPTH)), ("init", None))}
                 | {"step": state["step"], "script": "neuron_desktop.train.restore"},
                 data={"folders": run_args["data"], "val_fraction": 0.05},
                 metrics={"validation": history[-1] if history else {}},
                 preprocessing={"arch": {"widths": run_args["widths"],
                                         "depth": run_args.get("depth", list(DEPTH))}},
                 directory=args.weights_dir)
    log.info("exported step %d as '%s'", state["step"], args.name)


def tone_samples(net: Restorer, files: list[Path], rng: np.random.Generator, n: int,
                 side: int = 320, pick: bool = True) -> dict[str, np.ndarray]:
    """``n`` (features, moments, severity) rows: a photo (random, or in order when not
    ``pick``) at ``side`` px, degraded at a random severity, restored by ``net``. Moments
    (over pixels and channels): E[o^2], E[o], E[o c], E[c], E[c^2] for output o, clean c."""
    import cv2

    from neuron_desktop.core.errors import ImageLoadError
    from neuron_desktop.core.imageio import load_image
    from neuron_desktop.pipelines.restore import tone_features

    X, M, S = [], [], []
    for k in range(n):
        f = files[rng.integers(len(files))] if pick else files[k % len(files)]
        try:
            rgb = load_image(f).rgb
        except ImageLoadError:
            continue
        h, w = rgb.shape[:2]
        s = min(1.0, side / max(h, w))
        if s < 1:
            rgb = cv2.resize(rgb, (round(w * s) // 8 * 8, round(h * s) // 8 * 8),
                             interpolation=cv2.INTER_AREA)
        else:
            rgb = rgb[: h // 8 * 8, : w // 8 * 8]
        sev = rng.uniform(0, 1)
        d = degrade(rgb, rng, sev)
        with torch.no_grad():
            out = net(torch.from_numpy(d.image).permute(2, 0, 1)[None]).clamp(0, 1)
        o = out[0].permute(1, 2, 0).numpy().reshape(-1, 3).astype(np.float64)
        c = d.clean.reshape(-1, 3).astype(np.float64)
        M.append([np.mean(o * o), np.mean(o), np.mean(o * c), np.mean(c), np.mean(c * c)])
        X.append(tone_features(d.image, out[0].permute(1, 2, 0).numpy()))
        S.append(sev)
    return {"X": np.array(X, np.float32), "M": np.array(M), "S": np.array(S)}


def tone_mse(ab: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Per-photo MSE of ``a * o + b`` against the clean photo, from the moments ``m``."""
    a, b = ab[:, 0].double(), ab[:, 1].double()
    return (a * a * m[:, 0] + 2 * a * b * m[:, 1] + b * b - 2 * a * m[:, 2] - 2 * b * m[:, 3]
            + m[:, 4])


def tone_report(head, data: dict) -> dict:
    """Mean PSNR without and with the head, overall and near each evaluation severity."""
    from neuron_desktop.data.degrade import SEVERITIES

    m = torch.from_numpy(data["M"])
    with torch.no_grad():
        ab = head(torch.from_numpy(data["X"]))
    same = torch.tensor([[1.0, 0.0]]).expand(len(m), 2)
    out = {}
    for name, centre in [("all", None), *SEVERITIES.items()]:
        sel = (torch.ones(len(m), dtype=torch.bool) if centre is None
               else torch.from_numpy(np.abs(data["S"] - centre) < 0.12))
        psnr = [float((-10 * torch.log10(tone_mse(x[sel], m[sel]))).mean()) for x in (same, ab)]
        out[name] = {"photos": int(sel.sum()), "psnr_restored": round(psnr[0], 3),
                     "psnr_with_tone": round(psnr[1], 3)}
    return out


def tone_main(args) -> None:
    from neuron_desktop.models.restore import ToneHead
    from neuron_desktop.models.weights import get_entry, save_weights
    from neuron_desktop.pipelines.restore import load_restorer

    run = Path(args.run)
    run.mkdir(parents=True, exist_ok=True)
    net = load_restorer(args.weights)
    train_files, val_files = split(list_images(args.data), 0.05)
    # samples in shards of 100 (resumable: existing shards are kept)
    shards = max(1, args.samples // 100)
    for i in range(shards):
        shard = run / f"tone_{i:03d}.npz"
        if not shard.exists():
            np.savez(shard, **tone_samples(net, train_files, np.random.default_rng(1000 + i),
                                           min(100, args.samples), args.side))
            log.info("tone samples: shard %d of %d", i + 1, shards)
    val_path = run / "tone_val.npz"
    if not val_path.exists():
        np.savez(val_path, **tone_samples(net, val_files[30:], np.random.default_rng(1),
                                          args.val_samples, args.side, pick=False))
    parts = [np.load(run / f"tone_{i:03d}.npz") for i in range(shards)]
    train = {k: np.concatenate([p[k] for p in parts]) for k in ("X", "M", "S")}
    val = dict(np.load(val_path))
    torch.manual_seed(args.seed)
    head = ToneHead()
    opt = torch.optim.Adam(head.parameters(), lr=3e-3, weight_decay=1e-4)
    x, m = torch.from_numpy(train["X"]), torch.from_numpy(train["M"])
    for _ in range(args.iterations):
        loss = torch.log(tone_mse(head(x), m).clamp_min(1e-10)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    head.eval()
    report = {"train": tone_report(head, train), "validation": tone_report(head, val)}
    log.info("tone head: %s", report["validation"])
    base = get_entry(args.weights if args.weights != "default" else "restorer")
    state = {**net.state_dict(), **{f"tone.{k}": v for k, v in head.state_dict().items()}}
    recipe = {**base.recipe, "tone": {"samples": len(x), "side": args.side,
                                      "iterations": args.iterations, "seed": args.seed,
                                      "script": "neuron_desktop.train.restore tone"}}
    save_weights(args.name, state, task="restoration", arch="Restorer", recipe=recipe,
                 data=base.data, metrics={**base.metrics, "tone": report},
                 preprocessing={"arch": {**base.preprocessing.get("arch", {}), "tone": True}},
                 directory=args.weights_dir)
    log.info("wrote '%s' with the tone head", args.name)


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("run")
    t.add_argument("--data", nargs="+", required=True)
    t.add_argument("--steps", type=int, default=8000)
    t.add_argument("--batch", type=int, default=16)
    t.add_argument("--crop", type=int, default=96)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--lr-final", type=float, default=2e-5)
    t.add_argument("--widths", type=int, nargs=3, default=[32, 64, 128])
    t.add_argument("--depth", type=int, nargs=5, default=None,
                   help="residual blocks per stage: enc 2, enc 4, middle, dec 4, dec 2 "
                        f"(default: --init's, else {' '.join(map(str, DEPTH))}; deeper than "
                        "--init's: the new blocks start as identities)")
    t.add_argument("--max-photos", type=int, default=4000)
    t.add_argument("--feed", help="a folder whose parts (DIR/<part>/ with a .complete file) "
                   "join the training photos as they arrive (a GPU fed over several calls)")
    t.add_argument("--val-photos", type=int, default=48)
    t.add_argument("--val-every", type=int, default=500)
    t.add_argument("--save-every-s", type=float, default=180)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--init", help="weights name to start from (e.g. restorer)")
    t.add_argument("--device", default="cpu")
    t.add_argument("--workers", type=int, default=0,
                   help="processes making the batches (0: here, replayed on resume)")
    t.add_argument("--time-budget", type=float, default=0,
                   help="seconds to train; the schedule ends with them (0: --steps)")
    t.add_argument("--loss", choices=sorted(LOSSES), default="charbonnier",
                   help="log-mse: per-crop log MSE (the mean PSNR; balances severities)")
    t.add_argument("--severity", type=float, nargs=2, default=[0.0, 1.0],
                   help="range the crops' damage severity is drawn from")
    e = sub.add_parser("export")
    e.add_argument("run")
    e.add_argument("--name", default="restorer")
    e.add_argument("--weights-dir", default=None, help="where to write (default: the package's)")
    o = sub.add_parser("tone", help="fit the whole-photo tone head on trained weights")
    o.add_argument("run")
    o.add_argument("--data", nargs="+", required=True)
    o.add_argument("--weights", default="default", help="restorer weights to build on")
    o.add_argument("--samples", type=int, default=2000)
    o.add_argument("--val-samples", type=int, default=200)
    o.add_argument("--side", type=int, default=320)
    o.add_argument("--iterations", type=int, default=3000)
    o.add_argument("--seed", type=int, default=0)
    o.add_argument("--name", default="restorer")
    o.add_argument("--weights-dir", default=None, help="where to write (default: the package's)")
    for q in (t, e, o):
        q.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    {"train": train_main, "export": export_main, "tone": tone_main}[args.cmd](args)


if __name__ == "__main__":
    main()
