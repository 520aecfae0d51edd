"""Issue 25: `train --init` with a checkpoint that does not fit is an error, not a silent
start from scratch; a pickled checkpoint is refused in one line."""

import pickle

import pytest
import torch

from neuron_desktop.core.errors import NeuronError, describe_failure
from neuron_desktop.models.colorization import ColorizationNet
from neuron_desktop.train.runs import load_init


def test_init_checkpoint_must_fit(tmp_path):
    net = ColorizationNet(width=16, semantic=False)
    own = {k: v.clone() + 1 for k, v in net.trainable_state_dict().items()}
    load_init(net, own, "ok.pt")
    key = next(iter(own))
    assert torch.equal(net.state_dict()[key], own[key])
    other = ColorizationNet(width=8, semantic=False).trainable_state_dict()
    with pytest.raises(NeuronError, match="another shape"):
        load_init(net, other, "narrow.pt")
    with pytest.raises(NeuronError, match="another network"):
        load_init(net, {"conv.weight": torch.zeros(3)}, "alien.pt")


def test_pickled_checkpoint_message():
    message, code = describe_failure(pickle.UnpicklingError("Weights only load failed ..."))
    assert code == 1 and "arbitrary code" in message and "\n" not in message
