"""Style-transfer networks: the loss network's features, Gram losses, and the fast
multi-style transformer (Johnson et al. 2016 with conditional instance normalisation,
Dumoulin et al. 2017).

Loss network: frozen ImageNet EfficientNet-Lite0 (``models.efficientnet_lite``), tapped
after the stem and after blocks 0, 2, 4 and 10 (strides 2, 4, 4, 8, 16). SWAG activation
smoothing (Wang et al. 2021: a softmax over each channel's positions, ``tau`` > 0) is
available but off: on this network it gave noisier, weaker stylisation than raw features
once the image is optimised as a pyramid (``pipelines.stylize``).
"""

from __future__ import annotations

import functools
import operator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuron_desktop.models.efficientnet_lite import efficientnet_lite0_features
from neuron_desktop.models.registry import register_arch

STYLE_TAPS = (-1, 0, 2, 4, 10)  # -1 = the stem
CONTENT_TAP = 4  # stride 8, 40 channels


class StyleFeatures(nn.Module):
    """Frozen EfficientNet-Lite0 activations at ``taps``: RGB (B, 3, H, W) in [0, 1] ->
    list of (B, C, h, w), smoothed (SWAG) when ``tau`` > 0."""

    def __init__(self, taps: tuple[int, ...] = STYLE_TAPS, tau: float = 0.0,
                 pretrained: bool = True) -> None:
        super().__init__()
        net = efficientnet_lite0_features(pretrained=pretrained)
        self.stem, self.bn0 = net._conv_stem, net._bn0
        self.blocks = net._blocks[: max(taps) + 1]
        self.taps, self.tau = taps, tau
        self.requires_grad_(False).eval()

    def train(self, mode: bool = True) -> StyleFeatures:  # always frozen batch norm
        return super().train(False)

    def forward(self, rgb: Tensor) -> list[Tensor]:
        x = F.relu6(self.bn0(self.stem(rgb * 2 - 1)))
        out = [x] if -1 in self.taps else []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.taps:
                out.append(x)
        return [smooth(f, self.tau) for f in out] if self.tau > 0 else out


def smooth(f: Tensor, tau: float) -> Tensor:
    """SWAG activation smoothing: softmax over each channel's positions, rescaled so a
    flat map stays 1 (keeps loss magnitudes independent of the image size)."""
    b, c, h, w = f.shape
    return torch.softmax(f.reshape(b, c, -1) / tau, dim=-1).reshape(b, c, h, w) * (h * w)


def gram(f: Tensor) -> Tensor:
    """Gram matrix per image normalised by the number of positions: (B, C, H, W) ->
    (B, C, C) = F F^T / M with M = H * W."""
    b, c, h, w = f.shape
    x = f.reshape(b, c, h * w)
    return x @ x.transpose(1, 2) / (h * w)


def style_layer_loss(f: Tensor, target_gram: Tensor) -> Tensor:
    """Gatys et al.'s per-layer style loss 1/(4 N^2 M^2) sum (G - A)^2 with G = F F^T
    (N channels, M positions); ``target_gram`` is A / M as returned by :func:`gram`."""
    n = f.shape[1]
    return ((gram(f) - target_gram) ** 2).sum(dim=(1, 2)).mean() / (4 * n * n)


def style_loss(feats: list[Tensor], target_grams: list[Tensor]) -> Tensor:
    """Layers weighted equally (sum of per-layer losses / number of layers)."""
    losses = (style_layer_loss(f, g) for f, g in zip(feats, target_grams, strict=True))
    return functools.reduce(operator.add, losses) / len(feats)


def content_loss(f: Tensor, target: Tensor) -> Tensor:
    """Mean squared feature difference (Gatys' 1/2 sum (F - P)^2, normalised by size)."""
    return F.mse_loss(f, target)


def tv_loss(x: Tensor) -> Tensor:
    """Total variation: mean absolute difference of neighbouring pixels."""
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (
        x[..., :, 1:] - x[..., :, :-1]).abs().mean()


# ------------------------------------------------------------------- fast multi-style network

