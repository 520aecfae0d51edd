"""The colorizer's bins and decoding: soft encoding, rebalancing, annealed mean, prior
correction, distribution modes, chroma boost."""

import pytest
import torch

from neuron_desktop.core.color import rgb_to_lab
from neuron_desktop.models.colorization import (
    ab_bins,
    annealed_mean,
    distribution_modes,
    nearest_bin,
    rebalance_weights,
    soft_encode,
)


@pytest.fixture(scope="module")
def bins():
    return ab_bins()


def test_bins_are_the_occupied_grid_cells_of_the_srgb_gamut(bins):
    assert 250 <= len(bins) <= 320
    assert torch.all(bins % 10 == 0)
    # every sRGB colour's ab lies within half a cell of some bin
    rgb = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    ab = rgb_to_lab(rgb)[:, 1:].permute(0, 2, 3, 1).reshape(-1, 2)
    assert torch.cdist(ab, bins).min(1).values.max() <= 5 * 2**0.5 + 1e-4
    # a far out-of-gamut corner (a=-110, b=+110 is unreachable) is not a bin
    assert not ((bins[:, 0] == -110) & (bins[:, 1] == 110)).any()


def test_soft_encoding_round_trip(bins):
    ab = torch.tensor([[20.0, -30.0], [3.0, 47.0], [0.0, 0.0]]).T.reshape(1, 2, 3, 1)
    z = soft_encode(ab, bins)
    assert z.shape == (1, len(bins), 3, 1)
    torch.testing.assert_close(z.sum(1), torch.ones(1, 3, 1))
    assert ((z > 0).sum(1) == 5).all()
    # decoding the soft target (mean) recovers the colour within a fraction of a cell
    decoded = torch.einsum("bqhw,qc->bchw", z, bins)
    assert (decoded - ab).abs().max() < 3.0
    # the nearest bin gets the largest weight
    assert torch.equal(z.argmax(1), nearest_bin(ab, bins))


def test_annealed_mean_moves_from_mean_to_mode(bins):
    logits = torch.full((1, len(bins), 1, 1), -10.0)
    q_red = int(torch.cdist(torch.tensor([[60.0, 40.0]]), bins).argmin())
    q_gray = int(torch.cdist(torch.tensor([[0.0, 0.0]]), bins).argmin())
    logits[0, q_red], logits[0, q_gray] = 1.0, 0.5
    vivid = annealed_mean(logits, bins, 0.1)[0, :, 0, 0]
    mean = annealed_mean(logits, bins, 1.0)[0, :, 0, 0]
    torch.testing.assert_close(vivid, bins[q_red], atol=0.5, rtol=0)
    assert vivid.norm() > mean.norm() > 0


def test_decoding_reads_channels_last_logits_as_contiguous_ones(bins):
    """The shipped colorizer runs channels-last (its logits per pixel): decoding and the bin
    softmax give the same answer in either layout, and equal the plain formula."""
    from neuron_desktop.models.colorization import bin_softmax, coherent_boost

    g = torch.Generator().manual_seed(0)
    logits = 3 * torch.randn(2, len(bins), 5, 7, generator=g)
    last = logits.contiguous(memory_format=torch.channels_last)
    log_w = torch.randn(len(bins), generator=g)
    probs = torch.softmax((logits - 0.5 * log_w.view(1, -1, 1, 1)) / 0.3, 1)
    plain = coherent_boost(torch.einsum("bqhw,qc->bchw", probs, bins), probs, bins, 0.2)
    for x in (logits, last):
        torch.testing.assert_close(annealed_mean(x, bins, 0.3, log_w, 0.5, 0.2), plain,
                                   atol=1e-4, rtol=1e-5)
        for log in (False, True):
            out = bin_softmax(x, log)
            assert out.is_contiguous(memory_format=torch.channels_last) == (x is last)
            ref = torch.log_softmax(logits, 1) if log else torch.softmax(logits, 1)
            torch.testing.assert_close(out, ref)


