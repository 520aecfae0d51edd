"""Scratch/dust detector on generated photos with synthetic damage."""

import cv2
import numpy as np
import pytest
import torch

from neuron_desktop.core.errors import NeuronError
from neuron_desktop.core.progress import Cancelled, CancelToken, run_pipeline
from neuron_desktop.data.damage import damage
from neuron_desktop.evaluation.inpaint import DetectorScore
from neuron_desktop.pipelines import inpaint as inpaint_mod
from neuron_desktop.pipelines.scratches import detect_scratches, scratch_mask


def _photo(seed, h=256, w=320):
    """Smooth colour fields with fine grain: a photo-like background without thin lines."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.random((4, 5, 3)).astype(np.float32), (w, h),
                      interpolation=cv2.INTER_CUBIC)
    grain = cv2.GaussianBlur(rng.normal(0, 0.04, (h, w)).astype(np.float32), (0, 0), 1.5)
    return np.clip(0.15 + 0.7 * base + grain[..., None], 0, 1).astype(np.float32)


def test_finds_synthetic_damage():
    score = DetectorScore()
    for s in range(4):
        damaged, mask = damage(_photo(s), 100 + s)
        score.add(scratch_mask(damaged), mask > 0)
    r = score.result()
    assert r["precision_1px"] > 0.8 and r["recall_1px"] > 0.8, r
    assert r["recall"] > 0.7, r


def test_detector_score_counts_marks():
    true = np.zeros((40, 60), bool)
    true[5, 5:50] = True  # a scratch
    true[20:22, 10:12] = True  # three specks
    true[30, 30] = True
    true[35, 50] = True
    pred = np.zeros_like(true)
    pred[5, 5:20] = pred[5, 30:50] = True  # the scratch in two pieces
    pred[22, 12] = True  # next to the first speck
    pred[15, 40] = True  # a false speck
    score = DetectorScore()
    score.add(pred, true)
    r = score.result()
    assert r["marks_recall"] == 2 / 4 and r["marks_precision"] == 3 / 4
    assert r["marks_f1"] == 2 * 0.5 * 0.75 / 1.25
    assert r["recall"] == 35 / 51 and r["precision"] == 35 / 37


def test_clean_photo_gives_almost_nothing():
    for s in range(3):
        assert scratch_mask(_photo(10 + s)).mean() < 0.001


def test_sensitivity_orders_the_masks():
    damaged, _ = damage(_photo(5), 7)
    low, mid, high = (scratch_mask(damaged, s).sum() for s in (0.0, 0.5, 1.0))
    assert low <= mid <= high and high > low


def test_pipeline_contract_and_editor_entry_point():
    damaged, _ = damage(_photo(1), 3)
    image = torch.from_numpy(damaged).permute(2, 0, 1)[None]
    events = []
    mask = run_pipeline(detect_scratches(image), on_progress=events.append)
    assert mask.shape == (1, 1, *damaged.shape[:2]) and mask.dtype == torch.float32
    assert set(mask.unique().tolist()) <= {0.0, 1.0} and mask.any()
    assert events[-1].fraction == 1.0
    # the editor calls pipelines.inpaint.detect_scratches(image, device=..., cancel=...)
    same = run_pipeline(inpaint_mod.detect_scratches(image, device="cpu", cancel=CancelToken()))
    assert torch.equal(same, mask)


def test_large_photo_is_analysed_downscaled():
    damaged, _ = damage(_photo(2, 1200, 2600), 4)
    mask = scratch_mask(damaged)
    assert mask.shape == damaged.shape[:2] and mask.any()


def test_bad_arguments_and_cancel():
    image = torch.rand(1, 3, 32, 32)
    with pytest.raises(NeuronError):
        detect_scratches(image, sensitivity=1.5)
    with pytest.raises(NeuronError):
        detect_scratches(torch.rand(1, 1, 32, 32))
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run_pipeline(detect_scratches(image, cancel=token))
