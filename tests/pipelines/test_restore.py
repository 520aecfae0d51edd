"""Restore: tiling seams, tone keeping, the pipeline."""

import json

import numpy as np
import torch

from neuron_desktop.core.progress import run_pipeline
from neuron_desktop.models.restore import Restorer
from neuron_desktop.pipelines.restore import neutralise, restore, run_tiled, tiles


def test_tiles_cover_the_photo_with_overlap():
    assert tiles(100, 512, 32) == ([0], 100)
    assert tiles(1000, 512, 32) == ([0, 320, 640], 360)  # equal tiles: 1080 px of work, not 1536
    for size, tile in ((1000, 256), (4000, 512), (3001, 512), (513, 512)):
        starts, length = tiles(size, tile, 32)
        assert length % 8 == 0 and length <= tile + 7 and length <= size
        assert starts[0] == 0 and starts[-1] == size - length
        assert all(b - a <= length - 32 for a, b in zip(starts, starts[1:], strict=False))


def test_tiling_leaves_no_seam_on_a_flat_gradient():
    torch.manual_seed(0)
    net = Restorer(widths=(8, 8, 8)).eval()
    with torch.no_grad():  # a non-trivial network
        for p in net.parameters():
            p.add_(0.01 * torch.randn_like(p))
    x = torch.linspace(0, 1, 300).view(1, 1, 1, 300).expand(1, 3, 200, 300).contiguous()
    whole = run_pipeline(run_tiled(net, x, tile=1024))
    tiled = run_pipeline(run_tiled(net, x, tile=128, overlap=32))  # 3 x 2 tiles
    effect = float((whole - x).abs().mean())
    assert effect > 1e-3  # the network does change the image
    # tiles see less context near their borders, but the blend leaves no step: the
    # tiled result stays close to the untiled one and its rows stay smooth
    assert float((whole - tiled).abs().mean()) < 0.1 * effect
    kink_tiled = float(tiled[0, :, 100].diff().diff().abs().max())
    kink_whole = float(whole[0, :, 100].diff().diff().abs().max())
    assert kink_tiled < 1.5 * kink_whole + 1e-3


def test_strength_zero_is_the_input_and_neutralise_removes_a_tone():
    net = Restorer(widths=(8, 8, 8)).eval()
    x = torch.rand(1, 3, 40, 50)
    out = run_pipeline(restore(x, strength=0.0, model=net, device="cpu"))
    assert torch.allclose(out, x, atol=1e-6)
    gray = torch.rand(1, 1, 40, 50).expand(1, 3, 40, 50)
    sepia = (gray * torch.tensor([1.0, 0.85, 0.65]).view(1, 3, 1, 1)).contiguous()
    kept = run_pipeline(restore(sepia, model=net, device="cpu"))
    assert float((kept[:, 0] - kept[:, 2]).mean()) > 0.05  # tone kept by default
    flat = neutralise(sepia)
    assert float((flat[:, 0] - flat[:, 2]).abs().mean()) < 0.01


def test_eval_restore_cli_on_small_folders(tmp_path, capsys):

    import cv2

    from neuron_desktop.cli import main

    for folder in ("eval", "tune"):
        (tmp_path / folder).mkdir()
        for i in range(2):
            rng = np.random.default_rng(i + (10 if folder == "tune" else 0))
            img = cv2.resize(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8), (64, 64),
                             interpolation=cv2.INTER_CUBIC)
            cv2.imwrite(str(tmp_path / folder / f"kodak_{i}.png"), img)
    report = tmp_path / "restore.json"
    assert main(["eval", "restore", "--data", str(tmp_path / "eval"), "--tune-data",
                 str(tmp_path / "tune"), "--json-out", str(report), "--sheet",
                 str(tmp_path / "sheet.jpg"), "--scans-sheet", "", "-q"]) == 0
    r = json.loads(report.read_text())
    assert r["images"] == 2 and set(r["results"]) == {"mild", "medium", "strong"}
    for per in r["results"].values():
        assert {"degraded", "nlm", "bilateral", "unsharp", "ours"} <= set(per)
        assert np.isfinite(per["ours_minus_best_classical_db"])
    assert set(r["settings"]) == {"nlm", "bilateral", "unsharp"}
    assert "ours - best classical" in capsys.readouterr().out


