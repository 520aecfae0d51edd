import json
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from neuron_desktop.core.errors import NeuronError, WeightsError
from neuron_desktop.models import registry
from neuron_desktop.models.weights import (
    get_entry,
    load_user_checkpoint,
    load_weights,
    read_manifest,
    save_weights,
    sha256_file,
    update_metrics,
    verify_all,
    weights_dir,
)


def _state():
    torch.manual_seed(0)
    return {"conv.weight": torch.randn(4, 3, 3, 3), "conv.bias": torch.randn(4)}


def test_weights_dir_default_and_env(monkeypatch, tmp_path):
    monkeypatch.delenv("NEURON_WEIGHTS_DIR", raising=False)
    default = weights_dir()
    assert default.name == "weights" and (default / "manifest.json").is_file()
    monkeypatch.setenv("NEURON_WEIGHTS_DIR", str(tmp_path))
    assert weights_dir() == tmp_path


def test_shipped_manifest_is_valid(monkeypatch):
    monkeypatch.delenv("NEURON_WEIGHTS_DIR", raising=False)
    raw = json.loads((weights_dir() / "manifest.json").read_text())
    assert raw["format"] == 1 and isinstance(raw["models"], dict)
    assert all(verify_all().values())


def test_save_load_round_trip(tmp_path):
    state = _state()
    entry = save_weights(
        "tiny", state, directory=tmp_path, task="colorization", arch="conv",
        recipe={"lr": 1e-3}, metrics={"psnr": 20.0},
    )
    path = tmp_path / "tiny.safetensors"
    assert entry.file == "tiny.safetensors" and entry.path(tmp_path) == path
    assert entry.sha256 == sha256_file(path) and entry.bytes == path.stat().st_size
    assert entry.created
    loaded = load_weights("tiny", directory=tmp_path)
    assert set(loaded) == set(state)
    assert all(torch.equal(loaded[k], state[k]) for k in state)
    raw = json.loads((tmp_path / "manifest.json").read_text())
    assert raw["format"] == 1 and raw["models"]["tiny"]["recipe"] == {"lr": 1e-3}
    assert read_manifest(tmp_path)["tiny"] == entry
    assert verify_all(tmp_path) == {"tiny": True}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_env_dir_used_by_default(monkeypatch, tmp_path):
    monkeypatch.setenv("NEURON_WEIGHTS_DIR", str(tmp_path))
    save_weights("a", _state(), task="inpainting", arch="conv")
    assert set(read_manifest()) == {"a"}
    assert set(load_weights("a")) == {"conv.weight", "conv.bias"}


def test_update_metrics_merges(tmp_path):
    save_weights("m", _state(), directory=tmp_path, task="t", arch="a", metrics={"psnr": 1.0})
    entry = update_metrics("m", {"ssim": 0.5, "psnr": 2.0}, directory=tmp_path)
    assert entry.metrics == {"psnr": 2.0, "ssim": 0.5}
    assert get_entry("m", tmp_path).metrics == {"psnr": 2.0, "ssim": 0.5}


def test_checksum_mismatch_after_byte_flip(tmp_path):
    save_weights("flip", _state(), directory=tmp_path, task="t", arch="a")
    path = tmp_path / "flip.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="checksum mismatch.*flip.safetensors"):
        load_weights("flip", directory=tmp_path)
    assert verify_all(tmp_path) == {"flip": False}


def test_missing_manifest_is_empty(tmp_path):
    assert read_manifest(tmp_path) == {}
    assert verify_all(tmp_path) == {}


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[]",
        '{"format": 1}',
        '{"format": 1, "models": {"x": {"file": "x.safetensors"}}}',
        '{"format": 99, "models": {}}',
    ],
)
def test_malformed_manifest(tmp_path, text):
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(WeightsError, match="manifest|entry"):
        read_manifest(tmp_path)


def test_unknown_entry_lists_known(tmp_path):
    save_weights("known_one", _state(), directory=tmp_path, task="t", arch="a")
    with pytest.raises(WeightsError, match="known_one"):
        get_entry("nope", tmp_path)
    with pytest.raises(WeightsError, match="unknown weights"):
        load_weights("nope", directory=tmp_path)


def test_missing_weights_file(tmp_path):
    save_weights("gone", _state(), directory=tmp_path, task="t", arch="a")
    (tmp_path / "gone.safetensors").unlink()
    with pytest.raises(WeightsError, match="missing"):
        load_weights("gone", directory=tmp_path)
    assert verify_all(tmp_path) == {"gone": False}


