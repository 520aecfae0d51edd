"""Arbitrary-style transfer: the whitening/colouring transform, the decoder's shapes, and the
pipeline's preview, cancel and output size (a randomly initialised decoder where the
shipped weights are not the point)."""

import pytest
import torch

from neuron_desktop.core.errors import NeuronError
from neuron_desktop.core.progress import Cancelled, CancelToken, Preview, run_pipeline
from neuron_desktop.models.style_arbitrary import (
    ArbitraryStyleNet,
    FeatureDecoder,
    adain,
    colour,
    style_stats,
    wct,
    whiten,
)
from neuron_desktop.pipelines import stylize_arbitrary as sa


def _correlated(seed: int, c: int = 12, hw: tuple[int, int] = (20, 24), shift: float = 0.0):
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(c, c, generator=g)
    x = mix @ torch.randn(c, hw[0] * hw[1], generator=g) + shift
    return x.reshape(1, c, *hw)


def _cov(f):
    x = f[0].reshape(f.shape[1], -1).double()
    x = x - x.mean(1, keepdim=True)
    return x @ x.T / (x.shape[1] - 1)


def test_whitened_features_have_identity_covariance():
    fc = _correlated(0)
    assert not torch.allclose(_cov(fc), torch.eye(12, dtype=torch.float64), atol=0.1)
    w = whiten(fc, eps=0.0)
    assert torch.allclose(_cov(w), torch.eye(12, dtype=torch.float64), atol=1e-6)
    assert w.mean((2, 3)).abs().max() < 1e-9


def test_coloured_features_match_the_style_mean_and_covariance():
    fc, fs = _correlated(0), _correlated(1, hw=(9, 31), shift=3.0)
    out = colour(whiten(fc, eps=0.0), style_stats(fs, eps=0.0))
    assert out.shape == fc.shape
    assert torch.allclose(out.mean((2, 3)), fs.double().mean((2, 3)), atol=1e-6)
    assert torch.allclose(_cov(out), _cov(fs), atol=1e-5 * _cov(fs).abs().max())


def test_wct_strength_blends_content_and_transformed_features():
    fc, fs = _correlated(0), _correlated(1, shift=2.0)
    assert torch.equal(wct(fc, fs, alpha=0.0), fc)
    full = wct(fc, fs)
    assert torch.allclose(wct(fc, fs, alpha=0.25), fc + 0.25 * (full - fc), atol=1e-5)
    # AdaIN matches only each channel's mean and spread
    out = adain(fc, fs)
    assert torch.allclose(out.mean((2, 3)), fs.mean((2, 3)), atol=1e-4)
    assert torch.allclose(out.std((2, 3)), fs.std((2, 3)), rtol=1e-3)


def test_decoder_maps_stride8_features_to_an_image_8x_larger():
    dec = FeatureDecoder(cin=40, widths=(16, 8, 8, 8))
    with torch.no_grad():
        out = dec(torch.randn(2, 40, 5, 7))
    assert out.shape == (2, 3, 40, 56) and 0 <= float(out.min()) <= float(out.max()) <= 1


@pytest.fixture()
def random_network(monkeypatch):
    torch.manual_seed(0)
    net = ArbitraryStyleNet(widths=(16, 8, 8, 8), pretrained=False).eval()
    monkeypatch.setattr(sa, "arbitrary_network", lambda device="cpu": net)
    return net


def _photo(h, w, seed=0):
    return torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("hw", [(37, 53), (300, 211), (16, 90)])
def test_pipeline_returns_the_photo_size(random_network, hw):
    out = run_pipeline(sa.arbitrary(_photo(*hw), _photo(64, 48, 1),
                                    settings=sa.ArbitrarySettings(size=128)))
    assert out.shape == (1, 3, *hw) and 0 <= float(out.min()) <= float(out.max()) <= 1


def test_pipeline_previews_first_and_stops_on_cancel(random_network):
    photo, style = _photo(400, 300), _photo(100, 100, 1)
    settings = sa.ArbitrarySettings(size=384, preview_size=128)
    events = list(sa.arbitrary(photo, style, settings=settings))
    previews = [e for e in events if isinstance(e, Preview)]
    assert len(previews) == 1 and max(previews[0].image.shape[-2:]) == 256
    token = CancelToken()
    gen = sa.arbitrary(photo, style, settings=settings, cancel=token)
    for event in gen:
        if isinstance(event, Preview):
            token.cancel()  # the user cancels as soon as the preview shows
            break
    with pytest.raises(Cancelled):
        next(gen)


def test_pipeline_strength_zero_is_the_photo_and_bad_input_is_refused(random_network):
    photo = _photo(40, 40)
    assert torch.equal(run_pipeline(sa.arbitrary(photo, _photo(30, 30, 1), strength=0.0)),
                       photo)
    with pytest.raises(NeuronError, match="strength"):
        run_pipeline(sa.arbitrary(photo, photo, strength=1.5))
    with pytest.raises(NeuronError, match="at least"):
        run_pipeline(sa.arbitrary(_photo(4, 200), photo))


def test_shipped_decoder_loads_through_the_registry_and_reconstructs_a_photo():
    from neuron_desktop.core.imageio import load_image, to_tensor
    from neuron_desktop.core.paths import samples_dir
    from neuron_desktop.models.registry import load
    from neuron_desktop.models.weights import get_entry

    entry = get_entry(sa.ARBITRARY_WEIGHTS)
    assert entry.arch == "ArbitraryStyleNet" and entry.recipe["styles_seen_in_training"] == 0
    net = load(sa.ARBITRARY_WEIGHTS, "cpu")  # sha256-checked; the encoder from its package
    photo = sa._resize_long(to_tensor(load_image(samples_dir() / "coffee.jpg").rgb), 256)
    padded, p = sa._pad(photo)
    with torch.inference_mode():
        out = net(padded)[..., p:p + photo.shape[-2], p:p + photo.shape[-1]]
    psnr = -10 * torch.log10(((out - photo) ** 2).mean())
    assert psnr > 20  # 23.8 dB when shipped; a random decoder gives ~10 dB


def test_preserve_color_keeps_the_photos_chroma(random_network):
    from neuron_desktop.core.color import rgb_to_lab
    from neuron_desktop.pipelines.stylize import stylize

    photo, style = _photo(60, 80), _photo(50, 50, 1) * torch.tensor([1.0, 0.2, 0.1])[:, None,
                                                                                        None]
    kept = run_pipeline(stylize(photo, style=style, method="arbitrary", preserve_color=True))
    free = run_pipeline(stylize(photo, style=style, method="arbitrary"))
    ab = rgb_to_lab(photo)[:, 1:]
    err_kept = (rgb_to_lab(kept)[:, 1:] - ab).abs().mean()
    err_free = (rgb_to_lab(free)[:, 1:] - ab).abs().mean()
    assert err_kept < 0.25 * err_free
