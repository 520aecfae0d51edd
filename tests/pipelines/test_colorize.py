"""The colorize pipeline: hints (planes, gamut snapping, propagation), the pipeline on
random weights, suggestions, the semantic colorizer's sizes, confidence, live previews."""

import numpy as np
import pytest
import torch

import neuron_desktop.pipelines.colorize as pc
from neuron_desktop.core.color import lab_to_rgb, rgb_to_lab
from neuron_desktop.core.masks import Hint
from neuron_desktop.core.progress import Preview, Progress, run_pipeline
from neuron_desktop.models.colorization import (
    ColorizationNet,
    ab_bins,
)
from neuron_desktop.pipelines.colorize import (
    AbHint,
    colorize,
    hint_planes,
    snap_to_gamut,
    suggest_colors,
)


@pytest.fixture(scope="module")
def tiny_net():
    torch.manual_seed(0)
    return ColorizationNet(width=4, semantic=False).eval()


def test_hint_planes_rasterise_at_working_size_with_snapping():
    l_full = torch.full((1, 1, 400, 600), 50.0)
    l_full[..., :, 300:] = 95.0  # very light on the right: saturated blue is out of gamut
    hints = [Hint(100, 200, (1.0, 0.0, 0.0), 8), AbHint(450, 100, (0.0, -100.0), 8)]
    ab, mask = hint_planes(hints, l_full, (100, 150))
    assert ab.shape == (1, 2, 100, 150) and mask.shape == (1, 1, 100, 150)
    assert mask.sum() == 2 * 4  # 8 px at 1/4 scale -> 2x2 each
    red = ab[0, :, 50, 25]
    assert red[0] > 40  # red's a at L 50
    blue = ab[0, :, 25, 112]
    assert -100 < float(blue[1]) < -3  # snapped towards grey, same hue
    rgb = lab_to_rgb(torch.tensor([95.0, 0.0, float(blue[1])]).view(1, 3, 1, 1), clip=False)
    assert rgb.min() >= -1e-3 and rgb.max() <= 1 + 1e-3
    assert rgb.min() < 0.01 or rgb.max() > 0.99  # on the gamut boundary, not inside
    with pytest.raises(ValueError, match="outside"):
        hint_planes([Hint(700, 5, (1, 0, 0))], l_full, (100, 150))


def test_snap_to_gamut_keeps_displayable_colours():
    ab = torch.tensor([[10.0, 10.0], [0.0, -120.0]])
    out = snap_to_gamut(torch.tensor([50.0, 90.0]), ab)
    torch.testing.assert_close(out[0], ab[0])
    assert 0 < -out[1, 1] < 120


def _photo(h=90, w=130):
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([x / w, y / h, 1 - x / w], -1).astype(np.float32)
    return torch.from_numpy(rgb).permute(2, 0, 1)[None]


def test_pipeline_random_weights_cpu_keeps_lightness(tiny_net):
    image = _photo()
    events = []
    gen = colorize(image, model=tiny_net, render_size=64, device="cpu")
    out = run_pipeline(gen, on_progress=events.append, on_preview=events.append)
    assert out.shape == image.shape and out.dtype == torch.float32
    assert any(isinstance(e, Preview) for e in events)
    assert isinstance(events[-1], Progress) and events[-1].fraction == 1.0
    l_in, l_out = rgb_to_lab(image)[:, 0], rgb_to_lab(out)[:, 0]
    assert (l_in - l_out).abs().mean() < 1.0  # lightness is the photo's


def test_pipeline_with_hints_and_without_refinement(tiny_net):
    image = _photo()
    hints = [Hint(20, 20, (0.9, 0.2, 0.1), 5), AbHint(100, 60, (-30.0, 30.0), 3)]
    for refine in (True, False):
        out = run_pipeline(colorize(image, hints=hints, model=tiny_net, render_size=64,
                                    refine=refine, device="cpu"))
        assert out.shape == image.shape and torch.isfinite(out).all()


def test_sepia_and_gray_inputs_give_the_same_result(tiny_net):
    gray = _photo().mean(1, keepdim=True).expand(-1, 3, -1, -1).contiguous()
    lab = rgb_to_lab(gray)
    lab[:, 1], lab[:, 2] = 8.0, 20.0  # sepia tone, same lightness
    sepia = lab_to_rgb(lab)
    a = run_pipeline(colorize(gray, model=tiny_net, render_size=64, device="cpu"))
    b = run_pipeline(colorize(sepia, model=tiny_net, render_size=64, device="cpu"))
    assert (a - b).abs().max() < 0.03


