"""Issue 25: out-of-memory recovery tested on the real networks, not fake jobs.

A fake CUDA path: every ``run_with_fallback`` ladder is given the attempts a CUDA device
gets (each tile size on the GPU, then each on the CPU), with the GPU legs computed on the
CPU so that results can be compared. An out-of-memory error (the message CUDA gives) is
injected into each network's forward on the GPU legs, once or always; the ladder must then
finish with the same result as a clean CPU run, for colorize, inpaint (coarse and refinement
pass of both networks), stylize (fast, Gatys and arbitrary), the scratch detector and
restore. A real CPU allocation failure is
recognised as out-of-memory too.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from neuron_desktop.core import device as device_mod
from neuron_desktop.core.device import current_attempt, is_out_of_memory
from neuron_desktop.core.errors import describe_failure
from neuron_desktop.core.progress import Fallback, run_pipeline

CPU = torch.device("cpu")


class FakeGpu:
    """Ladders start on a fake GPU (CPU compute, its own torch.device object)."""

    def __init__(self, monkeypatch, mode: str, target=None) -> None:
        self.gpu = torch.device("cpu")  # a distinct object: `is` tells the legs apart
        self.mode, self.raised, self.gpu_calls = mode, 0, 0
        monkeypatch.setattr(device_mod, "_attempts", self._attempts)
        targets = target if isinstance(target, list) else [target or (nn.Conv2d, "forward")]
        for cls, name in targets:
            monkeypatch.setattr(cls, name, self._wrap(getattr(cls, name)))

    def _attempts(self, device, tile_sizes):
        tiles = list(tile_sizes)
        return [(self.gpu, t) for t in tiles] + [(CPU, t) for t in tiles]

    def on_gpu(self) -> bool:
        att = current_attempt()
        return att is not None and att[1] is self.gpu

    def _wrap(self, fn):
        fake = self

        def forward(*args, **kwargs):
            if fake.on_gpu():
                fake.gpu_calls += 1
                if fake.mode == "always" or (fake.mode == "once" and fake.raised == 0):
                    fake.raised += 1
                    raise torch.OutOfMemoryError(
                        "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB "
                        "total capacity)")
            return fn(*args, **kwargs)

        return forward


def _run(gen):
    """(result, messages of the Fallback events that reached the driver)."""
    events = []
    result = run_pipeline(gen, on_progress=events.append)
    return result, [e.message for e in events if isinstance(e, Fallback)]


def _photo(h=40, w=56, seed=0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x / w, y / h, (x + y) / (h + w)], 0) * 0.8 + rng.normal(0, 0.03, (3, h, w))
    return torch.from_numpy(np.clip(img, 0, 1).astype(np.float32))[None]


def _check(make, monkeypatch, mode, target=None, atol=1e-5):
    clean, _ = _run(make())
    fake = FakeGpu(monkeypatch, mode, target)
    result, messages = _run(make())
    assert fake.raised >= 1, "the injected out-of-memory never fired: no ladder around it?"
    assert any("Out of memory" in m for m in messages), messages
    assert result.shape == clean.shape
    assert torch.allclose(result.cpu(), clean.cpu(), atol=atol), \
        float((result.cpu() - clean.cpu()).abs().max())
    return fake


MODES = ["once", "always"]


@pytest.mark.parametrize("mode", MODES)
def test_colorize_ladder(monkeypatch, mode):
    from neuron_desktop.pipelines.colorize import colorize, load_colorizer

    net = load_colorizer("default", "cpu")
    gray = _photo().mean(1, keepdim=True).expand(1, 3, -1, -1).contiguous()
    _check(lambda: colorize(gray, render_size=64, model=net, device="cpu"), monkeypatch, mode)


@pytest.mark.parametrize("method", ["network-fast", "network"])
@pytest.mark.parametrize("stage", ["coarse_pass", "refine_pass"])
@pytest.mark.parametrize("mode", MODES)
def test_inpaint_network_ladder_each_stage(monkeypatch, mode, stage, method):
    """Both shipped inpainting networks (network-best is network with more views)."""
    from neuron_desktop.models.inpainting import InpaintNet
    from neuron_desktop.pipelines.inpaint import inpaint, network_available

    if not network_available(method):
        pytest.skip(f"{method} weights not installed")
    image = _photo(48, 64)
    mask = torch.zeros(1, 1, 48, 64)
    mask[..., 16:32, 20:44] = 1
    _check(lambda: inpaint(image, mask, method=method, device="cpu"), monkeypatch,
           mode, target=(InpaintNet, stage))


def test_capability_pipeline_carries_the_ladder(monkeypatch):
    """What the CLI, batch and the editor run (a capability's pipeline) has the ladder
    inside: one retry leg per fallback, reported as Fallback events."""
    from neuron_desktop import capabilities
    from neuron_desktop.capabilities import Inputs
    from neuron_desktop.models.inpainting import InpaintNet

    image = _photo(48, 64)
    mask = torch.zeros(1, 1, 48, 64)
    mask[..., 16:32, 20:44] = 1
    cap = capabilities.get("inpaint")
    _check(lambda: cap.pipeline(Inputs(image, mask), {"method": "network-fast"},
                                device="cpu"),
           monkeypatch, "once", target=(InpaintNet, "coarse_pass"))


@pytest.mark.parametrize("mode", MODES)
def test_stylize_fast_ladder(monkeypatch, mode):
    from neuron_desktop.pipelines import stylize as st

    name = st.gallery_styles()[0]
    _check(lambda: st.fast(_photo(), name, device="cpu"), monkeypatch, mode)


@pytest.mark.parametrize("mode", ["once", pytest.param("always", marks=pytest.mark.slow)])
def test_stylize_gatys_ladder(monkeypatch, mode):
    from neuron_desktop.models.style import StyleFeatures
    from neuron_desktop.pipelines import stylize as st

    style = _photo(48, 48, seed=3).flip(-1)
    _check(lambda: st.stylize(_photo(), style=style, method="gatys", size=40, iterations=2,
                              device="cpu"), monkeypatch, mode, atol=1e-4,
           target=(StyleFeatures, "forward"))  # its convolutions call F.conv2d


@pytest.mark.parametrize("mode", MODES)
def test_stylize_arbitrary_ladder(monkeypatch, mode):
    """The arbitrary-style network (any style image), through the stylize dispatcher."""
    from neuron_desktop.pipelines import stylize as st

    style = _photo(48, 48, seed=3).flip(-1)
    _check(lambda: st.stylize(_photo(), style=style, method="arbitrary", size=48,
                              device="cpu"), monkeypatch, mode, atol=1e-4)


@pytest.mark.parametrize("mode", MODES)
def test_restore_ladder(monkeypatch, mode):
    """The restoration network: out of memory on the GPU with each tile size (always), or
    on the first only (once: the next, smaller tile size on the GPU finishes)."""
    from neuron_desktop.pipelines.restore import restore

    fake = _check(lambda: restore(_photo(), device="cpu"), monkeypatch, mode)
    assert fake.raised == (1 if mode == "once" else 3)  # tiles None, 256, 128 on the GPU


@pytest.mark.parametrize("mode", MODES)
def test_scratch_network_ladder(monkeypatch, mode):
    from neuron_desktop.pipelines.scratches import detect_scratches, network_available

    if not network_available():
        pytest.skip("scratch network weights not installed")
    image = _photo(48, 64)
    image[..., 20, :] = 1.0  # a scratch
    _check(lambda: detect_scratches(image, method="network", device="cpu"), monkeypatch,
           mode)


def test_real_cpu_allocation_failure_is_out_of_memory():
    exc = RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: "
                       "can't allocate memory: you tried to allocate 1099511627776 bytes.")
    assert is_out_of_memory(exc) and is_out_of_memory(MemoryError())
    message, code = describe_failure(exc)
    assert code == 4 and "out of memory" in message
    try:  # a real one, where the allocator refuses (skip where it would really allocate)
        torch.empty(1 << 50, dtype=torch.uint8)
    except RuntimeError as real:
        assert is_out_of_memory(real), str(real)
