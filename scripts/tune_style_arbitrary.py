"""Choose the arbitrary-style method's knobs on TRAINING photos (the validation split) and
the 4 tuning paintings only; the other 4 paintings and the eval photos stay unseen.

    .venv/bin/python scripts/tune_style_arbitrary.py CHECKPOINT_OR_WEIGHTS [PHOTOS]

Prints style/content distances (reference VGG-16 of ``neuron eval style``) per variant,
with the peer measured in the same run; writes runs/tune_style_arbitrary.json.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from neuron_desktop.core.imageio import from_tensor, load_image, to_tensor  # noqa: E402
from neuron_desktop.core.progress import run_pipeline  # noqa: E402
from neuron_desktop.evaluation import style as ev  # noqa: E402
from neuron_desktop.evaluation.common import to_8bit  # noqa: E402
from neuron_desktop.models.style_arbitrary import ArbitraryStyleNet  # noqa: E402
from neuron_desktop.pipelines import stylize_arbitrary as sa  # noqa: E402

TUNING = ("leger_contrast_of_forms_1913", "monet_water_lilies_1919",
          "sakai_hoitsu_flowers_c1820", "van_gogh_starry_night_1889")


def load_net(path: str) -> ArbitraryStyleNet:
    net = ArbitraryStyleNet()
    if path.endswith(".pt"):
        net.decoder.load_state_dict(torch.load(path, map_location="cpu",
                                               weights_only=True)["model"])
    else:
        from safetensors.torch import load_file

        net.load_state_dict(load_file(path), strict=False)
    return net.eval()


VARIANTS = {
    "wct": sa.ArbitrarySettings(),
    "wct_nocolour": sa.ArbitrarySettings(pixel_colour=0.0),
    "adain": sa.ArbitrarySettings(transform="adain"),
    "wct_style256": sa.ArbitrarySettings(style_size=256),
    "wct_style768": sa.ArbitrarySettings(style_size=768),
    "wct_2pass": sa.ArbitrarySettings(passes=2),
    "wct_2pass_s256": sa.ArbitrarySettings(passes=2, style_size=256),
    "wct_3pass_s256": sa.ArbitrarySettings(passes=3, style_size=256),
}


def main(path: str, photos: int = 4, only: str | None = None) -> None:
    torch.set_num_threads(1)
    net = load_net(path)
    sa.arbitrary_network = lambda device="cpu": net  # the checkpoint under test
    ref = ev.ReferenceVGG16()
    styles = [p for p in ev.find_styles() if p.stem in TUNING]
    files = ev.spread(ev.default_photos(validation=True), photos)
    variants = {k: v for k, v in VARIANTS.items() if only is None or k in only.split(",")}
    extra = {k: v for k, v in (a.split("=") for a in sys.argv[4:])}
    if extra:
        variants = {"custom": replace(sa.ArbitrarySettings(), **{
            k: (type(getattr(sa.ArbitrarySettings(), k)))(v) for k, v in extra.items()})}
    rows: dict[str, list] = {m: [] for m in [*variants, "peer"]}
    for f in files:
        photo = to_8bit(ev.resize_long(to_tensor(load_image(f).rgb).clamp(0, 1), 512))
        for s in styles:
            style = to_tensor(load_image(s).rgb).clamp(0, 1)
            grams = ev.style_grams(ref, style, 512)
            for name, settings in variants.items():
                t = time.perf_counter()
                out = run_pipeline(sa.arbitrary(photo, style, size=512, settings=settings,
                                                preview=False))
                dt = time.perf_counter() - t
                d = ev.distances(ref, to_8bit(out), photo, grams, 512)
                rows[name].append({"style": d["style"], "content": d["content"], "s": dt,
                                   "layers": d["style_layers"]})
                print(f.name, s.stem[:12], name, round(d["style"], 3), round(d["content"], 1),
                      flush=True)
            peer = to_tensor(ev.peer_stylize(from_tensor(photo), from_tensor(style), 512))
            d = ev.distances(ref, to_8bit(peer), photo, grams, 512)
            rows["peer"].append({"style": d["style"], "content": d["content"], "s": 0,
                                 "layers": d["style_layers"]})
            print(f.name, s.stem[:12], "peer", round(d["style"], 3), round(d["content"], 1),
                  flush=True)
        print(f.name, {k: round(v[-1]["style"], 3) for k, v in rows.items()}, flush=True)
    summary = {k: {"style": float(np.mean([r["style"] for r in v])),
                   "content": float(np.mean([r["content"] for r in v])),
                   "seconds": float(np.mean([r["s"] for r in v])),
                   "layers": {layer: float(np.mean([r["layers"][layer] for r in v]))
                              for layer in v[0]["layers"]}}
               for k, v in rows.items()}
    for k, v in summary.items():
        print(f"{k:16s} style {v['style']:.4f} content {v['content']:.1f} "
              f"{v['seconds']:.2f}s layers " +
              " ".join(f"{x:.3f}" for x in v["layers"].values()))
    out = ROOT / "runs" / "tune_style_arbitrary.json"
    out.write_text(json.dumps({"checkpoint": path, "photos": [f.name for f in files],
                               "styles": list(TUNING), "summary": summary}, indent=2))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 4,
         sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != "-" else None)
