"""ContextualAttention: shapes, mask handling and copying a known patch into a hole."""

import pytest
import torch

from neuron_desktop.models.blocks import ContextualAttention


def _copy_case(c=32, size=24, seed=0):
    """Random features where the 6x6 block around a 2x2 hole repeats a known block exactly,
    so the only consistent fill is the known block's centre."""
    g = torch.Generator().manual_seed(seed)
    f = torch.randn(1, c, size, size, generator=g)
    f[..., 14:20, 12:18] = f[..., 3:9, 4:10]
    mask = torch.zeros(1, 1, size, size)
    mask[..., 16:18, 14:16] = 1
    truth = f[..., 16:18, 14:16].clone()
    f[..., 16:18, 14:16] = 0  # the hole's own features are unknown
    return f, mask, truth


@pytest.mark.parametrize("rate", [1, 2])
def test_shapes_and_batch(rate):
    layer = ContextualAttention(rate=rate)
    x = torch.randn(3, 8, 16, 20)
    mask = torch.zeros(1, 1, 16, 20)
    mask[..., 4:10, 6:12] = 1
    out = layer(x, x, mask)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.isfinite(out).all()
    # per-image masks, and each image is processed independently
    masks = mask.expand(3, 1, 16, 20).clone()
    assert torch.allclose(layer(x, x, masks)[1:2], layer(x[1:2], x[1:2], mask), atol=1e-6)


def test_copies_the_matching_known_patch():
    f, mask, truth = _copy_case()
    out = ContextualAttention(softmax_scale=10.0)(f, f, mask)
    assert torch.allclose(out[..., 16:18, 14:16], truth, atol=1e-4)


def test_copy_without_fusion_needs_a_sharper_softmax():
    f, mask, truth = _copy_case()
    soft = ContextualAttention(softmax_scale=10.0, fuse_k=1)(f, f, mask)[..., 16:18, 14:16]
    sharp = ContextualAttention(softmax_scale=100.0, fuse_k=1)(f, f, mask)[..., 16:18, 14:16]
    assert torch.allclose(sharp, truth, atol=1e-4)
    assert (soft - truth).abs().mean() < 0.5 * truth.abs().mean()  # mostly the right patch


def test_only_known_patches_are_candidates():
    f, mask, _ = _copy_case()
    layer = ContextualAttention()
    attn = layer.attention(f, f, mask)
    assert torch.allclose(attn.sum(1), torch.ones(attn.shape[0]))
    near_hole = torch.nn.functional.max_pool2d(mask, 3, 1, 1).reshape(-1) > 0
    assert float(attn[:, near_hole].abs().max()) == 0.0


def test_known_pixels_reproduce_themselves():
    f, mask, _ = _copy_case()
    out = ContextualAttention()(f, f, mask)
    assert torch.allclose(out[..., :8, 16:], f[..., :8, 16:], atol=1e-4)


def test_no_known_patch_returns_foreground_and_gradients_flow():
    x = torch.randn(1, 4, 8, 8, requires_grad=True)
    layer = ContextualAttention()
    assert torch.equal(layer(x, x, torch.ones(1, 1, 8, 8)), x)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 3:5, 3:5] = 1
    layer(x, x, mask).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_rejects_bad_arguments():
    with pytest.raises(ValueError):
        ContextualAttention(ksize=4)
    with pytest.raises(ValueError, match="multiples of rate"):
        ContextualAttention(rate=2)(torch.zeros(1, 2, 7, 8), torch.zeros(1, 2, 7, 8),
                                    torch.zeros(1, 1, 7, 8))


@pytest.mark.parametrize("rate", [1, 2])
def test_hole_only_matches_the_full_map_in_and_near_the_hole(rate):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 8, 24, 32, generator=g)
    mask = torch.zeros(1, 1, 24, 32)
    mask[..., 8:14, 10:18] = 1
    full = ContextualAttention(rate=rate)(x, x, mask)
    fast = ContextualAttention(rate=rate, hole_only=True)(x, x, mask)
    hole = mask.bool().expand_as(x)
    assert torch.allclose(fast[hole], full[hole], atol=1e-5)
    far = torch.ones_like(mask, dtype=torch.bool)
    far[..., 2:20, 4:24] = False  # well away from the hole: the foreground itself
    assert torch.equal(fast[far.expand_as(x)], x[far.expand_as(x)])


def test_hole_only_at_the_border_matches_the_full_map():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(1, 8, 24, 32, generator=g)
    mask = torch.zeros(1, 1, 24, 32)
    mask[..., 0:5, 26:32] = 1  # the matching box is clipped by the image corner
    full = ContextualAttention(rate=2)(x, x, mask)
    fast = ContextualAttention(rate=2, hole_only=True)(x, x, mask)
    hole = mask.bool().expand_as(x)
    assert torch.allclose(fast[hole], full[hole], atol=1e-5)


@pytest.mark.parametrize("hole_only", [True, False])
@pytest.mark.parametrize("rate", [1, 2])
def test_a_batch_in_one_pass_matches_image_by_image(rate, hole_only):
    torch.manual_seed(1)
    layer = ContextualAttention(rate=rate, hole_only=hole_only)
    x = torch.randn(5, 6, 24, 32, dtype=torch.float64, requires_grad=True)
    mask = torch.zeros(5, 1, 24, 32, dtype=torch.float64)
    mask[0, :, 4:12, 6:20] = 1
    mask[1, :, 16:24, 24:32] = 1  # at the border
    mask[2] = 1  # no known patch: the foreground
    mask[4, :, :6] = 1  # image 3: no hole
    out = layer._batched(x, x, mask)  # a GPU's path, here on the CPU
    assert torch.allclose(layer(x, x, mask), out, atol=1e-12)
    singles = torch.cat([layer(x[i:i + 1], x[i:i + 1], mask[i:i + 1]) for i in range(5)])
    assert torch.allclose(out, singles, atol=1e-12)
    assert torch.equal(out[2], x[2])
    out.square().sum().backward()
    assert torch.isfinite(x.grad).all()
