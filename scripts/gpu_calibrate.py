"""Seconds per training step of InpaintNet on this machine's GPU (synthetic photos, real
training masks): chooses the width, batch and step count of a time-boxed GPU run.

    python3 scripts/gpu_calibrate.py OUT.json --widths 32 24 --batches 32 64 --crop 256

OUT.json maps "WIDTHxBATCH" to seconds per step.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from neuron_desktop.models.inpainting import InpaintNet
from neuron_desktop.train.inpaint import InpaintRecipe, reconstruction_loss, training_mask


def seconds_per_step(width: int, batch: int, crop: int, steps: int = 12,
                     device: str = "cuda") -> float:
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    recipe = InpaintRecipe(batch=batch, crop=crop, mse_weight=10)
    rng = np.random.default_rng(0)
    net = InpaintNet(width).to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    truth = torch.rand(batch, 3, crop, crop, device=dev)
    hole = torch.from_numpy(np.stack([training_mask(rng, crop, recipe)
                                      for _ in range(batch)]))[:, None].to(dev)
    torch.backends.cudnn.benchmark = cuda
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    for i in range(steps + 4):
        if i == 4:
            sync()
            t0 = time.perf_counter()
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cuda):
            loss = reconstruction_loss(*net(truth, hole), truth, hole, recipe)[1]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    sync()
    return (time.perf_counter() - t0) / steps


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--widths", type=int, nargs="+", default=[32, 24])
    p.add_argument("--batches", type=int, nargs="+", default=[32])
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--device", default="cuda")
    a = p.parse_args()
    result = {f"{w}x{b}": seconds_per_step(w, b, a.crop, device=a.device)
              for w in a.widths for b in a.batches}
    print(json.dumps(result))
    with open(a.out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
