"""Inpainting training: masks over the recipe's range, resumable runs, seeded worker
batches, fine-tuning, a stop request that saves a checkpoint."""

import numpy as np
import pytest
import torch

from neuron_desktop.core.progress import run_pipeline
from neuron_desktop.data.masks import free_form_mask
from neuron_desktop.data.photos import PhotoBank, list_images
from neuron_desktop.models.inpainting import InpaintNet
from neuron_desktop.train.inpaint import (
    InpaintRecipe,
    batches,
    train_inpainter,
    training_mask,
)
from tests.photos import noise_photos


def test_training_masks_cover_the_recipe_range():
    rng = np.random.default_rng(0)
    recipe = InpaintRecipe(p_scratch=0.0)
    areas = [training_mask(rng, 128, recipe).mean() for _ in range(20)]
    assert min(areas) >= recipe.area[0] - 1e-6 and max(areas) <= recipe.area[1] + 1e-6
    thin = InpaintRecipe(p_scratch=1.0)
    m = training_mask(rng, 128, thin)
    assert 0 < m.mean() < 0.15
    m2 = free_form_mask(64, 64, np.random.default_rng(1), (0.2, 0.3), scale=0.2)
    assert 0.2 <= m2.mean() <= 0.3


def test_training_runs_and_resumes(tmp_path):
    photos = noise_photos(tmp_path / "photos", 4, 72, 90, 0)
    recipe = InpaintRecipe(data=[str(photos)], steps=2, batch=2, crop=32, width=4,
                           val_every=2, val_images=2, val_fraction=0.0, gan_start=0.0)
    run = tmp_path / "run"
    logs = []
    net, metrics = run_pipeline(train_inpainter(recipe, run, torch.device("cpu"), logs.append))
    assert (run / "checkpoint.pt").exists() and metrics["step"] == 2
    assert "d" in metrics  # the critic trained (gan_start 0)
    recipe.steps = 3
    net, metrics = run_pipeline(train_inpainter(recipe, run, torch.device("cpu"), logs.append))
    assert metrics["step"] == 3
    assert any("resumed" in str(line) for line in logs)


def test_worker_batches_are_seeded_by_start_step(tmp_path):
    bank = PhotoBank(list_images([noise_photos(tmp_path / "photos", 3, 48, 60, 2)]))
    recipe = InpaintRecipe(batch=2, crop=32)

    def first(start, workers=1):
        stream = batches(bank, np.random.default_rng(0), recipe, start, workers)
        batch = next(stream)
        stream.close()  # stops the worker
        return batch

    crops, holes = first(0)
    assert crops.shape == (2, 3, 32, 32) and holes.shape == (2, 1, 32, 32)
    assert set(holes.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(first(0)[0], crops)  # same seed and start: same data
    assert not torch.equal(first(5)[0], crops)  # a resumed run draws new data
    local = first(0, workers=0)  # in-loop batches come from the run's own generator
    rng = np.random.default_rng(0)
    expect = bank.random_crops(rng, 2, 32)
    assert torch.equal(local[0], torch.from_numpy(expect).permute(0, 3, 1, 2))


def test_fine_tuning_keeps_or_zeroes_the_output_layers(tmp_path):
    from neuron_desktop.models.weights import save_weights

    photos = noise_photos(tmp_path / "photos", 3, 64, 64, 1)
    torch.manual_seed(0)
    start = InpaintNet(4)
    save_weights("start", start.state_dict(), directory=tmp_path / "w", task="inpainting",
                 arch="InpaintNet")
    init = str(tmp_path / "w" / "start.safetensors")
    outs = {}
    for keep in (True, False):
        recipe = InpaintRecipe(data=[str(photos)], steps=1, batch=2, crop=32, width=4, lr=1e-9,
                               val_fraction=0.0, adv_weight=0.0, mse_weight=10.0, init=init,
                               zero_residuals=not keep)
        net, metrics = run_pipeline(train_inpainter(recipe, tmp_path / f"run{keep}",
                                                    torch.device("cpu"), lambda *_: None))
        assert metrics["mse"] > 0 and np.isfinite(metrics["mse"])
        outs[keep] = net.decoder[-1].weight.detach()
    assert torch.allclose(outs[True], start.decoder[-1].weight, atol=1e-6)  # lr ~ 0: kept
    assert outs[False].abs().max() < 1e-6  # zeroed: training starts at the pre-fill


def test_a_stop_request_saves_a_checkpoint_that_resumes(tmp_path):
    import os
    import signal

    from neuron_desktop.core.progress import Cancelled

    photos = noise_photos(tmp_path / "photos", 3, 64, 64, 3)
    recipe = InpaintRecipe(data=[str(photos)], steps=50, batch=2, crop=32, width=4,
                           val_every=50, val_fraction=0.0, adv_weight=0.0)
    run, logs = tmp_path / "run", []
    gen = train_inpainter(recipe, run, torch.device("cpu"), logs.append)
    next(gen)  # inside step 1
    os.kill(os.getpid(), signal.SIGTERM)  # as `kill PID` would: stop after this step
    with pytest.raises(Cancelled, match="stopped at step 1"):
        for _ in gen:
            pass
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers restored
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert state["step"] == 1 and any("stopped at step 1" in line for line in logs)
    recipe.steps = 3
    net, metrics = run_pipeline(train_inpainter(recipe, run, torch.device("cpu"), logs.append))
    assert metrics["step"] == 3
