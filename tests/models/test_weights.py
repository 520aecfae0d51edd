import json
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from neuron_desktop.core.errors import WeightsError
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


def test_manifest_is_parsed_once_per_version_of_the_file(tmp_path, monkeypatch):
    """The editor reads the manifest on every edit: a cached parse, re-read whenever the
    file is replaced or rewritten (even with the same size)."""
    import neuron_desktop.models.weights as weights

    save_weights("m", _state(), directory=tmp_path, task="t", arch="a", metrics={"psnr": 1.0})
    parsed = []
    real = weights._read_raw
    monkeypatch.setattr(weights, "_read_raw", lambda d: parsed.append(d) or real(d))
    first = read_manifest(tmp_path)
    assert read_manifest(tmp_path) == first and len(parsed) == 1
    read_manifest(tmp_path).pop("m")  # the caller's copy: the cache keeps its entries
    assert "m" in read_manifest(tmp_path)
    update_metrics("m", {"psnr": 2.0}, directory=tmp_path)  # replaced atomically
    assert get_entry("m", tmp_path).metrics == {"psnr": 2.0}
    path = tmp_path / "manifest.json"
    path.write_text(path.read_text().replace('"psnr": 2.0', '"psnr": 3.0'))  # in place
    assert get_entry("m", tmp_path).metrics == {"psnr": 3.0}
    assert len(parsed) == 4  # the first, update_metrics own, and once after each write


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


class _Tiny(torch.nn.Module):
    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, width, 3)


@registry.register_arch("TinyNet")
def _build_tiny(entry):
    return _Tiny(entry.recipe.get("width", 4))


def test_load_builds_from_manifest_arch_checks_and_caches(tmp_path):
    save_weights("tiny", _state(), directory=tmp_path, task="t", arch="TinyNet",
                 recipe={"width": 4})
    net = registry.load("tiny", directory=tmp_path)
    assert isinstance(net, _Tiny) and not net.training
    assert not any(p.requires_grad for p in net.parameters())
    assert torch.equal(net.conv.bias, _state()["conv.bias"])
    assert registry.load("tiny", directory=tmp_path) is net  # one copy per process
    assert "TinyNet" in registry.list_archs() and "ColorizationNet" in registry.list_archs()


def test_load_rejects_unknown_arch_and_mismatched_state(tmp_path):
    save_weights("odd", _state(), directory=tmp_path, task="t", arch="NoSuchNet")
    with pytest.raises(WeightsError, match="unknown arch 'NoSuchNet'"):
        registry.load("odd", directory=tmp_path)
    save_weights("wide", _state(), directory=tmp_path, task="t", arch="TinyNet",
                 recipe={"width": 8})
    with pytest.raises(RuntimeError, match="size mismatch"):
        registry.load("wide", directory=tmp_path)


def test_every_shipped_entry_has_a_registered_arch():
    for entry in read_manifest().values():
        assert entry.arch in registry.list_archs(), entry.name


def test_registry_duplicate_arch_rejected():
    with pytest.raises(ValueError, match="already registered"):

        @registry.register_arch("TinyNet")
        def other(entry):
            return _Tiny()
