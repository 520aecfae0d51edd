"""Colorization CNN (Zhang et al. 2016/2017): L + ab hints -> distribution over gamut ab bins.

Shapes: ``l`` is normalised lightness ``(B, 1, H, W)`` = (L - 50) / 100; hints are
``(B, 2, H, W)`` ab / 110 and a ``(B, 1, H, W)`` mask; the output is logits
``(B, Q, H/2, W/2)`` over the Q in-gamut ab bins (grid 10).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuron_desktop.core.color import normalize_ab, normalize_l, rgb_to_lab
from neuron_desktop.core.errors import WeightsError
from neuron_desktop.models.blocks import zero_init
from neuron_desktop.models.registry import load_state, register_arch

GRID = 10
AB_MAX = 110


@functools.lru_cache(maxsize=1)
def _gamut_bins() -> Tensor:
    levels = torch.linspace(0, 1, 96, dtype=torch.float64)
    rgb = torch.stack(torch.meshgrid(levels, levels, levels, indexing="ij")).reshape(1, 3, -1, 1)
    ab = rgb_to_lab(rgb)[0, 1:, :, 0]
    cells = torch.unique(torch.round(ab / GRID).long(), dim=1).T  # occupied grid cells
    return (cells * GRID).float()


def ab_bins() -> Tensor:
    """The Q in-gamut ab bin centres ``(Q, 2)``: the grid-10 cells that some sRGB colour
    (96 levels per channel, any lightness) falls in. Q = 262; Zhang et al.'s 313 came from an
    empirical hull with a wider margin."""
    return _gamut_bins().clone()


def _grid_index(bins: Tensor) -> Tensor:
    """(Q,) flat index of each bin on the full 23x23 grid (for smoothing and mode finding)."""
    n = 2 * AB_MAX // GRID + 1
    ij = ((bins + AB_MAX) / GRID).round().long()
    return ij[:, 0] * n + ij[:, 1]


def soft_encode(ab: Tensor, bins: Tensor, k: int = 5, sigma: float = 5.0) -> Tensor:
    """ab ``(B, 2, H, W)`` -> soft targets ``(B, Q, H, W)``: k nearest bins, Gaussian weights."""
    b, _, h, w = ab.shape
    flat = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    d2 = torch.cdist(flat, bins.to(flat)) ** 2
    near_d2, near_idx = d2.topk(k, dim=1, largest=False)
    wts = torch.softmax(-near_d2 / (2 * sigma**2), dim=1)
    out = torch.zeros(flat.shape[0], len(bins), dtype=ab.dtype, device=ab.device)
    out.scatter_(1, near_idx, wts)
    return out.reshape(b, h, w, -1).permute(0, 3, 1, 2)


def nearest_bin(ab: Tensor, bins: Tensor) -> Tensor:
    """ab ``(B, 2, H, W)`` -> index of the nearest bin ``(B, H, W)``."""
    b, _, h, w = ab.shape
    flat = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    return torch.cdist(flat, bins.to(flat)).argmin(1).reshape(b, h, w)


REBALANCE_LAMBDA = 0.5  # the uniform distribution's share in the rebalancing weights
REBALANCE_SIGMA = 5.0  # ab units: the Gaussian that smooths bin histograms over the bins


def bin_smoothing(bins: Tensor, sigma: float = REBALANCE_SIGMA) -> Tensor:
    """``(Q, Q)`` Gaussian weights between the bins (in ``bins``' dtype): a histogram ``h``
    smoothed over the ab plane is ``bin_smoothing(bins) @ h``."""
    return torch.exp(-torch.cdist(bins, bins) ** 2 / (2 * sigma**2))


def rebalance_weights(prior: Tensor, bins: Tensor, lam: float = REBALANCE_LAMBDA,
                      sigma: float = REBALANCE_SIGMA) -> Tensor:
    """Class-rebalancing weights ``(Q,)`` from an empirical bin prior ``(Q,)``.

    The prior is smoothed with a Gaussian (sigma in ab units) over the bins, mixed with the
    uniform distribution at ``lam``, inverted, and normalised so that E_prior[w] = 1.
    """
    p = prior.double() / prior.sum()
    p = bin_smoothing(bins.double(), sigma) @ p
    p = p / p.sum()
    w = 1.0 / ((1 - lam) * p + lam / len(p))
    w = w / (p * w).sum()
    return w.float()


def bin_softmax(logits: Tensor, log: bool = False) -> Tensor:
    """(log-)softmax over the bins, dim 1 of ``(B, Q, H, W)`` logits, computed along the
    contiguous axis: per pixel for channels-last logits (the shipped colorizer's; no copy),
    the result in the same layout."""
    fn = F.log_softmax if log else torch.softmax
    if logits.ndim == 4 and not logits.is_contiguous() and \
            logits.is_contiguous(memory_format=torch.channels_last):
        return fn(logits.permute(0, 2, 3, 1), -1).permute(0, 3, 1, 2)
    return fn(logits, 1)


def annealed_mean(logits: Tensor, bins: Tensor, temperature: float = 0.38,
                  log_weights: Tensor | None = None, prior_correction: float = 0.0,
                  chroma_boost: float = 0.0) -> Tensor:
    """Logits ``(B, Q, H, W)`` -> ab ``(B, 2, H, W)``: mean of softmax(logits / T).

    Lower T moves from the mean (T=1, desaturated) towards the mode (T->0, vivid).
    ``prior_correction`` α in [0, 1] divides the predicted distribution by w^α, the class-
    rebalancing weights ``(Q,)`` given as ``log_weights``: training with weights w tilts the
    network towards rare (saturated) colours, α = 1 undoes that tilt fully.
    """
    b, q, h, w = logits.shape
    # pixels as rows (no copy for channels-last logits, the shipped colorizer's layout): one
    # softmax over contiguous bins, one product for the mean ab and the expected chroma
    x = logits.permute(0, 2, 3, 1).reshape(-1, q).float()
    if log_weights is not None and prior_correction:
        x = x - prior_correction * log_weights.to(x)
    probs = torch.softmax(x / max(temperature, 1e-3), dim=1)
    bins = bins.to(probs)
    m = probs @ (torch.cat([bins, bins.norm(dim=1, keepdim=True)], 1) if chroma_boost else bins)
    mean = m[:, :2]
    if chroma_boost:
        mean = mean * _coherent_gain(mean, m[:, 2:], chroma_boost)
    return mean.reshape(b, h, w, 2).permute(0, 3, 1, 2).contiguous()


def coherent_boost(mean: Tensor, probs: Tensor, bins: Tensor, beta: float) -> Tensor:
    """Give back some of the chroma that averaging removes, where the hue is agreed on.

    The mean ab is grayer than the colours the model expects (|E[ab]| <= E|ab|). With
    coherence c = |E[ab]| / E|ab| (1 when every likely colour has the same hue, 0 when they
    cancel out), the mean's chroma is raised by ``beta * c * (E|ab| - |E[ab]|)`` along its own
    hue: sky and foliage regain saturation, an unsure red-or-green stays calm."""
    expected_chroma = torch.einsum("bqhw,q->bhw", probs, bins.to(probs).norm(dim=1))[:, None]
    return mean * _coherent_gain(mean, expected_chroma, beta)


def _coherent_gain(mean: Tensor, expected_chroma: Tensor, beta: float) -> Tensor:
    """:func:`coherent_boost`'s factor on ``mean`` (ab along dim 1)."""
    chroma = mean.norm(dim=1, keepdim=True)
    coherence = chroma / expected_chroma.clamp(min=1e-6)
    return 1 + beta * coherence * (expected_chroma - chroma) / chroma.clamp(min=1e-6)


def distribution_modes(probs: Tensor, bins: Tensor, k: int) -> list[tuple[Tensor, float]]:
    """Top-k local maxima of one pixel's distribution ``(Q,)`` on the ab grid: [(ab, p)]."""
    n = 2 * AB_MAX // GRID + 1
    grid = torch.zeros(n * n, dtype=probs.dtype)
    idx = _grid_index(bins)
    grid[idx] = probs.cpu()
    pooled = F.max_pool2d(grid.view(1, 1, n, n), 3, 1, 1).flatten()
    is_mode = (grid[idx] >= pooled[idx]) & (grid[idx] > 0)
    cand = torch.nonzero(is_mode).flatten()
    order = cand[probs.cpu()[cand].argsort(descending=True)]
    modes = [(bins[q], float(probs[q])) for q in order[:k]]
    if len(modes) < k:  # flat distributions: fill with the most likely remaining bins
        rest = [q for q in probs.cpu().argsort(descending=True).tolist() if q not in order[:k]]
        modes += [(bins[q], float(probs[q])) for q in rest[: k - len(modes)]]
    return modes


def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, dilation, dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class BinColorizer(nn.Module):
    """What every colorizer over the gamut bins shares: its input scaling, the frozen
    ImageNet branch (``self.semantic``, kept in eval mode, not saved with the weights) and
    the decoding of its logits."""

    semantic: nn.Module | None
    bins: Tensor  # (Q, 2) ab bin centres (buffer)
    prior_log_weights: Tensor  # (Q,) log class-rebalancing weights (buffer)
    # the network owns its input scaling: training and inference both call these
    normalize_l = staticmethod(normalize_l)  # Lab L -> (L - 50) / 100
    normalize_ab = staticmethod(normalize_ab)  # Lab ab -> ab / 110

    def train(self, mode: bool = True) -> BinColorizer:
        super().train(mode)
        if self.semantic is not None:
            self.semantic.eval()  # frozen: BatchNorm statistics stay ImageNet's
        return self

    @staticmethod
    def encoder_input(l: Tensor) -> Tensor:
        """Normalised L -> the gray RGB image the ImageNet encoder sees."""
        return (l + 0.5).clamp(0, 1).expand(-1, 3, -1, -1)

    def semantic_features(self, l: Tensor) -> list[Tensor] | None:
        """Frozen features of normalised ``l`` (once per photo); None without that branch."""
        raise NotImplementedError

    def decode(self, logits: Tensor, temperature: float, prior_correction: float = 0.0,
               chroma_boost: float = 0.0) -> Tensor:
        """Annealed-mean ab ``(B, 2, h, w)`` from this network's logits."""
        return annealed_mean(logits, self.bins, temperature, self.prior_log_weights,
                             prior_correction, chroma_boost)

    def trainable_state_dict(self) -> dict[str, Tensor]:
        """State without the frozen semantic branch (that ships in its own package)."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("semantic.")}


class ColorizationNet(BinColorizer):
    """U-Net over (L, hint ab, hint mask) with optional frozen semantic features.

    Encoder levels at strides 1, 2, 4, 8 (widths w, 2w, 4w, 8w), dilated convolutions at
    stride 8 where the EfficientNet-Lite0 features (strides 8/16/32) are added, decoder back
    to stride 2 with skip connections, then a 1x1 head to Q bin logits.
    """

    def __init__(self, width: int = 16, semantic: bool = True, num_bins: int | None = None,
                 pretrained_semantic: bool = True) -> None:
        super().__init__()
        w = width
        self.num_bins = num_bins or len(ab_bins())
        self.register_buffer("bins", ab_bins(), persistent=False)
        # log class-rebalancing weights of the training data, saved with the weights
        self.register_buffer("prior_log_weights", torch.zeros(self.num_bins))
        self.enc1 = _conv(4, w)
        self.enc2 = nn.Sequential(_conv(w, 2 * w, 2), _conv(2 * w, 2 * w))
        self.enc4 = nn.Sequential(_conv(2 * w, 4 * w, 2), _conv(4 * w, 4 * w))
        self.enc8 = nn.Sequential(_conv(4 * w, 8 * w, 2), _conv(8 * w, 8 * w))
        self.mid = nn.Sequential(_conv(8 * w, 8 * w, dilation=2), _conv(8 * w, 8 * w, dilation=2),
                                 _conv(8 * w, 8 * w, dilation=4), _conv(8 * w, 8 * w))
        self.dec4 = nn.Sequential(_conv(12 * w, 4 * w), _conv(4 * w, 4 * w))
        self.dec2 = nn.Sequential(_conv(6 * w, 4 * w), _conv(4 * w, 4 * w))
        self.head = nn.Conv2d(4 * w, self.num_bins, 1)
        # hints also enter at strides 2 and 8 (mean ab + coverage), so a few points can
        # steer whole regions; zero-initialised, so they start as a no-op
        self.hint2 = nn.Conv2d(3, 2 * w, 1)
        self.hint8 = nn.Conv2d(3, 8 * w, 1)
        for conv in (self.hint2, self.hint8):
            zero_init(conv)
        self.semantic = None
        if semantic:
            from neuron_desktop.models.efficientnet_lite import efficientnet_lite0_features

            self.semantic = efficientnet_lite0_features(pretrained=pretrained_semantic)
            self.fuse = nn.ModuleList(
                nn.Conv2d(c, 8 * w, 1) for c in self.semantic.channels
            )

    def semantic_features(self, l: Tensor) -> list[Tensor] | None:
        """Frozen features of the gray image (computed once per photo in interactive use)."""
        if self.semantic is None:
            return None
        with torch.no_grad():
            return self.semantic(self.encoder_input(l))

    def forward(self, l: Tensor, hint_ab: Tensor, hint_mask: Tensor,
                features: list[Tensor] | None = None) -> Tensor:
        x1 = self.enc1(torch.cat([l, hint_ab, hint_mask], 1))
        x2 = self.enc2(x1)
        x4 = self.enc4(x2)
        x8 = self.enc8(x4)
        x8 = x8 + self.hint8(_pooled_hints(hint_ab, hint_mask, x8.shape[-2:]))
        x2 = x2 + self.hint2(_pooled_hints(hint_ab, hint_mask, x2.shape[-2:]))
        feats = features if features is not None else self.semantic_features(l)
        if self.semantic is not None and feats is not None:
            for f, fuse in zip(feats, self.fuse, strict=True):
                x8 = x8 + F.interpolate(fuse(f), size=x8.shape[-2:], mode="bilinear",
                                        align_corners=False)
        x8 = self.mid(x8)
        up = F.interpolate(x8, size=x4.shape[-2:], mode="bilinear", align_corners=False)
        y = self.dec4(torch.cat([up, x4], 1))
        up = F.interpolate(y, size=x2.shape[-2:], mode="bilinear", align_corners=False)
        y = self.dec2(torch.cat([up, x2], 1))
        return self.head(y)


def _pooled_hints(ab: Tensor, mask: Tensor, size: Sequence[int]) -> Tensor:
    """Hints pooled to ``size`` (h, w): (mean hint ab where any hint falls, hint presence)."""
    h, w = size
    cover = F.adaptive_avg_pool2d(mask, (h, w))
    ab = F.adaptive_avg_pool2d(ab * mask, (h, w))
    return torch.cat([ab / cover.clamp(min=1e-3), (cover > 0).to(ab.dtype)], 1)


DEFAULT_WEIGHTS = "colorizer"


@register_arch("ColorizationNet")
def build_colorizer(entry) -> ColorizationNet:
    """The layout recorded with the weights (``preprocessing.arch``)."""
    return ColorizationNet(**entry.preprocessing.get("arch", {}))


def split_weights_spec(spec: str) -> tuple[str, str]:
    """``NAME``, ``default`` or ``NAME:auto|hinted`` (a pair's member) -> (manifest name,
    member); the member only matters for a :class:`ColorizerPair`. A bare name means the
    hint member: the network that works on its own, with and without hints."""
    name, _, member = spec.partition(":")
    if member not in ("", "auto", "hinted"):
        raise WeightsError(f"{spec!r}: a pair's member is 'auto' or 'hinted'")
    return (DEFAULT_WEIGHTS if name == "default" else name), member or "hinted"


def colorizer(*, weights: str | None = "default", device: str | torch.device = "cpu",
              strict: bool = True, **arch) -> ColorizationNet:
    """A trainable colorizer (inference uses ``models.registry.load``); ``weights`` names a
    manifest entry (None: random init; of a :class:`ColorizerPair`, its hint member, or
    ``NAME:auto`` its automatic member). ``strict=False`` lets training start from weights of
    an earlier layout (new layers keep their initialisation)."""
    from neuron_desktop.models.weights import get_entry, load_weights

    if weights is None:
        return ColorizationNet(**arch).to(device).eval()
    name, member = split_weights_spec(weights)
    entry = get_entry(name)
    state = load_weights(name)
    layout = entry.preprocessing.get("arch", {})
    if entry.arch == "ColorizerEnsemble":  # an ensemble file: its U-Net (to train on)
        layout = {**layout.get("unet", {}), "semantic": True}
        state = {k[5:]: v for k, v in state.items() if k.startswith("unet.")}
    elif entry.arch == "ColorizerPair":  # a pair (or ``NAME:auto``): one of its U-Nets
        layout = {**layout.get(member, {}), "semantic": True}
        state = {k[len(member) + 1:]: v for k, v in state.items()
                 if k.startswith(member + ".")}
    elif entry.arch != "ColorizationNet":
        raise WeightsError(f"weights {name!r} are a {entry.arch}, not a ColorizationNet")
    net = ColorizationNet(**{**layout, **arch})
    load_state(net, state, name, strict=strict)
    return net.to(device).eval()


class SemanticColorizer(BinColorizer):
    """Colorizer whose encoder is the frozen ImageNet EfficientNet-Lite0 (on L replicated to
    RGB), with a trained U-Net decoder that also takes the hints.

    Encoder taps at strides 4, 8, 16, 32 (24, 40, 112, 320 channels) can be computed once per
    photo (or once per training crop and cached). The decoder goes 32 -> 16 -> 8 -> 4 with the
    hints pooled in at every level and a global-context vector, and predicts logits
    ``(B, Q, H/4, W/4)`` over the Q gamut ab bins. Inputs: normalised ``l`` = (L - 50) / 100
    ``(B, 1, H, W)``, hint ab / 110 ``(B, 2, H, W)``, hint mask ``(B, 1, H, W)``; H, W
    multiples of 32.
    """

    semantic: nn.Module
    out_stride = 4
    taps = (2, 4, 10, 15)  # last Lite0 block at strides 4, 8, 16, 32
    channels = (24, 40, 112, 320)

    def __init__(self, widths: tuple[int, int, int] = (96, 128, 192), num_bins: int | None = None,
                 pretrained_semantic: bool = True) -> None:
        super().__init__()
        w4, w8, w16 = widths
        self.num_bins = num_bins or len(ab_bins())
        self.register_buffer("bins", ab_bins(), persistent=False)
        self.register_buffer("prior_log_weights", torch.zeros(self.num_bins))
        from neuron_desktop.models.efficientnet_lite import efficientnet_lite0_features

        self.semantic = efficientnet_lite0_features(pretrained=pretrained_semantic)
        self.top = nn.Conv2d(320, w16, 1)
        self.context = nn.Linear(320, w16)
        self.dec16 = nn.Sequential(_conv(w16 + 112 + 3, w16), _conv(w16, w16, dilation=2),
                                   _conv(w16, w16))
        self.dec8 = nn.Sequential(_conv(w16 + 40 + 3, w8), _conv(w8, w8, dilation=2),
                                  _conv(w8, w8))
        self.dec4 = nn.Sequential(_conv(w8 + 24 + 1 + 3, w4), _conv(w4, w4))
        self.head = nn.Conv2d(w4, self.num_bins, 1)

    def semantic_features(self, l: Tensor) -> list[Tensor]:
        """Frozen encoder features of normalised ``l`` at strides 4, 8, 16, 32."""
        with torch.no_grad():
            return self.semantic(self.encoder_input(l), taps=self.taps)

    def forward(self, l: Tensor, hint_ab: Tensor, hint_mask: Tensor,
                features: list[Tensor] | None = None) -> Tensor:
        f4, f8, f16, f32 = features if features is not None else self.semantic_features(l)
        return self.decode_features(f4, f8, f16, f32, l, hint_ab, hint_mask)

    def decode_features(self, f4: Tensor, f8: Tensor, f16: Tensor, f32: Tensor, l: Tensor,
                        hint_ab: Tensor, hint_mask: Tensor) -> Tensor:
        """Logits from the encoder taps; ``l`` and hints may be at any size >= stride 4's."""
        ctx = self.context(f32.float().mean((2, 3)))[..., None, None]
        y = F.interpolate(self.top(f32.float()), size=f16.shape[-2:], mode="bilinear",
                          align_corners=False) + ctx
        y = self.dec16(torch.cat([y, f16.float(), _pooled_hints(hint_ab, hint_mask,
                                                                f16.shape[-2:])], 1))
        y = F.interpolate(y, size=f8.shape[-2:], mode="bilinear", align_corners=False)
        y = self.dec8(torch.cat([y, f8.float(), _pooled_hints(hint_ab, hint_mask,
                                                              f8.shape[-2:])], 1))
        y = F.interpolate(y, size=f4.shape[-2:], mode="bilinear", align_corners=False)
        fh, fw = f4.shape[-2:]
        l4 = F.adaptive_avg_pool2d(l, (fh, fw))
        y = self.dec4(torch.cat([y, f4.float(), l4,
                                 _pooled_hints(hint_ab, hint_mask, f4.shape[-2:])], 1))
        return self.head(y)


@register_arch("SemanticColorizer")
def build_semantic_colorizer(entry) -> SemanticColorizer:
    """The decoder layout recorded with the weights; the frozen encoder comes from the
    efficientnet-lite0 package."""
    arch = entry.preprocessing.get("arch", {})
    return SemanticColorizer(widths=tuple(arch.get("widths", (96, 128, 192))))


def log_average(a: Tensor, b: Tensor, weight: float) -> Tensor:
    """Two networks' bin logits averaged in the log domain, ``weight`` on ``a``."""
    return weight * bin_softmax(a.float(), True) + (1 - weight) * bin_softmax(b.float(), True)


class ColorizerEnsemble(BinColorizer):
    """Two colorizers as one: the U-Net (:class:`ColorizationNet`) and the semantic decoder
    (:class:`SemanticColorizer`) share one frozen EfficientNet-Lite0 pass, and their
    predicted colour distributions are averaged in the log domain with weight ``weight`` on
    the U-Net. Its "logits" are that average at the U-Net's stride 2, so decoding, prior
    correction, hints, palettes and the confidence map work on it as on one network."""

    out_stride = 2
    input_multiple = 32  # the semantic decoder's deepest stride

    def __init__(self, unet: dict | None = None, semantic: dict | None = None,
                 weight: float = 0.7, pretrained_semantic: bool = True) -> None:
        super().__init__()
        self.weight = weight
        self.semantic = None  # the members keep theirs (shared) in eval mode
        self.sem = SemanticColorizer(**(semantic or {}), pretrained_semantic=pretrained_semantic)
        # built with a throwaway encoder (for its fusion layers), then given the shared one
        self.unet = ColorizationNet(**{**(unet or {}), "semantic": True},
                                    pretrained_semantic=False)
        self.unet.semantic = self.sem.semantic
        self.num_bins = self.sem.num_bins
        self.register_buffer("bins", ab_bins(), persistent=False)

    @property
    def prior_log_weights(self) -> Tensor:  # type: ignore[override]
        return self.weight * self.unet.prior_log_weights + \
            (1 - self.weight) * self.sem.prior_log_weights

    def trainable_state_dict(self) -> dict[str, Tensor]:
        return {k: v for k, v in self.state_dict().items() if ".semantic." not in k}

    def semantic_features(self, l: Tensor) -> list[Tensor]:
        return self.sem.semantic_features(l)

    def forward(self, l: Tensor, hint_ab: Tensor, hint_mask: Tensor,
                features: list[Tensor] | None = None) -> Tensor:
        f4, f8, f16, f32 = features if features is not None else self.semantic_features(l)
        a = self.unet(l, hint_ab, hint_mask, [f8, f16, f32])
        b = F.interpolate(self.sem.decode_features(f4, f8, f16, f32, l, hint_ab,
                                                   hint_mask).float(),
                          size=a.shape[-2:], mode="bilinear", align_corners=False)
        return log_average(a, b, self.weight)


class ColorizerPair(BinColorizer):
    """Two U-Nets as one colorizer: ``auto`` answers a photo without hints, ``hinted`` one
    with hints (and, hint-free, says which pixels belong together when hints are spread).
    A wider network can give better automatic colours while a smaller one, whose answer
    leaves the hint spreading more to do, serves hints better and faster. Both share one
    frozen EfficientNet-Lite0 and the same training prior, so decoding works as on one
    network. ``auto_weight`` < 1 colours hint-free photos with both networks, their
    log-probabilities averaged with that weight on ``auto``. ``auto_bias``: a stored
    per-bin bias added to the hint-free answer (fitted by ``neuron train colorize-pair
    --align``, so the mix predicts each colour as often as the hint network alone)."""

    def __init__(self, auto: dict | None = None, hinted: dict | None = None,
                 pretrained_semantic: bool = True, auto_weight: float = 1.0,
                 auto_bias: bool = False) -> None:
        super().__init__()
        if not 0 <= auto_weight <= 1:
            raise ValueError(f"auto_weight must be in [0, 1], got {auto_weight}")
        self.auto_weight = auto_weight
        self.auto = ColorizationNet(**{**(auto or {}), "semantic": True},
                                    pretrained_semantic=pretrained_semantic)
        self.hinted = ColorizationNet(**{**(hinted or {}), "semantic": True},
                                      pretrained_semantic=False)
        self.hinted.semantic = self.semantic = self.auto.semantic  # one shared encoder
        if self.auto.num_bins != self.hinted.num_bins:
            raise ValueError("the pair's networks predict different bins")
        self.num_bins = self.auto.num_bins
        self.register_buffer("bins", ab_bins(), persistent=False)
        # only pairs written with a bias carry one, so older files load unchanged
        self.auto_bias: Tensor | None
        if auto_bias:
            self.register_buffer("auto_bias", torch.zeros(self.num_bins))
        else:
            self.auto_bias = None

    @property
    def prior_log_weights(self) -> Tensor:  # type: ignore[override]
        return self.auto.prior_log_weights

    def trainable_state_dict(self) -> dict[str, Tensor]:
        return {k: v for k, v in self.state_dict().items()
                if not k.startswith("semantic.") and ".semantic." not in k}

    def semantic_features(self, l: Tensor) -> list[Tensor] | None:
        return self.auto.semantic_features(l)

    def forward(self, l: Tensor, hint_ab: Tensor, hint_mask: Tensor,
                features: list[Tensor] | None = None) -> Tensor:
        feats = features if features is not None else self.semantic_features(l)
        hinted = hint_mask.flatten(1).any(1)
        if bool(hinted.all()):
            return self.hinted(l, hint_ab, hint_mask, feats)
        auto = self.auto(l, hint_ab, hint_mask, feats)
        if self.auto_weight < 1:
            auto = log_average(auto, self.hinted(l, torch.zeros_like(hint_ab),
                                                 torch.zeros_like(hint_mask), feats),
                               self.auto_weight)
        if self.auto_bias is not None:
            auto = auto + self.auto_bias.view(1, -1, 1, 1)
        if not bool(hinted.any()):
            return auto
        return torch.where(hinted.view(-1, 1, 1, 1),  # a batch with and without hints
                           self.hinted(l, hint_ab, hint_mask, feats), auto)


def colorizer_for_hints(net: BinColorizer) -> BinColorizer:
    """The network whose hint-free answer tells regions apart for spreading hints."""
    return net.hinted if isinstance(net, ColorizerPair) else net


@register_arch("ColorizerPair")
def build_colorizer_pair(entry) -> ColorizerPair:
    arch = entry.preprocessing.get("arch", {})
    return ColorizerPair(arch.get("auto"), arch.get("hinted"),
                         auto_weight=arch.get("auto_weight", 1.0),
                         auto_bias=arch.get("auto_bias", False))


@register_arch("ColorizerEnsemble")
def build_colorizer_ensemble(entry) -> ColorizerEnsemble:
    arch = entry.preprocessing.get("arch", {})
    return ColorizerEnsemble(arch.get("unet"), arch.get("semantic"), arch.get("weight", 0.7))


SCENE_TAPS = (40, 112, 320)  # EfficientNet-Lite0's channels at the colorizer's three taps
SCENE_DIM = 2 * sum(SCENE_TAPS) + 6  # their pooled mean and spread, six summary numbers


class SceneColourHead(nn.Module):
    """How colourful a scene truly is, guessed from its gray photo: a ridge regression of
    log(1 + colourfulness) of the true colours on the pair's pooled encoder features and
    its own decoded colourfulness (``pipelines.colorize.scene_features``). The automatic
    decoding gives photos guessed colourful more colour and dull ones less, at the same
    colour overall (docs/colorization.md). ``forward`` returns the guess minus the
    training photos' mean."""

    mean: Tensor
    scale: Tensor
    weight: Tensor

    def __init__(self, dim: int = SCENE_DIM, strength: float = 0.4,
                 colorizer_sha256: str = "") -> None:
        super().__init__()
        self.strength = strength
        self.colorizer_sha256 = colorizer_sha256  # the pair whose features it was fitted on
        for name in ("mean", "scale", "weight"):
            self.register_buffer(name, torch.zeros(dim) if name != "scale" else torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        return ((x.to(self.mean) - self.mean) / self.scale) @ self.weight


@register_arch("SceneColourHead")
def build_scene_head(entry) -> SceneColourHead:
    p = entry.preprocessing
    return SceneColourHead(p.get("dim", SCENE_DIM), p.get("strength", 0.4),
                           p.get("colorizer_sha256", ""))
