"""The shipped colorizer weights on photos it never saw (the bundled CC0/PD samples)."""


import pytest
import torch

from neuron_desktop.core.color import lab_to_rgb, rgb_to_lab
from neuron_desktop.core.imageio import load_image, to_tensor
from neuron_desktop.core.metrics import colorfulness, psnr
from neuron_desktop.core.paths import samples_dir
from neuron_desktop.core.progress import run_pipeline
from neuron_desktop.evaluation.colorize import truth_hints
from neuron_desktop.models.weights import read_manifest
from neuron_desktop.pipelines.colorize import colorize, load_colorizer

SAMPLES = samples_dir()
pytestmark = pytest.mark.skipif("colorizer" not in read_manifest(),
                                reason="no shipped colorizer weights")


@pytest.fixture(scope="module")
def net():
    return load_colorizer("default", "cpu")


def _q8(x):
    return torch.round(x.clamp(0, 1) * 255) / 255


@pytest.mark.slow
@pytest.mark.parametrize("name", ["coffee.jpg", "astronaut.jpg"])
def test_automatic_colours_are_plausible_and_hints_help(net, name):
    truth = _q8(to_tensor(load_image(SAMPLES / name).rgb))
    lab = rgb_to_lab(truth)
    gray = lab_to_rgb(torch.cat([lab[:, :1], torch.zeros_like(lab[:, 1:])], 1))
    auto = run_pipeline(colorize(gray, model=net, device="cpu"))
    p_gray, p_auto = (float(psnr(_q8(x), truth)) for x in (gray, auto))
    p_hint = sum(  # averaged over four random draws of the hint positions
        float(psnr(_q8(run_pipeline(colorize(gray, model=net, device="cpu",
                                             hints=truth_hints(lab, 10, seed=s)))), truth))
        for s in range(1, 5)) / 4
    # colour, not sepia: a real share of the photo's colourfulness...
    assert float(colorfulness(_q8(auto))) > 0.3 * float(colorfulness(truth))
    # ...without wrecking it (the gray image is the bar a wrong guess falls under)
    assert p_auto > p_gray - 1.0
    # ten true colours move the result towards the truth (on average over draws)
    assert p_hint > p_auto + 0.5
    # the photo's own lightness is kept
    assert (rgb_to_lab(auto)[:, 0] - lab[:, 0]).abs().mean() < 1.0


def test_old_photo_sample_gets_colour(net):
    image = to_tensor(load_image(SAMPLES / "old_photo.jpg").rgb)
    out = run_pipeline(colorize(image, model=net, device="cpu"))
    assert out.shape == image.shape
    assert float(colorfulness(out)) > float(colorfulness(image)) + 3


def test_the_grainy_print_is_read_through_the_restorer_and_the_clean_photo_is_not(net):
    """``auto`` (off by default): the damaged sepia sample's grain is found (the network
    reads the restorer's copy); the clean astronaut is read as it is."""
    from neuron_desktop.pipelines.colorize import DAMAGE_THRESHOLD, prepare

    found = {}
    for name in ("old_photo.jpg", "astronaut.jpg"):
        image = to_tensor(load_image(SAMPLES / name).rgb)
        found[name] = prepare(net, image, clean_view="auto").cleaned
        assert not prepare(net, image).cleaned  # the default reads every photo as it is
    assert found == {"old_photo.jpg": True, "astronaut.jpg": False}, DAMAGE_THRESHOLD


