"""Measure the inpainting network's mirror ensembles on the VALIDATION split (never eval/):
hole fills averaged over 1, 2 or 4 mirrored views, and the refinement stage alone run on the
coarse result and its mirror. Paired PSNR gains over one view, ± standard error.

    .venv/bin/python scripts/mirror_views.py [--upscale 2] [--band 20-30%] [--limit 60]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from neuron_desktop.core.imageio import load_image, to_tensor
from neuron_desktop.core.metrics import psnr
from neuron_desktop.core.progress import run_pipeline
from neuron_desktop.evaluation.common import to_8bit
from neuron_desktop.evaluation.inpaint import VALIDATION_SEED, default_files, masked_inputs
from neuron_desktop.pipelines.inpaint import _network_core, composite, load_inpainter


def variants(weights: str) -> dict:
    def views(n):
        return lambda rgb, m: run_pipeline(_network_core(rgb, m, device="cpu", weights=weights,
                                                         views=n))

    def refine_mirrored(rgb, m):
        net, (h, w) = load_inpainter("cpu", weights), rgb.shape[-2:]
        with torch.inference_mode():
            state = net.coarse_pass(rgb, m)
            mirrored = tuple(x.flip(-1) for x in state)
            both = net.refine_pass(state) + net.refine_pass(mirrored).flip(-1)
        return (both / 2)[..., :h, :w]

    return {"1 view": views(1), "2 views": views(2), "refine mirrored": refine_mirrored,
            "4 views": views(4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upscale", type=float, default=1.0, help="bicubic factor (2: eval-sized)")
    ap.add_argument("--band", default="20-30%")
    ap.add_argument("--limit", type=int, default=60)
    ap.add_argument("--weights", default="inpainter")
    args = ap.parse_args()
    runs = variants(args.weights)
    scores = {k: [] for k in runs}
    seconds = dict.fromkeys(runs, 0.0)
    files = default_files(validation=True)[:args.limit]
    for i, path in enumerate(files):
        truth = to_8bit(to_tensor(load_image(path).rgb))
        if args.upscale != 1.0:
            truth = to_8bit(F.interpolate(truth, scale_factor=args.upscale, mode="bicubic",
                                          align_corners=False).clamp(0, 1))
        inp, hole = masked_inputs(truth[0].permute(1, 2, 0).numpy(), i, VALIDATION_SEED)[args.band]
        rgb = to_tensor(inp).contiguous(memory_format=torch.channels_last)
        m = torch.from_numpy(hole.astype(np.float32))[None, None]
        for name, run in runs.items():
            start = time.perf_counter()
            pred = run(rgb, m)
            seconds[name] += time.perf_counter() - start
            scores[name].append(float(psnr(to_8bit(composite(rgb, pred, m, binary=True)), truth)))
    base = np.array(scores["1 view"])
    print(f"{len(files)} validation photos, {args.band}, upscaled {args.upscale:g}x")
    for name, values in scores.items():
        d = np.array(values) - base
        print(f"{name:16s} {np.mean(values):7.3f} dB  {d.mean():+.3f} ± "
              f"{d.std() / np.sqrt(len(d)):.3f}  {seconds[name] / len(files):.2f} s/photo")


if __name__ == "__main__":
    main()
