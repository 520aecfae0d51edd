"""Small random colorizers saved as weights, for the pair and scene-head tests."""

import torch

from neuron_desktop.models.colorization import ColorizationNet
from neuron_desktop.models.weights import save_weights


def random_colorizer(width, seed, prior=None):
    torch.manual_seed(seed)
    net = ColorizationNet(width=width, pretrained_semantic=False)
    for p in net.parameters():
        p.data.normal_(0, 0.1)
    net.prior_log_weights.copy_(torch.randn(net.num_bins) if prior is None else prior)
    return net.eval()


def save_members():
    """A width-6 automatic ('wide') and a width-4 hint ('small') colorizer sharing one prior
    and one encoder, saved in the current weights folder."""
    auto = random_colorizer(6, 0)
    hinted = random_colorizer(4, 1, auto.prior_log_weights)
    hinted.semantic = auto.semantic  # the pair shares one encoder (same frozen weights)
    for name, net, width in (("wide", auto, 6), ("small", hinted, 4)):
        save_weights(name, net.trainable_state_dict(), task="colorization", recipe={"lr": width},
                     arch="ColorizationNet", preprocessing={"arch": {"width": width,
                                                                    "semantic": True}})
    return auto, hinted
