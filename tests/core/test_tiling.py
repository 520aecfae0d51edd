import pytest
import torch
import torch.nn.functional as F

from neuron_desktop.core.progress import Cancelled, CancelToken, Progress, run_pipeline
from neuron_desktop.core.tiling import (
    Tile,
    feather_weights,
    pad_to_multiple,
    tile_grid,
    tiled_apply,
    unpad,
)


def _run(gen):
    events = []
    result = run_pipeline(gen, on_progress=events.append)
    return result, events


@pytest.mark.parametrize(
    "size,tile,overlap",
    [
        ((37, 53), 16, 4),
        ((64, 64), 32, 8),
        ((20, 15), 64, 16),  # image smaller than the tile
        ((100, 7), 32, 0),
        ((33, 65), 17, 16),
        ((1, 1), 8, 2),
        ((129, 77), 40, 13),
    ],
)
def test_identity_reproduces_input(size, tile, overlap):
    x = torch.rand(2, 3, *size)
    out, _ = _run(tiled_apply(lambda t: t, x, tile=tile, overlap=overlap))
    assert out.shape == x.shape and out.dtype == torch.float32
    assert torch.allclose(out, x, atol=1e-6, rtol=0)


@pytest.mark.parametrize("multiple", [1, 8, 16])
def test_identity_with_multiple_padding(multiple):
    x = torch.rand(1, 3, 45, 71)
    seen = []

    def fn(t):
        seen.append(tuple(t.shape[-2:]))
        return t

    out, _ = _run(tiled_apply(fn, x, tile=24, overlap=6, multiple=multiple))
    assert all(h % multiple == 0 and w % multiple == 0 for h, w in seen)
    assert torch.allclose(out, x, atol=1e-6, rtol=0)


def test_pointwise_fn_matches_untiled():
    x = torch.rand(1, 3, 50, 61)
    out, _ = _run(tiled_apply(lambda t: t * 2 + 1, x, tile=16, overlap=4))
    assert torch.allclose(out, x * 2 + 1, atol=1e-5)


def test_conv_with_context_matches_untiled_given_overlap():
    torch.manual_seed(0)
    weight = torch.randn(4, 3, 5, 5) / 25  # receptive field radius 2
    x = torch.rand(1, 3, 70, 90)

    def conv(t):
        return F.conv2d(F.pad(t, (2, 2, 2, 2), mode="replicate"), weight)

    reference = conv(x)
    out, _ = _run(tiled_apply(conv, x, tile=32, overlap=8, out_channels=4))
    assert out.shape == reference.shape
    assert torch.allclose(out, reference, atol=1e-5)  # radius 2 <= overlap // 4
    # Overlap smaller than 4x the radius: a small blended error, far below hard seams.
    err = (run_pipeline(tiled_apply(conv, x, tile=32, overlap=4, out_channels=4)) - reference)
    seams = run_pipeline(tiled_apply(conv, x, tile=32, overlap=0, out_channels=4)) - reference
    assert err.abs().max() < 0.5 * seams.abs().max()
    assert err.abs().max() < 0.25 * reference.abs().max()


def test_scale_two_with_upsampling_fn():
    x = torch.rand(1, 3, 41, 29)

    def up(t):
        return F.interpolate(t, scale_factor=2, mode="nearest")

    out, _ = _run(tiled_apply(up, x, tile=16, overlap=4, scale=2, multiple=4))
    assert out.shape == (1, 3, 82, 58)
    assert torch.allclose(out, up(x), atol=1e-6)


def test_wrong_fn_output_shape_raises():
    x = torch.rand(1, 3, 20, 20)
    with pytest.raises(ValueError, match="expected"):
        _run(tiled_apply(lambda t: t[:, :1], x, tile=8, overlap=2))


def test_fn_output_dtype_converted_back():
    x = torch.rand(1, 3, 30, 30)
    out, _ = _run(tiled_apply(lambda t: t.double(), x, tile=16, overlap=4))
    assert out.dtype == torch.float32 and out.device == x.device
    assert torch.allclose(out, x, atol=1e-6)


