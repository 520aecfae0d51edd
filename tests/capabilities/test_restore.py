"""The restorer, the network capability added as the walk-through in docs/architecture.md
says: a model registered for its manifest ``arch``, shipped weights, a pipeline and one
capability module; the CLI command and the editor tab follow from the declaration."""

import numpy as np
import pytest
import torch
from PIL import Image

from neuron_desktop import capabilities
from neuron_desktop.capabilities import Inputs
from neuron_desktop.cli import build_parser, main
from neuron_desktop.core.progress import run_pipeline
from neuron_desktop.models.restore import Restorer
from neuron_desktop.models.weights import get_entry, installed


def _photo() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    ramp = torch.linspace(0.2, 0.8, 64).view(1, 1, 1, 64).expand(1, 3, 48, 64)
    return (ramp + 0.05 * torch.randn(ramp.shape, generator=g)).clamp(0, 1)


def test_declaration_names_its_weights_and_the_manifest_its_arch():
    cap = capabilities.get("restore")
    assert cap.weights == ("restorer",)
    assert get_entry("restorer").arch == "Restorer"
    reason = cap.available()
    if installed("restorer"):
        assert reason is None
    else:
        assert "not installed" in reason


@pytest.mark.skipif(not installed("restorer"), reason="restorer weights not installed")
def test_capability_runs_the_registered_network():
    cap = capabilities.get("restore")
    x = _photo()
    out = run_pipeline(cap.pipeline(Inputs(x), {"strength": 1.0}, device="cpu"))
    assert out.shape == x.shape and torch.isfinite(out).all()
    same = run_pipeline(cap.pipeline(Inputs(x), {"strength": 0.0}, device="cpu"))
    assert torch.allclose(same, x, atol=1e-6)
    from neuron_desktop.models.registry import load_as

    assert isinstance(load_as(Restorer, "restorer", "cpu"), Restorer)


def test_strength_is_checked():
    with pytest.raises(Exception, match="between 0 and 1"):
        capabilities.get("restore").pipeline(Inputs(_photo()), {"strength": 1.5})


@pytest.mark.skipif(not installed("restorer"), reason="restorer weights not installed")
def test_restore_is_a_cli_command(tmp_path):
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray((_photo()[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(src)
    assert "restore" in build_parser().format_help()
    assert main(["restore", str(src), "-o", str(out), "--strength", "0.5", "--no-keep-tone",
                 "-q", "--device", "cpu"]) == 0
    assert Image.open(out).size == (64, 48)
