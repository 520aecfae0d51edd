"""Grain-matched fills: statistics, energy match, seeding."""

import numpy as np

from neuron_desktop.core.grain import add_matched_grain, estimate, highpass, ring


def _grainy(size=1.0, sigma=0.04, h=160, w=200, seed=0, mono=True):
    import cv2

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / w
    base = np.stack([0.3 + 0.4 * x, 0.3 + 0.3 * y, 0.5 - 0.2 * x], -1).astype(np.float32)
    n = rng.standard_normal((h, w, 1 if mono else 3)).astype(np.float32)
    if size > 0.3:
        n = cv2.GaussianBlur(n, (0, 0), size).reshape(h, w, -1)
        n /= n.std()
    return np.clip(base + sigma * n, 0, 1).astype(np.float32), base


def _mask(h=160, w=200):
    m = np.zeros((h, w), bool)
    m[60:100, 70:130] = True
    return m


def test_estimate_finds_grain_strength_size_and_channel_correlation():
    img, _ = _grainy(size=1.5)
    model = estimate(img, _mask())
    assert model.grainy
    assert 1.1 <= model.size <= 2.0
    # monochrome grain: channels move together
    corr = model.mix @ model.mix.T
    assert corr[0, 1] > 0.9 and corr[1, 2] > 0.9
    clean = estimate(_grainy(sigma=0.0)[0], _mask())
    assert not clean.grainy


def test_matched_grain_brings_the_holes_high_pass_energy_to_the_rings():
    for size in (0.0, 1.0, 2.0):
        img, base = _grainy(size=size, sigma=0.05, seed=3)
        mask = _mask()
        smooth_fill = np.where(mask[..., None], base, img)  # a perfect but grain-free fill
        out = add_matched_grain(img, smooth_fill, mask, seed=1)
        comp = np.where(mask[..., None], out, img)
        inner = np.zeros_like(mask)  # away from the border's step between two grains
        inner[63:97, 73:127] = True
        e_hole = (highpass(comp)[inner] ** 2).mean()
        e_ring = (highpass(comp)[ring(mask)] ** 2).mean()
        e_before = (highpass(smooth_fill)[mask] ** 2).mean()
        assert e_before < 0.5 * e_ring
        assert 0.8 < e_hole / e_ring < 1.2, (size, e_hole / e_ring)
        assert np.array_equal(out[~mask], smooth_fill[~mask])  # nothing outside the hole


def test_edges_around_the_hole_are_not_taken_for_grain():
    """A clean photo with strong edges in the ring (stripes) and fine grain of 2/255: the
    grain added is that fine grain, not the edges' energy."""
    rng = np.random.default_rng(7)
    h, w = 160, 200
    x = np.arange(w)[None, :, None]
    stripes = np.where((x // 6) % 2 == 0, 0.3, 0.7) * np.ones((h, 1, 3))
    img = np.clip(stripes + rng.normal(0, 2 / 255, (h, w, 1)), 0, 1).astype(np.float32)
    mask = _mask()
    model = estimate(img, mask)
    assert np.sqrt(model.var).max() < 3 / 255  # plain high-pass std of the ring is ~0.1
    fill = np.where(mask[..., None], 0.5, img).astype(np.float32)
    out = add_matched_grain(img, fill, mask, seed=0, model=model)
    assert (out - fill)[mask].std() < 4 / 255


def test_grain_is_seeded_and_not_added_to_clean_photos_twice():
    img, base = _grainy(seed=5)
    mask = _mask()
    fill = np.where(mask[..., None], base, img)
    a = add_matched_grain(img, fill, mask, seed=2)
    assert np.array_equal(a, add_matched_grain(img, fill, mask, seed=2))
    # a fill that already has the ring's grain gets (almost) none added
    again = add_matched_grain(img, img, mask, seed=2)
    assert np.abs(again - img)[mask].mean() < 0.01


def test_eval_grain_cli_on_a_small_folder(tmp_path, capsys):
    """`neuron eval grain`: grain-free fills have almost none of the ring's high-pass
    energy; matched fills have the ring's grain (robust ratio near 1)."""
    import json

    import cv2

    from neuron_desktop.cli import main

    (tmp_path / "eval").mkdir()
    for i in range(2):
        rng = np.random.default_rng(i)
        img = cv2.resize(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8), (160, 120),
                         interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(tmp_path / "eval" / f"p{i}.png"), img)
    report = tmp_path / "grain.json"
    assert main(["eval", "grain", "--data", str(tmp_path / "eval"), "--methods", "telea",
                 "--json-out", str(report), "-q"]) == 0
    r = json.loads(report.read_text())
    hole = r["results"]["20-30%"]["telea"]
    assert hole["off"]["robust_energy_ratio"] < 0.3
    assert 0.7 < hole["auto"]["robust_energy_ratio"] < 1.3
    assert -3.0 < hole["psnr_change_db"] < 1.0  # reported, and not a wild change
    assert "clean photos" in capsys.readouterr().out


def test_grain_near_the_border_continues_the_photos_own_grain():
    """Coarse grain is correlated over a few px, so in a thin scratch most of the true grain
    is predictable from the border: the continued grain is closer to the truth than new
    independent grain, and even than the grain-free fill. Per-pixel grain is not
    predictable: there it is no worse than independent grain."""
    mask = np.zeros((160, 200), bool)
    mask[80:82, 20:180] = True  # a 2 px scratch
    for size, factor in ((1.5, 0.85), (0.0, 1.05)):
        img, base = _grainy(size=size, sigma=0.05, seed=5)
        smooth = np.where(mask[..., None], base, img)  # a perfect but grain-free fill

        def err(out, img=img):
            return ((out - img)[mask] ** 2).mean()

        cont = add_matched_grain(img, smooth, mask, seed=1)
        indep = add_matched_grain(img, smooth, mask, seed=1, continued=False)
        assert err(cont) < factor * err(indep), (size, err(cont), err(indep))
        if size > 1:
            assert err(cont) < err(smooth)
        assert np.array_equal(cont[~mask], smooth[~mask])


def test_grain_is_added_group_by_group_on_small_boxes():
    """Scattered holes on a big photo: each group of nearby pieces gets its own box (not the
    whole photo), the groups cover the hole exactly once, and the grained result changes
    nothing outside the hole."""
    import torch

    from neuron_desktop.pipelines.inpaint import grain_groups, match_grain

    hole = np.zeros((600, 800), bool)
    hole[50:60, 40:200] = True  # a scratch ...
    hole[62:70, 205:260] = True  # ... broken in two, 5 px apart: one group
    hole[400:480, 600:700] = True  # far away: a group of its own
    groups = grain_groups(hole)
    assert len(groups) == 2
    cover = np.zeros(hole.shape, int)
    for rows, cols, own in groups:
        assert (rows.stop - rows.start) * (cols.stop - cols.start) < hole.size / 4
        cover[rows, cols] += own
    assert np.array_equal(cover, hole.astype(int))
    img, _ = _grainy(size=1.0, sigma=0.05, h=600, w=800, seed=2)
    t = torch.from_numpy(img).permute(2, 0, 1)[None]
    fill = t.clone()
    fill[..., torch.from_numpy(hole)] = 0.5
    out = match_grain(t, fill, torch.from_numpy(hole.astype(np.float32))[None, None], "on")
    assert torch.equal(out[..., torch.from_numpy(~hole)], fill[..., torch.from_numpy(~hole)])
    assert float(out[..., torch.from_numpy(hole)].std()) > 0.01  # grain was added
