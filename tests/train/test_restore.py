"""Restorer training: the per-crop log-MSE loss is the mean PSNR, severities come from the
chosen range, and a run trains, resumes from its checkpoint and exports."""

import math

import numpy as np
import pytest
import torch

from neuron_desktop.core.errors import NeuronError
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


def test_a_deeper_network_starts_from_shallower_weights_unchanged(tmp_path, monkeypatch):
    """``--depth`` deeper than ``--init``'s weights: the shared blocks load, the new ones
    start as identities (same output as the shallow network), then train; the export
    records the depth, and the registry builds that layout from it."""
    from neuron_desktop.models.restore import Restorer, build_restorer

    torch.manual_seed(0)
    shallow = Restorer(widths=(4, 8, 8)).eval()
    with torch.no_grad():
        shallow.out.weight.normal_(0, 0.1)  # a trained-looking net (zero output otherwise)
    deep = Restorer(widths=(4, 8, 8), depth=(2, 3, 4, 3, 2))
    deep.load_state_dict(shallow.state_dict(), strict=False)
    assert deep.deepened(set(shallow.state_dict())) == 6
    x = torch.rand(2, 3, 32, 40)
    with torch.no_grad():
        assert torch.allclose(deep.eval()(x), shallow(x), atol=1e-6)
        assert not torch.allclose(shallow(x), x)  # the comparison means something

    photos = noise_photos(tmp_path / "photos", 6)
    monkeypatch.setattr("neuron_desktop.models.weights.load_weights",
                        lambda name: shallow.state_dict())
    run = tmp_path / "run"
    tr.main(["train", str(run), "--data", str(photos), "--batch", "2", "--crop", "32",
             "--widths", "4", "8", "8", "--depth", "2", "3", "4", "3", "2", "--init", "small",
             "--val-photos", "2", "--steps", "2"])
    state = torch.load(run / "checkpoint.pt", weights_only=True)["model"]
    assert "mid.3.b.weight" in state and "dec2_more.0.a.weight" in state
    saved = {}
    monkeypatch.setattr("neuron_desktop.models.weights.save_weights",
                        lambda name, state, **kw: saved.update(kw=kw))
    tr.main(["export", str(run), "--name", "restorer-test"])
    arch = saved["kw"]["preprocessing"]["arch"]
    assert arch["depth"] == [2, 3, 4, 3, 2] and saved["kw"]["recipe"]["init"] == "small"
    entry = type("Entry", (), {"preprocessing": {"arch": arch}})()
    built = build_restorer(entry)
    assert set(built.state_dict()) == set(state)
    # starting from the deep weights: their depth by default; a shallower --depth is refused
    monkeypatch.setattr("neuron_desktop.models.weights.load_weights", lambda name: state)
    again = ["train", str(tmp_path / "again"), "--data", str(photos), "--batch", "2",
             "--crop", "32", "--widths", "4", "8", "8", "--init", "deep", "--val-photos", "2",
             "--steps", "1"]
    tr.main(again)
    assert set(torch.load(tmp_path / "again" / "checkpoint.pt", weights_only=True)["model"]
               ) == set(state)
    with pytest.raises(NeuronError, match="deeper than --depth"):
        tr.main([again[0], str(tmp_path / "shallow"), *again[2:], "--depth", "1", "2", "2",
                 "2", "1"])
