import pytest
import torch
import torch.nn.functional as F

from neuron_desktop.core.color import lab_to_rgb, rgb_to_lab
from neuron_desktop.core.progress import Cancelled, CancelToken, run_pipeline
from neuron_desktop.pipelines.refine import refine_colors


def _smooth(shape, seed=0):
    torch.manual_seed(seed)
    return F.interpolate(torch.rand(*shape[:2], 4, 4), size=shape[2:], mode="bilinear")


def _tv(x):
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., 1:] - x[..., :-1]).abs().mean()


def test_constant_colour_stays_constant():
    image = torch.tensor([0.7, 0.4, 0.2]).view(1, 3, 1, 1).expand(1, 3, 24, 32).contiguous()
    events = []
    out = run_pipeline(refine_colors(image, radius=5), on_progress=events.append)
    assert out.shape == image.shape and out.dtype == torch.float32
    assert torch.allclose(out, image, atol=2e-4)
    assert events[0].fraction == 0.0 and events[-1].fraction == 1.0


def test_noisy_chroma_gets_smoother_and_keeps_guide_l():
    clean = _smooth((1, 3, 48, 64))
    lab = rgb_to_lab(clean)
    torch.manual_seed(1)
    noisy_lab = torch.cat([lab[:, :1], lab[:, 1:] + 8 * torch.randn(1, 2, 48, 64)], dim=1)
    noisy = lab_to_rgb(noisy_lab)
    out = run_pipeline(refine_colors(noisy, guide=clean, radius=4, eps=1e-3))
    out_lab = rgb_to_lab(out)
    assert _tv(out_lab[:, 1:]) < 0.5 * _tv(rgb_to_lab(noisy)[:, 1:])
    assert (out_lab[:, 1:] - lab[:, 1:]).abs().mean() < (noisy_lab[:, 1:] - lab[:, 1:]).abs().mean()
    assert torch.allclose(out_lab[:, :1], lab[:, :1], atol=0.5)  # L (0..100) is the guide's


def test_gray_guide_and_keep_image_luminance():
    clean = _smooth((1, 3, 32, 32), seed=2)
    gray = clean.mean(dim=1, keepdim=True)
    out = run_pipeline(refine_colors(clean, guide=gray, radius=3))
    gray_l = rgb_to_lab(gray.expand(-1, 3, -1, -1))[:, :1]
    diff = (rgb_to_lab(out)[:, :1] - gray_l).abs()
    assert diff.mean() < 0.2 and diff.max() < 5  # out-of-gamut (L, ab) get clipped in RGB
    kept = run_pipeline(refine_colors(clean, guide=gray, radius=3, keep_guide_luminance=False))
    assert torch.allclose(rgb_to_lab(kept)[:, :1], rgb_to_lab(clean)[:, :1], atol=0.5)


@pytest.mark.parametrize("subsample", [1, 4])
def test_low_res_image_with_full_res_guide(subsample):
    guide = _smooth((1, 3, 96, 128), seed=3)
    small = F.interpolate(guide, size=(24, 32), mode="bilinear", antialias=True)
    out = run_pipeline(refine_colors(small, guide=guide, radius=8, subsample=subsample))
    assert out.shape == guide.shape
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert (out - guide).abs().mean() < 0.02


def test_cancel():
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run_pipeline(refine_colors(torch.rand(1, 3, 8, 8)), cancel=token)
    gen = refine_colors(torch.rand(1, 3, 8, 8), cancel=token)
    with pytest.raises(Cancelled):
        list(gen)