def test_suggest_colors_returns_k_modes(tiny_net):
    out = suggest_colors(_photo(), [], (30, 40), 4, model=tiny_net, render_size=64)
    assert len(out) == 4
    assert all(len(rgb) == 3 and 0 <= min(rgb) and max(rgb) <= 1 for rgb, _ in out)
    probs = [p for _, p in out]
    assert probs == sorted(probs, reverse=True)


def test_bad_arguments(tiny_net):
    with pytest.raises(ValueError):
        run_pipeline(colorize(torch.rand(3, 10, 10), model=tiny_net))
    with pytest.raises(ValueError):
        run_pipeline(colorize(_photo(), model=tiny_net, temperature=0))


def test_hint_corrections_spread_to_similar_lightness_only():
    from neuron_desktop.pipelines.colorize import Propagation, propagate_hints

    l_work = torch.full((1, 1, 40, 60), 30.0)
    l_work[..., 30:] = 80.0  # a light region on the right
    ab = torch.zeros(1, 2, 40, 60)
    hints = [AbHint(10, 20, (40.0, 0.0), 3)]
    out = propagate_hints(ab, l_work, hints, l_work, Propagation(0.3, 10.0, 0.1))
    assert out[0, 0, 20, 10] > 30  # at the hint: close to its colour
    assert out[0, 0, 5, 25] > 20  # same region, further away: still corrected
    assert out[0, 0, 20, 45].abs() < 1  # other lightness: untouched
    assert torch.equal(propagate_hints(ab, l_work, [], l_work), ab)
    assert torch.equal(propagate_hints(ab, l_work, hints, l_work, None), ab)


def test_a_geodesic_reach_stops_at_an_edge_between_regions_of_the_same_lightness():
    """Two halves of the same lightness with a dark band between them: along the photo the
    band is far to cross, so a hint on the left no longer colours the right half."""
    from neuron_desktop.pipelines.colorize import Propagation, propagate_hints

    l_work = torch.full((1, 1, 64, 96), 50.0)
    l_work[..., 44:52] = 5.0  # the band
    ab = torch.zeros(1, 2, 64, 96)
    hints = [AbHint(36, 32, (40.0, 0.0), 3)]
    straight = propagate_hints(ab, l_work, hints, l_work, Propagation(0.3, 10.0, 0.1))
    along = propagate_hints(ab, l_work, hints, l_work, Propagation(0.3, 10.0, 0.1, geodesic=5))
    assert straight[0, 0, 32, 60] > 20  # across the band, as near: coloured
    assert along[0, 0, 32, 60].abs() < 2  # the band stops it
    assert along[0, 0, 32, 30] > 30 and along[0, 0, 5, 20] > 15  # its own side as before


def test_pull_spreads_the_hint_colour_instead_of_its_correction():
    """The network's colours vary across a region (a stripe at the hint, another beside it):
    a spread correction shifts both by the hint's difference, so the stripe beside it stays
    apart; pulling (``pull`` 1) brings every reached pixel towards the hint's colour."""
    from neuron_desktop.pipelines.colorize import Propagation, propagate_hints

    l_work = torch.full((1, 1, 40, 60), 50.0)
    ab = torch.zeros(1, 2, 40, 60)
    ab[:, 1, :, 20:] = 30.0  # the network's b* on the right part of the region
    hints = [AbHint(10, 20, (40.0, 0.0), 3)]
    shift = propagate_hints(ab, l_work, hints, l_work, Propagation(0.5, 10.0, 0.01, pull=0.0))
    pull = propagate_hints(ab, l_work, hints, l_work, Propagation(0.5, 10.0, 0.01, pull=1.0))
    half = propagate_hints(ab, l_work, hints, l_work, Propagation(0.5, 10.0, 0.01, pull=0.5))
    for out in (shift, pull, half):
        assert abs(float(out[0, 0, 20, 10]) - 40) < 2 and abs(float(out[0, 1, 20, 10])) < 2
    assert float(shift[0, 1, 20, 30]) > 25  # shifted: keeps its own b*
    assert float(pull[0, 1, 20, 30]) < 8 and float(pull[0, 0, 20, 30]) > 30  # pulled in
    assert float(pull[0, 1, 20, 30]) < float(half[0, 1, 20, 30]) < float(shift[0, 1, 20, 30])


