"""The colorizer's scene head: a guess of how colourful a scene is, from its gray photo,
moves the automatic decoding's α per photo (colourful scenes get more colour)."""

import numpy as np
import pytest
import torch
from PIL import Image

from neuron_desktop.cli import main as cli_main
from neuron_desktop.models.colorization import SCENE_DIM, SceneColourHead
from neuron_desktop.models.weights import get_entry, save_weights
from neuron_desktop.pipelines import colorize as pc
from neuron_desktop.train import colorize_scene
from neuron_desktop.train.colorize_scene import collect, fit_ridge, scene_photos
from tests.models.colorizers import save_members


@pytest.fixture
def pair(tmp_path, monkeypatch):
    """A tiny colorizer pair saved as 'pair' in a fresh weights folder."""
    monkeypatch.setenv("NEURON_WEIGHTS_DIR", str(tmp_path))
    save_members()
    assert cli_main(["train", "colorize-pair", "--auto", "wide", "--hinted", "small",
                     "--name", "pair"]) == 0
    return tmp_path


def _photos(folder, n, colourful, seed):
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        img = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
        if not colourful:  # the same random values in all channels: gray
            img = np.repeat(img[..., :1], 3, 2)
        Image.fromarray(img).save(folder / f"p{seed}_{i}.png")
    return str(folder)


def test_ridge_fit_recovers_a_linear_target():
    rng = np.random.default_rng(0)
    x = rng.normal(3, 2, (400, 5))
    y = 1.5 + x @ np.array([0.5, -1.0, 0.0, 0.2, 0.0])
    mean, scale, weight, centre = fit_ridge(x, y, 1e-6)
    assert centre == pytest.approx(y.mean())
    assert np.allclose(((x - mean) / scale) @ weight + centre, y, atol=1e-3)
    # a strong penalty shrinks the guess towards the mean
    _, _, shrunk, _ = fit_ridge(x, y, 10.0)
    assert np.abs(shrunk).sum() < 0.2 * np.abs(weight).sum()


def test_scene_head_is_fitted_for_its_colorizer_and_moves_alpha_by_the_guess(pair, tmp_path):
    colourful = _photos(tmp_path / "colour", 6, True, 1)
    gray = _photos(tmp_path / "gray", 6, False, 2)
    assert cli_main(["train", "colorize-scene", "--weights", "pair", "--data", colourful, gray,
                     "--cache", str(tmp_path / "cache.npz"), "--strength", "0.3"]) == 0
    entry = get_entry("pair_scene")
    assert entry.arch == "SceneColourHead"
    assert entry.data["photos"] == len(scene_photos([colourful, gray])) >= 9  # training split
    assert entry.preprocessing["colorizer_sha256"] == get_entry("pair").sha256
    net = pc.load_colorizer("pair")
    head = net.scene_head
    assert isinstance(head, SceneColourHead) and head.strength == 0.3
    # the guess separates gray photos from colourful ones (their true colourfulness)
    guesses = {}
    for name in ("colour", "gray"):
        img = np.asarray(Image.open(next((tmp_path / name).iterdir())), np.float32) / 255
        prep = pc.prepare(net, torch.from_numpy(img).permute(2, 0, 1)[None])
        alpha = pc.auto_prior_correction(net, prep, 0.45)
        guesses[name] = float(head(pc.scene_features(net, prep)))
        assert alpha == pytest.approx(np.clip(0.45 - 0.3 * guesses[name], *pc.AUTO_ALPHA_RANGE))
    assert guesses["colour"] > 0 > guesses["gray"]


def test_auto_alpha_without_a_head_is_the_default_and_a_head_for_other_weights_is_ignored(
        pair, tmp_path):
    net = pc.load_colorizer("pair")
    assert net.scene_head is None
    prep = pc.prepare(net, torch.rand(1, 3, 40, 56))
    assert pc.auto_prior_correction(net, prep) == pc.DEFAULT_PRIOR_CORRECTION
    head = SceneColourHead(strength=0.4, colorizer_sha256="0" * 64)
    save_weights("pair_scene", head.state_dict(), task="colorization", arch="SceneColourHead",
                 preprocessing={"dim": SCENE_DIM, "strength": 0.4,
                                "colorizer_sha256": "0" * 64})
    assert pc.load_colorizer("pair").scene_head is None  # fitted for other weights


def test_auto_alpha_is_computed_once_per_photo_and_clamped(pair, monkeypatch):
    net = pc.load_colorizer("pair")
    calls = []

    class Head:
        strength = 0.5

        def __call__(self, x):
            calls.append(x.shape)
            return torch.tensor(2.0)  # a very colourful scene: α far below the range

    object.__setattr__(net, "scene_head", Head())
    prep = pc.prepare(net, torch.rand(1, 3, 40, 56))
    assert pc.auto_prior_correction(net, prep, 0.41) == pc.AUTO_ALPHA_RANGE[0]
    assert pc.auto_prior_correction(net, prep, 0.41) == pc.AUTO_ALPHA_RANGE[0]
    assert calls == [(SCENE_DIM,)]
    # the automatic colours use it; an explicit α is taken as given
    assert pc.work_ab(net, prep, None, 0.2) is prep.auto_ab[(0.2, pc.AUTO_ALPHA_RANGE[0],
                                                              pc.DEFAULT_CHROMA_BOOST)]
    pc.work_ab(net, prep, None, 0.2, prior_correction=0.5)
    assert (0.2, 0.5, pc.DEFAULT_CHROMA_BOOST) in prep.auto_ab


def test_feature_collection_resumes_from_its_cache(pair, tmp_path, monkeypatch):
    files = [tmp_path / f"{i}.png" for i in range(3)]
    seen = []

    def fake(net, path):
        seen.append(path)
        return np.full(SCENE_DIM, float(len(seen))), float(len(seen))

    monkeypatch.setattr(colorize_scene, "photo_example", fake)
    cache = tmp_path / "c.npz"
    x1, y1 = collect(None, files[:2], cache)
    x2, y2 = collect(None, files, cache)
    assert seen == files  # the first two were not computed again
    assert np.array_equal(y2, [1.0, 2.0, 3.0]) and np.array_equal(x2[:2], x1)
