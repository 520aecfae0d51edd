"""Exemplar (PatchMatch) fill, the region-wise high-resolution path and the auto method."""

import math

import cv2
import numpy as np
import pytest
import torch

from neuron_desktop.core.progress import Cancelled, CancelToken, Progress, run_pipeline
from neuron_desktop.pipelines.exemplar import ExemplarParams, exemplar_fill
from neuron_desktop.pipelines.inpaint import (
    INPAINT_METHODS,
    _bridge_seam,
    inpaint,
    regionwise,
    thin_regions,
)


def _texture(h, w):
    """A periodic colour texture (periods 7, 9 and 12 px)."""
    y = torch.arange(h, dtype=torch.float32)[:, None]
    x = torch.arange(w, dtype=torch.float32)[None]
    a = torch.sin(2 * math.pi * x / 9) * torch.sin(2 * math.pi * y / 7)
    b = ((x + 2 * y) % 12 < 4).float()
    return torch.stack([0.5 + 0.3 * a, 0.3 + 0.4 * b, 0.5 + 0.2 * a * b])[None].clamp(0, 1)


def _box_mask(h, w, *boxes):
    m = torch.zeros(1, 1, h, w)
    for y0, y1, x0, x1 in boxes:
        m[..., y0:y1, x0:x1] = 1
    return m


def _hole_psnr(out, truth, mask):
    hole = mask.bool().expand_as(truth)
    return float(10 * torch.log10(1 / ((out - truth)[hole] ** 2).mean()))


def test_registered():
    assert {"telea", "ns", "exemplar", "auto"} <= set(INPAINT_METHODS)
    assert list(INPAINT_METHODS)[0] == "telea"  # the editor's default stays first


def test_exemplar_beats_telea_on_periodic_texture():
    img = _texture(128, 160)
    mask = _box_mask(128, 160, (50, 80, 60, 95))
    ex = run_pipeline(inpaint(img, mask, method="exemplar", grain="off"))
    te = run_pipeline(inpaint(img, mask, method="telea", grain="off"))
    assert _hole_psnr(ex, img, mask) > _hole_psnr(te, img, mask) + 10
    assert _hole_psnr(ex, img, mask) > 35


@pytest.mark.parametrize("method", ["exemplar", "auto"])
def test_outside_mask_bit_exact_multiple_and_border_holes(method):
    torch.manual_seed(0)
    img = (_texture(96, 128) + 0.05 * torch.rand(1, 3, 96, 128)).clamp(0, 1)
    mask = _box_mask(96, 128, (0, 12, 0, 20), (40, 60, 50, 70), (88, 96, 100, 128),
                     (20, 22, 10, 90))  # corner, middle, bottom edge, a thin scratch
    events = []
    out = run_pipeline(inpaint(img, mask, method=method), on_progress=events.append)
    outside = mask.expand_as(img) == 0
    assert out.shape == img.shape and out.dtype == torch.float32
    assert torch.equal(out[outside], img[outside])
    assert torch.isfinite(out).all() and 0 <= float(out.min()) and float(out.max()) <= 1
    assert not torch.equal(out[~outside], img[~outside])
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_deterministic_and_cancellable():
    img = _texture(64, 64)
    mask = _box_mask(64, 64, (20, 40, 20, 40))
    a = run_pipeline(exemplar_fill(img, mask))
    b = run_pipeline(exemplar_fill(img, mask))
    assert torch.equal(a, b)
    token = CancelToken()
    gen = exemplar_fill(img, mask, cancel=token)
    next(gen)
    token.cancel()
    with pytest.raises(Cancelled):
        run_pipeline(gen, cancel=token)


def test_exemplar_survives_a_hole_with_no_complete_source_patch():
    img = torch.rand(1, 3, 20, 20)
    mask = torch.ones(1, 1, 20, 20)
    mask[..., :3, :3] = 0  # too little known area for any 7x7 source patch
    out = run_pipeline(exemplar_fill(img, mask, params=ExemplarParams()))
    assert out.shape == img.shape and torch.isfinite(out).all()


