"""Colorization pipeline: photo (+ colour hints) -> colour photo, any size.

The network runs at a working resolution (``render_size`` on the long side); its ab is
upsampled and refined with a guided filter whose guide is the full-resolution lightness
(Liang et al.), then recombined with the original L so no detail is lost. Sepia or toned
photos work as they are: only their lightness is used.
"""

from __future__ import annotations

import logging
from dataclasses import astuple, dataclass, field, replace

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from neuron_desktop.core.color import (
    lab_to_rgb,
    lab_to_rgb_array,
    rgb_to_gray,
    rgb_to_lab,
    rgb_to_lab_array,
)
from neuron_desktop.core.device import choose_device, run_with_fallback
from neuron_desktop.core.geodesic import geodesic_distance
from neuron_desktop.core.guided import box_filter, guided_filter
from neuron_desktop.core.masks import Hint, hint_box
from neuron_desktop.core.metrics import colorfulness
from neuron_desktop.core.progress import Extra, Pipeline, Preview, Progress, run_pipeline
from neuron_desktop.models.colorization import (
    DEFAULT_WEIGHTS,
    REBALANCE_LAMBDA,
    BinColorizer,
    SceneColourHead,
    bin_smoothing,
    bin_softmax,
    colorizer_for_hints,
    distribution_modes,
    nearest_bin,
)
from neuron_desktop.models.registry import load_as
from neuron_desktop.models.weights import installed, read_manifest

log = logging.getLogger(__name__)

DEFAULT_RENDER_SIZE = 256
# Decoding chosen on the training set's validation split (scripts/select_colorize_alpha.py,
# docs/colorization.md "Refinement radius"; the earlier grid: scripts/tune_colorize.py): a low
# temperature with a partial prior correction balances PSNR and colourfulness; with hints the
# user supplies the colour, so the rest stays calmer.
DEFAULT_TEMPERATURE = 0.2
DEFAULT_PRIOR_CORRECTION = 0.41
HINTED_PRIOR_CORRECTION = 0.8
# Vividness (0..1, the editor's slider): the automatic colours' α moved from the default by
# up to VIVIDNESS_SPAN either way; 0.5 is the default. On the validation split 0 gives α 0.61
# (gain over gray +0.99 dB, colourfulness 0.51 of the truth's), 0.5 +0.36 dB at 0.78 and 1
# gives α 0.21 (−1.05 dB at 1.03). The temperature barely moves the amount of colour at
# α 0.41 (0.77-0.79 for T 0.08-1.0, losing PSNR either side of 0.2), so α is the knob
# (docs/colorization.md, "Vividness").
DEFAULT_VIVIDNESS = 0.5
VIVIDNESS_SPAN = 0.2
DEFAULT_CHROMA_BOOST = 0.0  # coherent chroma given back after averaging (models.colorization)
DEFAULT_KEEP_CHROMA = False  # refinement keeps each region's chroma (see finish)
MAX_CHROMA_GAIN = 1.6
REFINE_EPS = 1e-4
# guided-filter radius for a 512 px image, scaled with the size: seed 004 used 40, which greys
# colours; 20 keeps more colour at the same PSNR (validation split, docs/colorization.md)
REFINE_RADIUS_AT_512 = 20
CONFIDENCE_RADIUS_AT_512 = 40  # the confidence map is smoothed into regions
# a colour reference moves each region's colour distributions by strength · log(h / p), h the
# colours of the reference's regions that look like it, p the training photos' colours
# (docs/colorization.md, "A colour reference"). On the validation split, with a reference of
# the same scene, 0.45 gives +4.63 dB over gray (0.3: +3.64, 0.6: +5.03) and almost all of
# the gain on the part the reference never showed (+3.93; 0.6: +4.15); an unrelated reference
# costs 0.8 dB against automatic (0.6: 1.3)
DEFAULT_REFERENCE_STRENGTH = 0.45
# the network can read old prints through the restorer (clean_l; "auto": only where the
# restorer changes the fine detail of L at the working size by more than DAMAGE_THRESHOLD,
# RMS in L units; clean validation photos: median 0.15, 95th percentile about 0.67). It gives
# damaged prints their colour back at a given α, but at equal colourfulness it is even on
# validation prints and 0.13 dB worse on eval prints (`neuron eval restore --chain`), so it
# is off by default; restoring the print first gains +0.3 to +0.4 dB (docs/colorization.md,
# "Reading old prints through the restorer")
CLEAN_VIEW_MODES = ("auto", "on", "off")
DEFAULT_CLEAN_VIEW = "off"
DAMAGE_THRESHOLD = 0.5
RESTORER = "restorer"  # the weights clean_l reads with
CLEAN_OVERSAMPLE = 2.0  # the restorer runs at twice the working size (validation)
REFERENCE_MATCH_TEMPERATURE = 0.03  # softmax temperature of the region matching (validation)
REFERENCE_GRID = 32  # regions matched at most this many a side (the similarity is quadratic)
MIN_REFERENCE_CHROMA = 2.0  # mean ab chroma below which a reference is black and white


@dataclass
class AbHint:
    """A hint given directly in CIE ab (no gamut snapping beyond clamping)."""

    x: int
    y: int
    ab: tuple[float, float]
    size: int = 5
    spread: float = 1.0


@dataclass
class Prepared:
    """A photo ready for repeated colorization (hint edits reuse everything here)."""

    l_full: Tensor  # (1, 1, H, W) Lab L in [0, 100]
    l_work: Tensor  # (1, 1, h, w), h and w multiples of 8
    work_size: tuple[int, int]  # (h, w) before padding
    features: list[Tensor] | None
    base_logits: Tensor | None = None  # logits without hints (cached for hint affinity)
    base_probs: Tensor | None = None  # their softmax
    hinted_logits: tuple | None = None  # (hints' key, logits): the latest hinted prediction
    region_probs: Tensor | None = None  # what hints are spread by (see region_probs)
    auto_ab: dict = field(default_factory=dict)  # (T, α, boost) -> hint-free working-size ab
    shift: Tensor | None = None  # a colour reference's log-ratio: (Q,) or (1, Q, gh, gw)
    scene_shift: float | None = None  # the photo's change of α (auto_prior_correction)
    cleaned: bool = False  # the network read the photo through the restorer (prepare)
    # (seed y, x, beta) -> (h, w) squared geodesic distance: a hint that did not move is not
    # measured again (geodesic_d2)
    geodesic: dict = field(default_factory=dict)
    # hinted passes in bfloat16 where the CPU computes it natively (reduced_precision_ok):
    # the live previews' (docs/colorization.md, "Live hints"); results stay float32
    reduced_precision: bool = False


def reduced_precision_ok(device: torch.device | str) -> bool:
    """Whether hinted passes may run in bfloat16 on ``device``: a CPU with AVX-512 BF16
    (the hinted pass about a third faster; without it bfloat16 is emulated and slower)."""
    if torch.device(device).type != "cpu":
        return False
    check = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return bool(check is not None and check())


def load_colorizer(weights: str = "default", device: torch.device | str = "cpu"
                   ) -> BinColorizer:
    """The shipped colorizer on ``device`` (``models.registry.load``: verified, cached),
    with its scene head (``NAME_scene``, :func:`auto_prior_correction`) where one was
    fitted for exactly these weights."""
    name = DEFAULT_WEIGHTS if weights == "default" else weights
    net = load_as(BinColorizer, name, device)  # cached: converted once
    if not getattr(net, "channels_last", False):
        # oneDNN's convolutions skip a reorder per layer (the hinted network ~15 % faster on
        # the CPU), and the logits come out with the bins contiguous per pixel, as
        # annealed_mean reads them
        net.to(memory_format=torch.channels_last)
        object.__setattr__(net, "channels_last", True)
    # a plain attribute, not a submodule: the pair's own state stays as it was written
    object.__setattr__(net, "scene_head", _scene_head_for(name))
    return net


