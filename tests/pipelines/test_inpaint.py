import cv2
import numpy as np
import pytest
import torch

from neuron_desktop.core.errors import MaskError, NeuronError
from neuron_desktop.core.progress import Progress, run_pipeline
from neuron_desktop.pipelines.inpaint import (
    CLASSICAL_METHODS,
    INPAINT_METHODS,
    composite,
    inpaint,
    validate_mask,
)


def _hole(h, w, box=(10, 20, 12, 25)):
    mask = torch.zeros(1, 1, h, w)
    y0, y1, x0, x1 = box
    mask[..., y0:y1, x0:x1] = 1
    return mask


def _gradient(h, w):
    ys = torch.linspace(0, 1, h)[:, None].expand(h, w)
    xs = torch.linspace(0, 1, w)[None, :].expand(h, w)
    return torch.stack([0.2 + 0.6 * xs, 0.3 + 0.4 * ys, 0.5 + 0.2 * (xs - ys) / 2])[None]


def test_classical_methods_registered():
    assert set(CLASSICAL_METHODS) <= set(INPAINT_METHODS)


@pytest.mark.parametrize("method", CLASSICAL_METHODS)
def test_outside_mask_bit_exact(method):
    torch.manual_seed(1)
    image = torch.rand(1, 3, 37, 51)  # full float precision, not 8-bit values
    mask = _hole(37, 51)
    events = []
    result = run_pipeline(inpaint(image, mask, method=method), on_progress=events.append)
    assert result.shape == image.shape and result.dtype == torch.float32
    outside = mask.expand_as(image) == 0
    assert torch.equal(result[outside], image[outside])
    assert not torch.equal(result[~outside], image[~outside])
    assert float(result.min()) >= 0.0 and float(result.max()) <= 1.0
    fractions = [e.fraction for e in events]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)


@pytest.mark.parametrize("method", CLASSICAL_METHODS)
def test_fills_smooth_gradient(method):
    clean = _gradient(48, 64)
    mask = _hole(48, 64, (18, 28, 25, 37))
    damaged = torch.where(mask.bool(), torch.tensor([1.0, 0.0, 1.0])[None, :, None, None], clean)
    result = run_pipeline(inpaint(damaged, mask, method=method, radius=5))
    hole = mask.expand_as(clean).bool()
    err = (result[hole] - clean[hole]).abs()
    assert float(err.max()) < 0.06 and float(err.mean()) < 0.02
    assert torch.equal(result[~hole], damaged[~hole])


def test_accepts_2d_and_bool_masks():
    image = torch.rand(1, 3, 20, 30)
    mask = torch.zeros(20, 30, dtype=torch.bool)
    mask[5:9, 5:9] = True
    result = run_pipeline(inpaint(image, mask))
    assert torch.equal(result[..., 10:, :], image[..., 10:, :])
    binary = validate_mask(image, mask.float() * 0.7)
    assert binary.shape == (1, 1, 20, 30) and binary.dtype == torch.float32
    assert set(binary.unique().tolist()) == {0.0, 1.0}


def test_mask_size_mismatch():
    image = torch.rand(1, 3, 20, 30)
    with pytest.raises(MaskError, match=r"31x20.*30x20"):
        validate_mask(image, torch.ones(1, 1, 20, 31))
    with pytest.raises(MaskError):
        run_pipeline(inpaint(image, torch.ones(10, 10)))


def test_empty_mask():
    image = torch.rand(1, 3, 8, 8)
    with pytest.raises(MaskError, match="mask is empty"):
        inpaint(image, torch.zeros(1, 1, 8, 8))
    with pytest.raises(MaskError, match="mask is empty"):
        validate_mask(image, torch.full((8, 8), 0.4))


def test_unknown_method_lists_methods():
    image = torch.rand(1, 3, 8, 8)
    with pytest.raises(NeuronError, match="telea.*ns"):
        run_pipeline(inpaint(image, _hole(8, 8, (2, 4, 2, 4)), method="magic"))


def test_composite_bit_exact_and_soft():
    image = torch.rand(1, 3, 10, 10)
    prediction = torch.rand(1, 3, 10, 10)
    mask = torch.zeros(1, 1, 10, 10)
    mask[..., :5, :] = 1
    mask[..., 5, :] = 0.25
    out = composite(image, prediction, mask)
    assert torch.equal(out[..., 6:, :], image[..., 6:, :])
    assert torch.equal(out[..., :5, :], prediction[..., :5, :])
    assert torch.allclose(out[..., 5, :], 0.25 * prediction[..., 5, :] + 0.75 * image[..., 5, :])


def test_composite_of_a_binary_mask_is_the_formula_bit_for_bit():
    g = torch.Generator().manual_seed(0)
    image, prediction = torch.rand(1, 3, 32, 40, generator=g), torch.rand(1, 3, 32, 40, generator=g)
    mask = (torch.rand(1, 1, 32, 40, generator=g) > 0.6).float()
    fast = composite(image, prediction, mask, binary=True)
    assert torch.equal(fast, composite(image, prediction, mask))
    assert torch.equal(fast, mask * prediction + (1 - mask) * image)


def test_extension_method_is_used(monkeypatch):
    def flat(image, mask, *, radius, device, cancel):
        yield Progress(0.5, "half")
        return torch.full_like(image, 0.5)

    monkeypatch.setitem(INPAINT_METHODS, "flat", flat)
    image = torch.rand(1, 3, 8, 8)
    mask = _hole(8, 8, (2, 4, 2, 4))
    result = run_pipeline(inpaint(image, mask, method="flat"))
    assert torch.all(result[mask.expand_as(image).bool()] == 0.5)
    assert torch.equal(result[~mask.expand_as(image).bool()], image[~mask.expand_as(image).bool()])


@pytest.mark.parametrize(
    "method,flag", [("telea", cv2.INPAINT_TELEA), ("ns", cv2.INPAINT_NS)]
)
def test_matches_opencv_8bit_result(method, flag):
    torch.manual_seed(3)
    image = torch.nn.functional.avg_pool2d(torch.rand(1, 3, 60, 80), 5, 1, 2)
    mask = _hole(60, 80, (20, 32, 30, 45))
    result = run_pipeline(inpaint(image, mask, method=method, grain="off"))
    rgb8 = (image[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    hole8 = (mask[0, 0].numpy() * 255).astype(np.uint8)
    ref = torch.from_numpy(cv2.inpaint(rgb8, hole8, 3, flag)).permute(2, 0, 1)[None] / 255.0
    assert float((result - ref).abs().max()) < 0.03
