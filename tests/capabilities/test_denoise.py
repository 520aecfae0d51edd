"""The denoiser, added as the walk-through in docs/architecture.md says: pipeline,
capability, and it appears in the CLI and the editor without touching either."""

import numpy as np
import pytest
import torch
from PIL import Image

from neuron_desktop import capabilities
from neuron_desktop.capabilities import Inputs
from neuron_desktop.cli import build_parser, main
from neuron_desktop.core.progress import run_pipeline


def _noisy(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    clean = torch.linspace(0.2, 0.8, 64).view(1, 1, 1, 64).expand(1, 3, 48, 64).contiguous()
    return clean, (clean + 0.06 * torch.randn(clean.shape, generator=g)).clamp(0, 1)


def test_denoise_capability_reduces_noise():
    clean, noisy = _noisy()
    cap = capabilities.get("denoise")
    out = run_pipeline(cap.pipeline(Inputs(noisy), {"strength": 0.7}))
    assert out.shape == noisy.shape
    assert (out - clean).abs().mean() < 0.5 * (noisy - clean).abs().mean()


def test_denoise_strength_is_checked():
    with pytest.raises(Exception, match="between 0 and 1"):
        capabilities.get("denoise").pipeline(Inputs(_noisy()[1]), {"strength": 2.0})


def test_denoise_is_a_cli_command(tmp_path):
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray((_noisy()[1][0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(src)
    assert "denoise" in build_parser().format_help()
    assert main(["denoise", str(src), "-o", str(out), "--strength", "0.6", "-q"]) == 0
    assert Image.open(out).size == (64, 48)
