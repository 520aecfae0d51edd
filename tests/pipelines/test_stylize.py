"""Style transfer: Gram/losses by hand, Gatys previews and cancel, colour preservation,
style blending, adding a style, and the shipped fast network."""

from pathlib import Path

import pytest
import torch

from neuron_desktop.core.color import rgb_to_lab
from neuron_desktop.core.errors import NeuronError
from neuron_desktop.core.paths import samples_dir
from neuron_desktop.core.progress import Cancelled, CancelToken, Preview, Progress, run_pipeline
from neuron_desktop.models.style import (
    CondInstanceNorm,
    FastStyleNet,
    StyleFeatures,
    content_loss,
    gram,
    style_layer_loss,
    style_loss,
    tv_loss,
)
from neuron_desktop.pipelines import stylize as st
from tests.photos import noise_photos


def _photo(h=48, w=64, seed=0):
    """A reddish photo with soft structure."""
    g = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    base = torch.stack([0.7 + 0.2 * x, 0.3 + 0.2 * y, 0.25 + 0.1 * x * y])
    return (base + 0.03 * torch.randn(3, h, w, generator=g)).clamp(0, 1)[None]


def _stripes(h=64, w=64):
    """A blue/yellow diagonal-stripe 'painting'."""
    y, x = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    on = (((x + y) // 4) % 2).float()
    blue, yellow = torch.tensor([0.1, 0.2, 0.8]), torch.tensor([0.95, 0.85, 0.1])
    return (on[None] * yellow[:, None, None] + (1 - on[None]) * blue[:, None, None])[None]


def test_gram_by_hand():
    f = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 1, 2)  # C=2, M=2
    assert torch.allclose(gram(f), torch.tensor([[[2.5, 5.5], [5.5, 12.5]]]))


def test_style_layer_loss_matches_gatys_formula():
    f = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 1, 2)
    # 1/(4 N^2 M^2) sum (F F^T - A)^2 with A = 0: (25 + 121 + 121 + 625) / (4 * 4 * 4)
    assert float(style_layer_loss(f, torch.zeros(1, 2, 2))) == pytest.approx(892 / 64)
    a = torch.tensor([[[2.5, 5.5], [5.5, 12.5]]])
    assert float(style_layer_loss(f, a)) == 0.0
    two = style_loss([f, f], [torch.zeros(1, 2, 2), a])  # layers weighted equally
    assert float(two) == pytest.approx(892 / 64 / 2)


def test_content_and_tv_loss_by_hand():
    a, b = torch.zeros(1, 1, 2, 2), torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])
    assert float(content_loss(b, a)) == pytest.approx(0.5)
    # vertical diffs |0-1|, |1-0| -> mean 1; horizontal the same
    assert float(tv_loss(b)) == pytest.approx(2.0)
    assert float(tv_loss(torch.ones(1, 3, 4, 4))) == 0.0


def test_features_shapes_and_frozen():
    net = StyleFeatures()
    feats = net(torch.rand(1, 3, 64, 64))
    assert [f.shape[1] for f in feats] == [32, 16, 24, 40, 112]
    assert [f.shape[-1] for f in feats] == [32, 32, 16, 8, 4]
    assert not any(p.requires_grad for p in net.parameters())


@pytest.mark.slow
def test_gatys_yields_previews_and_moves_toward_the_style():
    photo, style = _photo(), _stripes()
    settings = st.GatysSettings(preview_every=5)
    gen = st.gatys(photo, style, size=64, iterations=20, settings=settings, device="cpu")
    events, result = [], None
    try:
        while True:
            events.append(next(gen))
    except StopIteration as stop:
        result = stop.value
    previews = [e for e in events if isinstance(e, Preview)]
    assert len(previews) == 3  # iterations 5, 10, 15 (the last is the result itself)
    assert previews[0].image.shape == result.shape == photo.shape
    assert sum(isinstance(e, Progress) for e in events) >= 20
    net = st.loss_network("cpu")
    targets = [gram(f) for f in net(style)]
    before = float(style_loss(net(photo), targets))
    after = float(style_loss(net(result), targets))
    assert after < 0.7 * before


