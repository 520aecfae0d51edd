"""The scratch network: any input size, a small parameter count."""

import pytest
import torch

from neuron_desktop.models.scratch_net import ScratchNet


@pytest.mark.parametrize("size", [(37, 53), (5, 130), (64, 64)])
def test_network_keeps_any_size(size):
    net = ScratchNet(width=4)
    out = net(torch.rand(2, 3, *size))
    assert out.shape == (2, 1, *size) and torch.isfinite(out).all()


def test_default_network_is_small():
    n = sum(p.numel() for p in ScratchNet().parameters())
    assert 50_000 <= n <= 200_000