@pytest.mark.parametrize("size,multiple", [((7, 10), 8), ((3, 2), 16), ((16, 16), 16), ((1, 5), 4)])
def test_pad_unpad_round_trip(size, multiple):
    x = torch.rand(1, 2, *size)
    padded, pad = pad_to_multiple(x, multiple)
    assert padded.shape[-2] % multiple == 0 and padded.shape[-1] % multiple == 0
    assert pad[0] == 0 and pad[2] == 0
    assert torch.equal(unpad(padded, pad), x)
    up = F.interpolate(padded, scale_factor=2, mode="nearest")
    assert torch.equal(unpad(up, pad, scale=2), F.interpolate(x, scale_factor=2, mode="nearest"))


def test_pad_reflects_when_possible():
    x = torch.arange(6.0).reshape(1, 1, 1, 6).expand(1, 1, 6, 6).contiguous()
    padded, pad = pad_to_multiple(x, 8)
    assert pad == (0, 2, 0, 2)
    assert padded[0, 0, 0, 6:].tolist() == [4.0, 3.0]  # reflect, not replicate


@pytest.mark.parametrize(
    "h,w,tile,overlap", [(100, 37, 32, 8), (5, 5, 32, 4), (64, 64, 64, 0), (65, 200, 30, 29)]
)
def test_grid_covers_every_pixel(h, w, tile, overlap):
    tiles = tile_grid(h, w, tile, overlap)
    cover = torch.zeros(h, w, dtype=torch.int32)
    for t in tiles:
        assert t.y1 - t.y0 == min(tile, h) and t.x1 - t.x0 == min(tile, w)
        assert 0 <= t.y0 < t.y1 <= h and 0 <= t.x0 < t.x1 <= w
        cover[t.y0 : t.y1, t.x0 : t.x1] += 1
    assert bool((cover > 0).all())
    assert max(t.y1 for t in tiles) == h and max(t.x1 for t in tiles) == w


def test_grid_rejects_bad_overlap():
    with pytest.raises(ValueError):
        tile_grid(10, 10, 8, 8)
    with pytest.raises(ValueError):
        tile_grid(10, 10, 8, -1)


def test_feather_weights_ramp_and_borders():
    w = feather_weights(Tile(0, 16, 8, 24), 40, 24, 8, "cpu")[0, 0]
    assert w.shape == (16, 16)
    assert float(w.min()) == 0.0 and float(w.max()) == 1.0
    assert torch.equal(w[:, -1], w[:, 8])  # right side is the image border: no ramp
    assert w[8, :8].tolist() == pytest.approx([0, 0, 0.2, 0.4, 0.6, 0.8, 1, 1])  # left ramp
    assert w[-8:, 8].tolist() == pytest.approx([1, 1, 0.8, 0.6, 0.4, 0.2, 0, 0])  # bottom ramp
    assert float(w[0, 8]) == 1.0  # top is the image border


def test_feather_weights_sum_to_one_on_regular_grid():
    h, w = 56, 72  # exactly 3 x 4 tiles of 24 with overlap 8
    tiles = tile_grid(h, w, 24, 8)
    total = torch.zeros(1, 1, h, w)
    for t in tiles:
        total[..., t.y0 : t.y1, t.x0 : t.x1] += feather_weights(t, h, w, 8)
    assert torch.allclose(total, torch.ones_like(total), atol=1e-6)


def test_cancel_mid_way():
    token = CancelToken()
    calls = []

    def fn(t):
        calls.append(1)
        if len(calls) == 2:
            token.cancel()
        return t

    gen = tiled_apply(fn, torch.rand(1, 3, 64, 64), tile=16, overlap=4, cancel=token)
    with pytest.raises(Cancelled):
        for _ in gen:
            pass
    assert len(calls) == 2


def test_progress_increases_to_one():
    _, events = _run(tiled_apply(lambda t: t, torch.rand(1, 1, 50, 50), tile=16, overlap=4))
    fractions = [e.fraction for e in events if isinstance(e, Progress)]
    assert len(fractions) == len(tile_grid(50, 50, 16, 4))
    assert all(a < b for a, b in zip(fractions, fractions[1:], strict=False))
    assert fractions[-1] == 1.0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fn_on_other_device_moved_back():
    x = torch.rand(1, 3, 40, 40)
    out = run_pipeline(tiled_apply(lambda t: t.cuda() * 2, x, tile=16, overlap=4))
    assert out.device == x.device and torch.allclose(out, x * 2, atol=1e-6)
    xc = x.cuda()
    out = run_pipeline(tiled_apply(lambda t: t.cpu() * 2, xc, tile=16, overlap=4))
    assert out.device == xc.device and torch.allclose(out, xc * 2, atol=1e-6)
