"""The shipped colorizer is two networks as one: the U-Net and the semantic decoder share one
encoder pass, and their distributions are averaged in the log domain."""

import torch
import torch.nn.functional as F

from neuron_desktop.models.colorization import (
    ColorizationNet,
    ColorizerEnsemble,
    SemanticColorizer,
)
from neuron_desktop.models.registry import load
from neuron_desktop.models.weights import save_weights
from neuron_desktop.pipelines.colorize import pad_multiple
from neuron_desktop.train import colorize_semantic as cs


def _members(tmp_path):
    torch.manual_seed(0)
    unet = ColorizationNet(width=4, pretrained_semantic=False)
    sem = SemanticColorizer(widths=(8, 8, 8), pretrained_semantic=False)
    for net in (unet, sem):
        net.prior_log_weights.copy_(torch.randn(net.num_bins))
        for p in net.parameters():
            p.data.normal_(0, 0.1)
    save_weights("u", unet.trainable_state_dict(), directory=tmp_path, task="colorization",
                 arch="ColorizationNet", preprocessing={"arch": {"width": 4, "semantic": True}})
    save_weights("s", sem.trainable_state_dict(), directory=tmp_path, task="colorization",
                 arch="SemanticColorizer", preprocessing={"arch": {"widths": [8, 8, 8]}})
    return unet.eval(), sem.eval()


def test_ensemble_file_averages_its_members_log_probabilities(tmp_path):
    unet, sem = _members(tmp_path)
    cs.main(["ensemble", "--unet", f"{tmp_path}:u", "--semantic", f"{tmp_path}:s",
             "--weight", "0.7", "--name", "ens", "--weights-dir", str(tmp_path)])
    ens = load("ens", directory=tmp_path)
    assert isinstance(ens, ColorizerEnsemble) and pad_multiple(ens) == 32
    assert ens.unet.semantic is ens.sem.semantic  # one encoder in memory
    sem.semantic.load_state_dict(ens.sem.semantic.state_dict())  # the same encoder weights
    unet.semantic = sem.semantic
    l = torch.rand(1, 1, 64, 96) - 0.5
    ab, mask = torch.zeros(1, 2, 64, 96), torch.zeros(1, 1, 64, 96)
    ab[..., 10:14, 20:24], mask[..., 10:14, 20:24] = 0.3, 1
    with torch.no_grad():
        out = ens(l, ab, mask)
        a = unet(l, ab, mask)
        b = F.interpolate(sem(l, ab, mask), size=a.shape[-2:], mode="bilinear",
                          align_corners=False)
    assert out.shape == (1, unet.num_bins, 32, 48)
    expected = 0.7 * F.log_softmax(a, 1) + 0.3 * F.log_softmax(b, 1)
    assert torch.allclose(out, expected, atol=1e-4)
    assert torch.allclose(ens.prior_log_weights,
                          0.7 * unet.prior_log_weights + 0.3 * sem.prior_log_weights)
    assert not any("semantic." in k for k in ens.trainable_state_dict())
    # decoding with prior correction = each member corrected, then averaged
    alpha, t = 0.4, 0.2
    corrected = 0.7 * F.log_softmax(a - alpha * unet.prior_log_weights.view(1, -1, 1, 1), 1) \
        + 0.3 * F.log_softmax(b - alpha * sem.prior_log_weights.view(1, -1, 1, 1), 1)
    assert torch.allclose(ens.decode(out, t, alpha), unet.decode(corrected, t), atol=1e-3)


def test_ensemble_refuses_members_of_the_wrong_kind(tmp_path):
    _members(tmp_path)
    import pytest

    with pytest.raises(SystemExit, match="ColorizationNet and a SemanticColorizer"):
        cs.main(["ensemble", "--unet", f"{tmp_path}:s", "--semantic", f"{tmp_path}:u",
                 "--weights-dir", str(tmp_path)])
