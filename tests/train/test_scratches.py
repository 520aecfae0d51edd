"""Scratch-detector training: damaged crops (exact masks, dust, old-print toning) and a
resumable smoke run that reports a threshold."""

import json

import cv2
import numpy as np
import pytest
import torch

from neuron_desktop.core.progress import run_pipeline
from neuron_desktop.models.scratch_net import ScratchNet
from neuron_desktop.train.scratches import (
    THRESHOLDS,
    ScratchRecipe,
    damaged_crop,
    train_scratch_net,
)


def _photo(seed, h=96, w=128):
    """Smooth colour fields with fine grain (float32 (H, W, 3) [0, 1])."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.random((4, 5, 3)).astype(np.float32), (w, h),
                      interpolation=cv2.INTER_CUBIC)
    grain = cv2.GaussianBlur(rng.normal(0, 0.04, (h, w)).astype(np.float32), (0, 0), 1.5)
    return np.clip(0.15 + 0.7 * base + grain[..., None], 0, 1).astype(np.float32)


def test_damaged_crop_mask_is_exact_and_clean_crops_stay_clean():
    rng = np.random.default_rng(0)
    crop = _photo(0, 64, 64)
    recipe = ScratchRecipe(p_clean=0.0, p_gray=0.0, p_old=0.0, photo_side=(96, 128))
    damaged_any = False
    for _ in range(5):
        out, mask = damaged_crop(crop, rng, recipe)
        changed = np.abs(out - crop).max(-1) > 0
        assert out.shape == crop.shape and mask.shape == (64, 64)
        assert np.array_equal(changed, mask > 0)
        damaged_any |= bool(mask.any())
    assert damaged_any
    out, mask = damaged_crop(crop, rng, ScratchRecipe(p_clean=1.0, p_gray=0.0, p_old=0.0))
    assert not mask.any() and np.array_equal(out, crop)


def test_recipe_dust_reaches_the_crops():
    crop = _photo(1, 128, 128)

    def specks(**dust):
        recipe = ScratchRecipe(p_clean=0.0, p_gray=0.0, photo_side=(128, 128), **dust)
        rng = np.random.default_rng(3)
        return sum(cv2.connectedComponents(damaged_crop(crop, rng, recipe)[1].astype(np.uint8))[0]
                   for _ in range(6))

    assert specks(dust=(60, 60)) > specks(dust=(0, 0)) + 100


def test_old_print_crops_are_toned_and_their_marks_stand_out():
    rng = np.random.default_rng(1)
    crop = _photo(0, 96, 96)
    clean, mask = damaged_crop(crop, rng, ScratchRecipe(p_clean=1.0, p_old=1.0))
    assert not mask.any()
    assert (clean[..., 0] >= clean[..., 2] - 0.03).mean() > 0.95  # warm or neutral tone
    recipe = ScratchRecipe(p_clean=0.0, p_old=1.0, photo_side=(128, 160))
    gaps = []
    for _ in range(6):
        out, mask = damaged_crop(crop, rng, recipe)
        assert out.shape == crop.shape and out.dtype == np.float32
        if mask.any() and (mask == 0).any():
            gaps.append(np.abs(out[mask > 0].mean(0) - out[mask == 0].mean(0)).max())
    assert gaps and max(gaps) > 0.03  # the marks differ from the print


@pytest.fixture
def photo_folder(tmp_path):
    """Six small photos; with val_fraction 0.5, p4.png is the validation split."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(6):
        rgb = (_photo(i) * 255 + 0.5).astype(np.uint8)
        cv2.imwrite(str(folder / f"p{i}.png"), rgb[..., ::-1])
    return folder


def test_training_smoke_run_resumes_and_reports_a_threshold(photo_folder, tmp_path):
    recipe = ScratchRecipe(data=[str(photo_folder)], val_fraction=0.5, steps=2, batch=2,
                           crop=48, width=4, photo_side=(64, 96), val_every=1, val_images=2)
    run_dir = tmp_path / "run"
    messages = []
    net, metrics = run_pipeline(train_scratch_net(recipe, run_dir, torch.device("cpu"),
                                                  log=messages.append))
    assert (run_dir / "checkpoint.pt").is_file()
    assert len((run_dir / "log.jsonl").read_text().splitlines()) == 2
    assert "1 validation photos" in messages[0]
    recipe.steps = 3
    net, metrics = run_pipeline(train_scratch_net(recipe, run_dir, torch.device("cpu"),
                                                  log=messages.append))
    assert any("resumed" in m and "at step 2" in m for m in messages)
    assert metrics["step"] == 3 and metrics["threshold"] in THRESHOLDS
    assert isinstance(metrics["dilate"], bool) and metrics["val_images"] == 1
    for key in ("loss", "bce", "dice", "val_f1_1px", "val_precision", "val_recall_1px",
                "classical_f1_1px", "classical_precision", "val_old_f1_1px",
                "val_old_recall", "classical_old_f1_1px"):
        assert np.isfinite(metrics[key]), key
    assert isinstance(net, ScratchNet) and not net.training
    lines = (run_dir / "log.jsonl").read_text().splitlines()
    assert [json.loads(s)["step"] for s in lines] == [1, 2, 3]