def test_a_texture_term_keeps_a_smooth_areas_hint_out_of_textured_areas_of_its_lightness():
    """A smooth half and a textured half of the same mean lightness, side by side (a tent
    and hair): with the texture term a hint on the smooth half stays there."""
    from neuron_desktop.pipelines.colorize import Propagation, local_texture, propagate_hints

    g = torch.Generator().manual_seed(0)
    l_work = torch.full((1, 1, 48, 96), 50.0)
    l_work[..., 48:] += 16 * (torch.rand(1, 1, 48, 48, generator=g) - 0.5) * 2  # texture
    assert float(local_texture(l_work)[:, 10:38].mean()) < 0.5
    assert float(local_texture(l_work)[:, 58:].mean()) > 3
    ab = torch.zeros(1, 2, 48, 96)
    hints = [AbHint(30, 24, (0.0, -40.0), 3)]
    plain = Propagation(0.5, 100.0, 0.01)  # lightness does not separate them here
    without = propagate_hints(ab, l_work, hints, l_work, plain)
    with_t = propagate_hints(ab, l_work, hints, l_work, Propagation(0.5, 100.0, 0.01,
                                                                    sigma_texture=1.5))
    assert float(without[0, 1, :, 60:].mean()) < -20  # spread over the texture
    assert float(with_t[0, 1, :, 60:].abs().mean()) < 4  # kept out of it
    assert float(with_t[0, 1, 20:28, 20:40].mean()) < -35  # its own half as before


def _semantic_net():
    from neuron_desktop.models.colorization import SemanticColorizer

    torch.manual_seed(0)
    return SemanticColorizer(widths=(8, 8, 8), pretrained_semantic=False).eval()


def test_a_hints_spread_scales_its_reach_and_its_reach_map_says_where_it_wins():
    """Two hints on one flat region (so only distance separates them): a smaller spread
    keeps a hint's colour closer to it, a larger one carries it further; ``hint_reach`` is
    near 1 at the hint, falls with distance and is the share the colour follows."""
    from dataclasses import replace

    from neuron_desktop.pipelines.colorize import (
        Propagation,
        hint_geometry,
        hint_reach,
        propagate_hints,
    )

    l_work = torch.full((1, 1, 40, 120), 50.0)
    ab = torch.zeros(1, 2, 40, 120)
    params = Propagation(0.1, 10.0, 0.01, pull=1.0)
    hint = AbHint(20, 20, (0.0, -40.0), 3)
    b_at = {}
    for spread in (0.5, 1.0, 2.0):
        out = propagate_hints(ab, l_work, [replace(hint, spread=spread)], l_work, params)
        b_at[spread] = float(out[0, 1, 20, 60])
        assert float(out[0, 1, 20, 20]) < -38  # at the hint: its colour, whatever the spread
    assert b_at[0.5] > -2 > b_at[1.0] > -30 > b_at[2.0]  # at 40 px: none, some, most
    geometry = hint_geometry([hint], l_work, l_work, params.sigma_range, None,
                             geodesic=params.geodesic)
    share = hint_reach(geometry, params, 0)
    assert share.shape == (40, 120) and float(share[20, 20]) > 0.98
    assert float(share[20, 30]) > float(share[20, 60]) > float(share[20, 100])
    out = propagate_hints(ab, l_work, [hint], l_work, params)
    assert torch.allclose(out[0, 1], -40 * share, atol=1e-4)  # pull 1: b* = share × hint's


def test_a_new_spread_reuses_the_networks_hinted_answer_and_changes_the_colours(tiny_net):
    """The spread is not a network input: changing it keeps the hinted logits (no network
    pass, as a spread box's steps go by) and changes only the propagation."""
    from dataclasses import replace

    g = torch.Generator().manual_seed(0)
    prep = pc.prepare(tiny_net, torch.rand(1, 3, 48, 64, generator=g), 64)
    hint = Hint(20, 20, (0.9, 0.2, 0.1), 5)
    first = pc.predict_logits(tiny_net, prep, [hint])
    assert pc.predict_logits(tiny_net, prep, [replace(hint, spread=0.5)]) is first
    assert pc.predict_logits(tiny_net, prep, [replace(hint, x=30)]) is not first
    wide = pc.work_ab(tiny_net, prep, [replace(hint, spread=3.0)], 0.2)
    narrow = pc.work_ab(tiny_net, prep, [replace(hint, spread=0.25)], 0.2)
    assert float((wide - narrow).abs().max()) > 1


def test_a_hints_spread_is_saved_and_read_back_and_kept_in_range():
    from neuron_desktop.core.masks import SPREAD_RANGE, Hint

    h = Hint(3, 4, (0.1, 0.2, 0.3), 7, 0.6)
    assert Hint.from_dict(h.to_dict()) == h
    assert "spread" not in Hint(3, 4, (0.1, 0.2, 0.3)).to_dict()  # old files stay as they were
    assert Hint.from_dict({"x": 1, "y": 2, "rgb": [0, 0, 0]}).spread == 1.0
    assert Hint.from_dict({"x": 1, "y": 2, "rgb": [0, 0, 0], "spread": 99}).spread == \
        SPREAD_RANGE[1]
    with pytest.raises(ValueError):
        Hint.from_dict({"x": 1, "y": 2, "rgb": [0, 0, 0], "spread": float("nan")})