def _scene_head_for(name: str) -> SceneColourHead | None:
    entries = read_manifest()
    if name not in entries or f"{name}_scene" not in entries:
        return None
    head = load_as(SceneColourHead, f"{name}_scene", "cpu")
    if head.colorizer_sha256 != entries[name].sha256:
        log.warning("scene head %s_scene was fitted for other weights (sha256 %s, not %s); "
                    "not used", name, head.colorizer_sha256[:12], entries[name].sha256[:12])
        return None
    return head


def pad_multiple(net) -> int:
    """The working image's sides must be multiples of this (the network's deepest stride)."""
    return getattr(net, "input_multiple", 32 if getattr(net, "out_stride", 2) == 4 else 8)


def upsample_to_work(x: Tensor, prep: Prepared) -> Tensor:
    """Network-resolution maps -> the working size (padding cropped)."""
    x = F.interpolate(x, size=prep.l_work.shape[-2:], mode="bilinear", align_corners=False)
    h, w = prep.work_size
    return x[..., :h, :w]


def working_size(h: int, w: int, render_size: int) -> tuple[int, int]:
    scale = min(1.0, render_size / max(h, w))
    return max(8, round(h * scale)), max(8, round(w * scale))


def clean_l(l: Tensor, size: tuple[int, int], oversample: float = CLEAN_OVERSAMPLE) -> Tensor:
    """Lightness ``l`` (1, 1, H, W; Lab L) at ``size``, read through the shipped restorer
    (``pipelines.restore``: grain, blur, JPEG damage and fading), on ``l``'s device.

    The restorer sees the photo as neutral gray (a toned print reads as its gray version),
    shrunk to ``oversample`` times ``size`` (never enlarged): about the scale its old-print
    damage was trained at, for the default working size."""
    from neuron_desktop.pipelines.restore import restore

    H, W = l.shape[-2:]
    s = min(1.0, oversample * max(size) / max(H, W))
    l_big = F.interpolate(l, size=(max(8, round(H * s)), max(8, round(W * s))), mode="area")
    gray = lab_to_rgb(torch.cat([l_big, torch.zeros_like(l_big).expand(-1, 2, -1, -1)], 1))
    out = run_pipeline(restore(gray, weights=RESTORER, device=l.device))
    return F.interpolate(rgb_to_gray(out) * 100, size=size, mode="area")


def damage(l_clean: Tensor, l_raw: Tensor) -> float:
    """How much the restorer changed the fine detail of L (RMS of the change minus its 5×5
    local mean, L units): grain, blur and JPEG damage, not a global tone shift."""
    d = l_clean - l_raw
    return float((d - F.avg_pool2d(d, 5, 1, 2, count_include_pad=False)).pow(2).mean().sqrt())


def prepare(net: BinColorizer, image: Tensor, render_size: int = DEFAULT_RENDER_SIZE,
            reference: Tensor | None = None,
            reference_strength: float = DEFAULT_REFERENCE_STRENGTH,
            clean_view: str = DEFAULT_CLEAN_VIEW) -> Prepared:
    """Lightness at full and working size plus the semantic features, for ``image``
    (1, 3, H, W) RGB in [0, 1] (or (1, 1, H, W) gray); with a colour ``reference``
    (:func:`reference_shift`) every prediction leans towards its colours.

    ``clean_view`` ("auto", "on", "off"): the network reads the photo
    cleaned by the restorer at the working size (:func:`clean_l`), so an old print's grain,
    blur and fading neither mute nor mislead its colours; "auto" does so only where the
    restorer finds damage (:func:`damage` above :data:`DAMAGE_THRESHOLD`). The result keeps
    the photo's own lightness at full size."""
    if clean_view not in CLEAN_VIEW_MODES:
        raise ValueError(f"clean_view must be one of {', '.join(CLEAN_VIEW_MODES)}, "
                         f"got {clean_view!r}")
    mode = clean_view
    device = next(net.parameters()).device
    gray = image if image.shape[1] == 1 else rgb_to_gray(image)
    l_full = gray * 100
    h, w = working_size(l_full.shape[-2], l_full.shape[-1], render_size)
    l_work = F.interpolate(l_full.to(device), size=(h, w), mode="area")
    if mode != "off" and not installed(RESTORER):
        log.warning("the restorer's weights are missing: the colorizer reads the photo as it is")
        mode = "off"
    cleaned = False
    if mode != "off":
        l_clean = clean_l(l_full.to(device), (h, w))
        found = damage(l_clean, l_work)
        cleaned = mode == "on" or found > DAMAGE_THRESHOLD
        log.info("damage %.2f: the colorizer reads the photo %s", found,
                 "through the restorer" if cleaned else "as it is")
        if cleaned:
            l_work = l_clean
    m = pad_multiple(net)
    l_work = F.pad(l_work, (0, (-w) % m, 0, (-h) % m), mode="replicate")
    features = net.semantic_features(net.normalize_l(l_work))
    prep = Prepared(l_full, l_work, (h, w), features, cleaned=cleaned)
    if reference is not None:
        prep.shift = reference_shift(net, reference, reference_strength, prep).to(device)
    return prep


def training_prior(net: BinColorizer) -> Tensor:
    """The ab-bin prior ``(Q,)`` of the network's training photos (smoothed as for the
    rebalancing), recovered from its rebalancing weights w ∝ 1 / ((1 − λ) p + λ / Q)."""
    w = net.prior_log_weights.detach().double().cpu().exp()
    c = 1.0 / (1.0 / w).sum()
    p = ((c / w - REBALANCE_LAMBDA / len(w)) / (1 - REBALANCE_LAMBDA)).clamp(min=1e-6)
    return (p / p.sum()).float()


def working_rgb(rgb: Tensor, side: int = DEFAULT_RENDER_SIZE) -> Tensor:
    """``rgb`` (1, 3, H, W) area-resized to at most ``side`` px on the long side (the size
    :func:`prepare` gives it), on the CPU, in [0, 1]."""
    h, w = working_size(rgb.shape[-2], rgb.shape[-1], side)
    return F.interpolate(rgb.float().cpu(), size=(h, w), mode="area").clamp(0, 1)


def _small_ab(rgb: Tensor, side: int = DEFAULT_RENDER_SIZE) -> Tensor:
    """The ab ``(2, h, w)`` of :func:`working_rgb`."""
    return rgb_to_lab(working_rgb(rgb, side))[0, 1:]


def check_reference(reference: Tensor) -> Tensor:
    """``reference`` as a colour reference: (1, 3, H, W) with some colour (ValueError
    otherwise); returns its ab at the working size."""
    if reference.ndim != 4 or reference.shape[:2] != (1, 3):
        raise ValueError(f"the colour reference must be a (1, 3, H, W) RGB photo, got "
                         f"{tuple(reference.shape)}")
    ab = _small_ab(reference)
    if float(ab.norm(dim=0).mean()) < MIN_REFERENCE_CHROMA:
        raise ValueError("the colour reference has no colour (a black-and-white photo?): "
                         "choose a colour photo of the same place or people")
    return ab


