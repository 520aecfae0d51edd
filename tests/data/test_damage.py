"""Synthetic old-photo damage: exact masks, reproducibility, plausible amounts."""

import cv2
import numpy as np

from neuron_desktop.data.damage import OLD_SPEC, DamageSpec, damage, old_look, old_photo_damage


def _photo(h=200, w=300):
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([x / w, y / h, 0.5 + 0.2 * np.sin(x / 9)], -1).astype(np.float32)


def test_mask_is_exactly_the_changed_pixels():
    img = _photo()
    out, mask = damage(img, 3)
    assert out.shape == img.shape and mask.shape == img.shape[:2]
    assert out.dtype == np.float32 and mask.dtype == np.float32
    assert set(np.unique(mask)) <= {0.0, 1.0}
    changed = np.any(out != img, axis=2)
    assert np.array_equal(changed, mask > 0)
    assert 0.002 < mask.mean() < 0.1
    assert out.min() >= 0 and out.max() <= 1


def test_seeded_and_varied():
    img = _photo()
    a, ma = damage(img, 11)
    b, mb = damage(img, 11)
    c, mc = damage(img, np.random.default_rng(12))
    assert np.array_equal(a, b) and np.array_equal(ma, mb)
    assert not np.array_equal(ma, mc)


def test_bright_and_dark_marks():
    img = np.full((128, 128, 3), 0.5, np.float32)
    bright, mb = damage(img, 1, DamageSpec(p_bright=1.0, dust=(0, 0), folds=(0, 0)))
    dark, md = damage(img, 1, DamageSpec(p_bright=0.0, dust=(0, 0), folds=(0, 0)))
    assert bright[mb > 0].mean() > 0.6 and dark[md > 0].mean() < 0.4
    none, mn = damage(img, 2, DamageSpec(scratches=(0, 0), dust=(0, 0), folds=(0, 0)))
    assert not mn.any() and np.array_equal(none, img)


def test_dust_has_its_own_bright_share():
    img = np.full((128, 128, 3), 0.5, np.float32)
    only_dust = {"scratches": (0, 0), "folds": (0, 0), "dust": (30, 30), "p_bright": 1.0}
    dark, md = damage(img, 4, DamageSpec(dust_p_bright=0.0, **only_dust))
    bright, mb = damage(img, 4, DamageSpec(**only_dust))
    assert dark[md > 0].mean() < 0.45 and bright[mb > 0].mean() > 0.55
    assert np.array_equal(md, mb)  # same specks, other tones: the random sequence is kept


def _width(mask):
    """Mean stroke width: area / half the outline length."""
    outline = cv2.Canny((mask * 255).astype(np.uint8), 1, 2).sum() / 255
    return mask.sum() / max(1, outline / 2)


def _only(n, **kind):
    """Masks of ``n`` seeded photos damaged with only ``kind`` (e.g. webs=(1, 1)); each
    mask is exactly the changed pixels."""
    img = _photo(300, 400)
    spec = DamageSpec(scratches=(0, 0), dust=(0, 0), folds=(0, 0), **kind)
    masks = []
    for s in range(n):
        out, mask = damage(img, np.random.default_rng(s), spec)
        assert np.array_equal(np.any(out != img, axis=2), mask > 0)
        masks.append(mask)
    return masks


def test_webs_are_many_thin_branching_cracks_and_leave_other_specs_alone():
    covered = [m for m in _only(6, webs=(1, 1)) if m.any()]
    assert covered  # some webs fall on the photo
    assert _width(covered[0]) < 4  # thin lines, not blobs
    # the default spec still draws what it drew before webs existed (the eval's scratch set)
    flat = np.full((400, 600, 3), 0.45, np.float32)
    assert int(damage(flat, 20005)[1].sum()) == 1931


def test_cells_are_a_network_of_thin_cracks_with_junctions():
    mask = max(_only(4, cells=(1, 1)), key=lambda m: m.sum())
    assert mask.mean() > 0.01 and _width(mask) < 4
    # cracks meet: few connected pieces for the covered area, and closed cells (holes)
    n_pieces = cv2.connectedComponents(mask.astype(np.uint8))[0] - 1
    n_regions = cv2.connectedComponents((mask == 0).astype(np.uint8))[0] - 1
    assert n_pieces < 0.3 * n_regions or n_regions > 5


def test_old_look_is_a_toned_faded_print_with_paper_coloured_marks():
    rng = np.random.default_rng(3)
    img = _photo()
    toned, paper = old_look(img, rng)
    assert toned.shape == img.shape and toned.dtype == np.float32
    assert np.all(toned[..., 0] >= toned[..., 1] - 1e-6)
    assert np.all(toned[..., 1] >= toned[..., 2] - 1e-6)  # sepia to neutral: R >= G >= B
    assert paper[0] >= paper[1] >= paper[2] and min(paper) > 0.3
    a, ma = old_photo_damage(img, 7)
    b, mb = old_photo_damage(img, 7)
    assert np.array_equal(a, b) and np.array_equal(ma, mb)  # seeded
    assert a.shape == img.shape and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    assert 0.003 < ma.mean() < 0.5
    assert OLD_SPEC.cells[1] > 0 and OLD_SPEC.alpha[0] < DamageSpec().alpha[0]


def test_old_marks_are_mostly_brighter_than_the_print():
    img = np.full((256, 256, 3), 0.4, np.float32)
    spec = DamageSpec(p_bright=1.0, scratches=(3, 3), dust=(0, 0), folds=(0, 0), cells=(1, 1),
                      bright_tone=OLD_SPEC.bright_tone, alpha=OLD_SPEC.alpha)
    out, mask = old_photo_damage(img, 5, spec)
    inside, outside = out[mask > 0].mean(), out[mask == 0].mean()
    assert inside > outside + 0.05
