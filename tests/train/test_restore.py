"""Restorer training: the per-crop log-MSE loss is the mean PSNR, severities come from the
chosen range, and a run trains, resumes from its checkpoint and exports."""

import math

import numpy as np
import torch

from neuron_desktop.data.photos import PhotoBank, list_images
from neuron_desktop.train import restore as tr
from tests.photos import noise_photos


def test_log_mse_is_minus_the_mean_psnr_and_weighs_crops_alike():
    y = torch.zeros(2, 3, 8, 8)
    x = y.clone()
    x[0] += 0.01  # mild: 40 dB
    x[1] += 0.1   # strong: 20 dB
    loss = tr.log_mse(x, y, eps=0.0)
    mean_psnr = (40 + 20) / 2
    assert math.isclose(float(loss), -mean_psnr * math.log(10) / 10, rel_tol=1e-4)
    # halving each crop's error gains the same under log-MSE, unlike plain MSE
    x.requires_grad_(True)
    tr.log_mse(x, y, eps=0.0).backward()
    g = x.grad.abs().mean((1, 2, 3))
    assert float(g[0]) > 5 * float(g[1])  # the mild crop is not drowned by the strong one


def test_batches_follow_the_severity_range(tmp_path):
    bank = PhotoBank(list_images([noise_photos(tmp_path / "photos")]))
    rng = np.random.default_rng(1)
    x0, y0 = tr.make_batch(bank, np.random.default_rng(1), 4, 32, (0.0, 0.0))
    x1, y1 = tr.make_batch(bank, rng, 4, 32, (1.0, 1.0))
    assert x0.shape == (4, 3, 32, 32)
    assert float(((x1 - y1) ** 2).mean()) > float(((x0 - y0) ** 2).mean())


def test_training_runs_resumes_and_exports(tmp_path, monkeypatch):
    photos = noise_photos(tmp_path / "photos", 6)
    run = tmp_path / "run"
    base = ["train", str(run), "--data", str(photos), "--batch", "2", "--crop", "32",
            "--widths", "4", "8", "8", "--val-photos", "2", "--val-every", "2",
            "--loss", "log-mse", "--severity", "0.2", "0.6"]
    tr.main([*base, "--steps", "2"])
    first = torch.load(run / "checkpoint.pt", weights_only=True)
    assert first["step"] == 2 and first["history"]
    tr.main([*base, "--steps", "3"])
    assert torch.load(run / "checkpoint.pt", weights_only=True)["step"] == 3
    saved = {}
    monkeypatch.setattr("neuron_desktop.models.weights.save_weights",
                        lambda name, state, **kw: saved.update(name=name, kw=kw))
    tr.main(["export", str(run), "--name", "restorer-test"])
    assert saved["name"] == "restorer-test"
    assert saved["kw"]["recipe"]["loss"] == "log-mse"
    assert saved["kw"]["recipe"]["severity"] == [0.2, 0.6]


def test_worker_batches_and_a_time_budget(tmp_path):
    """The GPU recipe's options on the CPU: batches made by a worker process, and a run
    that stops when its time budget is spent, with a checkpoint."""
    photos = noise_photos(tmp_path / "photos", 6)
    run = tmp_path / "run"
    tr.main(["train", str(run), "--data", str(photos), "--batch", "2", "--crop", "32",
             "--widths", "4", "8", "8", "--val-photos", "2", "--steps", "100000",
             "--workers", "1", "--time-budget", "3", "--device", "cpu"])
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert 0 < state["step"] < 100000
