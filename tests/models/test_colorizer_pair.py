"""A colorizer pair: one network answers photos without hints, the other hinted photos and
tells regions apart when hints are spread; one file, one encoder, one decoding."""

import pytest
import torch
import torch.nn.functional as F

from neuron_desktop.cli import main as cli_main
from neuron_desktop.core.masks import Hint
from neuron_desktop.models.colorization import (
    ColorizerPair,
    colorizer,
    colorizer_for_hints,
)
from neuron_desktop.models.registry import load
from neuron_desktop.models.weights import get_entry, save_weights
from neuron_desktop.pipelines import colorize as pc
from tests.models.colorizers import random_colorizer, save_members


@pytest.fixture
def members(tmp_path, monkeypatch):
    """A width-6 automatic and a width-4 hint colorizer sharing one prior, saved."""
    monkeypatch.setenv("NEURON_WEIGHTS_DIR", str(tmp_path))
    return save_members()


def _pair(tmp_path) -> ColorizerPair:
    assert cli_main(["train", "colorize-pair", "--auto", "wide", "--hinted", "small",
                     "--name", "pair"]) == 0
    pair = load("pair", directory=tmp_path)
    assert isinstance(pair, ColorizerPair)
    return pair


def _inputs(batch=1):
    l = torch.rand(batch, 1, 32, 48) - 0.5
    ab, mask = torch.zeros(batch, 2, 32, 48), torch.zeros(batch, 1, 32, 48)
    ab[0, :, 4:8, 6:10], mask[0, :, 4:8, 6:10] = 0.3, 1  # only the first photo has a hint
    return l, ab, mask


def test_pair_answers_hint_free_photos_with_one_network_and_hinted_with_the_other(
        members, tmp_path):
    auto, hinted = members
    pair = _pair(tmp_path)
    assert pair.auto.semantic is pair.hinted.semantic  # one encoder in memory
    auto.semantic = hinted.semantic = pair.semantic  # the same (freshly built) encoder weights
    l, ab, mask = _inputs(batch=2)
    with torch.no_grad():
        both = pair(l, ab, mask)
        assert torch.allclose(both[:1], hinted(l[:1], ab[:1], mask[:1]), atol=1e-5)
        assert torch.allclose(both[1:], auto(l[1:], ab[1:], mask[1:]), atol=1e-5)
        assert torch.allclose(pair(l[1:], ab[1:], mask[1:]), auto(l[1:], ab[1:], mask[1:]),
                              atol=1e-5)
    assert torch.equal(pair.prior_log_weights, auto.prior_log_weights)
    assert not any("semantic." in k for k in pair.trainable_state_dict())
    entry = get_entry("pair")
    assert entry.recipe["auto"]["lr"] == 6 and entry.recipe["hinted"]["lr"] == 4
    assert entry.preprocessing["arch"] == {"auto": {"width": 6}, "hinted": {"width": 4}}
    # either member can be trained on again; the bare name is the hint network, which
    # works alone (with and without hints)
    assert colorizer(weights="pair:auto").enc1[0].out_channels == 6
    small = colorizer(weights="pair")
    assert small.enc1[0].out_channels == 4
    assert torch.equal(small.head.weight, hinted.head.weight)
    assert torch.equal(colorizer(weights="pair:hinted").head.weight, hinted.head.weight)
    assert colorizer_for_hints(pair) is pair.hinted and colorizer_for_hints(auto) is auto


