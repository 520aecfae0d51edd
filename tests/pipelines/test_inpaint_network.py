"""The inpainting network's methods in the pipeline: compositing, coarse preview, mirrored
views, fast/auto choice, the high-resolution path, the shipped model on the samples."""

import numpy as np
import pytest
import torch

from neuron_desktop.core.metrics import psnr
from neuron_desktop.core.paths import samples_dir
from neuron_desktop.core.progress import Preview, run_pipeline
from neuron_desktop.data.masks import free_form_mask
from neuron_desktop.models.inpainting import InpaintNet
from neuron_desktop.pipelines import inpaint as pi


def _image(h=64, w=80, seed=0):
    g = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    base = torch.stack([x, y, 0.5 * (x + y)])
    return (0.8 * base + 0.1 + 0.02 * torch.randn(3, h, w, generator=g)).clamp(0, 1)[None]


def _box_mask(h, w, y0, y1, x0, x1):
    m = torch.zeros(1, 1, h, w)
    m[..., y0:y1, x0:x1] = 1
    return m


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
    best = run_pipeline(pi.inpaint(img, mask, method="network-best", grain="off"),
                        on_preview=events.append)
    assert torch.allclose(best, expected, atol=1e-6)
    single = run_pipeline(pi.inpaint(img, mask, method="network", grain="off"))
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


def _sample(name):
    from neuron_desktop.core.imageio import load_image, to_tensor
    from neuron_desktop.pipelines.stylize import resize_long

    return resize_long(to_tensor(load_image(samples_dir() / f"{name}.jpg").rgb), 320)


@pytest.mark.slow
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