class CondInstanceNorm(nn.Module):
    """Instance norm whose scale/shift come from a convex blend of per-style parameters:
    ``forward(x, w)`` with w (B, S) style weights (rows sum to 1)."""

    def __init__(self, channels: int, styles: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(styles, channels))
        self.beta = nn.Parameter(torch.zeros(styles, channels))

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        # instance norm and the style's scale/shift folded into one multiply-add (one pass,
        # no layout copies for channels-last inputs); same maths as F.instance_norm
        var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, unbiased=False)
        scale = (w @ self.gamma)[..., None, None] * torch.rsqrt(var + 1e-5)
        shift = (w @ self.beta)[..., None, None] - mean * scale
        return torch.addcmul(shift, x, scale)


class _ConvNorm(nn.Module):
    def __init__(self, cin: int, cout: int, k: int, styles: int, stride: int = 1,
                 up: bool = False, act: bool = True) -> None:
        super().__init__()
        self.up, self.act = up, act
        self.conv = nn.Conv2d(cin, cout, k, stride, padding=k // 2, padding_mode="reflect")
        self.norm = CondInstanceNorm(cout, styles)

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        if self.up:  # resize-convolution: no checkerboard artefacts (Dumoulin et al.)
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = self.norm(self.conv(x), w)
        return F.relu_(x) if self.act else x


class _Residual(nn.Module):
    def __init__(self, c: int, styles: int) -> None:
        super().__init__()
        self.a = _ConvNorm(c, c, 3, styles)
        self.b = _ConvNorm(c, c, 3, styles, act=False)

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        return x + self.b(self.a(x, w), w)


class FastStyleNet(nn.Module):
    """Johnson et al.'s transformer (3 convs down, residual blocks, 2 resize-convs up) with
    conditional instance norm over ``styles`` styles. RGB [0, 1] in and out; any size
    (padded to a multiple of 4 internally)."""

    def __init__(self, styles: int, width: int = 16, blocks: int = 4) -> None:
        super().__init__()
        c = width
        self.styles = styles
        self.down = nn.ModuleList([_ConvNorm(3, c, 9, styles), _ConvNorm(c, 2 * c, 3, styles, 2),
                                   _ConvNorm(2 * c, 4 * c, 3, styles, 2)])
        self.res = nn.ModuleList([_Residual(4 * c, styles) for _ in range(blocks)])
        self.up = nn.ModuleList([_ConvNorm(4 * c, 2 * c, 3, styles, up=True),
                                 _ConvNorm(2 * c, c, 3, styles, up=True)])
        self.out = nn.Conv2d(c, 3, 9, padding=4, padding_mode="reflect")

    def forward(self, rgb: Tensor, w: Tensor) -> Tensor:
        h, wd = rgb.shape[-2:]
        ph, pw = (-h) % 4, (-wd) % 4
        x = F.pad(rgb, (0, pw, 0, ph), mode="reflect") if ph or pw else rgb
        w = w.to(rgb.dtype).expand(rgb.shape[0], -1)
        for layer in self.down:
            x = layer(x, w)
        for layer in self.res:
            x = layer(x, w)
        for layer in self.up:
            x = layer(x, w)
        return torch.sigmoid(self.out(x))[..., :h, :wd]

    def norms(self) -> list[CondInstanceNorm]:
        return [m for m in self.modules() if isinstance(m, CondInstanceNorm)]

    def add_style(self) -> int:
        """Append one style slot initialised to the mean of the others; returns its index."""
        for norm in self.norms():
            for name in ("gamma", "beta"):
                p = getattr(norm, name)
                grown = torch.cat([p.data, p.data.mean(0, keepdim=True)])
                setattr(norm, name, nn.Parameter(grown))
        self.styles += 1
        return self.styles - 1

    def style_params(self, index: int) -> dict[str, Tensor]:
        """The normalisation parameters of one style: {"<norm path>.gamma": (C,), ...}."""
        out = {}
        for name, m in self.named_modules():
            if isinstance(m, CondInstanceNorm):
                out[f"{name}.gamma"] = m.gamma.data[index]
                out[f"{name}.beta"] = m.beta.data[index]
        return out

    def set_style_params(self, index: int, params: dict[str, Tensor]) -> None:
        for name, m in self.named_modules():
            if isinstance(m, CondInstanceNorm):
                m.gamma.data[index] = params[f"{name}.gamma"]
                m.beta.data[index] = params[f"{name}.beta"]


@register_arch("FastStyleNet")
def build_faststylenet(entry) -> FastStyleNet:
    return FastStyleNet(len(entry.recipe.get("style_names", [])),
                        width=entry.recipe.get("width", 16), blocks=entry.recipe.get("blocks", 4))