def test_semantic_colorizer_shapes_and_pipeline_sizes():
    net = _semantic_net()
    l = torch.rand(2, 1, 64, 96) - 0.5
    feats = net.semantic_features(l)
    assert [f.shape[-1] for f in feats] == [24, 12, 6, 3]
    logits = net(l, torch.zeros(2, 2, 64, 96), torch.zeros(2, 1, 64, 96), feats)
    assert logits.shape == (2, len(ab_bins()), 16, 24)
    # any photo size: the pipeline pads to /32 and crops back
    out = run_pipeline(colorize(torch.rand(1, 3, 45, 71), model=net, device="cpu"))
    assert out.shape == (1, 3, 45, 71)


def test_confidence_map_is_normalised_smooth_and_follows_the_spread():
    from neuron_desktop.pipelines.colorize import confidence_map, prepare

    net = _semantic_net()
    image = torch.rand(1, 3, 60, 80)
    prep = prepare(net, image, 64)
    conf = confidence_map(net, prep)
    assert conf.shape == (1, 1, 60, 80)
    assert float(conf.min()) >= 0 and float(conf.max()) <= 1
    # a peaked distribution is confident, a flat one is not
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias.zero_()
    prep = prepare(net, image, 64)
    flat = confidence_map(net, prep)
    with torch.no_grad():
        net.head.bias[0] = 50.0
    prep = prepare(net, image, 64)
    peaked = confidence_map(net, prep)
    assert float(peaked.mean()) > 0.95 and float(flat.mean()) < 0.2


def test_a_hint_makes_its_region_sure_and_leaves_the_rest_of_the_map():
    """The uncertain-areas map follows what is shown: where a hint's colour is spread the
    user has decided (sure), beyond its reach the automatic prediction's spread stays."""
    net = _semantic_net()
    with torch.no_grad():  # flat distributions: unsure everywhere, hints or not
        net.head.weight.zero_()
        net.head.bias.zero_()
    lab = torch.zeros(1, 3, 64, 128)
    lab[:, 0, :, :64], lab[:, 0, :, 64:] = 20.0, 80.0  # a dark and a light region
    prep = pc.prepare(net, lab_to_rgb(lab), 128)
    before = pc.confidence_map(net, prep)
    after = pc.confidence_map(net, prep, [AbHint(20, 32, (30.0, 10.0), 5)])
    assert float(before.max()) < 0.2
    assert float(after[..., 20:44, 8:36].mean()) > 0.8  # around the hint: decided
    assert torch.allclose(after[..., 104:], before[..., 104:], atol=0.02)  # the other region


def test_region_affinity_separates_unlike_distributions():
    from neuron_desktop.pipelines.colorize import region_affinity

    q = len(ab_bins())
    probs = torch.zeros(1, q, 4, 8)
    probs[0, 10, :, :4] = 1  # left region: one colour
    probs[0, 200, :, 4:] = 1  # right region: another
    aff = region_affinity(probs, [(1, 1)], power=4.0)
    assert torch.allclose(aff[0, :, :4], torch.ones(4, 4))
    assert float(aff[0, :, 4:].max()) < 1e-6


def test_a_hint_on_one_region_leaves_the_other_regions_colour():
    """Two regions of different lightness and texture: a strong hint on the left changes
    the left and leaves the right's colour within a small tolerance."""
    from neuron_desktop.pipelines.colorize import prepare, work_ab

    torch.manual_seed(1)
    img = torch.zeros(1, 3, 96, 128)
    img[..., :64] = 0.25 + 0.05 * torch.rand(1, 1, 96, 64)
    img[..., 64:] = 0.75 + 0.05 * torch.rand(1, 1, 96, 64)
    for net in (_semantic_net(), ColorizationNet(width=4, semantic=False).eval()):
        prep = prepare(net, img, 128)
        before = work_ab(net, prep, [], 0.3)
        after = work_ab(net, prep, [AbHint(20, 40, (60.0, 40.0), 5)], 0.3)
        change = (after - before).norm(dim=1)[0]
        assert float(change[:, :40].mean()) > 10  # the hinted side takes the colour
        assert float(change[:, 72:].mean()) < 2.0  # the other side keeps its colour