def test_rebalancing_weights_favour_rare_colours(bins):
    prior = torch.ones(len(bins))
    gray = int(torch.cdist(torch.zeros(1, 2), bins).argmin())
    prior[gray] = 1000.0
    w = rebalance_weights(prior, bins, lam=0.5, sigma=5)
    assert w.shape == (len(bins),)
    assert w[gray] < w.median()
    # expected weight under the smoothed prior is 1
    p = prior.double() / prior.sum()
    d2 = torch.cdist(bins.double(), bins.double()) ** 2
    p = torch.exp(-d2 / 50) @ p
    p /= p.sum()
    assert float((p * w.double()).sum()) == pytest.approx(1.0, abs=1e-5)
    # lambda = 1 gives uniform weights
    assert torch.allclose(rebalance_weights(prior, bins, lam=1.0), torch.ones(len(bins)))


def test_distribution_modes_finds_separate_peaks(bins):
    probs = torch.full((len(bins),), 1e-4)
    for ab, p in (([50.0, 50.0], 0.5), ([-40.0, 30.0], 0.3), ([0.0, -40.0], 0.1)):
        probs[int(torch.cdist(torch.tensor([ab]), bins).argmin())] = p
    modes = distribution_modes(probs / probs.sum(), bins, 3)
    assert [m[0].tolist() for m in modes] == [[50.0, 50.0], [-40.0, 30.0], [0.0, -40.0]]
    assert modes[0][1] > modes[1][1] > modes[2][1]


def test_prior_correction_undoes_the_rebalancing_tilt(bins):
    q_red = int(torch.cdist(torch.tensor([[60.0, 40.0]]), bins).argmin())
    q_gray = int(torch.cdist(torch.zeros(1, 2), bins).argmin())
    logits = torch.full((1, len(bins), 1, 1), -20.0)
    logits[0, q_red], logits[0, q_gray] = 0.0, 0.0
    log_w = torch.zeros(len(bins))
    log_w[q_red], log_w[q_gray] = 2.0, -1.0  # red was up-weighted in training
    plain = annealed_mean(logits, bins, 1.0, log_w, 0.0)[0, :, 0, 0]
    corrected = annealed_mean(logits, bins, 1.0, log_w, 1.0)[0, :, 0, 0]
    assert corrected.norm() < 0.2 * plain.norm()
    torch.testing.assert_close(annealed_mean(logits, bins, 1.0)[0, :, 0, 0], plain)


def test_coherent_boost_restores_chroma_only_where_the_hue_is_agreed(bins):
    from neuron_desktop.models.colorization import coherent_boost

    q = len(bins)
    probs = torch.zeros(1, q, 1, 2)
    blue = [i for i in range(q) if bins[i, 1] < -30 and abs(bins[i, 0]) < 10][:2]
    red = int(((bins - torch.tensor([40.0, 0.0])) ** 2).sum(1).argmin())
    green = int(((bins - torch.tensor([-40.0, 0.0])) ** 2).sum(1).argmin())
    probs[0, blue[0], 0, 0], probs[0, 0, 0, 0] = 0.5, 0.5  # blue or near-gray: one hue
    probs[0, red, 0, 1], probs[0, green, 0, 1] = 0.5, 0.5  # opposite hues: no agreement
    mean = torch.einsum("bqhw,qc->bchw", probs, bins)
    out = coherent_boost(mean, probs, bins, 1.0)
    assert float(out[0, :, 0, 0].norm()) > 1.3 * float(mean[0, :, 0, 0].norm())  # regained
    assert float(out[0, :, 0, 1].norm()) < 12  # the disputed pixel stays near gray
    # the hue itself never changes
    m, o = mean[0, :, 0, 0], out[0, :, 0, 0]
    assert float((m * o).sum() / (m.norm() * o.norm())) > 0.999
