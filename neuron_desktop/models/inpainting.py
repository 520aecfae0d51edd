"""Coarse-to-fine inpainting network with contextual attention (Yu et al. 2018), small
enough to train and run on a CPU, and its spectral-norm PatchGAN critic (hinge loss).

Input: RGB in [0, 1] and a mask (1 = hole). Holes are first pre-filled with the harmonic
interpolant of the known pixels (a smooth guess, better than Telea: docs/inpainting.md), so the
coarse network of dilated convolutions only has to correct it. The refinement network has
two encoders on the coarse composite: dilated convolutions (content) and one ending in
:class:`ContextualAttention` (copies known background features into the hole), merged into
one decoder. Outputs are composited by the caller; :meth:`InpaintNet.forward` returns
(coarse, refined) raw predictions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from neuron_desktop.core.fill import harmonic_fill, push_pull
from neuron_desktop.models.blocks import ContextualAttention, zero_init
from neuron_desktop.models.registry import register_arch

__all__ = ["InpaintNet", "PatchCritic", "harmonic_fill", "hinge_d_loss", "hinge_g_loss",
           "push_pull"]

MULTIPLE = 8  # H, W are padded to this (two stride-2 levels, attention rate 2)
PREFILL_ITERS = 20  # CG steps per level of the harmonic pre-fill (as trained)


class ELU(nn.Module):
    """``nn.ELU`` (alpha 1), faster for inference on the CPU: PyTorch's CPU kernel calls expm1
    per element, while exp is vectorised (the same values to 1e-6; a 12 MP fill ~10 % faster).
    Training and CUDA use ``F.elu`` as it is. ``inplace``: reuse the input's memory there."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        if x.is_cuda or (torch.is_grad_enabled() and x.requires_grad):
            return F.elu(x, inplace=self.inplace)
        negative = x.clamp(max=0).exp_().sub_(1)
        return negative.add_(x.clamp_(min=0) if self.inplace else x.clamp(min=0))


def _conv(cin: int, cout: int, k: int = 3, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    pad = dilation * (k - 1) // 2
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, pad, dilation), ELU(inplace=True))


class _Up(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = _conv(cin, cout)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


def _encoder(c: int, dilated: bool) -> nn.Sequential:
    layers = [_conv(4, c, 5), _conv(c, 2 * c, 3, 2), _conv(2 * c, 2 * c),
              _conv(2 * c, 4 * c, 3, 2), _conv(4 * c, 4 * c), _conv(4 * c, 4 * c)]
    if dilated:
        layers += [_conv(4 * c, 4 * c, 3, 1, d) for d in (2, 4, 8, 16)]
    return nn.Sequential(*layers)


def _decoder(cin: int, c: int) -> nn.Sequential:
    return nn.Sequential(_conv(cin, 4 * c), _conv(4 * c, 4 * c), _Up(4 * c, 2 * c),
                         _conv(2 * c, 2 * c), _Up(2 * c, c), _conv(c, c // 2),
                         nn.Conv2d(c // 2, 3, 3, 1, 1))


class InpaintNet(nn.Module):
    """Two-stage generator; ``width`` c: channels c, 2c, 4c at strides 1, 2, 4."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        c = width
        self.width = c
        self.coarse = nn.Sequential(_encoder(c, dilated=True), _decoder(4 * c, c))
        self.content = _encoder(c, dilated=True)
        self.attn_enc = _encoder(c, dilated=False)
        self.attention = ContextualAttention(ksize=3, rate=2, softmax_scale=10.0, hole_only=True)
        self.attn_post = nn.Sequential(_conv(4 * c, 4 * c), _conv(4 * c, 4 * c))
        self.decoder = _decoder(8 * c, c)

    def zero_residuals(self) -> None:
        """Zero both stages' output convs: the network then starts as its pre-fill."""
        coarse_decoder = self.coarse[1]
        assert isinstance(coarse_decoder, nn.Sequential)
        for conv in (coarse_decoder[-1], self.decoder[-1]):
            zero_init(conv)

    def forward(self, rgb: Tensor, hole: Tensor) -> tuple[Tensor, Tensor]:
        """rgb (B, 3, H, W) in [0, 1] (hole pixels are ignored), hole (B or 1, 1, H, W) in
        {0, 1}. Returns (coarse, refined), each (B, 3, H, W) in [0, 1]."""
        h, w = rgb.shape[-2:]
        state = self.coarse_pass(rgb, hole)
        refined = self.refine_pass(state)
        return state[2][..., :h, :w], refined[..., :h, :w]

    def coarse_pass(self, rgb: Tensor, hole: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Stage 1 on inputs padded to a multiple of 8: (known, hole, coarse), padded."""
        h, w = rgb.shape[-2:]
        ph, pw = (-h) % MULTIPLE, (-w) % MULTIPLE
        hole = hole.to(rgb.dtype).expand(rgb.shape[0], 1, h, w)
        if ph or pw:
            rgb = F.pad(rgb, (0, pw, 0, ph), mode="replicate")
            hole = F.pad(hole, (0, pw, 0, ph), value=0.0)
        known = rgb * (1 - hole)
        guess = harmonic_fill(known, hole, PREFILL_ITERS)
        coarse = (guess + self.coarse(torch.cat([guess * 2 - 1, hole], 1))).clamp(0, 1)
        return known, hole, coarse

    def refine_pass(self, state: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        """Stage 2: the refined prediction (padded size) from :meth:`coarse_pass`'s state."""
        known, hole, coarse = state
        mixed = known + coarse * hole
        y = torch.cat([mixed * 2 - 1, hole], 1)
        a = self.attn_enc(y)
        a = self.attn_post(self.attention(a, a, F.max_pool2d(hole, 4)))
        return (mixed + self.decoder(torch.cat([self.content(y), a], 1))).clamp(0, 1)


class PatchCritic(nn.Module):
    """SN-PatchGAN (Yu et al. 2019): spectral-normalised strided convs on (RGB, mask);
    one realness score per patch, trained with the hinge loss."""

    def __init__(self, width: int = 32, in_channels: int = 4, depth: int = 5) -> None:
        super().__init__()
        c = width
        chans = [in_channels, c, 2 * c, 4 * c, 4 * c, 4 * c][:depth + 1]
        layers: list[nn.Module] = []
        for cin, cout in zip(chans[:-1], chans[1:], strict=True):
            layers += [spectral_norm(nn.Conv2d(cin, cout, 5, 2, 2)), nn.LeakyReLU(0.2)]
        layers.append(spectral_norm(nn.Conv2d(chans[-1], 1, 3, 1, 1)))
        self.net = nn.Sequential(*layers)

    def forward(self, rgb: Tensor, hole: Tensor) -> Tensor:
        return self.net(torch.cat([rgb * 2 - 1, hole.expand(rgb.shape[0], 1, -1, -1)], 1))

    def score(self, x: Tensor) -> Tensor:
        """Patch scores of an input that already has ``in_channels`` channels."""
        return self.net(x)


def hinge_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


def hinge_g_loss(fake: Tensor) -> Tensor:
    return -fake.mean()


@register_arch("InpaintNet")
def build_inpaintnet(entry) -> InpaintNet:
    return InpaintNet(int(entry.recipe.get("width", 16)))