def test_colorize_yields_the_confidence_map_when_asked():
    from neuron_desktop.core.progress import Extra

    net = _semantic_net()
    extras = []
    out = run_pipeline(colorize(torch.rand(1, 3, 40, 56), model=net, device="cpu",
                                confidence=True), on_extra=extras.append)
    assert out.shape == (1, 3, 40, 56)
    assert [e.name for e in extras] == ["confidence"]
    assert extras[0].value.shape == (1, 1, 40, 56)
    assert all(not isinstance(e, Extra) for e in colorize(torch.rand(1, 3, 40, 56), model=net,
                                                          device="cpu"))


def test_live_preview_is_screen_sized_and_matches_the_full_result():
    from neuron_desktop.pipelines.colorize import LiveColorizer

    net = _semantic_net()
    image = torch.rand(1, 3, 300, 450)
    live = LiveColorizer(image, net, render_size=128, preview_size=150)
    hints = [AbHint(100, 80, (40.0, -20.0), 5)]
    small = live.preview(hints)
    assert small.shape == (1, 3, 100, 150)
    full = live.full(hints)
    assert full.shape == (1, 3, 300, 450)
    # the preview is the full result seen at screen size
    down = torch.nn.functional.interpolate(full, size=(100, 150), mode="area")
    assert float((rgb_to_lab(down) - rgb_to_lab(small))[:, 1:].abs().mean()) < 2.0
    # and the full result is the pipeline's
    ref = run_pipeline(colorize(image, model=net, hints=hints, render_size=128, device="cpu"))
    assert torch.allclose(full, ref, atol=1e-5)


def test_the_live_session_suggests_what_a_fresh_run_suggests_without_the_encoder(
        monkeypatch):
    """A new hint's suggested colour comes from the live session: the same answer as
    suggest_colors on the photo, without another encoder pass, and the hints just shown
    are not run through the network again."""
    net = _semantic_net()
    image = torch.rand(1, 3, 300, 450)
    live = pc.LiveColorizer(image, net, render_size=128, preview_size=150)
    live.prep.reduced_precision = False  # exactly the fresh run's answer (bfloat16: below)
    live.warm()
    shown = [AbHint(100, 80, (40.0, -20.0), 5)]
    live.preview(shown)
    calls = []
    real_forward, real_prepare = net.forward, pc.prepare
    monkeypatch.setattr(net, "forward", lambda *a, **k: calls.append(1) or real_forward(*a, **k))
    monkeypatch.setattr(pc, "prepare", lambda *a, **k: calls.append(2) or real_prepare(*a, **k))
    for hints in ([], shown):
        got = live.suggest(hints, (300, 200), 4)
        assert not calls  # neither the encoder nor the network ran
        want = pc.suggest_colors(image, hints, (300, 200), 4, model=net, render_size=128)
        calls.clear()
        assert [p for _, p in got] == pytest.approx([p for _, p in want], abs=1e-6)
        assert np.allclose([c for c, _ in got], [c for c, _ in want], atol=1e-6)
    live.suggest([AbHint(20, 20, (0.0, 40.0), 5)], (300, 200), 4)  # new hints: predicted
    assert calls == [1]
    with pytest.raises(ValueError):
        pc.suggest_colors(None, [], (1, 1))


def test_live_previews_may_run_the_hinted_network_in_bfloat16_and_the_full_result_stays_exact():
    """Where the CPU computes bfloat16 natively the live session's hinted passes use it
    (about a third faster); the colours move by a fraction of an ab unit, the automatic
    colours not at all, and the full-resolution result is float32's."""
    net = _semantic_net()
    image = torch.rand(1, 3, 300, 450)
    live = pc.LiveColorizer(image, net, render_size=128, preview_size=150)
    assert live.prep.reduced_precision == pc.reduced_precision_ok("cpu")
    live.prep.reduced_precision = True  # forced: emulated where not native, same numbers
    hints = [AbHint(100, 80, (40.0, -20.0), 5), AbHint(350, 220, (-10.0, 30.0), 5)]
    reduced = live.ab(hints)
    auto = live.ab([])
    live.prep.reduced_precision = False
    exact = live.ab(hints)  # the hinted answer is cached per precision: computed again
    assert not torch.equal(reduced, exact)
    assert float((reduced - exact).norm(dim=1).max()) < 1.5
    assert torch.equal(live.ab([]), auto)
    live.prep.reduced_precision = True
    full = live.full(hints)
    assert live.prep.reduced_precision  # restored
    ref = run_pipeline(colorize(image, model=net, hints=hints, render_size=128, device="cpu"))
    assert torch.allclose(full, ref, atol=1e-5)
    assert not pc.reduced_precision_ok("cuda") and not pc.reduced_precision_ok("meta")


