"""The inpainting evaluation report scores the scratch network when it is installed."""

import cv2
import numpy as np
import pytest
import torch

from neuron_desktop.core.progress import run_pipeline
from neuron_desktop.models.scratch_net import ScratchNet
from neuron_desktop.models.weights import save_weights
from neuron_desktop.pipelines import scratches as ps


def _photo(seed, h=96, w=128):
    """Smooth colour fields with fine grain (float32 (H, W, 3) [0, 1])."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.random((4, 5, 3)).astype(np.float32), (w, h),
                      interpolation=cv2.INTER_CUBIC)
    grain = cv2.GaussianBlur(rng.normal(0, 0.04, (h, w)).astype(np.float32), (0, 0), 1.5)
    return np.clip(0.15 + 0.7 * base + grain[..., None], 0, 1).astype(np.float32)


@pytest.fixture
def tiny_weights(tmp_path, monkeypatch):
    """A random ScratchNet(width=4) installed in a throw-away weights folder."""
    torch.manual_seed(0)
    net = ScratchNet(width=4).eval()
    directory = tmp_path / "weights"
    save_weights(ps.NET_WEIGHTS, net.state_dict(), directory=directory,
                 task="scratch-detection", arch="ScratchNet", recipe={"width": 4},
                 preprocessing={"threshold": 0.5, "dilate": False})
    monkeypatch.setenv("NEURON_WEIGHTS_DIR", str(directory))
    return net


def test_evaluation_scores_the_network_when_installed(tiny_weights, tmp_path):
    from neuron_desktop.evaluation.inpaint import evaluate

    path = tmp_path / "p.png"
    cv2.imwrite(str(path), (_photo(6) * 255).astype(np.uint8))
    report = run_pipeline(evaluate([path], methods=("telea",)))
    for old in ("", "_old"):
        assert set(report["detector_network" + old]) == set(report["detector"])
        assert report["detector_network" + old] != report["detector" + old]
