"""The fast style network's training loss: the per-style content factor."""

import pytest
import torch

from neuron_desktop.models.style import StyleFeatures, gram
from neuron_desktop.train.style import StyleRecipe, perceptual_loss


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    net = StyleFeatures(pretrained=False)
    photo, out = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    targets = [gram(f) for f in net(torch.rand(2, 3, 64, 64))]
    return net, photo, out, targets


def test_unit_factors_give_the_plain_loss(setup):
    net, photo, out, targets = setup
    recipe = StyleRecipe(content_weight=3.0)
    plain = perceptual_loss(net, out, photo, targets, recipe)
    ones = perceptual_loss(net, out, photo, targets, recipe, torch.ones(2))
    assert torch.allclose(plain["total"], ones["total"], rtol=1e-5)


def test_a_boosted_style_weighs_its_samples_content_more(setup):
    net, photo, out, targets = setup
    recipe = StyleRecipe(content_weight=3.0)
    plain = perceptual_loss(net, out, photo, targets, recipe)
    first = perceptual_loss(net, out, photo, targets, recipe, torch.tensor([5.0, 1.0]))
    second = perceptual_loss(net, out, photo, targets, recipe, torch.tensor([1.0, 5.0]))
    assert first["total"] > plain["total"] and second["total"] > plain["total"]
    # the logged content term stays the plain one; only the weighting of the total moves
    assert torch.allclose(first["content"], plain["content"])
    # (5 a + b) + (a + 5 b) = 6 (a + b): the two boosts add to six times the plain term
    extra = first["total"] + second["total"] - 2 * plain["total"]
    assert torch.allclose(extra, 3.0 * 4 * plain["content"], rtol=1e-4)