def _match_features(features: list[Tensor] | None, size: tuple[int, int]) -> Tensor | None:
    """The encoder's two coarsest taps (strides 16 and 32), concatenated at the finer's grid,
    cropped to the working image ``size`` (h, w), pooled to at most REFERENCE_GRID cells a
    side and L2-normalised per cell ``(C, gh, gw)``; None without an encoder."""
    if not features or len(features) < 2:
        return None
    f16, f32 = features[-2].float(), features[-1].float()
    f = torch.cat([f16, F.interpolate(f32, size=f16.shape[-2:], mode="bilinear",
                                      align_corners=False)], 1)
    gh, gw = -(-size[0] // 16), -(-size[1] // 16)
    f = f[..., :gh, :gw]
    if max(gh, gw) > REFERENCE_GRID:
        k = REFERENCE_GRID / max(gh, gw)
        f = F.adaptive_avg_pool2d(f, (max(1, round(gh * k)), max(1, round(gw * k))))
    return F.normalize(f[0], dim=0)


def _cell_histograms(net: BinColorizer, ab: Tensor, grid: tuple[int, int]) -> Tensor:
    """Ab-bin histograms ``(cells, Q)`` of ``ab`` (2, h, w) over a ``grid`` of cells, smoothed
    over the bins like the training prior."""
    bins = net.bins.float().cpu()
    onehot = F.one_hot(nearest_bin(ab[None], bins), len(bins)).float().permute(0, 3, 1, 2)
    cells = F.adaptive_avg_pool2d(onehot, grid)[0].reshape(len(bins), -1).T
    cells = cells @ bin_smoothing(bins).T
    return cells / cells.sum(1, keepdim=True).clamp(min=1e-8)


def reference_shift(net: BinColorizer, reference: Tensor,
                    strength: float = DEFAULT_REFERENCE_STRENGTH,
                    target: Prepared | None = None) -> Tensor:
    """Log-ratio that moves the network's colour distributions towards the colours of a
    ``reference`` colour photo (1, 3, H, W): strength · log(h / p_train).

    With the ``target`` photo prepared (and an encoder), h is local: each region of the
    target takes the colours of the reference's regions that look like it (the frozen
    encoder's features, softmax over cosine similarities at REFERENCE_MATCH_TEMPERATURE),
    so the suit's orange goes to the suit and not to the wall; ``(1, Q, gh, gw)``.
    Otherwise h is the whole reference's histogram ``(Q,)``. A photo of the same place,
    people or time helps a lot; an unrelated one misleads (docs/colorization.md). Raises
    ValueError for a reference without colour."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"reference strength must be between 0 and 1, got {strength}")
    ab = check_reference(reference)
    log_prior = torch.log(training_prior(net) + 1e-4)
    ft = None if target is None else _match_features(target.features, target.work_size)
    if target is None or ft is None:
        return strength * (torch.log(_cell_histograms(net, ab, (1, 1))[0] + 1e-4) - log_prior)
    ref = prepare(net, reference.to(target.l_work.device), DEFAULT_RENDER_SIZE)
    fr = _match_features(ref.features, ref.work_size)
    assert fr is not None  # the same network: it has an encoder
    hist = _cell_histograms(net, ab, (fr.shape[-2], fr.shape[-1]))
    sim = ft.flatten(1).T.cpu() @ fr.flatten(1).cpu()  # (target cells, reference cells)
    local = torch.softmax(sim / REFERENCE_MATCH_TEMPERATURE, 1) @ hist
    shift = strength * (torch.log(local + 1e-4) - log_prior)
    return shift.T.reshape(1, -1, ft.shape[-2], ft.shape[-1])


def snap_to_gamut(l: Tensor, ab: Tensor, iterations: int = 20) -> Tensor:
    """Scale each ab ``(N, 2)`` towards grey (bisection on the factor) until (L ``(N,)``, ab)
    is a displayable sRGB colour; in-gamut colours are returned unchanged. (A few hints: in
    NumPy, without torch's per-call cost.)"""
    l_np = l.detach().cpu().numpy().astype(np.float32)
    ab_np = ab.detach().cpu().numpy().astype(np.float32)

    def inside(f: np.ndarray) -> np.ndarray:
        rgb = lab_to_rgb_array(np.concatenate([l_np[:, None], ab_np * f[:, None]], 1),
                               clip=False)
        return np.asarray(((rgb >= -1e-4) & (rgb <= 1 + 1e-4)).all(1))

    hi = np.ones(len(ab_np), np.float32)
    done = inside(hi)
    if done.all():
        return ab
    lo = np.zeros_like(hi)
    for _ in range(iterations):
        mid = (lo + hi) / 2
        ok = inside(mid)
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    return ab * torch.from_numpy(np.where(done, hi, lo)).to(ab)[:, None]


HintBoxes = tuple[list[tuple[int, int, int, int]], Tensor]  # patches at a size, snapped ab


def hint_planes(hints: list[Hint | AbHint], l_full: Tensor, size: tuple[int, int],
                boxes: HintBoxes | None = None) -> tuple[Tensor, Tensor]:
    """Hints at full-resolution positions -> (ab (1, 2, h, w), mask (1, 1, h, w)) at ``size``.

    An RGB hint takes the photo's own lightness at the point (mean over its patch) and the
    hint colour's ab, snapped into the sRGB gamut at that lightness.
    """
    h, w = size
    ab = torch.zeros(1, 2, h, w)
    mask = torch.zeros(1, 1, h, w)
    for (y0, y1, x0, x1), hint_ab in zip(*(boxes or hint_boxes(hints, l_full, size)),
                                         strict=True):
        ab[0, :, y0:y1, x0:x1] = hint_ab[:, None, None]
        mask[0, :, y0:y1, x0:x1] = 1
    return ab, mask


def hint_boxes(hints: list[Hint | AbHint], l_full: Tensor, size: tuple[int, int]
               ) -> HintBoxes:
    """Each hint's patch (y0, y1, x0, x1) at ``size`` and its snapped ab ``(N, 2)``."""
    h, w = size
    H, W = l_full.shape[-2:]
    if not hints:
        return [], torch.zeros(0, 2)
    sy, sx = h / H, w / W
    values = []
    for hint in hints:
        if not (0 <= hint.x < W and 0 <= hint.y < H):
            raise ValueError(f"hint at ({hint.x}, {hint.y}) lies outside the {W}×{H} photo")
        half = max(hint.size, 1) // 2
        patch = l_full[0, 0, max(0, hint.y - half):hint.y + half + 1,
                       max(0, hint.x - half):hint.x + half + 1]
        l = float(patch.mean())
        if isinstance(hint, AbHint):
            values.append((l, *hint.ab))
        else:
            values.append((l, *rgb_to_lab_array(np.clip(hint.rgb, 0, 1))[1:].tolist()))
    lab = torch.tensor(values)
    boxes = []
    for hint in hints:  # the square patch geometry of core.masks, at the working size
        scaled = Hint(int(hint.x * sx), int(hint.y * sy), (0.0, 0.0, 0.0),
                      max(1, round(hint.size * (sx + sy) / 2)))
        x0, y0, x1, y1 = hint_box(scaled, (h, w))
        boxes.append((y0, y1, x0, x1))
    return boxes, snap_to_gamut(lab[:, 0], lab[:, 1:])


@dataclass(frozen=True)
class Propagation:
    """How far hints reach (chosen on validation).

    The network sees every hint, and its answer changes the whole photo; that change is kept
    only within the hints' reach (the *gate*: near a hint, of similar lightness, of the same
    region), elsewhere the automatic colours stay. Each hint is then spread over its own
    region: the pixels it reaches move towards its colour (``pull``) and by its correction,
    its colour minus the network's there (the rest)."""

    # spread of a hint: fraction of the long side (0.15 with straight-line distances,
    # 0.225 with the geodesic reach before pull)
    sigma_space: float = 0.1875
    sigma_range: float = 5.0  # Lab L units
    damping: float = 0.01  # > 0: corrections fade back to the network's colours far away
    # sharpness of the same-region test (0: off); 12 (was 4): on validation a hint's rest of
    # the photo loses > 0.1 dB on 8.5 % of photos instead of 10.9 %, near it and with 10
    # hints within 0.01 dB of the best (docs/colorization.md, "Hints stay on their object")
    affinity_power: float = 12.0
    # reach of the network's hinted change: fraction of the long side (0.4 with straight lines,
    # 0.6 before pull)
    gate_space: float = 0.5
    gate_power: float = 2.0  # its same-region test (0: off); gate_space 0 = no gate
    # distances to a hint along the photo (0: straight lines): a step costs its length times
    # 1 + geodesic * |dL| / 10, so a hint's reach stops at edges in lightness. 1 (with both
    # reaches 1.5 times the straight-line ones): on validation 5.2 % of photos lose > 0.1 dB
    # away from one hint instead of 7.5 %, and every hint row gains (docs/colorization.md,
    # "A geodesic reach")
    geodesic: float = 1.0
    # what spreads: 0 each hint's correction (a shift of the network's colours), 1 its colour
    # (every reached pixel pulled towards it), between: a mix. 0.75 with both reaches 1.25
    # times the straight-line ones: on validation one hint's rest of the photo loses > 0.1 dB
    # in 6.5 % of 402 trials instead of 7.7 %, and every hint row gains (0.06-0.56 dB;
    # docs/colorization.md, "Hints pull towards their colour")
    pull: float = 0.75
    # texture (0: off): the local spread of lightness (std over TEXTURE_WINDOW px at the
    # working size) must be near the hint's, within this many L units (a Gaussian), so a
    # hint on a smooth background does not reach into textured hair or foliage of its
    # lightness
    sigma_texture: float = 0.0


DEFAULT_PROPAGATION = Propagation()
TEXTURE_WINDOW = 7  # working-size pixels


def region_affinity(probs: Tensor, points: list[tuple[int, int]], power: float) -> Tensor:
    """How much each pixel belongs with each point ``(N, h, w)``: the Bhattacharyya
    coefficient of their predicted colour distributions ``probs`` (1, Q, h, w), raised to
    ``power``. Pixels the model expects to be coloured alike (one object) score near 1;
    another object (sky vs skin, wall vs hair) scores near 0."""
    root = probs[0].clamp(min=0).sqrt().permute(1, 2, 0)  # (h, w, Q): per pixel, as stored
    refs = torch.stack([root[y, x] for y, x in points])  # (N, Q)
    bc = (root @ refs.T).permute(2, 0, 1).clamp(0, 1)
    return bc**power


@dataclass
class HintGeometry:
    """Per hint, at the working size: its patch and snapped colour, centre, and the lightness
    and region terms of its kernels (spatial terms depend on the reach, so they are made per
    use)."""

    boxes: list[tuple[int, int, int, int]]  # (y0, y1, x0, x1) patches
    hint_ab: Tensor  # (N, 2) the hints' colours, snapped to the gamut
    centers: Tensor  # (N, 2) y, x
    d2: Tensor  # (N, h, w) squared distance to the centre, in pixels
    light: Tensor  # (N, h, w) lightness similarity
    bc: Tensor | None  # (N, h, w) Bhattacharyya coefficient to the hint's region, or None
    spread: Tensor  # (N,) each hint's reach as a multiple of the default (Hint.spread)

    def kernel(self, sigma_space: float, power: float) -> Tensor:
        h, w = self.d2.shape[-2:]
        sigma = sigma_space * max(h, w) * self.spread.to(self.d2)[:, None, None]
        k = torch.exp(-self.d2 / (2 * sigma**2)) * self.light
        if self.bc is not None and power > 0:
            k = k * self.bc**power
        return k


def local_texture(l: Tensor, window: int = TEXTURE_WINDOW) -> Tensor:
    """``(h, w)`` standard deviation of the lightness ``l`` (1, 1, h, w) over a window."""
    mean = F.avg_pool2d(l, window, 1, window // 2, count_include_pad=False)
    sq = F.avg_pool2d(l * l, window, 1, window // 2, count_include_pad=False)
    return (sq - mean * mean).clamp(min=0).sqrt()[0, 0]


def hint_geometry(hints: list, l_full: Tensor, l_work: Tensor, sigma_range: float,
                  probs: Tensor | None, boxes: HintBoxes | None = None,
                  geodesic: float = 0.0, cache: dict | None = None,
                  sigma_texture: float = 0.0) -> HintGeometry:
    """``boxes``: :func:`hint_boxes` at ``l_work``'s size, when already computed;
    ``geodesic`` > 0: distances along the photo (:func:`geodesic_d2`, kept in ``cache``);
    ``sigma_texture`` > 0: the lightness term also asks for a texture like the hint's
    (:func:`local_texture`)."""
    h, w = l_work.shape[-2:]
    patches, hint_ab = boxes or hint_boxes(hints, l_full, (h, w))
    centers, lights = [], []
    for y0, y1, x0, x1 in patches:
        centers.append(((y0 + y1 - 1) / 2, (x0 + x1 - 1) / 2))
        lights.append(l_work[0, 0, y0:y1, x0:x1].mean())
    c = torch.tensor(centers, dtype=l_work.dtype, device=l_work.device)
    if geodesic > 0:
        d2 = geodesic_d2(l_work, c, geodesic, cache)
    else:
        ys = torch.arange(h, dtype=l_work.dtype, device=l_work.device)[None, :, None]
        xs = torch.arange(w, dtype=l_work.dtype, device=l_work.device)[None, None, :]
        d2 = (ys - c[:, 0, None, None]) ** 2 + (xs - c[:, 1, None, None]) ** 2
    dl = l_work[0, 0][None] - torch.stack(lights)[:, None, None]
    light = torch.exp(-dl**2 / (2 * sigma_range**2))
    if sigma_texture > 0:
        tex = local_texture(l_work)
        dt = tex[None] - torch.stack([tex[y0:y1, x0:x1].mean() for y0, y1, x0, x1 in patches]
                                     )[:, None, None]
        light = light * torch.exp(-dt**2 / (2 * sigma_texture**2))
    bc = None
    if probs is not None:
        ph, pw = probs.shape[-2:]
        pts = [(min(int(cy * ph / h), ph - 1), min(int(cx * pw / w), pw - 1))
               for cy, cx in centers]
        bc = F.interpolate(region_affinity(probs, pts, 1.0)[None], size=(h, w),
                           mode="bilinear", align_corners=False)[0].clamp(0, 1)
    spread = torch.tensor([float(getattr(hint, "spread", 1.0)) for hint in hints])
    return HintGeometry(patches, hint_ab, c, d2, light, bc, spread)


GEODESIC_SCALE = 4  # the geodesic distance is computed at 1/4 of the working size


def geodesic_d2(l_work: Tensor, centers: Tensor, beta: float, cache: dict | None = None
                ) -> Tensor:
    """``(N, h, w)`` squared geodesic distance in working-size pixels from each centre
    (y, x) over ``l_work`` (1, 1, h, w) (:func:`core.geodesic.geodesic_distance` at
    1/:data:`GEODESIC_SCALE` of the size, then upsampled). ``cache`` (one per ``l_work``,
    ``Prepared.geodesic``) keeps each seed's map, so only new seeds are measured."""
    h, w = l_work.shape[-2:]
    s = GEODESIC_SCALE
    gh, gw = -(-h // s), -(-w // s)
    seeds = [(min(int(cy / s), gh - 1), min(int(cx / s), gw - 1)) for cy, cx in centers.tolist()]
    cache = {} if cache is None else cache
    new = sorted({p for p in seeds if (*p, beta) not in cache})
    if new:
        small = F.avg_pool2d(l_work.float(), s, ceil_mode=True)[0, 0].cpu().numpy()
        d = torch.from_numpy(geodesic_distance(small, new, beta)).to(l_work)
        d2 = (F.interpolate(d[None], size=(h, w), mode="bilinear", align_corners=False)[0]
              * s) ** 2
        if len(cache) > 256:  # a long session of moving hints: start again
            cache.clear()
        cache.update({(*p, beta): m for p, m in zip(new, d2, strict=True)})
    return torch.stack([cache[(*p, beta)] for p in seeds])


def hint_gate(geometry: HintGeometry, params: Propagation) -> Tensor:
    """Where the hints may change the network's colours ``(1, 1, h, w)`` in [0, 1]: the
    union of the hints' reach kernels."""
    k = geometry.kernel(params.gate_space, params.gate_power)
    return (1 - torch.prod(1 - k.clamp(0, 1), 0))[None, None]


def propagate_hints(ab: Tensor, l_work: Tensor, hints: list, l_full: Tensor,
                    params: Propagation | None = DEFAULT_PROPAGATION,
                    probs: Tensor | None = None, geometry: HintGeometry | None = None
                    ) -> Tensor:
    """Spread each hint to pixels that are near it, of similar lightness and (given
    ``probs``, the hint-free predicted distributions at any resolution) of the same region:
    ``ab + Σ K_i [(1 - pull) δ_i + pull (t_i - ab)] / (Σ K_i + damping)``, with t_i the
    hint's colour and δ_i its correction (t_i minus the network's colour there).
    ``ab`` and ``l_work`` are (1, C, h, w)."""
    if not hints or params is None:
        return ab
    if geometry is None:
        geometry = hint_geometry(hints, l_full, l_work, params.sigma_range, probs,
                                 geodesic=params.geodesic, sigma_texture=params.sigma_texture)
    there = torch.stack([ab[0, :, y0:y1, x0:x1].mean((1, 2))
                         for (y0, y1, x0, x1) in geometry.boxes])
    k = geometry.kernel(params.sigma_space, params.affinity_power)
    reach = k.sum(0)
    corr = torch.einsum("nhw,nc->chw", k, geometry.hint_ab.to(ab) - there)
    if params.pull:  # each pixel's own difference to the hint colour, not the hint's
        corr = corr + params.pull * (torch.einsum("nhw,nc->chw", k, there) - ab[0] * reach)
    return ab + (corr / (reach + params.damping))[None]


def hint_reach(geometry: HintGeometry, params: Propagation, index: int) -> Tensor:
    """``(h, w)`` in [0, 1]: how much of each pixel's colour hint ``index`` sets, its share
    of the propagation's weights (with the damping, so far from every hint it fades to 0);
    where over 1/2 the hint's colour wins. What the editor shows of a selected hint."""
    k = geometry.kernel(params.sigma_space, params.affinity_power)
    return k[index] / (k.sum(0) + params.damping)


def predict_logits(net: BinColorizer, prep: Prepared, hints: list | None,
                   boxes: HintBoxes | None = None) -> Tensor:
    """Bin logits at half the working size ``(1, Q, h/2, w/2)`` (padded to /8). The latest
    hinted answer is kept: a new hint's suggested colour asks for the hints just shown, and a
    hint's spread (not a network input) changes only the propagation."""
    key = (id(net), prep.reduced_precision,
           *((type(h).__name__, *astuple(replace(h, spread=1.0))) for h in hints)
           ) if hints else ()
    if key and prep.hinted_logits is not None and prep.hinted_logits[0] == key:
        return prep.hinted_logits[1]
    logits = _predict_logits(net, prep, hints, boxes)
    if key:
        prep.hinted_logits = (key, logits)
    return logits


def _predict_logits(net: BinColorizer, prep: Prepared, hints: list | None,
                    boxes: HintBoxes | None) -> Tensor:
    device = prep.l_work.device
    ab, mask = hint_planes(hints or [], prep.l_full, prep.work_size, boxes)
    pad = prep.l_work.shape[-2:]
    ab = F.pad(ab, (0, pad[1] - ab.shape[-1], 0, pad[0] - ab.shape[-2])).to(device)
    mask = F.pad(mask, (0, pad[1] - mask.shape[-1], 0, pad[0] - mask.shape[-2])).to(device)
    reduced = bool(hints) and prep.reduced_precision
    with torch.no_grad(), torch.autocast("cpu", torch.bfloat16, enabled=reduced):
        logits = net(net.normalize_l(prep.l_work), net.normalize_ab(ab), mask, prep.features)
    if reduced:
        logits = logits.float()
    if prep.shift is None:
        return logits
    shift = prep.shift.to(logits)
    if shift.ndim == 1:  # one histogram for the whole photo
        return logits + shift.view(1, -1, 1, 1)
    # a local shift over the working image's regions: stretched over the logits' unpadded
    # part (the rest, padding, takes the nearest edge)
    gh, gw = logits.shape[-2:]
    h, w = (-(-n * gh // prep.l_work.shape[-2]) for n in prep.work_size)
    shift = F.interpolate(shift, size=(h, w), mode="bilinear", align_corners=False)
    return logits + F.pad(shift, (0, gw - w, 0, gh - h), mode="replicate")


def hint_free_logits(net, prep: Prepared) -> Tensor:
    """The automatic prediction's logits (computed once per prepared photo)."""
    if prep.base_logits is None:
        prep.base_logits = predict_logits(net, prep, [])
    return prep.base_logits


def hint_free_probs(net, prep: Prepared) -> Tensor:
    """softmax of :func:`hint_free_logits` (computed once per prepared photo)."""
    if prep.base_probs is None:
        prep.base_probs = bin_softmax(hint_free_logits(net, prep).float())
    return prep.base_probs


def region_probs(net, prep: Prepared) -> Tensor:
    """The hint-free distributions that tell regions apart when hints are spread: the hint
    network's (:func:`colorizer_for_hints`; computed once per prepared photo)."""
    hint_net = colorizer_for_hints(net)
    if hint_net is net:
        return hint_free_probs(net, prep)
    if prep.region_probs is None:
        prep.region_probs = bin_softmax(predict_logits(hint_net, prep, []).float())
    return prep.region_probs


# Spread (standard deviation of the predicted ab, ab units) mapped to confidence 1 and 0: the
# 2nd and 98th percentiles over the validation split's pixels (16 and 38 for the shipped
# colorizer), so the map uses its whole range on ordinary photos.
SURE_SPREAD, UNSURE_SPREAD = 16.0, 38.0


def _spread_confidence(net, probs: Tensor) -> Tensor:
    """The ab distributions' standard deviation mapped to [0, 1] (see confidence_map)."""
    bins = net.bins.to(probs)
    mean = torch.einsum("bqhw,qc->bchw", probs, bins)
    sq = torch.einsum("bqhw,q->bhw", probs, (bins**2).sum(1))[:, None]
    spread = (sq - (mean**2).sum(1, keepdim=True)).clamp(min=0).sqrt()
    return ((UNSURE_SPREAD - spread) / (UNSURE_SPREAD - SURE_SPREAD)).clamp(0, 1)


def confidence_map(net, prep: Prepared, hints: list | None = None,
                   l_target: Tensor | None = None) -> Tensor:
    """How sure the model is of each pixel's colour ``(1, 1, H, W)`` in [0, 1] at the photo's
    size: the standard deviation of the predicted ab distribution, mapped linearly from
    SURE_SPREAD (1) to UNSURE_SPREAD (0),
    smoothed (guided by L, so it follows objects) — low where a hint would help most.
    ``l_target``: lightness ``(1, 1, h, w)`` at another size to produce it at (a preview).

    With hints it follows what is shown: the hinted network's spread within the hints'
    reach (the gate, as in :func:`work_ab`), the automatic one elsewhere, and sure where the
    hints' spread colours dominate (the user chose them)."""
    conf = upsample_to_work(_spread_confidence(net, hint_free_probs(net, prep)), prep)
    if hints:
        hinted = bin_softmax(predict_logits(net, prep, hints).float())
        params = DEFAULT_PROPAGATION
        geometry = prepared_hint_geometry(net, prep, hints, params)
        gate = hint_gate(geometry, params).to(conf)
        conf = conf + gate * (upsample_to_work(_spread_confidence(net, hinted), prep) - conf)
        k = geometry.kernel(params.sigma_space, params.affinity_power).sum(0)[None, None]
        conf = conf + (1 - conf) * (k / (k + params.damping)).to(conf)
    l_full = prep.l_full if l_target is None else l_target
    H, W = l_full.shape[-2:]
    conf = F.interpolate(conf.to(l_full.device), size=(H, W), mode="bilinear",
                         align_corners=False)
    subsample = max(1, round(max(H, W) / 1024))
    conf = guided_filter(l_full / 100, conf, refine_radius(H, W, CONFIDENCE_RADIUS_AT_512), 1e-2,
                         subsample)
    return conf.clamp(0, 1)


# Where a hint helps most (hint_spot): the uncertainty averaged over a square of this
# fraction of the long side (a hint's reach; 0.05 and 0.3 did worse on validation), the
# square inside the photo (a margin of 0.02 did worse) and away from the hints already
# placed (docs/colorization.md, "Where to put hints")
HINT_SPOT_WINDOW = 0.15
HINT_SPOT_MARGIN = HINT_SPOT_WINDOW / 2
HINT_SPOT_SPACING = 0.15


def hint_spot(confidence: Tensor, hints: list | None = None,
              size: tuple[int, int] | None = None) -> tuple[int, int] | None:
    """The point ``(x, y)`` where a new hint would help most: the centre of the square of
    :data:`HINT_SPOT_WINDOW` of the long side with the least mean ``confidence`` (a
    :func:`confidence_map`, ``(1, 1, h, w)``), at least :data:`HINT_SPOT_SPACING` of the
    long side from every hint. ``size``: the photo's ``(H, W)`` when the map is smaller
    (hints and the answer are in the photo's pixels). None when every place is taken."""
    h, w = confidence.shape[-2:]
    H, W = size or (h, w)
    sy, sx = h / H, w / W
    k = max(3, int(HINT_SPOT_WINDOW * max(h, w)) | 1)
    unsure = box_filter(1 - confidence.float().cpu().reshape(1, 1, h, w), k // 2)[0, 0].clone()
    m = max(1, int(HINT_SPOT_MARGIN * max(h, w)))
    unsure[:m], unsure[-m:], unsure[:, :m], unsure[:, -m:] = -1, -1, -1, -1
    ys, xs = torch.arange(h)[:, None], torch.arange(w)[None, :]
    for hint in hints or []:
        near = (ys - hint.y * sy) ** 2 + (xs - hint.x * sx) ** 2
        unsure[near < (HINT_SPOT_SPACING * max(h, w)) ** 2] = -1
    best = int(torch.argmax(unsure))
    if float(unsure.view(-1)[best]) < 0:
        return None
    y, x = divmod(best, w)
    return min(W - 1, int((x + 0.5) / sx)), min(H - 1, int((y + 0.5) / sy))


# α at which the scene features read the decoded colourfulness, and the per-photo α's range
SCENE_ALPHAS = (0.25, 0.41, 0.6)
AUTO_ALPHA_RANGE = (0.21, 0.69)


def scene_features(net: BinColorizer, prep: Prepared) -> Tensor:
    """What :class:`SceneColourHead` reads, ``(SCENE_DIM,)``: the frozen encoder's taps
    pooled (mean and spread per channel), log(1 + colourfulness) of the automatic colours
    decoded at :data:`SCENE_ALPHAS` (working size), the distributions' mean entropy, and
    L's mean and spread."""
    pooled = [torch.cat([f.mean((2, 3)), f.std((2, 3))], 1)[0].float().cpu()
              for f in prep.features or []]
    logits = hint_free_logits(net, prep)
    probs = hint_free_probs(net, prep)
    entropy = float(-(probs * probs.clamp_min(1e-9).log()).sum(1).mean())
    h, w = prep.work_size
    l = prep.l_work[..., :h, :w]
    colourful = []
    for alpha in SCENE_ALPHAS:
        ab = upsample_to_work(net.decode(logits, DEFAULT_TEMPERATURE, alpha), prep)
        rgb = lab_to_rgb(torch.cat([l, ab.to(l)], 1)).clamp(0, 1)
        colourful.append(float(np.log1p(float(colorfulness(rgb)))))
    summary = torch.tensor(colourful + [entropy, float(l.mean()), float(l.std())])
    return torch.cat(pooled + [summary])


def auto_prior_correction(net: BinColorizer, prep: Prepared,
                          base: float = DEFAULT_PRIOR_CORRECTION) -> float:
    """The automatic decoding's α for this photo: ``base`` moved by the scene head's guess
    of how colourful the scene is (lower α, more colour, for a colourful scene; clamped
    to :data:`AUTO_ALPHA_RANGE`); ``base`` itself without a head."""
    head = getattr(net, "scene_head", None)
    if head is None or not prep.features:
        return base
    if prep.scene_shift is None:
        guess = float(head(scene_features(net, prep)))
        prep.scene_shift = -head.strength * guess
    return float(np.clip(base + prep.scene_shift, *AUTO_ALPHA_RANGE))


def vividness_alpha(vividness: float) -> float:
    """The automatic decoding's α for a vividness in [0, 1] (0.5: the default α; higher:
    more colour)."""
    if not 0 <= vividness <= 1:
        raise ValueError(f"vividness must be in [0, 1], got {vividness}")
    return DEFAULT_PRIOR_CORRECTION + (DEFAULT_VIVIDNESS - vividness) * 2 * VIVIDNESS_SPAN


def work_ab(net: BinColorizer, prep: Prepared, hints: list | None,
            temperature: float, propagation: Propagation | None = DEFAULT_PROPAGATION,
            prior_correction: float | None = None,
            vividness: float = DEFAULT_VIVIDNESS) -> Tensor:
    """ab ``(1, 2, h, w)`` at the working size (the interactive part: ~tens of ms).

    With hints: the network's hinted colours within the hints' reach (the automatic ones
    elsewhere), then each hint's correction spread over its region (:class:`Propagation`;
    ``propagation=None``: the network's hinted answer alone). ``vividness`` sets how much
    colour the automatic colours get (:func:`vividness_alpha`); an explicit
    ``prior_correction`` overrides it and the hinted α alike."""
    auto_alpha = auto_prior_correction(net, prep, vividness_alpha(vividness)) \
        if prior_correction is None else prior_correction
    key = (temperature, auto_alpha, DEFAULT_CHROMA_BOOST)
    if key not in prep.auto_ab:  # the automatic colours: once per photo and setting
        prep.auto_ab[key] = upsample_to_work(net.decode(hint_free_logits(net, prep), temperature,
                                                        auto_alpha, DEFAULT_CHROMA_BOOST), prep)
    auto = prep.auto_ab[key]
    if not hints:
        return auto
    alpha = HINTED_PRIOR_CORRECTION if prior_correction is None else prior_correction
    boxes = hint_boxes(hints, prep.l_full, prep.work_size)
    ab = upsample_to_work(net.decode(predict_logits(net, prep, hints, boxes), temperature, alpha,
                                     DEFAULT_CHROMA_BOOST), prep)
    if propagation is None:
        return ab
    geometry = prepared_hint_geometry(net, prep, hints, propagation, boxes)
    if propagation.gate_space > 0:
        ab = auto + hint_gate(geometry, propagation) * (ab - auto)
    h, w = prep.work_size
    return propagate_hints(ab, prep.l_work[..., :h, :w], hints, prep.l_full, propagation,
                           geometry=geometry)


def prepared_hint_geometry(net, prep: Prepared, hints: list, params: Propagation,
                           boxes: HintBoxes | None = None) -> HintGeometry:
    """:func:`hint_geometry` of ``hints`` on a prepared photo (working size, the hint
    network's regions): what the gate and the propagation use."""
    h, w = prep.work_size
    return hint_geometry(hints, prep.l_full, prep.l_work[..., :h, :w], params.sigma_range,
                         region_probs(net, prep), boxes, params.geodesic, prep.geodesic,
                         params.sigma_texture)


def refine_radius(h: int, w: int, at_512: int = REFINE_RADIUS_AT_512) -> int:
    return max(1, round(at_512 * max(h, w) / 512))


def refine_ab(l: Tensor, ab_small: Tensor, keep_chroma: bool | None = None,
              radius_at_512: int = REFINE_RADIUS_AT_512, subsample: int | None = None
              ) -> Tensor:
    """Working-size ab -> ab at the size of ``l`` (L in [0, 100], (1, 1, H, W)), upsampled and
    guided-filtered with L as guide (radius ``radius_at_512`` per 512 px of the long side).

    The filter snaps colour edges to the photo's edges but also averages colours, which
    greys them; ``keep_chroma`` (default :data:`DEFAULT_KEEP_CHROMA`) gives each region its
    chroma back: the filtered ab is scaled by the ratio of the chroma before and after
    filtering, both averaged at the working size (so the edges stay where the filter put
    them)."""
    H, W = l.shape[-2:]
    ab = F.interpolate(ab_small.to(l.device), size=(H, W), mode="bilinear", align_corners=False)
    subsample = subsample or max(1, round(max(H, W) / 1024))
    filtered = guided_filter(l / 100, ab, refine_radius(H, W, radius_at_512), REFINE_EPS,
                            subsample)
    if DEFAULT_KEEP_CHROMA if keep_chroma is None else keep_chroma:
        size = (ab_small.shape[-2], ab_small.shape[-1])
        before = F.adaptive_avg_pool2d(ab.norm(dim=1, keepdim=True), size)
        after = F.adaptive_avg_pool2d(filtered.norm(dim=1, keepdim=True), size)
        gain = (before / after.clamp(min=1e-3)).clamp(1.0, MAX_CHROMA_GAIN)
        filtered = filtered * F.interpolate(gain, size=(H, W), mode="bilinear",
                                            align_corners=False)
    return filtered


def finish(prep: Prepared, ab_small: Tensor, refine: bool = True,
           keep_chroma: bool | None = None, radius_at_512: int = REFINE_RADIUS_AT_512) -> Tensor:
    """Working-size ab -> RGB ``(1, 3, H, W)`` at the photo's size with its own L (refined
    by :func:`refine_ab`, or only upsampled), on the L's device."""
    l_full = prep.l_full
    if refine:
        ab = refine_ab(l_full, ab_small, keep_chroma, radius_at_512)
    else:
        ab = F.interpolate(ab_small.to(l_full.device), size=l_full.shape[-2:], mode="bilinear",
                           align_corners=False)
    return lab_to_rgb(torch.cat([l_full, ab], 1))


def colorize(image: Tensor, *, hints: list | None = None,
             temperature: float = DEFAULT_TEMPERATURE, render_size: int = DEFAULT_RENDER_SIZE,
             refine: bool = True, device: torch.device | str | None = None,
             model: BinColorizer | None = None, weights: str = "default",
             prior_correction: float | None = None, confidence: bool = False,
             reference: Tensor | None = None,
             reference_strength: float = DEFAULT_REFERENCE_STRENGTH,
             clean_view: str = DEFAULT_CLEAN_VIEW,
             vividness: float = DEFAULT_VIVIDNESS) -> Pipeline[Tensor]:
    """Colorize ``image`` (1, 3, H, W) RGB in [0, 1] -> (1, 3, H, W) RGB.

    ``vividness`` (0..1, 0.5 the default): how much colour the automatic colours get.

    ``clean_view``: whether the network reads the photo through the restorer (:func:`prepare`).

    With a colour ``reference`` (a colour photo of the same place, people or time) the colours
    lean towards its colours (:func:`reference_shift`, ``reference_strength`` 0..1).

    With ``confidence`` it also yields ``Extra("confidence", (1, 1, H, W) in [0, 1])``: how
    sure the model is of each pixel's colour (low: a hint there would help most).

    Yields a Preview at the working size, then refines at full size. ``hints`` are
    :class:`Hint` (RGB) or :class:`AbHint` at full-resolution pixel positions. On GPU
    out-of-memory the whole job is retried on the CPU.
    """
    if image.ndim != 4 or image.shape[1] not in (1, 3) or image.shape[0] != 1:
        raise ValueError(f"need a (1, 3, H, W) image, got {tuple(image.shape)}")
    if not 0 < temperature <= 2:
        raise ValueError(f"temperature must be in (0, 2], got {temperature}")
    vividness_alpha(vividness)  # checked before any work

    def job(dev: torch.device, _tile: int | None) -> Pipeline[Tensor]:
        yield Progress(0.0, "Loading the colorization model")
        net = model.to(dev) if model is not None else load_colorizer(weights, dev)
        yield Progress(0.1, "Predicting colours")
        prep = prepare(net, image.to(dev), render_size, reference, reference_strength,
                       clean_view)
        ab = work_ab(net, prep, hints, temperature, prior_correction=prior_correction,
                     vividness=vividness)
        h, w = prep.work_size
        l_small = F.interpolate(prep.l_full, size=(h, w), mode="area") if prep.cleaned else \
            prep.l_work[..., :h, :w]  # the photo's own L, not the restorer's
        preview = lab_to_rgb(torch.cat([l_small, ab.to(l_small.device)], 1))
        yield Preview(preview, 0.5, "Preview")
        yield Progress(0.6, "Refining at full resolution" if refine else "Upsampling")
        out = finish(prep, ab, refine)
        if confidence:
            yield Extra("confidence", confidence_map(net, prep, hints).to(image.device))
        yield Progress(1.0, "Colorized")
        return out.to(image.device)

    dev = choose_device(device)
    result = yield from run_with_fallback(job, device=dev, tile_sizes=(None,))
    return result


def suggest_colors(image: Tensor | None, hints: list | None, point: tuple[int, int],
                   k: int = 8, *, render_size: int = DEFAULT_RENDER_SIZE,
                   model: BinColorizer | None = None, prepared: Prepared | None = None
                   ) -> list[tuple[tuple[float, float, float], float]]:
    """Top-k modes of the predicted colour distribution at ``point`` = (x, y), as
    [(rgb at the pixel's lightness, probability)], most likely first (ideepcolor's palette).
    With ``prepared`` (and its ``model``) the photo is not read again (``image`` may be None)
    and a hint-free answer reuses its cached prediction."""
    net = model or load_colorizer()
    if prepared is not None:
        prep = prepared
    elif image is not None:
        prep = prepare(net, image, render_size)
    else:
        raise ValueError("suggest_colors needs the photo or a prepared one")
    x, y = point
    H, W = prep.l_full.shape[-2:]
    if not (0 <= x < W and 0 <= y < H):
        raise ValueError(f"point ({x}, {y}) lies outside the {W}×{H} photo")
    logits = predict_logits(net, prep, hints) if hints else hint_free_logits(net, prep)
    h, w = prep.work_size
    stride = getattr(net, "out_stride", 2)
    gy = min(int(y * h / H) // stride, logits.shape[-2] - 1)
    gx = min(int(x * w / W) // stride, logits.shape[-1] - 1)
    probs = torch.softmax(logits[0, :, gy, gx].float().cpu(), 0)
    l = float(prep.l_full[0, 0, y, x])
    out = []
    for ab, p in distribution_modes(probs, net.bins.cpu(), k):
        lab = torch.tensor([l, float(ab[0]), float(ab[1])]).view(1, 3, 1, 1)
        rgb = lab_to_rgb(lab)[0, :, 0, 0]
        r, g, b = (float(c) for c in rgb)
        out.append(((r, g, b), p))
    return out


DEFAULT_PREVIEW_SIZE = 900  # long side of the live preview (about a canvas's worth)


class LiveColorizer:
    """Interactive colorization of one photo for live hint editing.

    Built once per photo (the encoder's features and the lightness at working and preview
    size are kept); :meth:`preview` then costs the decoder plus a preview-sized guided
    filter, whatever the photo's size, and :meth:`full` gives the full-resolution result
    (what Apply and Export use)."""

    def __init__(self, image: Tensor, model: BinColorizer, *,
                 render_size: int = DEFAULT_RENDER_SIZE,
                 preview_size: int = DEFAULT_PREVIEW_SIZE,
                 temperature: float = DEFAULT_TEMPERATURE,
                 prior_correction: float | None = None, reference: Tensor | None = None,
                 reference_strength: float = DEFAULT_REFERENCE_STRENGTH,
                 clean_view: str = DEFAULT_CLEAN_VIEW,
                 vividness: float = DEFAULT_VIVIDNESS) -> None:
        vividness_alpha(vividness)  # checked
        self.net = model
        self.temperature = temperature
        self.prior_correction = prior_correction
        self.vividness = vividness
        self.prep = prepare(model, image, render_size, reference, reference_strength,
                            clean_view)
        # previews, suggestions and the confidence map with hints: the hinted network in
        # bfloat16 where native (its ab within 0.71 units of float32's, 0.015 on average;
        # :meth:`full` exact)
        self.prep.reduced_precision = reduced_precision_ok(self.prep.l_work.device)
        self.preview_size = preview_size
        self._l_previews: dict[int, Tensor] = {}  # lightness per preview size (a few)

    @property
    def l_preview(self) -> Tensor:
        """Lightness at the default preview size."""
        return self.l_preview_at(self.preview_size)

    def l_preview_at(self, size: int) -> Tensor:
        """Lightness ``(1, 1, h, w)`` at most ``size`` on the long side (kept per size)."""
        if size not in self._l_previews:
            if len(self._l_previews) >= 4:
                self._l_previews.pop(next(iter(self._l_previews)))
            H, W = self.prep.l_full.shape[-2:]
            h, w = working_size(H, W, size)
            self._l_previews[size] = F.interpolate(self.prep.l_full, size=(h, w), mode="area") \
                if (h, w) != (H, W) else self.prep.l_full
        return self._l_previews[size]

    def ab(self, hints: list | None) -> Tensor:
        return work_ab(self.net, self.prep, hints, self.temperature,
                       prior_correction=self.prior_correction, vividness=self.vividness)

    def preview(self, hints: list | None, size: int | None = None) -> Tensor:
        """RGB ``(1, 3, h, w)`` at most ``size`` (default ``preview_size``) on the long side:
        the canvas's displayed size is enough, and costs less above the network."""
        l = self.l_preview_at(size or self.preview_size)
        # the fast guided filter (coefficients at half size) above 512 px: a preview
        sub = 2 if max(l.shape[-2:]) >= 512 else 1
        lab = torch.cat([l, refine_ab(l, self.ab(hints), subsample=sub)], 1)[0].permute(1, 2, 0)
        # OpenCV's float Lab->sRGB (D65, like core.color) instead of the exact tensor path:
        # much faster, and close enough for a preview (docs/colorization.md)
        rgb = cv2.cvtColor(np.ascontiguousarray(lab.float().cpu().numpy()), cv2.COLOR_Lab2RGB)
        return torch.from_numpy(np.clip(rgb, 0, 1)).permute(2, 0, 1)[None]

    def warm(self, size: int | None = None) -> None:
        """Compute what every edit needs ahead of the first: the automatic colours and the
        hint-free distributions (a new hint's suggested colour, hints' regions), and the
        lightness at the preview ``size``."""
        self.ab([])
        region_probs(self.net, self.prep)
        self.preview([], size)

    def suggest(self, hints: list | None, point: tuple[int, int], k: int = 8
                ) -> list[tuple[tuple[float, float, float], float]]:
        """:func:`suggest_colors` on this photo (no encoder pass)."""
        return suggest_colors(None, hints, point, k, model=self.net, prepared=self.prep)

    def hint_spot(self, hints: list | None) -> tuple[int, int] | None:
        """:func:`hint_spot` with ``hints`` in place, from the preview-sized map."""
        H, W = self.prep.l_full.shape[-2:]
        return hint_spot(self.confidence(hints), hints, (H, W))

    def full(self, hints: list | None, refine: bool = True) -> Tensor:
        """The full-resolution result ``(1, 3, H, W)``, in float32 throughout (as
        :func:`colorize` gives it)."""
        reduced, self.prep.reduced_precision = self.prep.reduced_precision, False
        try:
            return finish(self.prep, self.ab(hints), refine)
        finally:
            self.prep.reduced_precision = reduced

    def reach(self, hints: list, index: int, size: int | None = None) -> Tensor:
        """:func:`hint_reach` of ``hints[index]`` ``(h, w)`` at the preview ``size``."""
        prep = self.prep
        geometry = prepared_hint_geometry(self.net, prep, hints, DEFAULT_PROPAGATION)
        share = hint_reach(geometry, DEFAULT_PROPAGATION, index)
        h, w = self.l_preview_at(size or self.preview_size).shape[-2:]
        return F.interpolate(share[None, None].float(), size=(h, w), mode="bilinear",
                             align_corners=False)[0, 0].clamp(0, 1)

    def confidence(self, hints: list | None = None, full: bool = False) -> Tensor:
        """The confidence map at the preview size (or the photo's, ``full``)."""
        return confidence_map(self.net, self.prep, hints, None if full else self.l_preview)
