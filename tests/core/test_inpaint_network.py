"""The inpainting network: push-pull pre-fill, shapes, the pipeline (compositing, coarse
preview, high-resolution path), training masks, resumable training, the shipped model."""

import numpy as np
import pytest
import torch
from PIL import Image

from neuron_desktop.core.metrics import psnr
from neuron_desktop.core.paths import samples_dir
from neuron_desktop.core.progress import Preview, run_pipeline
from neuron_desktop.data.masks import free_form_mask
from neuron_desktop.data.photos import PhotoBank, list_images
from neuron_desktop.models.inpainting import InpaintNet, PatchCritic, push_pull
from neuron_desktop.pipelines import inpaint as pi
from neuron_desktop.train.inpaint import (
    InpaintRecipe,
    batches,
    train_inpainter,
    training_mask,
)


def _image(h=64, w=80, seed=0):
    g = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    base = torch.stack([x, y, 0.5 * (x + y)])
    return (0.8 * base + 0.1 + 0.02 * torch.randn(3, h, w, generator=g)).clamp(0, 1)[None]


def _box_mask(h, w, y0, y1, x0, x1):
    m = torch.zeros(1, 1, h, w)
    m[..., y0:y1, x0:x1] = 1
    return m


def test_push_pull_fills_smoothly_and_keeps_known_pixels():
    img = _image()
    hole = _box_mask(64, 80, 20, 40, 30, 60)
    out = push_pull(img * (1 - hole), hole)
    assert torch.equal(out * (1 - hole), img * (1 - hole))
    assert float(((out - img).abs() * hole).sum() / hole.sum() / 3) < 0.08
    flat = torch.full((1, 3, 16, 16), 0.3)
    assert torch.allclose(push_pull(flat * (1 - hole[..., :16, :16]), hole[..., :16, :16]),
                          flat, atol=1e-6)


@pytest.mark.parametrize("size", [(64, 80), (37, 53)])
def test_network_shapes_and_hole_pixels_ignored(size):
    net = InpaintNet(width=4).eval()
    h, w = size
    img = _image(h, w)
    hole = _box_mask(h, w, 10, 25, 12, 30)
    with torch.no_grad():
        coarse, refined = net(img, hole)
        scribbled = img.clone()
        scribbled[..., 10:25, 12:30] = 1.0
        _, refined2 = net(scribbled, hole)
    assert coarse.shape == refined.shape == img.shape
    assert 0 <= float(refined.min()) and float(refined.max()) <= 1
    assert torch.allclose(refined, refined2, atol=1e-6)  # what was in the hole cannot leak
    assert PatchCritic()(img, hole).shape[1] == 1


@pytest.fixture
def tiny_network(monkeypatch):
    net = InpaintNet(width=4).eval().requires_grad_(False)
    monkeypatch.setattr(pi, "load_inpainter", lambda device="cpu", weights=None: net)
    return net


def test_network_method_composites_exactly_and_previews_coarse(tiny_network):
    img = _image(96, 128)
    mask = _box_mask(96, 128, 30, 70, 40, 90)
    events = []
    out = run_pipeline(pi.inpaint(img, mask, method="network"), on_preview=events.append)
    outside = mask == 0
    assert torch.equal(out.expand_as(img)[outside.expand_as(img)],
                       img[outside.expand_as(img)])
    previews = [e for e in events if isinstance(e, Preview)]
    assert len(previews) == 1 and previews[0].image.shape == img.shape
    assert not torch.equal(previews[0].image, out)  # coarse first, refined result differs


def test_best_network_averages_the_mirrored_views_exactly(tiny_network):
    img = _image(40, 56, seed=3)
    mask = _box_mask(40, 56, 8, 30, 10, 35)
    with torch.no_grad():
        for p in tiny_network.decoder[-1].parameters():  # an output that is not mirror-even
            p.normal_(0, 0.3, generator=torch.Generator().manual_seed(0))
    views = []
    for dims in ((), (-1,), (-2,), (-2, -1)):
        def flip(x, dims=dims):
            return x.flip(dims) if dims else x

        with torch.inference_mode():
            views.append(flip(tiny_network(flip(img), flip(mask))[1]))
    assert not torch.allclose(views[0], views[1], atol=1e-3)  # the views do differ
    expected = pi.composite(img, torch.stack(views).mean(0), mask, binary=True)
    events = []
    best = run_pipeline(pi.inpaint(img, mask, method="network-best"), on_preview=events.append)
    assert torch.allclose(best, expected, atol=1e-6)
    single = run_pipeline(pi.inpaint(img, mask, method="network"))
    assert torch.equal(single, pi.composite(img, views[0], mask, binary=True))
    keep = (mask == 0).expand_as(img)
    assert torch.equal(best[keep], img[keep])
    assert sum(isinstance(e, Preview) for e in events) == 1  # one coarse preview, then the fill


