import pytest
import torch

from neuron_desktop.core import device as device_mod
from neuron_desktop.core.device import (
    available_devices,
    choose_device,
    describe_device,
    is_out_of_memory,
    run_with_fallback,
)
from neuron_desktop.core.errors import NeuronError
from neuron_desktop.core.progress import Fallback, Progress, run_pipeline, wrap_progress


def test_available_devices_ends_with_cpu():
    devices = available_devices()
    assert devices[-1] == "cpu"
    assert ("cuda" in devices) == torch.cuda.is_available()


def test_choose_device_auto_and_explicit(monkeypatch):
    monkeypatch.delenv("NEURON_DEVICE", raising=False)
    assert choose_device().type == available_devices()[0]
    assert choose_device("auto").type == available_devices()[0]
    assert choose_device("cpu") == torch.device("cpu")
    assert choose_device(" CPU ") == torch.device("cpu")


def test_choose_device_respects_env(monkeypatch):
    monkeypatch.setenv("NEURON_DEVICE", "cpu")
    assert choose_device() == torch.device("cpu")
    assert choose_device(None) == torch.device("cpu")
    monkeypatch.setenv("NEURON_DEVICE", "auto")
    assert choose_device().type == available_devices()[0]


def test_choose_device_explicit_wins_over_env(monkeypatch):
    monkeypatch.setenv("NEURON_DEVICE", "nonsense")
    assert choose_device("cpu") == torch.device("cpu")
    with pytest.raises(NeuronError, match="nonsense"):
        choose_device()


@pytest.mark.parametrize("name", ["gpu", "tpu", "cuda:x", "meta", "bogus"])
def test_choose_device_invalid(name):
    with pytest.raises(NeuronError, match=name):
        choose_device(name)


def test_choose_unavailable_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(NeuronError, match="CUDA is not available"):
        choose_device("cuda")
    with pytest.raises(NeuronError, match="CUDA"):
        choose_device("cuda:1")


def test_choose_cuda_index_out_of_range(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert choose_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(NeuronError, match="only 1 CUDA"):
        choose_device("cuda:3")


def test_choose_unavailable_mps(monkeypatch):
    monkeypatch.setattr(device_mod, "_mps_available", lambda: False)
    with pytest.raises(NeuronError, match="MPS"):
        choose_device("mps")


def test_is_out_of_memory():
    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate"))
    assert is_out_of_memory(RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"))
    assert is_out_of_memory(RuntimeError("MPS backend out of memory (MPS allocated: 1 GB)"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert not is_out_of_memory(ValueError("out of memory"))


def test_describe_cpu():
    text = describe_device("cpu")
    assert text.startswith("CPU (") and "threads" in text
    assert describe_device(torch.device("cpu")) == text


def _job(fail, calls):
    """Fake job factory: records (device type, tile), raises OOM when ``fail(device, tile)``."""

    def make_job(device, tile):
        calls.append((device.type, tile))
        yield Progress(0.5, "working")
        if fail(device, tile):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 9 GiB")
        return f"{device.type}:{tile}"

    return make_job


def _fallbacks(gen):
    """Run ``gen``; (its result, the messages of its Fallback events)."""
    events = []
    result = run_pipeline(gen, on_progress=events.append)
    return result, [e.message for e in events if isinstance(e, Fallback)]


def test_fallback_to_smaller_tiles(caplog):
    calls = []
    job = _job(lambda d, t: t is None or t > 512, calls)
    result, messages = _fallbacks(run_with_fallback(job, device=torch.device("cpu")))
    assert result == "cpu:512"
    assert calls == [("cpu", None), ("cpu", 1024), ("cpu", 512)]
    assert len(messages) == 2 and "Out of memory" in messages[0]
    assert "512" in messages[1]
    logged = [r.getMessage() for r in caplog.records if r.name == "neuron_desktop.core.device"]
    assert logged == messages


def test_fallback_events_survive_progress_mapping():
    job = _job(lambda d, t: t is None, [])
    events = []
    run_pipeline(wrap_progress(run_with_fallback(job, device="cpu"), 0.5, 1.0),
                 on_progress=events.append)
    fallbacks = [e for e in events if isinstance(e, Fallback)]
    assert len(fallbacks) == 1 and fallbacks[0].fraction == 0.5


def test_gpu_falls_back_to_cpu_without_touching_cuda(monkeypatch):
    freed = []
    monkeypatch.setattr(device_mod, "free_device_memory", lambda d: freed.append(d.type))
    calls = []
    job = _job(lambda d, t: d.type != "cpu", calls)
    result, messages = _fallbacks(run_with_fallback(job, device=torch.device("cuda")))
    assert result == "cpu:None"
    assert calls == [("cuda", t) for t in (None, 1024, 512, 256)] + [("cpu", None)]
    assert freed == ["cuda"] * 4
    assert "cpu" in messages[-1]


def test_gpu_fallback_real_free_is_safe_without_cuda():
    calls = []
    job = _job(lambda d, t: d.type != "cpu" or t is None, calls)
    gen = run_with_fallback(job, device="cuda", tile_sizes=(None, 256))
    assert run_pipeline(gen) == "cpu:256"


def test_all_attempts_fail_reraises():
    calls = []
    job = _job(lambda d, t: True, calls)
    with pytest.raises(torch.OutOfMemoryError):
        run_pipeline(run_with_fallback(job, device="cuda", tile_sizes=(None, 512)))
    assert calls == [("cuda", None), ("cuda", 512), ("cpu", None), ("cpu", 512)]


def test_non_oom_error_propagates_immediately():
    calls = []

    def make_job(device, tile):
        calls.append(tile)
        yield Progress(0.1)
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        run_pipeline(run_with_fallback(make_job, device="cpu"))
    assert calls == [None]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_describe_cuda():
    assert describe_device("cuda").startswith("CUDA: ")
    assert choose_device("cuda").type == "cuda"
