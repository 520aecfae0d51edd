"""Document model and mask/hint helpers (no Qt)."""

import numpy as np

from neuron_desktop.core.document import Document, Rect, TileDiff, changed_tiles
from neuron_desktop.core.masks import brush_alpha, paint_segment


def _doc(h=100, w=150):
    rng = np.random.default_rng(0)
    return Document(rng.random((h, w, 3), dtype=np.float32))


def test_apply_patch_returns_old_contents_and_notifies():
    doc = _doc()
    events = []
    doc.add_listener(lambda layer, rect: events.append((layer, rect)))
    before = doc.image.copy()
    r = Rect(10, 20, 30, 25)
    old = doc.apply_patch(r, image=np.zeros((5, 20, 3), np.float32),
                          mask=np.ones((5, 20), np.float32))
    assert np.array_equal(old.image, before[20:25, 10:30]) and not old.mask.any()
    assert not doc.image[20:25, 10:30].any() and doc.mask[20:25, 10:30].all()
    assert events == [("image", r), ("mask", r)]
    doc.apply_patch(r, image=old.image, mask=old.mask)
    assert np.array_equal(doc.image, before) and not doc.has_mask
    assert not np.shares_memory(doc.image, doc.original)


def test_rect_ops():
    a, b = Rect(0, 0, 10, 10), Rect(5, 5, 20, 8)
    assert a.union(b) == Rect(0, 0, 20, 10)
    assert a.intersect(b) == Rect(5, 5, 10, 8)
    assert Rect(-5, -5, 500, 3).clip(100, 50) == Rect(0, 0, 100, 3)


def test_tile_diff_roundtrip_and_merge():
    doc = _doc()
    d1 = TileDiff("mask", tile=32)
    d1.remember(doc, Rect(0, 0, 40, 10))
    doc.mask[0:10, 0:40] = 1
    d2 = TileDiff("mask", tile=32)
    d2.remember(doc, Rect(30, 0, 90, 10))  # overlaps d1's tiles: d1's old must win
    doc.mask[0:10, 30:90] = 0.5
    d1.merge(d2)
    after = doc.mask.copy()
    d1.capture_new(doc)
    d1.restore(doc, "old")
    assert not doc.mask.any()
    d1.restore(doc, "new")
    assert np.array_equal(doc.mask, after)
    assert d1.rect(doc.width, doc.height) == Rect(0, 0, 96, 32)


def test_changed_tiles():
    a = np.zeros((100, 130), np.float32)
    b = a.copy()
    b[99, 129] = 1
    b[0, 0] = 1
    assert sorted(changed_tiles(a, b, 64)) == [(0, 0), (2, 1)]


def test_brush_is_soft_and_continuous():
    m = np.zeros((50, 100), np.float32)
    box = paint_segment(m, (10, 25), (90, 25), radius=8, hardness=0.5)
    assert box == (1, 16, 100, 35) or box[0] <= 2
    assert m[25, 10:90].min() > 0.99  # no gaps along the drag
    edge = m[25 + 6, 50]
    assert 0.0 < edge < 1.0  # feathered edge
    assert m[0, 50] == 0
    paint_segment(m, (50, 25), (50, 25), radius=4, hardness=1.0, erase=True)
    assert m[25, 50] < 0.01
    a = brush_alpha((5, 5), (5, 5), 3, 1.0, (0, 0, 11, 11))
    assert a[5, 5] == 1 and a[0, 0] == 0


def test_snapshot_is_copy_on_write():
    doc = _doc()
    snap = doc.snapshot()
    assert snap.image is doc.image and snap.mask is doc.mask  # taking it copies nothing
    before = doc.image.copy()
    doc.apply_patch(Rect(0, 0, 4, 4), image=np.zeros((4, 4, 3), np.float32))
    assert snap.image is not doc.image and np.array_equal(snap.image, before)  # copied first
    assert not snap.unchanged(doc, "image") and snap.unchanged(doc, "mask")
    snap.release()
    snap2 = doc.snapshot("mask")
    with snap2:  # released on exit: later writes go in place
        pass
    mask = doc.mask
    doc.writable("mask")[0, 0] = 1
    assert doc.mask is mask and not snap2.unchanged(doc, "mask")
    image = doc.image
    doc.apply_patch(Rect(0, 0, 2, 2), image=np.ones((2, 2, 3), np.float32))
    assert doc.image is image  # no pinned snapshot: no copy