def test_gatys_says_how_long_in_plain_words(monkeypatch):
    monkeypatch.setitem(st._SECONDS_PER_ITERATION, "cpu", 0.18)
    assert st.plain_duration(st.gatys_estimate(512, 150, "cpu")) == "about 27 s"
    assert st.plain_duration(st.gatys_estimate(1024, 300, "cpu")) == "about 4 min"
    messages = [e.message for e in st.gatys(_photo(), _stripes(), size=64, iterations=4,
                                            device="cpu") if isinstance(e, Progress)]
    assert messages[0].startswith("Painting with Gatys: about ")
    assert messages[1].startswith("Painting: step 1 of 4, about ") and messages[1].endswith(
        " left")
    assert messages[-1].startswith("Painting: step 4 of 4")


def test_gatys_stops_on_cancel():
    token = CancelToken()
    gen = st.stylize(_photo(), style=_stripes(), method="gatys", size=64, iterations=50,
                     cancel=token)
    seen = 0
    with pytest.raises(Cancelled):
        for event in gen:
            seen += 1
            if isinstance(event, Progress) and event.fraction >= 0.1:
                token.cancel()
    assert seen < 15  # stopped within one iteration of the request


@pytest.mark.slow
def test_preserve_color_keeps_the_photos_ab():
    photo, style = _photo(), _stripes()
    kept = run_pipeline(st.gatys(photo, style, size=64, iterations=15, preserve_color=True))
    free = run_pipeline(st.gatys(photo, style, size=64, iterations=15))
    ab_photo = rgb_to_lab(photo)[:, 1:].mean((2, 3))
    ab_kept = rgb_to_lab(kept)[:, 1:].mean((2, 3))
    ab_free = rgb_to_lab(free)[:, 1:].mean((2, 3))
    assert torch.allclose(ab_kept, ab_photo, atol=2.0)
    assert (ab_free - ab_photo).abs().max() > 3 * (ab_kept - ab_photo).abs().max()


def test_full_resolution_output_and_strength_zero():
    photo = _photo(96, 128)
    out = run_pipeline(st.gatys(photo, _stripes(), size=48, iterations=2, strength=0.0,
                                full_resolution=True))
    assert out.shape == photo.shape
    assert torch.allclose(out, photo, atol=1e-6)


def test_conditional_norm_blends_styles_convexly():
    norm = CondInstanceNorm(4, 3)
    with torch.no_grad():
        norm.gamma.copy_(torch.rand(3, 4) + 0.5)
        norm.beta.copy_(torch.randn(3, 4))
    x = torch.randn(1, 4, 8, 8)
    a = norm(x, torch.tensor([[1.0, 0, 0]]))
    b = norm(x, torch.tensor([[0, 1.0, 0]]))
    half = norm(x, torch.tensor([[0.5, 0.5, 0]]))
    assert torch.allclose(half, (a + b) / 2, atol=1e-5)


def test_style_bank_weights_and_blend():
    bank = st.StyleBank(FastStyleNet(3, width=4, blocks=1).eval(), ["a", "b", "c"])
    assert bank.weights("b").tolist() == [[0.0, 1.0, 0.0]]
    assert bank.weights({"a": 3, "c": 1}).tolist() == [[0.75, 0.0, 0.25]]
    for bad in ("nope", {"a": -1.0}, {"a": 0.0}):
        with pytest.raises(NeuronError):
            bank.weights(bad)
    photo = _photo()
    with torch.no_grad():
        for n in bank.net.norms():
            n.gamma.copy_(torch.rand_like(n.gamma) + 0.5)
            n.beta.copy_(torch.randn_like(n.beta))
    outs = {k: run_pipeline(st.fast(photo, k, bank=bank)) for k in ("a", "b")}
    blend = run_pipeline(st.fast(photo, {"a": 1, "b": 1}, bank=bank))
    assert outs["a"].shape == photo.shape
    assert not torch.allclose(outs["a"], outs["b"], atol=1e-3)
    # a blend lies between its styles (not equal to either)
    assert float((blend - outs["a"]).abs().mean()) < float((outs["b"] - outs["a"]).abs().mean())
    assert float((blend - outs["b"]).abs().mean()) < float((outs["b"] - outs["a"]).abs().mean())