def test_pair_colours_automatically_with_one_network_and_spreads_hints_by_the_other(
        members, tmp_path):
    pair = _pair(tmp_path)
    image = torch.rand(1, 3, 48, 64)
    prep = pc.prepare(pair, image, 64)
    auto = pc.work_ab(pair, prep, [], 0.2)
    expected = pair.auto.decode(pair.auto(pair.normalize_l(prep.l_work), torch.zeros(1, 2, 48, 64),
                                          torch.zeros(1, 1, 48, 64), prep.features), 0.2,
                                pc.DEFAULT_PRIOR_CORRECTION)
    assert torch.allclose(auto, pc.upsample_to_work(expected, prep), atol=1e-4)
    hints = [Hint(5, 5, (0.9, 0.1, 0.1), 2)]
    hinted = pc.work_ab(pair, prep, hints, 0.2)
    assert not torch.allclose(hinted, auto, atol=1e-2)  # the hint changes its region
    regions = pc.region_probs(pair, prep)
    solo = pc.prepare(pair.hinted, image, 64)
    assert torch.allclose(regions, pc.hint_free_probs(pair.hinted, solo), atol=1e-5)
    assert not torch.allclose(regions, pc.hint_free_probs(pair, prep), atol=1e-3)


def test_pair_refuses_networks_with_different_priors(members, tmp_path):
    auto, _ = members
    other = random_colorizer(4, 2)  # its own random prior
    save_weights("other", other.trainable_state_dict(), task="colorization",
                 arch="ColorizationNet", preprocessing={"arch": {"width": 4, "semantic": True}})
    with pytest.raises(SystemExit, match="different ab priors"):
        cli_main(["train", "colorize-pair", "--auto", "wide", "--hinted", "other",
                  "--name", "pair"])
    with pytest.raises(Exception, match="'auto' or 'hinted'"):
        colorizer(weights="wide:left")


def test_pair_can_average_both_networks_for_photos_without_hints(members, tmp_path):
    auto, hinted = members
    assert cli_main(["train", "colorize-pair", "--auto", "wide", "--hinted", "small",
                     "--auto-weight", "0.25", "--name", "pair"]) == 0
    pair = load("pair", directory=tmp_path)
    assert pair.auto_weight == 0.25
    auto.semantic = hinted.semantic = pair.semantic
    l, ab, mask = _inputs(batch=2)
    free_ab, free_mask = torch.zeros_like(ab), torch.zeros_like(mask)
    with torch.no_grad():
        both = pair(l, ab, mask)
        mixed = 0.25 * F.log_softmax(auto(l, free_ab, free_mask), 1) + \
            0.75 * F.log_softmax(hinted(l, free_ab, free_mask), 1)
        assert torch.allclose(both[1:], mixed[1:], atol=1e-5)  # the photo without hints
        assert torch.allclose(both[:1], hinted(l[:1], ab[:1], mask[:1]), atol=1e-5)
    with pytest.raises(SystemExit, match=r"must be in \[0, 1\]"):
        cli_main(["train", "colorize-pair", "--auto", "wide", "--hinted", "small",
                  "--auto-weight", "1.5"])


def _photos(folder, count=12):
    from PIL import Image

    folder.mkdir()
    rng = torch.Generator().manual_seed(3)
    for i in range(count):
        rgb = (torch.rand(40, 56, 3, generator=rng) * 255).byte().numpy()
        Image.fromarray(rgb).save(folder / f"p{i:02d}.png")
    return folder


def _marginals(net, folder):
    """Mean hint-free bin distribution over the folder's photos, as the editor decodes."""
    from neuron_desktop.core.imageio import load_image, to_tensor

    total = 0
    for path in sorted(folder.iterdir()):
        prep = pc.prepare(net, to_tensor(load_image(path).rgb))
        total = total + torch.softmax(pc.predict_logits(net, prep, []).float(), 1).mean((0, 2, 3))
    return total / len(list(folder.iterdir()))