def _recording_core(seen):
    def core(image, mask, *, radius=3, device=None, cancel=None):
        seen.append(tuple(image.shape[-2:]))
        yield Progress(1.0)
        # flat fill: the mean of the known pixels of the crop
        known = (mask == 0).expand_as(image)
        return torch.where(known, image, image[known].mean())
    return core


def test_regionwise_large_image_several_regions():
    h, w = 2000, 3000
    img = torch.rand(1, 3, h, w)
    boxes = [(100, 400, 200, 600), (120, 300, 640, 700),  # close: one region
             (1400, 1950, 2000, 2990), (1000, 1010, 10, 2500)]  # big; long thin stroke
    mask = _box_mask(h, w, *boxes)
    seen = []
    method = regionwise(_recording_core(seen), work_size=512, min_window=256)
    out = run_pipeline(_run(method, img, mask))
    assert out.shape == img.shape
    # the two close boxes were grouped; the stroke lies in the big box's window (which,
    # clipped by the photo, is no longer with it) and joins it
    assert len(seen) == 2
    assert all(max(s) <= 512 for s in seen)  # the core only ever sees capped crops
    outside = mask.expand_as(img) == 0
    assert torch.equal(out[outside], img[outside])
    assert torch.isfinite(out).all()


def test_regions_inside_a_bigger_window_share_it():
    from neuron_desktop.pipelines.inpaint import _merge_nested

    big, near, far = (1000, 1400, 1000, 1400), (1410, 1430, 1100, 1130), (100, 140, 100, 140)
    merged = _merge_nested([(1, far), (2, near), (3, big)], (4000, 4000), 3.0, 256)
    assert sorted(tuple(sorted(labels)) for labels, _ in merged) == [(1,), (2, 3)]
    assert (1000, 1430, 1000, 1400) in [box for _, box in merged]


def test_windows_can_be_tighter_than_the_merge_context():
    """A small region lies in a big one's 3x window (clipped by the photo) but not in its 2x
    one: with merge_context 3 it shares the big one's window, 2x the joint box (boxes include
    the 20 px grouping gap)."""
    h, w = 2000, 2000
    img = torch.rand(1, 3, h, w)
    mask = _box_mask(h, w, (300, 1000, 800, 1200), (1500, 1530, 900, 930))
    for merge_context, windows in ((2.0, [(1480, 880), (256, 256)]), (3.0, [(2000, 880)])):
        seen = []
        method = regionwise(_recording_core(seen), work_size=None, whole_side=640, context=2.0,
                            merge_context=merge_context)
        out = run_pipeline(_run(method, img, mask))
        assert seen == windows
        assert torch.equal(out[mask.expand_as(img) == 0], img[mask.expand_as(img) == 0])


def _run(method, img, mask):
    from neuron_desktop.pipelines.inpaint import composite

    def job():
        pred = yield from method(img, mask)
        return composite(img, pred, mask)
    return job()


def test_regionwise_telea_matches_whole_image_telea():
    torch.manual_seed(2)
    img = torch.nn.functional.avg_pool2d(torch.rand(1, 3, 600, 2400), 9, 1, 4)
    mask = _box_mask(600, 2400, (100, 130, 100, 160), (400, 420, 2000, 2300))
    whole = regionwise(INPAINT_METHODS["telea"].core, work_size=None, whole_side=10**6)
    a = run_pipeline(_run(whole, img, mask))
    # two windows (image > 2048 px)
    b = run_pipeline(inpaint(img, mask, method="telea", grain="off"))
    assert float((a - b).abs().max()) < 1e-5