def test_user_checkpoint_plain_and_wrapped(tmp_path):
    state = _state()
    for name, obj in [
        ("plain.pt", state),
        ("wrapped.ckpt", {"state_dict": state, "epoch": 3}),
        ("model.pth", {"model": state, "optimizer": {"lr": 0.1}}),
    ]:
        torch.save(obj, tmp_path / name)
        loaded = load_user_checkpoint(tmp_path / name)
        assert set(loaded) == set(state) and torch.equal(loaded["conv.bias"], state["conv.bias"])
    save_file(state, str(tmp_path / "s.safetensors"))
    assert set(load_user_checkpoint(tmp_path / "s.safetensors")) == set(state)


class Exploit:
    """Unpickling this would create ``target`` (arbitrary code execution)."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (Path.touch, (self.target,))


def test_user_checkpoint_refuses_arbitrary_pickle(tmp_path):
    target = tmp_path / "pwned"
    torch.save({"state_dict": _state(), "payload": Exploit(target)}, tmp_path / "evil.pt")
    assert not target.exists()
    with pytest.raises(WeightsError, match="refused"):
        load_user_checkpoint(tmp_path / "evil.pt")
    assert not target.exists()


def test_user_checkpoint_os_system_payload_not_run(tmp_path):
    target = tmp_path / "ran"

    class Shell:
        def __reduce__(self):
            return (os.system, (f"touch {target}",))

    torch.save(Shell(), tmp_path / "shell.pth")
    with pytest.raises(WeightsError):
        load_user_checkpoint(tmp_path / "shell.pth")
    assert not target.exists()


@pytest.mark.parametrize(
    "name,content",
    [("x.bin", b"abc"), ("bad.pt", b"not a zip"), ("bad.safetensors", b"\x00" * 4)],
)
def test_user_checkpoint_bad_files(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(WeightsError):
        load_user_checkpoint(tmp_path / name)


def test_user_checkpoint_not_a_state_dict(tmp_path):
    torch.save([torch.zeros(1)], tmp_path / "list.pt")
    with pytest.raises(WeightsError, match="not a state dict"):
        load_user_checkpoint(tmp_path / "list.pt")
    with pytest.raises(WeightsError, match="not found"):
        load_user_checkpoint(tmp_path / "missing.pt")


@pytest.fixture
def clean_registry(monkeypatch):
    monkeypatch.setattr(registry, "_MODELS", {})


def test_registry_register_list_get(clean_registry, monkeypatch, tmp_path):
    monkeypatch.setenv("NEURON_WEIGHTS_DIR", str(tmp_path))

    @registry.register_model("tiny_color", task="colorization", default_weights="tiny_color_v1")
    def build_color(*, weights: str | None = "default", width: int = 8):
        return {"weights": weights, "width": width}

    @registry.register_model("tiny_inpaint", task="inpainting")
    def build_inpaint(*, weights: str | None = "default"):
        return {"weights": weights}

    assert registry.list_models() == ["tiny_color", "tiny_inpaint"]
    assert registry.list_models(task="inpainting") == ["tiny_inpaint"]
    assert registry.list_models(task="style") == []
    assert registry.get_model("tiny_color") == {"weights": "tiny_color_v1", "width": 8}
    assert registry.get_model("tiny_color", weights=None, width=4) == {"weights": None, "width": 4}
    assert registry.get_model("tiny_inpaint") == {"weights": None}
    assert registry.resolve_weights("tiny_color", "default") == "tiny_color_v1"

    info = registry.model_info("tiny_color")
    assert info["task"] == "colorization" and info["weights"] is None
    save_weights("tiny_color_v1", _state(), task="colorization", arch="conv")
    assert registry.model_info("tiny_color")["weights"]["arch"] == "conv"


def test_registry_unknown_lists_known(clean_registry):
    @registry.register_model("only_model", task="t")
    def build(*, weights=None):
        return weights

    with pytest.raises(NeuronError, match="only_model"):
        registry.get_model("missing")
    with pytest.raises(WeightsError, match="unknown model"):
        registry.model_info("missing")


def test_registry_duplicate_name_rejected(clean_registry):
    registry.register_model("dup", task="t")(lambda *, weights=None: 1)
    with pytest.raises(ValueError, match="already registered"):

        @registry.register_model("dup", task="t")
        def other(*, weights=None):
            return 2
