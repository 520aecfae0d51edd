"""Encode parts of photos into one colorizer feature cache as they arrive on a lent GPU
(scripts/gpu_session.sh): DATA/p1, DATA/p2, ... each marked ready by a file ``.complete``.
Each part is cached once per seed (other random crops), lower seeds of every part first, as
``colorize_semantic cache --tag <part>`` would (CACHE/train_<part>[_<seed>]); validation crops
come from the first part. The trainer picks up
new shards as they are written (colorize_semantic train).

    python3 scripts/gpu_cache_parts.py DATA CACHE --seeds 3 --until UNIX_TIME [--device cuda]
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import torch

from neuron_desktop.data.photos import complete_parts, list_images
from neuron_desktop.models.colorization import SemanticColorizer
from neuron_desktop.train.colorize_semantic import cache_pass

log = logging.getLogger("neuron.train.colorize")


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("data")
    ap.add_argument("cache")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--until", type=float, required=True, help="stop watching (Unix time)")
    ap.add_argument("--crop", type=int, default=224)
    ap.add_argument("--val-fraction", type=float, default=0.05)
    ap.add_argument("--device", default="cuda")
    a = ap.parse_args(argv)
    data, cache = Path(a.data), Path(a.cache)
    net = SemanticColorizer(pretrained_semantic=True).eval().to(a.device)
    done: set[tuple[str, int]] = set()
    while time.time() < a.until:
        todo = [(seed, p) for seed in range(a.seeds) for p in complete_parts(data)
                if (p.name, seed) not in done]
        if not todo:
            time.sleep(2)
            continue
        seed, part = todo[0]
        n = cache_pass(net, [list_images([part])], cache, a.crop, seed, part.name,
                       a.val_fraction)
        log.info("part %s seed %d: %d crops", part.name, seed, n)
        done.add((part.name, seed))
        if a.device == "cuda":
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
