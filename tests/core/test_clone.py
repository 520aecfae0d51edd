"""The clone / heal brush's pixel operation (core.clone)."""

import numpy as np
import pytest

from neuron_desktop.core.clone import (
    CloneStroke,
    heal,
    match_mean,
    patch_diff,
    stroke_diff,
)
from neuron_desktop.core.document import Document


def _ramp(h=120, w=160):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([xx / w, yy / h, (xx + yy) / (w + h)], -1).astype(np.float32)


def test_clone_copies_the_source_at_the_offset_and_only_the_stroke():
    img = _ramp()
    before = img.copy()
    s = CloneStroke(img.shape[:2], (40, 10), mode="clone", radius=6, hardness=1.0)
    s.dab(img, (30, 30), (60, 30))
    s.finish(img)
    # the stroke's core is the source's pixels, 40 px right and 10 down
    np.testing.assert_array_equal(img[30, 35:56], before[40, 75:96])
    assert not np.array_equal(img[30, 35:56], before[30, 35:56])
    # far from the stroke nothing changed
    untouched = np.ones(img.shape[:2], bool)
    untouched[20:41, 20:71] = False
    np.testing.assert_array_equal(img[untouched], before[untouched])


def test_a_stroke_reads_the_image_as_it_was_before_it():
    """Overlapping source and target: the copy is of the original pixels, not of what the
    stroke has just painted (no smeared repetition)."""
    img = np.zeros((40, 200, 3), np.float32)
    img[:, :, 0] = np.arange(200, dtype=np.float32)[None] / 200
    before = img.copy()
    s = CloneStroke(img.shape[:2], (5, 0), mode="clone", radius=4, hardness=1.0)
    pts = [(20 + 3 * i, 20) for i in range(40)]
    for a, b in zip(pts, pts[1:], strict=False):
        s.dab(img, a, b)
    np.testing.assert_array_equal(img[20, 30:130], before[20, 35:135])


def test_source_outside_the_photo_is_not_copied():
    img = _ramp()
    before = img.copy()
    s = CloneStroke(img.shape[:2], (-100, 0), mode="clone", radius=5)
    assert s.dab(img, (20, 50), (40, 50)) is None
    np.testing.assert_array_equal(img, before)


def test_heal_takes_the_target_colour_and_keeps_the_source_texture():
    rng = np.random.default_rng(0)
    img = np.full((100, 160, 3), 0.7, np.float32)
    img[:, 80:] = 0.3  # the source side is darker...
    texture = rng.normal(0, 0.03, (100, 80, 3)).astype(np.float32)
    img[:, 80:] += texture  # ... and textured
    before = img.copy()
    results = {}
    for mode in ("clone", "match", "heal"):
        im = before.copy()
        s = CloneStroke(im.shape[:2], (90, 0), mode=mode, radius=8, hardness=1.0)
        s.dab(im, (20, 50), (50, 50))
        s.finish(im)
        results[mode] = im
    core = (slice(46, 55), slice(26, 45))
    assert abs(results["clone"][core].mean() - 0.3) < 0.02  # a plain copy: dark
    for mode in ("match", "heal"):  # blended: the target's brightness
        assert abs(results[mode][core].mean() - 0.7) < 0.03, mode
        # ... with the source's texture (its deviations, not a flat fill)
        dev = results[mode][core] - results[mode][core].mean((0, 1))
        src = before[46:55, 116:135] - before[46:55, 116:135].mean((0, 1))
        assert np.corrcoef(dev.ravel(), src.ravel())[0, 1] > 0.9, mode


def test_heal_is_seamless_at_the_border():
    """A Poisson blend matches the target on the stroke's border: no step there."""
    target = np.full((40, 40, 3), 0.8, np.float32)
    source = np.full((40, 40, 3), 0.2, np.float32)
    hole = np.zeros((40, 40), bool)
    hole[10:30, 10:30] = True
    out = heal(target, source, hole)
    assert abs(out[10, 20, 0] - 0.8) < 0.05 and abs(out[20, 20, 0] - 0.8) < 0.05
    mm = match_mean(target, source, hole)
    np.testing.assert_allclose(mm[hole], 0.8, atol=1e-5)
    np.testing.assert_array_equal(out[~hole], target[~hole])


def test_stroke_diff_undoes_and_redoes_the_stroke():
    doc = Document(_ramp(400, 400))
    before = doc.image.copy()
    s = CloneStroke(doc.image.shape[:2], (30, 20), mode="heal", radius=7)
    s.dab(doc.writable("image"), (20, 20), (70, 60))
    s.finish(doc.image)
    after = doc.image.copy()
    d = stroke_diff(s, doc.image)
    assert not d.empty and d.nbytes < before.nbytes  # tiles, not the photo
    d.restore(doc, "old")
    np.testing.assert_array_equal(doc.image, before)
    d.restore(doc, "new")
    np.testing.assert_array_equal(doc.image, after)


def test_patch_diff_touches_only_the_box():
    doc = Document(_ramp(300, 300))
    box = (100, 120, 150, 140)
    new = np.zeros((20, 50, 3), np.float32)
    d = patch_diff("image", doc.image, box, new)
    assert set(d.old) == {(0, 1), (1, 1), (2, 1)} or set(d.old) == {
        (cx, cy) for cx in (1, 2) for cy in (1, 2)}
    before = doc.image.copy()
    d.restore(doc, "new")
    assert (doc.image[120:140, 100:150] == 0).all()
    mask = np.ones(before.shape[:2], bool)
    mask[120:140, 100:150] = False
    np.testing.assert_array_equal(doc.image[mask], before[mask])
    d.restore(doc, "old")
    np.testing.assert_array_equal(doc.image, before)


def test_a_stroke_on_a_24_mp_photo_touches_only_its_box():
    """Segments cost their box: the stroke keeps a few tiles, not the photo."""
    img = np.zeros((4000, 6000, 3), np.float32)
    s = CloneStroke(img.shape[:2], (200, 0), mode="clone", radius=20)
    s.dab(img, (3000, 2000), (3100, 2000))
    kept = sum(a.nbytes for a in s.before.values())
    assert kept < 64 * 64 * 3 * 4 * 12


def test_unknown_mode():
    with pytest.raises(ValueError):
        CloneStroke((10, 10), (1, 1), mode="smudge")


def test_a_big_heal_is_solved_coarser_with_the_same_smooth_correction():
    """A wide stroke: the coarse solve gives the exact solve's colour shift (to a few
    levels), and the source's texture."""
    rng = np.random.default_rng(1)
    h, w = 120, 200
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    target = np.stack([0.6 + 0.2 * xx / w, 0.5 + 0.1 * yy / h, np.full_like(xx, 0.4)], -1)
    source = (0.3 + rng.normal(0, 0.02, (h, w, 3))).astype(np.float32)
    hole = np.zeros((h, w), bool)
    hole[20:100, 20:180] = True  # 12800 px
    exact = heal(target, source, hole, exact_pixels=10**6)
    coarse = heal(target, source, hole)
    assert np.abs(coarse[hole] - exact[hole]).mean() < 0.01
    dev = coarse[hole] - exact[hole]
    assert np.abs(dev).max() < 0.06