def test_hint_spot_finds_the_largest_unsure_area_away_from_hints_and_edges():
    conf = torch.ones(1, 1, 100, 150)
    conf[..., 65:85, 30:50] = 0.0  # a big unsure area (bottom left)
    conf[..., 10:22, 110:122] = 0.0  # a small one (top right)
    conf[..., :, 148:] = 0.0  # a sliver at the edge: inside the margin's reach
    x, y = pc.hint_spot(conf)
    assert 30 <= x < 50 and 65 <= y < 85
    # a hint there already (its reach covers that area): the next spot is the other one
    x2, y2 = pc.hint_spot(conf, [AbHint(x, y, (0.0, 0.0))])
    assert 104 <= x2 < 128 and 4 <= y2 < 28
    # the map may be smaller than the photo: the answer is in the photo's pixels
    x3, y3 = pc.hint_spot(conf, [AbHint(x * 10, y * 10, (0.0, 0.0))], (1000, 1500))
    assert abs(x3 - 10 * x2) <= 10 and abs(y3 - 10 * y2) <= 10
    # hints everywhere: no room left
    crowd = [AbHint(cx, cy, (0.0, 0.0)) for cx in range(0, 150, 15) for cy in range(0, 100, 15)]
    assert pc.hint_spot(conf, crowd) is None


def test_the_networks_hinted_change_stays_within_the_hints_reach():
    """A network whose answer to any hint recolours the whole photo (as a trained one may,
    a little): the gate keeps that change on the hint's region, the rest keeps the
    automatic colours."""
    from neuron_desktop.pipelines.colorize import Propagation, prepare, work_ab

    class GlobalResponse(ColorizationNet):
        def forward(self, l, hint_ab, hint_mask, *features):
            out = super().forward(l, hint_ab, hint_mask, *features)
            if bool(hint_mask.any()):  # every pixel pushed towards one bright bin
                out = out.clone()
                out[:, 7] += 20
            return out

    torch.manual_seed(1)
    img = torch.zeros(1, 3, 96, 128)
    img[..., :64] = 0.25 + 0.05 * torch.rand(1, 1, 96, 64)
    img[..., 64:] = 0.75 + 0.05 * torch.rand(1, 1, 96, 64)
    net = GlobalResponse(width=4, semantic=False).eval()
    prep = prepare(net, img, 128)
    before = work_ab(net, prep, [], 0.3)
    hint = [AbHint(20, 40, (60.0, 40.0), 5)]
    ungated = work_ab(net, prep, hint, 0.3, Propagation(gate_space=0))
    gated = work_ab(net, prep, hint, 0.3)
    assert float((ungated - before).norm(dim=1)[0, :, 72:].mean()) > 10  # spills everywhere
    assert float((gated - before).norm(dim=1)[0, :, 72:].max()) < 0.5  # kept off the right
    assert float((gated - before).norm(dim=1)[0, :, :40].mean()) > 10  # the hinted side moves


def test_refinement_radius_is_a_parameter_and_wider_greys_more():
    """The radius selection (scripts/select_colorize_alpha.py) passes the radius explicitly;
    the default is the shipped REFINE_RADIUS_AT_512, and a wider window averages more."""
    g = torch.Generator().manual_seed(0)
    l = torch.rand(1, 1, 128, 128, generator=g) * 100
    ab_small = torch.randn(1, 2, 32, 32, generator=g) * 30
    default = pc.refine_ab(l, ab_small)
    assert torch.equal(default, pc.refine_ab(l, ab_small, radius_at_512=pc.REFINE_RADIUS_AT_512))
    narrow = pc.refine_ab(l, ab_small, radius_at_512=8)
    wide = pc.refine_ab(l, ab_small, radius_at_512=80)
    assert wide.norm(dim=1).mean() < narrow.norm(dim=1).mean()


def test_large_preview_uses_the_fast_guided_filter_without_visible_change():
    """Above 512 px the live preview refines with the subsampled (fast) guided filter; it
    must look like the exact filter's result, and repeated edits reuse the automatic
    colours (computed once per photo and setting)."""
    from neuron_desktop.pipelines.colorize import LiveColorizer, refine_ab

    net = _semantic_net()
    torch.manual_seed(3)
    image = torch.nn.functional.interpolate(torch.rand(1, 3, 30, 40), size=(480, 640),
                                            mode="bilinear", align_corners=False)
    live = LiveColorizer(image, net, render_size=128, preview_size=640)
    hints = [AbHint(300, 200, (40.0, -20.0), 9)]
    fast = rgb_to_lab(live.preview(hints))
    exact_ab = refine_ab(live.l_preview, live.ab(hints), subsample=1)
    assert fast.shape[-2:] == (480, 640)
    assert float((fast[:, 1:] - exact_ab).abs().mean()) < 1.0  # ab units
    assert len(live.prep.auto_ab) == 1
    live.preview([AbHint(100, 100, (10.0, 30.0), 5)])
    assert len(live.prep.auto_ab) == 1