def test_fast_net_any_size():
    net = FastStyleNet(2, width=4, blocks=1)
    with torch.no_grad():
        out = net(torch.rand(1, 3, 37, 53), torch.tensor([[1.0, 0.0]]))
    assert out.shape == (1, 3, 37, 53)
    assert 0 <= float(out.min()) and float(out.max()) <= 1


def test_train_new_style_only_touches_its_slot(tmp_path):
    from neuron_desktop.train.style import StyleRecipe, train_new_style

    net = FastStyleNet(2, width=4, blocks=1)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    recipe = StyleRecipe(data=[str(noise_photos(tmp_path / "photos", w=96))], batch=2, crop=32)
    params = run_pipeline(train_new_style(net, _stripes(), steps=3, recipe=recipe, lr=0.05))
    assert net.styles == 3
    after = net.state_dict()
    for k, v in before.items():
        if k.endswith((".gamma", ".beta")):
            assert torch.equal(after[k][:2], v)  # old styles untouched
            assert not torch.equal(after[k][2], v.mean(0))  # the new one trained
        else:
            assert torch.equal(after[k], v)  # convolutions untouched
    assert set(params) == {k for k in after if k.endswith((".gamma", ".beta"))}


def test_stylize_argument_errors():
    photo = _photo()
    with pytest.raises(NeuronError, match="method"):
        st.stylize(photo, style="x", method="warp")
    with pytest.raises(NeuronError, match="style image"):
        st.stylize(photo, style="x", method="gatys")
    with pytest.raises(NeuronError, match="strength"):
        st.stylize(photo, style=_stripes(), method="gatys", strength=2.0)
    with pytest.raises(NeuronError, match="gallery"):
        st.stylize(photo, style=_stripes(), method="fast")


# ------------------------------------------------------------------ the shipped network

def _sample(name, size=192):
    from neuron_desktop.core.imageio import load_image, to_tensor
    from neuron_desktop.pipelines.stylize import resize_long

    return resize_long(to_tensor(load_image(samples_dir() / f"{name}.jpg").rgb), size)


@pytest.mark.slow
def test_shipped_fast_network_stylizes_samples():
    from neuron_desktop.train.style import DEFAULT_STYLES, style_tensor

    bank = st.load_style_bank(device="cpu", user_dir=None)
    assert len(bank.names) >= 8
    net = st.loss_network("cpu")
    for photo_name in ("astronaut", "coffee"):
        photo = _sample(photo_name)
        outs = []
        for style in bank.names[:3]:
            out = run_pipeline(st.fast(photo, style, bank=bank))
            assert out.shape == photo.shape
            assert float((out - photo).abs().mean()) > 0.03  # visibly stylised
            outs.append(out)
            painting = Path(DEFAULT_STYLES) / f"{style}.jpg"
            if painting.is_file():  # closer to its painting's Gram statistics than the photo
                targets = [gram(f) for f in net(style_tensor(painting))]
                assert float(style_loss(net(out), targets)) < 0.5 * float(
                    style_loss(net(photo), targets))
        assert float((outs[0] - outs[1]).abs().mean()) > 0.02  # styles differ
        kept = run_pipeline(st.fast(photo, bank.names[0], bank=bank, preserve_color=True))
        ab_photo = rgb_to_lab(photo)[:, 1:].mean((2, 3))
        moved = (rgb_to_lab(outs[0])[:, 1:].mean((2, 3)) - ab_photo).abs().max()
        kept_moved = (rgb_to_lab(kept)[:, 1:].mean((2, 3)) - ab_photo).abs().max()
        assert float(kept_moved) < min(6.0, 0.5 * float(moved))  # (gamut clipping aside)


@pytest.mark.slow
def test_style_weight_balances_content_and_style():
    photo, style = _photo(), _stripes()
    net = st.loss_network("cpu")
    targets = [gram(f) for f in net(style)]
    losses = {}
    for w in (0.01, 1000.0):
        out = run_pipeline(st.stylize(photo, style=style, method="gatys", size=64,
                                      iterations=40, style_weight=w))
        losses[w] = float(style_loss(net(out), targets))
    assert losses[1000.0] < 0.8 * losses[0.01]
    with pytest.raises(NeuronError, match="style weight"):
        st.stylize(photo, style=style, method="gatys", style_weight=0.0)
