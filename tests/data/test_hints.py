"""Training hints sampled from the true colours."""

import torch

from neuron_desktop.data.hints import hints_from_truth


def test_hints_from_truth_paint_patch_means():
    ab = torch.zeros(1, 2, 20, 20)
    ab[0, 0, :, 10:] = 40.0
    hint_ab, mask = hints_from_truth(ab, [[(5, 9, 3)]])
    assert mask.sum() == 9
    assert torch.allclose(hint_ab[0, 0, 4:7, 8:11], torch.full((3, 3), 40.0 / 3))