def test_aligned_pair_predicts_colours_as_often_as_the_hint_network(members, tmp_path,
                                                                    monkeypatch):
    auto, hinted = members
    photos = _photos(tmp_path / "photos")
    assert cli_main(["train", "colorize-pair", "--auto", "wide", "--hinted", "small",
                     "--auto-weight", "0.25", "--align", "10", "--align-data", str(photos),
                     "--name", "aligned"]) == 0
    assert cli_main(["train", "colorize-pair", "--auto", "wide", "--hinted", "small",
                     "--auto-weight", "0.25", "--name", "plain"]) == 0
    aligned, plain = load("aligned", directory=tmp_path), load("plain", directory=tmp_path)
    assert plain.auto_bias is None and "auto_bias" not in plain.state_dict()
    assert aligned.auto_bias.shape == (aligned.num_bins,) and aligned.auto_bias.abs().max() > 0
    entry = get_entry("aligned")
    assert entry.preprocessing["arch"]["auto_bias"] is True
    assert entry.data["align"]["photos"] == 10
    with torch.no_grad():
        target = _marginals(aligned.hinted, photos)
        gap = {k: float((_marginals(net, photos) - target).abs().sum())
               for k, net in (("aligned", aligned), ("plain", plain))}
        assert gap["aligned"] < 0.5 * gap["plain"], gap
        l, ab, mask = _inputs(batch=2)
        # hints are the hint network's alone, bias or not; hint-free photos differ by the bias
        assert torch.allclose(aligned(l[:1], ab[:1], mask[:1]), plain(l[:1], ab[:1], mask[:1]),
                              atol=1e-5)
        shift = aligned(l[1:], ab[1:], mask[1:]) - plain(l[1:], ab[1:], mask[1:])
        assert torch.allclose(shift, aligned.auto_bias.view(1, -1, 1, 1).expand_as(shift),
                              atol=1e-4)
    # fitted on the same photos aged like old prints, each once with its own seed
    import neuron_desktop.train.colorize_pair as colorize_pair

    real, aged_calls = colorize_pair.degrade, []

    def spy(image, seed, severity, **kw):
        aged_calls.append((seed, severity, kw))
        return real(image, seed, severity, **kw)

    monkeypatch.setattr(colorize_pair, "degrade", spy)
    assert cli_main(["train", "colorize-pair", "--auto", "wide", "--hinted", "small",
                     "--auto-weight", "0.25", "--align", "10", "--align-data", str(photos),
                     "--align-severity", "0.5", "--name", "aged"]) == 0
    assert aged_calls == [(i, 0.5, {"toning": 0.0}) for i in range(10)]
    assert get_entry("aged").data["align"]["severity"] == 0.5
    assert load("aged", directory=tmp_path).auto_bias.abs().max() > 0
    with pytest.raises(SystemExit, match=r"--align-severity must be in \[0, 1\]"):
        cli_main(["train", "colorize-pair", "--auto", "wide", "--hinted", "small",
                  "--align", "10", "--align-severity", "2", "--name", "x"])
    with pytest.raises(SystemExit, match=r"only \d+ training photos"):
        cli_main(["train", "colorize-pair", "--auto", "wide", "--hinted", "small",
                  "--align", "50", "--align-data", str(photos), "--name", "x"])


def test_a_half_pair_stores_float16_matrices_and_answers_like_the_float32_one(
        members, tmp_path):
    full = _pair(tmp_path)
    assert cli_main(["train", "colorize-pair", "--auto", "wide", "--hinted", "small",
                     "--half", "--name", "half"]) == 0
    half = load("half", directory=tmp_path)
    from safetensors.torch import load_file

    stored = load_file(str(tmp_path / "half.safetensors"))
    kinds = {(v.ndim >= 2, v.dtype) for v in stored.values() if v.is_floating_point()}
    assert kinds == {(True, torch.float16), (False, torch.float32)}
    assert stored["auto.prior_log_weights"].dtype == torch.float32
    assert all(p.dtype == torch.float32 for p in half.parameters())  # read back as float32
    assert get_entry("half").preprocessing["arch"]["storage"] == "float16"
    assert get_entry("half").bytes < 0.6 * get_entry("pair").bytes
    half.semantic.load_state_dict(full.semantic.state_dict())  # same encoder both sides
    l, ab, mask = _inputs(batch=2)
    with torch.no_grad():
        a, b = full(l, ab, mask), half(l, ab, mask)
    assert not torch.equal(a, b)  # the weights were rounded ...
    assert torch.allclose(a, b, atol=2e-2 * float(a.abs().max()))  # ... and barely moved
