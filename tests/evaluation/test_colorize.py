"""`neuron eval colorize`: every configuration, the sepia share, AuC, hint locality and the
colour-reference rows, on generated photos with a tiny untrained network."""

import numpy as np
import pytest
import torch

import neuron_desktop.pipelines.colorize as pc
from neuron_desktop.core.progress import run_pipeline


@pytest.fixture
def photos(tmp_path):
    import cv2

    paths = []
    for i, (a, b) in enumerate(((0.8, 0.2), (0.2, 0.7))):
        yy, xx = np.mgrid[0:48, 0:64] / 64.0
        img = np.stack([a * xx + 0.1, 0.3 + 0.4 * yy, b + 0.2 * xx], -1)
        path = tmp_path / "eval" / f"p{i}.png"
        path.parent.mkdir(exist_ok=True)
        cv2.imwrite(str(path), (img[..., ::-1] * 255).astype(np.uint8))
        paths.append(path)
    return paths


def test_eval_colorize_reports_every_row_including_the_colour_reference(photos):
    from neuron_desktop.evaluation.colorize import configurations, evaluate
    from neuron_desktop.models.colorization import ColorizationNet

    torch.manual_seed(0)
    net = ColorizationNet(width=4, semantic=False).eval()
    report = run_pipeline(evaluate(net, photos, temperature=0.2, render_size=64))
    res = report["results"]
    assert report["images"] == 2
    for name in configurations():
        assert np.isfinite(res[name]["psnr"]) and 0 <= res[name]["sepia_share"]["all"] <= 1
    assert res["gray"]["colorfulness_ratio"] < 0.05 and res["gray"]["sepia_share"]["all"] == 1
    assert 0 < res["auto"]["auc_raw"] <= 1 and 0 < res["auto"]["auc_rebalanced"] <= 1
    assert np.isfinite(res["hint_locality"]["psnr_change_near"])
    ref = res["reference"]
    assert ref["strength"] == pytest.approx(pc.DEFAULT_REFERENCE_STRENGTH)
    for row in (ref["same_scene"], ref["unrelated"]):
        assert np.isfinite(row["psnr"]) and row["colorfulness_ratio"] >= 0
    assert np.isfinite(ref["same_scene"]["psnr_right_half"])
    assert ref["gray_psnr_right_half"] > 0 and ref["auto_psnr_right_half"] > 0
    cast = res["auto"]["colour_cast"]
    assert np.isfinite(cast["b_bias"])
    assert 0 <= cast["blue_recall"] <= 1 and 0 <= cast["green_recall"] <= 1


def test_eval_colorize_measures_the_tone_of_every_historical_photo(photos, tmp_path):
    """Old photos have no truth: the report gives their results' mean b*, chroma and green
    and blue shares, over every photo (the sheet shows at most eight)."""
    import shutil

    from neuron_desktop.evaluation.colorize import evaluate
    from neuron_desktop.models.colorization import ColorizationNet

    old = tmp_path / "historical"
    old.mkdir()
    for i in range(9):
        shutil.copy(photos[i % 2], old / f"h{i}.png")
    torch.manual_seed(0)
    net = ColorizationNet(width=4, semantic=False).eval()
    report = run_pipeline(evaluate(net, photos[:1], temperature=0.2, render_size=64,
                                   sheet_path=tmp_path / "sheet.jpg", historical=old))
    tone = report["results"]["historical_tone"]
    assert tone["photos"] == 9 and np.isfinite(tone["b_mean"]) and tone["chroma"] >= 0
    assert 0 <= tone["green_share"] <= 1 and 0 <= tone["blue_share"] <= 1
    assert (tmp_path / "colorize_historical.jpg").exists()
