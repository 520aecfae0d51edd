"""Function-preserving widening of a trained colorizer (Net2WiderNet, Chen et al. 2016).

A wider ``ColorizationNet`` starts as the narrower one: every new channel copies an old one
(its convolution row and batch-norm statistics) and the layers reading it split that channel's
weight among its copies, so the wider network computes the same logits. A little noise on the
copies lets them drift apart when training continues. More capacity, without starting over.
"""

from __future__ import annotations

import torch
from torch import Tensor

from neuron_desktop.models.colorization import ColorizationNet
from neuron_desktop.models.registry import load_state


def widen_colorizer(net: ColorizationNet, width: int, noise: float = 0.01,
                    seed: int = 0) -> ColorizationNet:
    """A ``ColorizationNet`` of ``width`` computing what ``net`` does (exactly at noise 0)."""
    old = net.state_dict()
    w = net.enc1[0].out_channels
    if width < w:
        raise ValueError(f"cannot widen a width-{w} colorizer to {width}")
    gen = torch.Generator().manual_seed(seed)
    wide = ColorizationNet(width=width, semantic=net.semantic is not None,
                           num_bins=net.num_bins, pretrained_semantic=False)
    new: dict[str, Tensor] = {}

    def mapping(k: int) -> Tensor:  # new channel -> the old channel it copies
        extra = torch.randint(0, k * w, (k * (width - w),), generator=gen)
        return torch.cat([torch.arange(k * w), extra])

    def split_inputs(weight: Tensor, parts: list[tuple[Tensor | None, int]]) -> Tensor:
        cols, start = [], 0
        for g, n in parts:  # concatenated inputs: (mapping or None if unchanged, old size)
            seg = weight[:, start:start + n]
            if g is not None:
                share = torch.bincount(g, minlength=n).to(weight.dtype)[g]
                seg = seg[:, g] / share.view(1, -1, *([1] * (weight.dim() - 2)))
            cols.append(seg)
            start += n
        return torch.cat(cols, 1)

    def conv_bn(prefix: str, parts: list[tuple[Tensor | None, int]], k: int) -> Tensor:
        g = mapping(k)
        weight = split_inputs(old[f"{prefix}.0.weight"], parts)[g]
        copies = weight[k * w:]
        weight[k * w:] = copies + noise * copies.std() * torch.randn(copies.shape, generator=gen)
        new[f"{prefix}.0.weight"] = weight
        for name in ("weight", "bias", "running_mean", "running_var"):
            new[f"{prefix}.1.{name}"] = old[f"{prefix}.1.{name}"][g]
        new[f"{prefix}.1.num_batches_tracked"] = old[f"{prefix}.1.num_batches_tracked"]
        return g

    def joins(prefix: str, g: Tensor) -> None:  # a 1x1 conv added onto a widened tensor
        new[f"{prefix}.weight"] = old[f"{prefix}.weight"][g]
        new[f"{prefix}.bias"] = old[f"{prefix}.bias"][g]

    g = conv_bn("enc1", [(None, 4)], 1)
    g = conv_bn("enc2.0", [(g, w)], 2)
    g2 = conv_bn("enc2.1", [(g, 2 * w)], 2)
    g = conv_bn("enc4.0", [(g2, 2 * w)], 4)
    g4 = conv_bn("enc4.1", [(g, 4 * w)], 4)
    g = conv_bn("enc8.0", [(g4, 4 * w)], 8)
    g = conv_bn("enc8.1", [(g, 8 * w)], 8)
    joins("hint8", g)
    joins("hint2", g2)
    if net.semantic is not None:
        for i in range(len(net.fuse)):
            joins(f"fuse.{i}", g)
    for i in range(len(net.mid)):
        g = conv_bn(f"mid.{i}", [(g, 8 * w)], 8)
    g = conv_bn("dec4.0", [(g, 8 * w), (g4, 4 * w)], 4)
    g = conv_bn("dec4.1", [(g, 4 * w)], 4)
    g = conv_bn("dec2.0", [(g, 4 * w), (g2, 2 * w)], 4)
    g = conv_bn("dec2.1", [(g, 4 * w)], 4)
    new["head.weight"] = split_inputs(old["head.weight"], [(g, 4 * w)])
    new["head.bias"] = old["head.bias"]
    new["prior_log_weights"] = old["prior_log_weights"]
    if net.semantic is not None:  # the frozen encoder moves over as it is
        wide.semantic = net.semantic
    load_state(wide, new, f"colorizer widened to {width}")  # every trainable key, or an error
    return wide