def test_fast_network_method_loads_its_own_weights(monkeypatch, tiny_network):
    asked = []
    monkeypatch.setattr(pi, "load_inpainter",
                        lambda device="cpu", weights=None: asked.append(weights) or tiny_network)
    img, mask = _image(64, 80), _box_mask(64, 80, 20, 40, 20, 50)
    for method in ("network-fast", "network"):
        out = run_pipeline(pi.inpaint(img, mask, method=method))
        assert torch.equal(out[(mask == 0).expand_as(img)], img[(mask == 0).expand_as(img)])
    assert asked == [pi.NET_FAST_WEIGHTS, pi.NET_WEIGHTS]


def test_auto_takes_the_fast_network_on_a_cpu_and_the_full_one_on_a_gpu(monkeypatch):
    have = {"network": True, "network-fast": True, "network-best": True}  # best: never auto
    monkeypatch.setattr(pi, "network_available", lambda method="network": have[method])
    assert pi.auto_network("cpu") == "network-fast"
    monkeypatch.setattr(pi, "choose_device", lambda device=None: torch.device("cuda"))
    assert pi.auto_network() == "network"
    have["network"] = False
    assert pi.auto_network() == "network-fast"  # whichever is installed
    have["network-fast"] = False
    assert pi.auto_network() == "exemplar"


def test_network_scale_is_full_resolution_up_to_the_cap():
    assert pi.network_scale(np.ones((200, 300), bool)) == 1.0
    assert pi.network_scale(np.ones((1000, 500), bool)) == pi.NET_MAX_SIDE / 1000
    assert pi.network_scale(np.ones((2000, 1000), bool)) == pi.NET_BIG_WINDOW_SIDE / 2000


def test_network_high_resolution_path(tiny_network):
    h, w = 1300, 1700  # over NET_MAX_SIDE: filled region by region
    img = _image(h, w)
    mask = torch.zeros(1, 1, h, w)
    mask[..., 100:160, 200:330] = 1
    mask[..., 900:1000, 1200:1260] = 1
    events = []
    out = run_pipeline(pi.inpaint(img, mask, method="network"), on_preview=events.append)
    keep = (mask == 0).expand_as(img)
    assert torch.equal(out[keep], img[keep])
    assert torch.isfinite(out).all()
    previews = [e.image for e in events if isinstance(e, Preview)]
    assert len(previews) == 2  # one coarse preview per region, of the whole photo
    assert max(previews[0].shape[-2:]) <= pi.PREVIEW_SIDE


def test_training_masks_cover_the_recipe_range():
    rng = np.random.default_rng(0)
    recipe = InpaintRecipe(p_scratch=0.0)
    areas = [training_mask(rng, 128, recipe).mean() for _ in range(20)]
    assert min(areas) >= recipe.area[0] - 1e-6 and max(areas) <= recipe.area[1] + 1e-6
    thin = InpaintRecipe(p_scratch=1.0)
    m = training_mask(rng, 128, thin)
    assert 0 < m.mean() < 0.15
    m2 = free_form_mask(64, 64, np.random.default_rng(1), (0.2, 0.3), scale=0.2)
    assert 0.2 <= m2.mean() <= 0.3


def _noise_photos(folder, n, h, w, seed):
    """``n`` random-noise PNGs in ``folder`` (a throw-away training set); returns it."""
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray((rng.random((h, w, 3)) * 255).astype(np.uint8)).save(
            folder / f"p{i}.png")
    return folder


def test_training_runs_and_resumes(tmp_path):
    photos = _noise_photos(tmp_path / "photos", 4, 72, 90, 0)
    recipe = InpaintRecipe(data=[str(photos)], steps=2, batch=2, crop=32, width=4,
                           val_every=2, val_images=2, val_fraction=0.0, gan_start=0.0)
    run = tmp_path / "run"
    logs = []
    net, metrics = run_pipeline(train_inpainter(recipe, run, torch.device("cpu"), logs.append))
    assert (run / "checkpoint.pt").exists() and metrics["step"] == 2
    assert "d" in metrics  # the critic trained (gan_start 0)
    recipe.steps = 3
    net, metrics = run_pipeline(train_inpainter(recipe, run, torch.device("cpu"), logs.append))
    assert metrics["step"] == 3
    assert any("resumed" in str(line) for line in logs)