def test_downscaled_window_seam_is_bridged():
    # Fine stripes vanish in a window processed at 1/6 size, so the fill is grey; the Telea
    # ring carries the stripes across the hole's edge (a plain paste steps by ~0.3 there).
    h, w = 1200, 1600
    x = torch.arange(w, dtype=torch.float32)[None].expand(h, w)
    stripes = 0.5 + 0.3 * torch.sign(torch.sin(2 * torch.pi * (x + 0.5) / 8))
    img = stripes.expand(1, 3, h, w).contiguous()
    mask = _box_mask(h, w, (300, 900, 400, 1200))
    seen = []
    core = INPAINT_METHODS["exemplar"].core

    def recording(image, mask, **kw):
        seen.append(tuple(image.shape[-2:]))
        return (yield from core(image, mask, **kw))

    out = run_pipeline(_run(regionwise(recording, work_size=256), img, mask))
    assert max(seen[0]) == 256
    step = out[..., 300, 400:1200] - out[..., 299, 400:1200]
    assert float(step.abs().mean()) < 0.15



def test_seam_bridge_writes_the_hole_only_as_a_full_box_telea_would():
    # Reference: the photo with the fill inside the ring, one 8-bit Telea call over the ring.
    import cv2

    rng = np.random.default_rng(6)
    crop = torch.from_numpy(rng.random((1, 3, 60, 80), dtype=np.float32))
    fill = torch.from_numpy(rng.random((1, 3, 60, 80), dtype=np.float32))
    hole = np.zeros((60, 80), bool)
    hole[10:50, 15:70] = True
    hole[30:58, 5:20] = True
    dist = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3)
    ring = hole & (dist <= 3.0)
    start = torch.where(torch.from_numpy(hole & ~ring), fill, crop)
    rgb8 = (start[0].permute(1, 2, 0).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
    telea = cv2.inpaint(rgb8, ring.astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA)
    ref = torch.where(torch.from_numpy(ring),
                      torch.from_numpy(telea).permute(2, 0, 1)[None].float() / 255, start)
    out = _bridge_seam(crop, fill, hole, 3.0)
    assert torch.equal(out, ref)
    assert torch.equal(out[..., ~torch.from_numpy(hole)], crop[..., ~torch.from_numpy(hole)])

def test_thin_regions():
    hole = np.zeros((100, 100), bool)
    hole[10:13, 5:95] = True  # 3 px scratch
    hole[40:80, 40:80] = True  # big blob
    hole[80:83, 40:95] = True  # thin tail attached to the blob: belongs to the blob
    thin = thin_regions(hole)
    assert thin[10:13, 5:95].all() and not thin[40:83].any()


def test_thin_regions_matches_the_whole_image_computation():
    """Working on the hole's bounding box only gives what the whole image gives, also for
    holes touching the border and for an empty mask."""
    def whole(hole):
        r = max(4, round(0.002 * max(hole.shape)))
        m = hole.astype(np.uint8)
        _, labels = cv2.connectedComponents(m, connectivity=8)
        core = cv2.erode(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2))
        return hole & ~np.isin(labels, np.unique(labels[core > 0]))

    rng = np.random.default_rng(0)
    assert not thin_regions(np.zeros((50, 60), bool)).any()
    mixed = 0
    for _ in range(20):
        hole = np.zeros((120, 150), np.uint8)
        for _ in range(rng.integers(1, 5)):
            x, y = (int(v) for v in rng.integers(-10, 150, 2))
            cv2.line(hole, (x, y), tuple(int(v) for v in rng.integers(-10, 160, 2)), 1,
                     int(rng.integers(1, 5)))
            cv2.circle(hole, (x, y), int(rng.integers(0, 15)), 1, -1)
        hole = hole > 0
        thin = thin_regions(hole)
        assert np.array_equal(thin, whole(hole))
        mixed += bool(thin.any() and (hole & ~thin).any())
    assert mixed >= 5  # the draws cover masks with both thin and thick parts
    # a lone 6 px line: its bounding box is the line itself, so the box must be padded for
    # the erosion to see the photo around it
    for line in ((slice(50, 56), slice(10, 140)), (slice(10, 110), slice(70, 76))):
        hole = np.zeros((120, 150), bool)
        hole[line] = True
        assert thin_regions(hole)[line].all()