def test_chain_eval_colorizes_the_same_seeded_print_as_is_and_restored(tmp_path, monkeypatch):
    """`neuron eval restore --chain`: black-and-white prints of colour photos, colorized as
    they are and after the restorer, each against the colour photo."""
    import cv2

    from neuron_desktop.cli import main

    (tmp_path / "eval").mkdir()
    yy, xx = np.mgrid[0:64, 0:96] / 64.0
    img = np.stack([0.2 + 0.6 * xx / 1.5, 0.3 + 0.4 * yy, 0.8 - 0.5 * yy], -1)
    cv2.imwrite(str(tmp_path / "eval" / "p.png"), (img[..., ::-1] * 255).astype(np.uint8))
    monkeypatch.chdir(tmp_path)
    assert main(["eval", "restore", "--chain", "--data", str(tmp_path / "eval"), "-q"]) == 0
    r = json.loads((tmp_path / "runs/eval/restore_chain-data.json").read_text())
    res = r["results"]
    assert r["images"] == 1 and set(res) == {"print", "colorized as is",
                                             "colorized as is, clean view auto",
                                             "restored, then colorized"}
    assert res["print"]["colorfulness_ratio"] < 0.3  # a black-and-white (maybe toned) print
    assert res["colorized as is"]["colorfulness_ratio"] > 0.05
    assert res["restored, then colorized"]["colorfulness_ratio"] > 0.05
    for v in res.values():
        assert np.isfinite(v["psnr"]) and 0 < v["ssim"] <= 1 and v["delta_e"] > 0
    for name, rows in r["frontier"].items():  # a calmer prior correction, less colour
        cf = [row["colorfulness_ratio"] for row in rows]
        assert len(rows) == 4 and cf == sorted(cf, reverse=True) and cf[0] > cf[-1], name
    assert main(["eval", "restore", "--chain", "--data", str(tmp_path / "eval"), "-q",
                 "--json-out", "again.json"]) == 0
    assert json.loads((tmp_path / "again.json").read_text())["results"] == res  # seeded


def test_tone_head_starts_as_identity_and_its_correction_is_applied_once_per_photo():
    from neuron_desktop.models.restore import TONE_FEATURES
    from neuron_desktop.pipelines.restore import correct_tone, tone_features

    torch.manual_seed(0)
    x = torch.rand(1, 3, 64, 80) * 0.8 + 0.1
    f = tone_features(x[0].permute(1, 2, 0).numpy(), x[0].permute(1, 2, 0).numpy())
    assert f.shape == (TONE_FEATURES,) and np.all(np.diff(f[:15]) >= 0)  # quantiles sorted
    plain = Restorer(widths=(8, 8, 8)).eval()
    assert plain.tone is None and correct_tone(plain, x, x) is x
    net = Restorer(widths=(8, 8, 8), tone=True).eval()
    assert torch.equal(correct_tone(net, x, x), x.clamp(0, 1))  # zero-initialised: identity
    with torch.no_grad():  # a head that always answers a = 1.2, b = -0.1
        net.tone.net[2].bias.copy_(torch.tensor([0.2, -0.1]))
    out = correct_tone(net, x, x)
    assert torch.allclose(out, (1.2 * x - 0.1).clamp(0, 1), atol=1e-6)
    # the pipeline applies it to the whole photo (every tile gets the same a, b)
    whole = run_pipeline(restore(x, model=net, device="cpu", tile=48))
    base = run_pipeline(run_tiled(net, x, tile=48))
    assert torch.allclose(whole, (1.2 * base.clamp(0, 1) - 0.1).clamp(0, 1), atol=1e-5)


def test_tone_loss_from_moments_is_the_photos_mse():
    from neuron_desktop.train.restore import tone_mse

    rng = np.random.default_rng(0)
    o, c = rng.random((50, 3)), rng.random((50, 3))
    m = torch.tensor([[np.mean(o * o), np.mean(o), np.mean(o * c), np.mean(c), np.mean(c * c)]])
    for a, b in [(1.0, 0.0), (1.3, -0.1), (0.8, 0.05)]:
        direct = np.mean((a * o + b - c) ** 2)
        ab = torch.tensor([[a, b]], dtype=torch.float64)
        assert abs(float(tone_mse(ab, m)[0]) - direct) < 1e-9
