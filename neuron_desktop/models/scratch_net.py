"""A small U-Net that marks scratches and dust: RGB [0, 1] in, one logit per pixel out.

Two stride-2 levels (channels c, 2c, 4c) with skip connections and a dilated bottleneck
(receptive field ~50 px, enough to tell a thin mark from texture). Inputs of any size are
padded (replicate) to a multiple of 4 and the output is cropped back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuron_desktop.models.registry import register_arch

MULTIPLE = 4  # two stride-2 levels


def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, dilation, dilation),
                         nn.LeakyReLU(0.1, inplace=True))


class ScratchNet(nn.Module):
    """``width`` c: channels c, 2c, 4c at strides 1, 2, 4 (c = 16: ~150k parameters)."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        c = width
        self.enc1 = nn.Sequential(_conv(3, c), _conv(c, c))
        self.enc2 = nn.Sequential(_conv(c, 2 * c, 2), _conv(2 * c, 2 * c))
        self.mid = nn.Sequential(_conv(2 * c, 4 * c, 2), _conv(4 * c, 4 * c, dilation=2),
                                 _conv(4 * c, 4 * c))
        self.up2 = _conv(4 * c, 2 * c)
        self.dec2 = _conv(4 * c, 2 * c)
        self.up1 = _conv(2 * c, c)
        self.dec1 = _conv(2 * c, c)
        self.head = nn.Conv2d(c, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        """(B, 3, H, W) RGB [0, 1] -> (B, 1, H, W) logits (1 = damaged)."""
        h, w = x.shape[-2:]
        x = F.pad(x * 2 - 1, (0, -w % MULTIPLE, 0, -h % MULTIPLE), mode="replicate")
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        m = self.mid(e2)
        d2 = self.dec2(torch.cat([self.up2(F.interpolate(m, scale_factor=2.0)), e2], 1))
        d1 = self.dec1(torch.cat([self.up1(F.interpolate(d2, scale_factor=2.0)), e1], 1))
        return self.head(d1)[..., :h, :w]


@register_arch("ScratchNet")
def build_scratchnet(entry) -> ScratchNet:
    return ScratchNet(int(entry.recipe.get("width", 16)))
