"""Cached encoder features for training the semantic colorizer's decoder.

The EfficientNet-Lite0 encoder is frozen, so its taps for a training crop never change:
``build_cache`` computes them once per photo (one random crop, random flip) and writes shards
of fp16 features plus the crop's L and ab at stride 2; ``FeatureCache`` samples batches from
the shards on disk (memory-mapped), so each decoder step costs only the decoder.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np
import torch

from neuron_desktop.core.color import normalize_l, rgb_to_lab
from neuron_desktop.core.errors import ImageLoadError
from neuron_desktop.core.imageio import load_image

log = logging.getLogger(__name__)
KEYS = ("f4", "f8", "f16", "f32", "l2", "ab2")


def random_crop(rgb: np.ndarray, rng: np.random.Generator, crop: int) -> np.ndarray:
    """Resize so the shorter side is in [crop, 1.3 crop], take a random crop, maybe flip."""
    h, w = rgb.shape[:2]
    short = rng.uniform(crop, 1.3 * crop)
    s = short / min(h, w)
    rgb = cv2.resize(rgb, (max(crop, round(w * s)), max(crop, round(h * s))),
                     interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    h, w = rgb.shape[:2]
    y, x = rng.integers(h - crop + 1), rng.integers(w - crop + 1)
    patch = rgb[y:y + crop, x:x + crop]
    return np.ascontiguousarray(patch[:, ::-1] if rng.random() < 0.5 else patch)


@torch.no_grad()
def encode_batch(net, rgb: np.ndarray) -> dict[str, np.ndarray]:
    """(B, crop, crop, 3) float RGB -> the cached arrays for one batch."""
    device = next(net.parameters()).device
    t = torch.from_numpy(rgb).permute(0, 3, 1, 2).float().to(device)
    lab = rgb_to_lab(t)
    feats = net.semantic_features(normalize_l(lab[:, :1]))
    lab2 = torch.nn.functional.avg_pool2d(lab, 2).cpu()
    out = {k: f.half().cpu().numpy() for k, f in zip(KEYS[:4], feats, strict=True)}
    out["l2"] = np.clip(np.round(lab2[:, :1].numpy() * 2.55), 0, 255).astype(np.uint8)
    out["ab2"] = np.clip(np.round(lab2[:, 1:].numpy()), -127, 127).astype(np.int8)
    return out


def build_cache(files: list[Path], out: Path, net, crop: int = 224, shard: int = 256,
                seed: int = 0, batch: int = 32) -> int:
    """Encode ``files`` into ``out/shard_XXXXX`` folders; resumable (finished shards and
    their file lists are kept). Returns the number of cached crops."""
    out.mkdir(parents=True, exist_ok=True)
    done = sorted(out.glob("shard_*/meta.json"))
    start = len(done) * shard
    total = sum(json.loads(p.read_text())["n"] for p in done)
    for s0 in range(start, len(files), shard):
        rng = np.random.default_rng([seed, s0])
        crops, names = [], []
        for path in files[s0:s0 + shard]:
            try:
                rgb = load_image(path).rgb
            except ImageLoadError as exc:
                log.warning("skipped %s", exc)
                continue
            crops.append(random_crop(np.clip(rgb, 0, 1).astype(np.float32), rng, crop))
            names.append(str(path))
        parts = [encode_batch(net, np.stack(crops[i:i + batch]))
                 for i in range(0, len(crops), batch)]
        d = out / f"shard_{s0 // shard:05d}"
        d.mkdir(exist_ok=True)
        for k in KEYS:
            np.save(d / f"{k}.npy", np.concatenate([p[k] for p in parts]))
        (d / "meta.json").write_text(json.dumps({"n": len(crops), "files": names}))
        total += len(crops)
        log.info("cached %d crops (%d/%d files)", total, min(s0 + shard, len(files)), len(files))
    return total


class FeatureCache:
    """Random batches from the cached shards (memory-mapped)."""

    def __init__(self, folders: list[Path]) -> None:
        self.shards = []
        for folder in folders:
            for meta in sorted(Path(folder).glob("shard_*/meta.json")):
                d = meta.parent
                self.shards.append({k: np.load(d / f"{k}.npy", mmap_mode="r") for k in KEYS})
        if not self.shards:
            raise FileNotFoundError(f"no cached shards in {folders}")
        self.index = [(i, j) for i, s in enumerate(self.shards) for j in range(len(s["l2"]))]

    def __len__(self) -> int:
        return len(self.index)

    def batch(self, rng: np.random.Generator, n: int, flip: bool = True) -> dict[str, torch.Tensor]:
        picks = [self.index[i] for i in rng.integers(len(self.index), size=n)]
        out = {}
        for k in KEYS:
            arr = np.stack([self.shards[i][k][j] for i, j in picks])
            out[k] = torch.from_numpy(arr.astype(np.float32))
        out["l2"] = out["l2"] / 2.55
        return out

    def all(self) -> dict[str, torch.Tensor]:
        out = {k: torch.from_numpy(np.concatenate([s[k] for s in self.shards]).astype(np.float32))
               for k in KEYS}
        out["l2"] = out["l2"] / 2.55
        return out
