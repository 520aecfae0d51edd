"""Fit the colorizer's scene head (:class:`SceneColourHead`): how colourful a scene truly is,
guessed from its gray photo, so the automatic colours go where the scene has them.

Photos come from folders the colorizer never trained on (their training split by name);
their features are computed by the pipeline's own :func:`scene_features` and cached, so an
interrupted run resumes where it stopped."""

from __future__ import annotations

import io
import logging
import time
from pathlib import Path

import numpy as np
import torch

from neuron_desktop.core.imageio import load_image, to_tensor, write_atomic
from neuron_desktop.core.metrics import colorfulness
from neuron_desktop.data.photos import list_images, split
from neuron_desktop.models.colorization import SCENE_DIM
from neuron_desktop.models.weights import WeightEntry, get_entry, save_weights

log = logging.getLogger(__name__)


def scene_photos(specs: list[str], seed: int = 0, val_fraction: float = 0.05) -> list[Path]:
    """``FOLDER`` or ``FOLDER:N`` (N photos drawn, seeded) from each folder's training
    split; never its validation photos."""
    rng = np.random.default_rng(seed)
    files: list[Path] = []
    for spec in specs:
        folder, _, count = spec.partition(":")
        train = split(list_images([folder]), val_fraction)[0]
        n = min(int(count), len(train)) if count else len(train)
        files += [train[i] for i in sorted(rng.choice(len(train), n, replace=False))]
    return files


@torch.no_grad()
def photo_example(net, path: Path) -> tuple[np.ndarray, float]:
    """(scene features, log(1 + colourfulness) of the photo's true colours at 256 px)."""
    from neuron_desktop.pipelines import colorize as pc

    rgb = to_tensor(load_image(path).rgb).clamp(0, 1)
    prep = pc.prepare(net, rgb)
    truth = float(colorfulness(pc.working_rgb(rgb)))
    return pc.scene_features(net, prep).numpy(), float(np.log1p(truth))


def collect(net, files: list[Path], cache: Path, save_every: int = 200
            ) -> tuple[np.ndarray, np.ndarray]:
    """Features and targets of ``files``, resuming from (and saving to) ``cache``."""
    done: dict[str, tuple[np.ndarray, float]] = {}
    if cache.exists():
        with np.load(cache) as z:
            done = {str(p): (x, float(y)) for p, x, y in zip(z["path"], z["x"], z["y"],
                                                                 strict=True)}
        log.info("resuming: %d photos already in %s", len(done), cache)

    def save() -> None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez(buf, path=np.array(list(done)), x=np.stack([v[0] for v in done.values()]),
                 y=np.array([v[1] for v in done.values()]))
        write_atomic(cache, buf.getvalue())

    start, new = time.time(), 0
    for path in files:
        if str(path) in done:
            continue
        try:
            done[str(path)] = photo_example(net, path)
        except Exception as exc:  # a bad file is skipped, not fatal
            log.warning("skipped %s: %s", path, exc)
            continue
        new += 1
        if new % save_every == 0:
            save()
            log.info("scene features: %d / %d photos (%.2f s each)", len(done), len(files),
                     (time.time() - start) / new)
    if new:
        save()
    keep = [str(p) for p in files if str(p) in done]
    return np.stack([done[p][0] for p in keep]), np.array([done[p][1] for p in keep])


def fit_ridge(x: np.ndarray, y: np.ndarray, lam: float
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Ridge regression on standardised features (penalty ``lam`` per photo):
    (mean, scale, weight, target mean)."""
    mean, scale = x.mean(0), x.std(0) + 1e-6
    z = (x - mean) / scale
    target = y - y.mean()
    weight = np.linalg.solve(z.T @ z + lam * len(z) * np.eye(z.shape[1]), z.T @ target)
    return mean, scale, weight, float(y.mean())


def write_scene_head(data: list[str], weights: str = "colorizer", lam: float = 1.0,
                     strength: float = 0.4, cache: Path | str = "runs/colorize_scene.npz",
                     weights_dir: Path | str | None = None, seed: int = 0) -> WeightEntry:
    from neuron_desktop.pipelines import colorize as pc

    name = pc.DEFAULT_WEIGHTS if weights == "default" else weights
    net = pc.load_colorizer(name, "cpu")
    files = scene_photos(data, seed)
    log.info("scene head for %s: %d photos from %s", weights, len(files), " ".join(data))
    x, y = collect(net, files, Path(cache))
    if x.shape[1] != SCENE_DIM:
        raise ValueError(f"features of size {x.shape[1]}, the head expects {SCENE_DIM}")
    mean, scale, weight, centre = fit_ridge(x.astype(np.float64), y, lam)
    fitted = ((x - mean) / scale) @ weight + centre
    r = float(np.corrcoef(fitted, y)[0, 1])
    log.info("fitted on %d photos: correlation %.3f with the true log colourfulness", len(y), r)
    state = {k: torch.from_numpy(v.astype(np.float32))
             for k, v in (("mean", mean), ("scale", scale), ("weight", weight))}
    return save_weights(
        f"{name}_scene", state, task="colorization", arch="SceneColourHead",
        recipe={"command": "neuron train colorize-scene", "lambda": lam, "seed": seed,
                "strength": strength},
        data={"folders": data, "photos": len(y), "split": "training"},
        metrics={"train_correlation": round(r, 4), "target_mean": round(centre, 4)},
        preprocessing={"dim": SCENE_DIM, "strength": strength,
                       "colorizer_sha256": get_entry(name).sha256,
                       "scene_alphas": list(pc.SCENE_ALPHAS)},
        directory=weights_dir)