def test_training_prior_is_recovered_from_the_rebalancing_weights():
    from neuron_desktop.models.colorization import rebalance_weights

    net = ColorizationNet(width=4, semantic=False).eval()
    bins = net.bins
    torch.manual_seed(1)
    counts = torch.rand(len(bins)) ** 4  # a peaked empirical prior
    w = rebalance_weights(counts, bins, lam=pc.REBALANCE_LAMBDA)
    net.prior_log_weights.copy_(torch.log(w))
    p = counts.double() / counts.sum()
    smooth = torch.exp(-torch.cdist(bins.double(), bins.double()) ** 2 / (2 * 5.0 ** 2)) @ p
    assert torch.allclose(pc.training_prior(net), (smooth / smooth.sum()).float(), atol=1e-5)
    net.prior_log_weights.zero_()  # no weights stored: a flat prior
    assert torch.allclose(pc.training_prior(net), torch.full((len(bins),), 1 / len(bins)))


def test_a_colour_reference_pulls_the_colours_towards_its_own(tiny_net):
    """A blue reference makes a gray photo bluer (b falls), a red one redder (a rises), more
    so the stronger it is (this untrained network's flat prior saturates early); 0 changes
    nothing; a gray reference is refused."""
    gray = torch.linspace(0.2, 0.8, 96).view(1, 1, 1, 96).expand(1, 3, 64, 96).contiguous()
    blue = torch.tensor([0.15, 0.3, 0.85]).view(1, 3, 1, 1).expand(1, 3, 32, 32)
    red = torch.tensor([0.8, 0.15, 0.1]).view(1, 3, 1, 1).expand(1, 3, 32, 32)

    def ab(**kw):
        return rgb_to_lab(run_pipeline(pc.colorize(gray, model=tiny_net, device="cpu", **kw))
                          )[0, 1:].mean((1, 2))

    base = ab()
    weak, strong = ab(reference=blue, reference_strength=0.05), ab(reference=blue)
    assert strong[1] < weak[1] - 20 and weak[1] < base[1] - 5  # b: towards blue
    assert ab(reference=red)[0] > base[0] + 3  # a: towards red
    assert torch.allclose(ab(reference=blue, reference_strength=0.0), base, atol=1e-4)
    with pytest.raises(ValueError, match="no colour"):
        pc.reference_shift(tiny_net, gray)
    with pytest.raises(ValueError, match="strength"):
        pc.reference_shift(tiny_net, blue, 1.5)


def test_a_colour_reference_gives_each_region_the_colours_of_the_region_like_it():
    """Stripes on the left, checks on the right; the reference has the same two textures,
    blue stripes and red checks. Matched by the encoder's features, the stripes turn bluer
    and the checks redder (one histogram for the whole photo would tint both alike)."""
    torch.manual_seed(0)
    net = ColorizationNet(width=4, semantic=True, pretrained_semantic=False).eval()
    yy, xx = torch.meshgrid(torch.arange(96.0), torch.arange(128.0), indexing="ij")
    stripes = 0.5 + 0.3 * torch.sin(xx / 2.0)
    checks = 0.5 + 0.3 * torch.sign(torch.sin(xx / 6.0) * torch.sin(yy / 6.0))
    left = xx < 64
    l = torch.where(left, stripes, checks)
    gray = l.expand(1, 3, 96, 128).contiguous()
    blue, red = torch.tensor([0.2, 0.35, 0.9]), torch.tensor([0.9, 0.2, 0.15])
    ref = torch.where(left, l * blue.view(3, 1, 1) * 1.2, l * red.view(3, 1, 1) * 1.2)
    ref = ref[None].clamp(0, 1)
    prep = pc.prepare(net, gray, 128, reference=ref)
    assert prep.shift is not None and prep.shift.ndim == 4  # a local shift
    out = rgb_to_lab(pc.finish(prep, pc.work_ab(net, prep, [], 0.2), True))[0, 1:]
    plain = pc.prepare(net, gray, 128)
    base = rgb_to_lab(pc.finish(plain, pc.work_ab(net, plain, [], 0.2), True))[0, 1:]
    d = out - base  # (2, H, W): a (red +), b (yellow +, blue -)
    assert d[1][:, 8:56].mean() < d[1][:, 72:120].mean() - 5  # stripes bluer than checks
    assert d[0][:, 72:120].mean() > d[0][:, 8:56].mean() + 5  # checks redder than stripes


