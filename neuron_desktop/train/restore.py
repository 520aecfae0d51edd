"""Training of the restorer on photos degraded by :mod:`neuron_desktop.data.degrade`.

``python -m neuron_desktop.train.restore train RUN --data DIR...`` trains (resumable: a
checkpoint every few minutes in ``RUN/checkpoint.pt``; run the same command again to
continue); ``... export RUN --name restorer`` writes the weights and manifest entry.
Each step: random crops, each degraded at a random severity in [0, 1] with a random size
scale (a crop stands for part of a 250-750 px print); loss: Charbonnier (smooth L1).
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from pathlib import Path

import numpy as np
import torch

from neuron_desktop.data.degrade import degrade
from neuron_desktop.data.photos import PhotoBank, list_images, split
from neuron_desktop.models.restore import Restorer
from neuron_desktop.train.runs import (
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


@torch.no_grad()
def validate(net: Restorer, val: list[tuple[torch.Tensor, torch.Tensor]]) -> dict:
    net.eval()
    mse_in, mse_out = [], []
    for x, y in val:
        out = net(x).clamp(0, 1)
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
    bank = PhotoBank([train_files[i] for i in sorted(pick)])
    val_bank = PhotoBank(val_files[: args.val_photos])
    vrng = np.random.default_rng(123)
    val = [make_batch(val_bank, vrng, 8, args.crop, (s, s)) for s in (0.25, 0.5, 0.85)]
    log.info("data: %d training photos, %d validation batches", len(bank), len(val))
    net = Restorer(widths=tuple(args.widths))
    if args.init:  # continue from shipped weights (a new run: new optimiser and schedule)
        from neuron_desktop.models.weights import load_weights

        load_init(net, load_weights(args.init), args.init)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    ckpt, fixed = run / "checkpoint.pt", run_fields(args)
    parts = {"model": net, "optimizer": opt}
    step, history = resume(ckpt, fixed, parts, rng, log.info)

    def save() -> None:
        save_run(ckpt, fixed, parts, rng, step, history)

    t0 = t_save = time.monotonic()
    seen, loss_avg = 0, None
    with stop_requests() as stop:
        while step < args.steps and not stop.is_set():
            net.train()
            for g in opt.param_groups:
                g["lr"] = cosine_lr(args, step, warmup=200)
            x, y = make_batch(bank, rng, args.batch, args.crop)
            loss = charbonnier(net(x), y)
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
                 | {"step": state["step"], "script": "neuron_desktop.train.restore"},
                 data={"folders": run_args["data"], "val_fraction": 0.05},
                 metrics={"validation": history[-1] if history else {}},
                 preprocessing={"arch": {"widths": run_args["widths"]}})
    log.info("exported step %d as '%s'", state["step"], args.name)


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
    t.add_argument("--max-photos", type=int, default=4000)
    t.add_argument("--val-photos", type=int, default=48)
    t.add_argument("--val-every", type=int, default=500)
    t.add_argument("--save-every-s", type=float, default=180)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--init", help="weights name to start from (e.g. restorer)")
    e = sub.add_parser("export")
    e.add_argument("run")
    e.add_argument("--name", default="restorer")
    for q in (t, e):
        q.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    {"train": train_main, "export": export_main}[args.cmd](args)


if __name__ == "__main__":
    main()
