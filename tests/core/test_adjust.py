"""Scan basics (core/adjust.py): tone maps against NumPy references, geometry against
NumPy's own turns and flips, and hints (map_point) landing where their pixel went."""

import math

import numpy as np
import pytest
import torch

from neuron_desktop.core import adjust
from neuron_desktop.core.adjust import Geometry
from neuron_desktop.core.errors import NeuronError


def _img(h=40, w=60, seed=0):
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.random((1, 3, h, w), dtype=np.float32))


def test_levels_matches_the_formula():
    x = _img()
    out = adjust.levels(x, 0.1, 0.8, 1.5).numpy()
    ref = np.clip((x.numpy() - 0.1) / 0.7, 0, 1) ** (1 / 1.5)
    np.testing.assert_allclose(out, ref, atol=1e-6)
    assert out.dtype == np.float32
    with pytest.raises(NeuronError):
        adjust.levels(x, 0.5, 0.5)


def test_curve_identity_passes_through_points_and_stays_monotone():
    lut = adjust.curve_lut(adjust.parse_points("0,0 255,255"), 256)
    np.testing.assert_allclose(lut, np.linspace(0, 1, 256), atol=1e-6)
    pts = adjust.parse_points("0,0 64,40 192,230 255,255")
    lut = adjust.curve_lut(pts, 256)
    assert np.all(np.diff(lut) >= -1e-7)  # no overshoot for monotone points
    for x, y in pts:
        assert lut[round(x * 255)] == pytest.approx(y, abs=2e-3)
    x = _img()
    out = adjust.curves(x, "0,0 64,40 192,230 255,255").numpy()
    ref = np.interp(x.numpy(), np.linspace(0, 1, 1024), adjust.curve_lut(pts))
    np.testing.assert_allclose(out, ref, atol=1e-5)
    assert adjust.format_points(pts) == "0,0 64,40 192,230 255,255"
    with pytest.raises(NeuronError):
        adjust.parse_points("0,0 300,20")


def test_auto_contrast_stretches_a_faded_scan():
    x = _img() * 0.4 + 0.2  # tones in [0.2, 0.6]
    out = adjust.auto_contrast(x, clip=0.0)
    assert float(out.min()) == pytest.approx(0.0, abs=1e-6)
    assert float(out.max()) == pytest.approx(1.0, abs=1e-6)
    cast = x * torch.tensor([1.0, 0.9, 0.7]).reshape(1, 3, 1, 1)
    per = adjust.auto_contrast(cast, clip=0.0, per_channel=True)
    assert torch.allclose(per.amax(dim=(2, 3)), torch.ones(1, 3), atol=1e-5)


def test_white_balance_makes_the_picked_colour_grey_and_keeps_its_luma():
    neutral = (0.8, 0.7, 0.5)
    x = torch.tensor(neutral).reshape(1, 3, 1, 1).expand(1, 3, 4, 4).contiguous()
    out = adjust.white_balance(x, neutral)[0, :, 0, 0]
    assert torch.allclose(out, out.mean().expand(3), atol=1e-5)
    luma = sum(w * c for w, c in zip(adjust.LUMA, neutral, strict=True))
    assert float(out[0]) == pytest.approx(luma, abs=1e-5)
    half = adjust.white_balance(x, neutral, strength=0.0)
    assert torch.equal(half, x)
    # grey world: an evenly tinted image loses its tint
    tinted = (_img() * 0.5 + 0.25) * torch.tensor([1.0, 0.85, 0.7]).reshape(1, 3, 1, 1)
    mean = adjust.white_balance(tinted).mean(dim=(2, 3))[0]
    assert float(mean.max() - mean.min()) < 0.01


def test_histogram_counts_every_sampled_pixel():
    rgb = _img(100, 120)[0].permute(1, 2, 0).numpy()
    h = adjust.histogram(rgb)
    assert h.shape == (4, 256)
    assert np.all(h.sum(axis=1) == 100 * 120)
    big = np.zeros((3000, 4000, 3), np.float32)
    assert adjust.histogram(big, max_samples=10_000)[0, 0] <= 20_000


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_quarter_turns_match_numpy_and_move_points(turns):
    a = np.arange(5 * 7 * 3, dtype=np.float32).reshape(5, 7, 3)
    g = Geometry("rotate", 7, 5, turns=turns)
    out = g.apply(a)
    np.testing.assert_array_equal(out, np.rot90(a, -turns))
    assert out.flags.c_contiguous and (out.shape[1], out.shape[0]) == g.size
    for x, y in ((0, 0), (6, 1), (3, 4)):
        nx, ny = g.map_point(x, y)
        np.testing.assert_array_equal(out[int(ny), int(nx)], a[y, x])


@pytest.mark.parametrize("axis", ["horizontal", "vertical"])
def test_flips_and_crops_move_points_with_their_pixels(axis):
    a = np.arange(5 * 7, dtype=np.float32).reshape(5, 7)
    for g in (Geometry("flip", 7, 5, axis=axis), Geometry.cropping(7, 5, 2, 1, 4, 3)):
        out = g.apply(a)
        for x, y in ((2, 1), (5, 3), (3, 2)):
            nx, ny = g.map_point(x, y)
            assert out[int(ny), int(nx)] == a[y, x]
    assert Geometry.cropping(7, 5, 2, 1, 4, 3).map_point(0, 0) is None
    assert Geometry.cropping(7, 5, -5, -5, 100, 100).box == (0, 0, 7, 5)
    with pytest.raises(NeuronError):
        Geometry.cropping(7, 5, 10, 0, 3, 3)


def test_straighten_crops_the_empty_corners_and_moves_points():
    h, w = 300, 400
    a = np.ones((h, w, 3), np.float32)
    g = Geometry("straighten", w, h, angle=7.0)
    out = g.apply(a)
    assert (out.shape[1], out.shape[0]) == g.size
    assert out.shape[0] < h and out.shape[1] < w
    assert out.min() == 1.0  # no empty (black) corner survives
    loose = Geometry("straighten", w, h, angle=7.0, crop=False)
    assert loose.apply(a).min() == 0.0 and loose.size[0] > w
    # a bright dot lands where map_point says
    b = np.zeros((h, w), np.float32)
    b[150:153, 220:223] = 1.0
    nx, ny = g.map_point(221, 151)
    o = g.apply(b)
    yy, xx = np.unravel_index(np.argmax(o), o.shape)
    assert abs(xx - nx) <= 1 and abs(yy - ny) <= 1
    assert g.map_point(0, 0) is None  # a corner is cropped away


def test_max_inner_rect_and_line_angle():
    assert adjust.max_inner_rect(400, 300, 0) == pytest.approx((400, 300))
    wr, hr = adjust.max_inner_rect(400, 300, 10)
    # the rectangle's corners lie inside the turned photo
    a = math.radians(10)
    for sx, sy in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
        x, y = sx * wr / 2, sy * hr / 2
        u, v = x * math.cos(a) + y * math.sin(a), -x * math.sin(a) + y * math.cos(a)
        assert abs(u) <= 200 + 1e-6 and abs(v) <= 150 + 1e-6
    assert adjust.line_angle(0, 0, 100, 10) == pytest.approx(-math.degrees(math.atan(0.1)))
    assert adjust.line_angle(100, 10, 0, 0) == pytest.approx(-math.degrees(math.atan(0.1)))
    assert adjust.line_angle(0, 0, 5, 100) == pytest.approx(math.degrees(math.atan(0.05)))