def _scene(h=384, w=512):
    """A smooth synthetic photo: a sky gradient, a dark hill and a light disc."""
    y, x = np.mgrid[0:h, 0:w] / np.float32(h)
    gray = 0.75 - 0.3 * y
    gray = np.where(y > 0.6 + 0.1 * np.sin(6 * x), 0.25 + 0.1 * x, gray)
    gray = np.where((x - 0.9) ** 2 + (y - 0.3) ** 2 < 0.02, 0.9, gray).astype(np.float32)
    return np.repeat(gray[..., None], 3, -1)


def test_the_clean_view_reads_an_old_print_through_its_damage(tiny_net):
    """The network's view of a photo aged like an old print (fading, blur, grain, JPEG) comes
    much closer to the clean photo's through the restorer; the result keeps the print's own
    L."""
    from neuron_desktop.data.degrade import degrade

    clean = _scene()
    aged = torch.from_numpy(degrade(clean, seed=3, severity=0.85, toning=0.0).image
                            ).permute(2, 0, 1)[None]
    target = pc.prepare(tiny_net, torch.from_numpy(clean).permute(2, 0, 1)[None],
                        clean_view="off").l_work
    as_is = pc.prepare(tiny_net, aged, clean_view="off")
    cleaned = pc.prepare(tiny_net, aged, clean_view="on")
    assert cleaned.l_work.shape == as_is.l_work.shape and cleaned.work_size == as_is.work_size
    # the damage the view reads through: grain, blur and JPEG (a global fade's offset aside)
    err = {k: float(((d := p.l_work - target) - d.mean()).abs().mean()) for k, p in
           (("as_is", as_is), ("cleaned", cleaned))}
    assert err["cleaned"] < 0.5 * err["as_is"], err
    torch.testing.assert_close(cleaned.l_full, as_is.l_full)  # the print's own lightness
    out = run_pipeline(colorize(aged, model=tiny_net, clean_view="on"))
    diff = (rgb_to_lab(out)[:, :1] - as_is.l_full).abs()  # gamut clipping aside
    assert float(diff.mean()) < 0.05 and float((diff > 0.5).float().mean()) < 1e-3


def test_the_clean_view_treats_a_toned_print_as_its_gray_version(tiny_net):
    rgb = torch.from_numpy(_scene(96, 128)).permute(2, 0, 1)[None]
    lab = rgb_to_lab(rgb)
    lab[:, 1], lab[:, 2] = 4.0, 14.0  # a sepia tone
    sepia = lab_to_rgb(lab)
    a, b = (pc.prepare(tiny_net, x, clean_view="on").l_work for x in (rgb, sepia))
    torch.testing.assert_close(a, b, atol=0.05, rtol=0)


def test_auto_reads_through_the_restorer_only_where_it_finds_damage(tiny_net):
    from neuron_desktop.data.degrade import degrade

    clean = _scene()
    aged = degrade(clean, seed=3, severity=0.5, toning=0.0).image
    seen = {}
    for name, rgb in (("clean", clean), ("aged", aged)):
        x = torch.from_numpy(rgb).permute(2, 0, 1)[None]
        auto, on = (pc.prepare(tiny_net, x, clean_view=m) for m in ("auto", "on"))
        off = pc.prepare(tiny_net, x, clean_view="off")
        assert on.cleaned and not off.cleaned
        same_as = on if auto.cleaned else off
        torch.testing.assert_close(auto.l_work, same_as.l_work)
        seen[name] = (auto.cleaned, pc.damage(on.l_work, off.l_work))
    assert seen["clean"][0] is False and seen["aged"][0] is True, seen
    assert seen["clean"][1] < pc.DAMAGE_THRESHOLD < seen["aged"][1]
    with pytest.raises(ValueError, match="clean_view"):
        pc.prepare(tiny_net, _photo(), clean_view="sometimes")


def test_without_the_restorers_weights_the_colorizer_reads_the_photo_as_it_is(
        tiny_net, monkeypatch, caplog):
    monkeypatch.setattr(pc, "installed", lambda name: False)
    rgb = _photo()
    with caplog.at_level("WARNING"):
        prep = pc.prepare(tiny_net, rgb, clean_view="on")
    assert "restorer" in caplog.text
    torch.testing.assert_close(prep.l_work, pc.prepare(tiny_net, rgb, clean_view="off").l_work)