def test_worker_batches_are_seeded_by_start_step(tmp_path):
    bank = PhotoBank(list_images([_noise_photos(tmp_path / "photos", 3, 48, 60, 2)]))
    recipe = InpaintRecipe(batch=2, crop=32)

    def first(start, workers=1):
        stream = batches(bank, np.random.default_rng(0), recipe, start, workers)
        batch = next(stream)
        stream.close()  # stops the worker
        return batch

    crops, holes = first(0)
    assert crops.shape == (2, 3, 32, 32) and holes.shape == (2, 1, 32, 32)
    assert set(holes.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(first(0)[0], crops)  # same seed and start: same data
    assert not torch.equal(first(5)[0], crops)  # a resumed run draws new data
    local = first(0, workers=0)  # in-loop batches come from the run's own generator
    rng = np.random.default_rng(0)
    expect = bank.random_crops(rng, 2, 32)
    assert torch.equal(local[0], torch.from_numpy(expect).permute(0, 3, 1, 2))


def test_fine_tuning_keeps_or_zeroes_the_output_layers(tmp_path):
    from neuron_desktop.models.weights import save_weights

    photos = _noise_photos(tmp_path / "photos", 3, 64, 64, 1)
    torch.manual_seed(0)
    start = InpaintNet(4)
    save_weights("start", start.state_dict(), directory=tmp_path / "w", task="inpainting",
                 arch="InpaintNet")
    init = str(tmp_path / "w" / "start.safetensors")
    outs = {}
    for keep in (True, False):
        recipe = InpaintRecipe(data=[str(photos)], steps=1, batch=2, crop=32, width=4, lr=1e-9,
                               val_fraction=0.0, adv_weight=0.0, mse_weight=10.0, init=init,
                               zero_residuals=not keep)
        net, metrics = run_pipeline(train_inpainter(recipe, tmp_path / f"run{keep}",
                                                    torch.device("cpu"), lambda *_: None))
        assert metrics["mse"] > 0 and np.isfinite(metrics["mse"])
        outs[keep] = net.decoder[-1].weight.detach()
    assert torch.allclose(outs[True], start.decoder[-1].weight, atol=1e-6)  # lr ~ 0: kept
    assert outs[False].abs().max() < 1e-6  # zeroed: training starts at the pre-fill


# ------------------------------------------------------------------ the shipped network

def _sample(name):
    from neuron_desktop.core.imageio import load_image, to_tensor
    from neuron_desktop.pipelines.stylize import resize_long

    return resize_long(to_tensor(load_image(samples_dir() / f"{name}.jpg").rgb), 320)


@pytest.mark.parametrize("method", ["network", "network-fast", "network-best"])
def test_shipped_network_fills_sample_photos(method):
    if not pi.network_available(method):
        pytest.skip("inpainting weights not installed")
    ours, telea = [], []
    for i, name in enumerate(("astronaut", "coffee")):
        img = (_sample(name) * 255).round() / 255
        h, w = img.shape[-2:]
        for seed in range(2):
            hole = free_form_mask(h, w, np.random.default_rng([i, seed]), (0.2, 0.3))
            mask = torch.from_numpy(hole)[None, None]
            net_out = run_pipeline(pi.inpaint(img, mask, method=method, grain="off"))
            tel_out = run_pipeline(pi.inpaint(img, mask, method="telea", grain="off"))
            keep = (mask == 0).expand_as(img)
            assert torch.equal(net_out[keep], img[keep])
            ours.append(float(psnr(net_out, img)))
            telea.append(float(psnr(tel_out, img)))
    # on these four holes Telea scores 21.47 dB, the harmonic pre-fill alone 22.43, the
    # networks 23.06 (network) and 22.85 (fast): a network that adds nothing to its pre-fill,
    # or has broken weights or decoding, fails
    assert np.mean(ours) > np.mean(telea) + 1.15


def test_a_stop_request_saves_a_checkpoint_that_resumes(tmp_path):
    import os
    import signal

    from neuron_desktop.core.progress import Cancelled

    photos = _noise_photos(tmp_path / "photos", 3, 64, 64, 3)
    recipe = InpaintRecipe(data=[str(photos)], steps=50, batch=2, crop=32, width=4,
                           val_every=50, val_fraction=0.0, adv_weight=0.0)
    run, logs = tmp_path / "run", []
    gen = train_inpainter(recipe, run, torch.device("cpu"), logs.append)
    next(gen)  # inside step 1
    os.kill(os.getpid(), signal.SIGTERM)  # as `kill PID` would: stop after this step
    with pytest.raises(Cancelled, match="stopped at step 1"):
        for _ in gen:
            pass
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers restored
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert state["step"] == 1 and any("stopped at step 1" in line for line in logs)
    recipe.steps = 3
    net, metrics = run_pipeline(train_inpainter(recipe, run, torch.device("cpu"), logs.append))
    assert metrics["step"] == 3
