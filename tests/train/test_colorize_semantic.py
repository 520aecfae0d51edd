"""The semantic colorizer's decoder training (the GPU recipe's path, run on the CPU): the
frozen encoder's features are cached once per crop, the decoder trains on the cache within a
time budget with a checkpoint, and exports without the frozen encoder."""

import json

import numpy as np
import torch

from neuron_desktop.train import colorize_semantic as cs
from neuron_desktop.train.colorize_cache import KEYS, FeatureCache
from tests.photos import noise_photos


def test_cache_then_a_time_boxed_run_then_export(tmp_path, monkeypatch):
    photos = noise_photos(tmp_path / "photos", 40, 72, 90)
    cache = tmp_path / "cache"
    cs.main(["cache", str(cache), "--data", str(photos), "--crop", "64", "--device", "cpu",
             "--threads", "1"])
    train = FeatureCache([cache / "train"])
    assert len(train) + len(FeatureCache([cache / "val"])) == 40
    b = train.batch(np.random.default_rng(0), 3)
    assert set(KEYS) <= set(b) and b["l2"].shape == (3, 1, 32, 32)
    assert b["f32"].shape[-1] == 2  # stride 32 of a 64 px crop
    run = tmp_path / "run"
    cs.main(["train", str(run), "--cache", str(cache), "--batch", "2", "--widths", "8", "8",
             "8", "--steps", "100000", "--time-budget", "4", "--val-every", "3",
             "--val-limit", "4", "--threads", "1"])
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert 0 < state["step"] < 100000  # the budget ended it, with a checkpoint
    assert "psnr_gray" in state["history"][-1]
    saved = {}
    monkeypatch.setattr("neuron_desktop.models.weights.save_weights",
                        lambda name, st, **kw: saved.update(name=name, state=st, kw=kw))
    cs.main(["export", str(run), "--name", "colorizer-test"])
    assert saved["name"] == "colorizer-test" and saved["state"]
    assert not any(k.startswith("semantic.") for k in saved["state"])  # ships in its package
    assert json.loads(json.dumps(saved["kw"]["recipe"]))["widths"] == [8, 8, 8]