@pytest.mark.slow
@pytest.mark.parametrize("name", ["coffee.jpg", "astronaut.jpg"])
def test_a_colour_reference_of_the_same_scene_brings_its_colours(net, name):
    """A reference showing the left half of the photo, at the default strength: the photo
    comes out much closer to the truth and more colourful, and the right half, which the
    reference never showed, does not lose (the coffee's gains a lot; on the astronaut the
    gray backdrop stays gray: each region takes the colours of the reference's regions that
    look like it); a black-and-white reference is refused."""
    truth = _q8(to_tensor(load_image(SAMPLES / name).rgb))
    lab = rgb_to_lab(truth)
    gray = lab_to_rgb(torch.cat([lab[:, :1], torch.zeros_like(lab[:, 1:])], 1))
    w = truth.shape[-1]
    auto = _q8(run_pipeline(colorize(gray, model=net, device="cpu")))
    ref = _q8(run_pipeline(colorize(gray, model=net, device="cpu",
                                    reference=truth[..., : w // 2])))
    assert psnr(ref, truth) > psnr(auto, truth) + 3
    assert colorfulness(ref) > colorfulness(auto) * 1.4
    right = slice(w // 2, None)
    gain = float(psnr(ref[..., right], truth[..., right]) -
                 psnr(auto[..., right], truth[..., right]))
    assert gain > (3 if name == "coffee.jpg" else 0), gain
    with pytest.raises(ValueError, match="no colour"):
        run_pipeline(colorize(gray, model=net, device="cpu", reference=gray))


def test_vividness_sets_how_much_colour_the_automatic_colours_get(net):
    """Vividness moves the automatic α: 50 % is the default exactly, more gives more
    colour, less gives less; the temperature it replaced in the editor barely did
    (docs/colorization.md, "Vividness"); hinted colours stay near their hint."""
    from neuron_desktop.pipelines.colorize import (
        DEFAULT_PRIOR_CORRECTION,
        AbHint,
        vividness_alpha,
    )

    assert vividness_alpha(0.5) == DEFAULT_PRIOR_CORRECTION
    assert vividness_alpha(1.0) < vividness_alpha(0.5) < vividness_alpha(0.0)
    truth = _q8(to_tensor(load_image(SAMPLES / "coffee.jpg").rgb))
    lab = rgb_to_lab(truth)
    gray = lab_to_rgb(torch.cat([lab[:, :1], torch.zeros_like(lab[:, 1:])], 1))

    def cf(**kw):
        return float(colorfulness(_q8(run_pipeline(colorize(gray, model=net, device="cpu",
                                                            **kw)))))
    default, calm, vivid = cf(), cf(vividness=0.1), cf(vividness=0.9)
    assert cf(vividness=0.5) == default
    assert calm < 0.8 * default and vivid > 1.2 * default, (calm, default, vivid)
    # an explicit prior correction still wins over the slider
    assert cf(vividness=0.9, prior_correction=DEFAULT_PRIOR_CORRECTION) == default
    # a hint keeps its colour at either end, where the automatic colour moves a lot
    ab = torch.nn.functional.avg_pool2d(lab[:, 1:], 9, 1, 4)
    y, x = divmod(int(ab.norm(dim=1)[0].argmax()), ab.shape[-1])  # the most colourful spot
    hint = AbHint(x, y, tuple(float(v) for v in ab[0, :, y, x]), 9)

    def ab_at(**kw):
        return rgb_to_lab(run_pipeline(colorize(gray, model=net, device="cpu", **kw)))[
            0, 1:, y, x]
    assert (ab_at(vividness=0.0) - ab_at(vividness=1.0)).norm() > 15
    assert (ab_at(vividness=0.0, hints=[hint]) - ab_at(vividness=1.0, hints=[hint])).norm() < 5
    with pytest.raises(ValueError, match="vividness"):
        run_pipeline(colorize(gray, model=net, device="cpu", vividness=1.5))


def test_the_manifest_records_the_decoding_the_code_uses():
    """The decoding settings in weights/manifest.json (what the eval figures were measured
    with) are the pipeline's own constants."""
    from dataclasses import asdict

    import neuron_desktop.pipelines.colorize as pc

    decoding = read_manifest()["colorizer"].metrics["decoding"]
    assert decoding["temperature"] == pc.DEFAULT_TEMPERATURE
    assert decoding["prior_correction"] == pc.DEFAULT_PRIOR_CORRECTION
    assert decoding["hinted_prior_correction"] == pc.HINTED_PRIOR_CORRECTION
    assert decoding["propagation"] == asdict(pc.DEFAULT_PROPAGATION)
    spot = decoding["hint_spot"]
    assert (spot["window"], spot["margin"], spot["spacing"]) == (
        pc.HINT_SPOT_WINDOW, pc.HINT_SPOT_MARGIN, pc.HINT_SPOT_SPACING)
