"""The inpainting network: push-pull pre-fill, shapes, hole pixels ignored."""

import pytest
import torch

from neuron_desktop.models.inpainting import InpaintNet, PatchCritic, push_pull


def _image(h=64, w=80, seed=0):
    g = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    base = torch.stack([x, y, 0.5 * (x + y)])
    return (0.8 * base + 0.1 + 0.02 * torch.randn(3, h, w, generator=g)).clamp(0, 1)[None]


def _box_mask(h, w, y0, y1, x0, x1):
    m = torch.zeros(1, 1, h, w)
    m[..., y0:y1, x0:x1] = 1
    return m


def test_push_pull_fills_smoothly_and_keeps_known_pixels():
    img = _image()
    hole = _box_mask(64, 80, 20, 40, 30, 60)
    out = push_pull(img * (1 - hole), hole)
    assert torch.equal(out * (1 - hole), img * (1 - hole))
    assert float(((out - img).abs() * hole).sum() / hole.sum() / 3) < 0.08
    flat = torch.full((1, 3, 16, 16), 0.3)
    assert torch.allclose(push_pull(flat * (1 - hole[..., :16, :16]), hole[..., :16, :16]),
                          flat, atol=1e-6)


@pytest.mark.parametrize("size", [(64, 80), (37, 53)])
def test_network_shapes_and_hole_pixels_ignored(size):
    net = InpaintNet(width=4).eval()
    h, w = size
    img = _image(h, w)
    hole = _box_mask(h, w, 10, 25, 12, 30)
    with torch.no_grad():
        coarse, refined = net(img, hole)
        scribbled = img.clone()
        scribbled[..., 10:25, 12:30] = 1.0
        _, refined2 = net(scribbled, hole)
    assert coarse.shape == refined.shape == img.shape
    assert 0 <= float(refined.min()) and float(refined.max()) <= 1
    assert torch.allclose(refined, refined2, atol=1e-6)  # what was in the hole cannot leak
    assert PatchCritic()(img, hole).shape[1] == 1


def test_the_fast_elu_gives_nn_elus_values_and_gradients():
    from neuron_desktop.models.inpainting import ELU

    x = torch.linspace(-30, 5, 10_001).view(1, 1, 1, -1)
    with torch.no_grad():
        assert torch.allclose(ELU()(x), torch.nn.ELU()(x), atol=1e-6, rtol=0)
    assert torch.equal(x, torch.linspace(-30, 5, 10_001).view(1, 1, 1, -1))  # input untouched
    with torch.no_grad():
        z = x.clone()
        assert torch.allclose(ELU(inplace=True)(z), torch.nn.ELU()(x), atol=1e-6, rtol=0)
    y = x.clone().requires_grad_(True)
    ELU()(y).sum().backward()
    assert torch.allclose(y.grad, torch.where(x > 0, 1.0, torch.exp(x)), atol=1e-6)
