"""The restorer: a small residual U-Net that removes grain, noise, blur, fading and JPEG
damage from old scans (trained on :mod:`neuron_desktop.data.degrade`).

Input and output are RGB ``(B, 3, H, W)`` in [0, 1] (H, W multiples of 8); the network
works on 2x2 pixel-unshuffled planes (a quarter of the pixels at full width) and predicts a
correction added to its input.

The tiles the network sees are too small to know where a faded print's black and white
points were, so an optional :class:`ToneHead` predicts one tone correction for the whole
photo from its global statistics (``pipelines.restore.tone_features``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuron_desktop.models.blocks import zero_init
from neuron_desktop.models.registry import register_arch


class ResBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.a = nn.Conv2d(c, c, 3, padding=1)
        self.b = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.b(F.leaky_relu(self.a(x), 0.1))


class ToneHead(nn.Module):
    """Whole-photo tone correction ``a * restored + b`` (the same on every channel) from
    :data:`TONE_FEATURES` global statistics; starts as the identity (a = 1, b = 0)."""

    def __init__(self, hidden: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(TONE_FEATURES, hidden), nn.Tanh(),
                                 nn.Linear(hidden, 2))
        zero_init(self.net[2])

    def forward(self, features: Tensor) -> Tensor:
        """(B, TONE_FEATURES) -> (B, 2): the gain a and offset b."""
        d = self.net(features)
        return torch.stack([1 + d[:, 0], d[:, 1]], 1)


TONE_FEATURES = 31  # luma quantiles of the scan and of the restored photo (15 each), noise


DEPTH = (1, 2, 2, 2, 1)  # residual blocks: encoder 2, encoder 4, middle 8, decoder 4, decoder 2


class Restorer(nn.Module):
    """Three levels (2, 4, 8 px strides) of residual blocks with skips, and optionally the
    whole-photo :class:`ToneHead`. ``depth`` counts the blocks per stage (:data:`DEPTH`); the
    stages of a deeper network keep the names of the shallower one's, so its weights load
    into the deeper one (``deepened``)."""

    pad_multiple = 8

    def __init__(self, widths: tuple[int, int, int] = (32, 64, 128),
                 depth: tuple[int, ...] = DEPTH, tone: bool = False) -> None:
        super().__init__()
        self.tone = ToneHead() if tone else None
        a, b, c = widths
        e2, e4, m8, d4, d2 = depth
        self.inp = nn.Conv2d(12, a, 3, padding=1)
        self.enc2 = nn.Sequential(*[ResBlock(a) for _ in range(e2)])
        self.down4 = nn.Conv2d(a, b, 2, 2)
        self.enc4 = nn.Sequential(*[ResBlock(b) for _ in range(e4)])
        self.down8 = nn.Conv2d(b, c, 2, 2)
        self.mid = nn.Sequential(*[ResBlock(c) for _ in range(m8)])
        self.up4 = nn.ConvTranspose2d(c, b, 2, 2)
        self.dec4 = nn.Sequential(*[ResBlock(b) for _ in range(d4)])
        self.up2 = nn.ConvTranspose2d(b, a, 2, 2)
        self.dec2 = ResBlock(a)  # a single block: the name the first weights were saved under
        self.dec2_more = nn.Sequential(*[ResBlock(a) for _ in range(d2 - 1)])
        self.out = nn.Conv2d(a, 12, 3, padding=1)
        zero_init(self.out)

    def deepened(self, loaded: set[str]) -> int:
        """Make every block whose weights are not in ``loaded`` (state-dict keys) an identity
        (its last convolution zeroed), so a shallower network's weights give the same
        output in this deeper one; returns how many blocks that was."""
        n = 0
        for name, m in self.named_modules():
            if isinstance(m, ResBlock) and f"{name}.b.weight" not in loaded:
                zero_init(m.b)
                n += 1
        return n

    def forward(self, x: Tensor) -> Tensor:
        y = F.pixel_unshuffle(x * 2 - 1, 2)
        s2 = self.enc2(self.inp(y))
        s4 = self.enc4(self.down4(s2))
        m = self.mid(self.down8(s4))
        d4 = self.dec4(self.up4(m) + s4)
        d2 = self.dec2_more(self.dec2(self.up2(d4) + s2))
        return x + F.pixel_shuffle(self.out(d2), 2) / 2


def state_depth(state: dict) -> list[int]:
    """The blocks per stage (:data:`DEPTH`'s order) of a :class:`Restorer` state dict."""
    def count(prefix: str) -> int:
        return len({k.split(".")[1] for k in state
                    if k.startswith(prefix + ".") and k.endswith(".b.weight")})

    return [count("enc2"), count("enc4"), count("mid"), count("dec4"), 1 + count("dec2_more")]


@register_arch("Restorer")
def build_restorer(entry) -> Restorer:
    """The layout recorded with the weights (``preprocessing.arch``)."""
    arch = entry.preprocessing.get("arch", {})
    return Restorer(widths=tuple(arch.get("widths", (32, 64, 128))),
                    depth=tuple(arch.get("depth", DEPTH)), tone=bool(arch.get("tone", False)))
