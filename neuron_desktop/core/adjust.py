"""Scan basics without Qt: tone (levels, curves, auto-contrast, white balance) and geometry
(crop, quarter turns, flips, straighten) with the matching point mapping for hints.

Tone functions work on float32 ``(B, 3, H, W)`` RGB tensors in [0, 1] and return a new
tensor in [0, 1]. Geometry works on NumPy layers, ``(H, W, C)`` images or ``(H, W)`` masks:
a :class:`Geometry` says what to do, ``apply(arr)`` does it (quarter turns, flips and crops
copy pixels exactly; straighten resamples bilinearly) and ``map_point(x, y)`` moves a pixel
position the same way, so the editor transforms image, original, mask and hints together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import Tensor

from neuron_desktop.core.errors import NeuronError

# Rec. 709 luma weights (the neutral-grey lightness a white balance keeps)
LUMA = (0.2126, 0.7152, 0.0722)

# ------------------------------------------------------------------------------------ tone


def levels(img: Tensor, black: float | Sequence[float] = 0.0,
           white: float | Sequence[float] = 1.0, gamma: float = 1.0) -> Tensor:
    """Map ``black`` -> 0 and ``white`` -> 1 (per channel when sequences), clip, then apply
    ``gamma`` (> 1 brightens the midtones, as in GIMP's levels). ``img`` (B, 3, H, W)."""
    if gamma <= 0:
        raise NeuronError(f"gamma must be positive, got {gamma}")
    b = torch.as_tensor(black, dtype=img.dtype, device=img.device).reshape(-1, 1, 1)
    w = torch.as_tensor(white, dtype=img.dtype, device=img.device).reshape(-1, 1, 1)
    if bool((w - b <= 1e-6).any()):
        raise NeuronError(f"white point ({white}) must be above black point ({black})")
    out = ((img - b) / (w - b)).clamp_(0.0, 1.0)
    if gamma != 1.0:
        out = out.pow_(1.0 / gamma)
    return out


def parse_points(text: str | Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    """Curve points from "x,y x,y ..." in 0..255 (or a list of pairs in 0..1), sorted by x;
    the ends (0, 0) and (1, 1) are added where missing."""
    if isinstance(text, str):
        try:
            pts = [tuple(float(v) / 255.0 for v in p.split(",")) for p in text.split()]
        except ValueError as exc:
            raise NeuronError(f"curve points must look like '0,0 64,50 255,255', got {text!r}"
                              ) from exc
    else:
        pts = [tuple(float(v) for v in p) for p in text]
    if any(len(p) != 2 or not all(0.0 <= v <= 1.0 for v in p) for p in pts):
        raise NeuronError(f"curve points must be x,y pairs between 0 and 255: {text!r}")
    pairs: list[tuple[float, float]] = sorted({round(p[0], 6): (p[0], p[1])
                                               for p in pts}.values())
    if not pairs or pairs[0][0] > 0:
        pairs.insert(0, (0.0, 0.0))
    if pairs[-1][0] < 1:
        pairs.append((1.0, 1.0))
    return pairs


def format_points(points: Sequence[tuple[float, float]]) -> str:
    """The inverse of :func:`parse_points` (0..255, rounded)."""
    return " ".join(f"{round(x * 255)},{round(y * 255)}" for x, y in points)


def curve_lut(points: Sequence[tuple[float, float]], size: int = 1024) -> np.ndarray:
    """Monotone cubic (Fritsch-Carlson) interpolation of ``points`` (x ascending, in [0, 1])
    sampled at ``size`` evenly spaced x: a lookup table in [0, 1] without overshoot."""
    x = np.array([p[0] for p in points], np.float64)
    y = np.array([p[1] for p in points], np.float64)
    t = np.linspace(0.0, 1.0, size)
    if len(x) == 1:
        return np.full(size, y[0], np.float32)
    d = np.diff(y) / np.maximum(np.diff(x), 1e-9)
    m = np.empty_like(x)
    m[0], m[-1] = d[0], d[-1]
    m[1:-1] = np.where(d[:-1] * d[1:] > 0, (d[:-1] + d[1:]) / 2, 0.0)
    for k in range(len(d)):  # Fritsch-Carlson limiter: no overshoot between points
        if d[k] == 0:
            m[k] = m[k + 1] = 0.0
            continue
        a, b = m[k] / d[k], m[k + 1] / d[k]
        s = a * a + b * b
        if s > 9:
            tau = 3 / math.sqrt(s)
            m[k], m[k + 1] = tau * a * d[k], tau * b * d[k]
    j = np.clip(np.searchsorted(x, t, side="right") - 1, 0, len(x) - 2)
    h = np.maximum(x[j + 1] - x[j], 1e-9)
    s = np.clip((t - x[j]) / h, 0, 1)
    h00, h10 = 2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s
    h01, h11 = -2 * s**3 + 3 * s**2, s**3 - s**2
    out = h00 * y[j] + h10 * h * m[j] + h01 * y[j + 1] + h11 * h * m[j + 1]
    out = np.where(t < x[0], y[0], np.where(t > x[-1], y[-1], out))
    return np.clip(out, 0, 1).astype(np.float32)


def apply_lut(img: Tensor, lut: np.ndarray) -> Tensor:
    """Each value v of ``img`` (in [0, 1]) -> ``lut`` linearly interpolated at v."""
    n = len(lut) - 1
    table = torch.from_numpy(lut).to(img.device, img.dtype)
    pos = img.clamp(0, 1) * n
    i0 = pos.floor().clamp_(max=n - 1)
    frac = pos - i0
    i0 = i0.long()
    return torch.lerp(table[i0], table[i0 + 1], frac)


def curves(img: Tensor, points: str | Sequence[Sequence[float]]) -> Tensor:
    """Apply a tone curve (same on all channels) through the ``points`` (see parse_points)."""
    return apply_lut(img, curve_lut(parse_points(points)))


def auto_levels(img: Tensor, clip: float = 0.005, per_channel: bool = False
                ) -> tuple[list[float], list[float]]:
    """Black and white points (per channel, or the same for all) that clip ``clip`` of the
    pixels at each end. Quantiles are taken on at most ~1 M samples."""
    x = img[0].reshape(3, -1)
    stride = max(1, x.shape[1] // 1_000_000)
    x = x[:, ::stride].float()
    if not per_channel:
        x = x.reshape(1, -1)
    lo = torch.quantile(x, clip, dim=1) if clip > 0 else x.amin(dim=1)
    hi = torch.quantile(x, 1 - clip, dim=1) if clip > 0 else x.amax(dim=1)
    hi = torch.maximum(hi, lo + 1e-3)
    los, his = [float(v) for v in lo.tolist()], [float(v) for v in hi.tolist()]
    return (los * 3, his * 3) if not per_channel else (los, his)


def auto_contrast(img: Tensor, clip: float = 0.005, per_channel: bool = False) -> Tensor:
    """Stretch the tones so that ``clip`` of the pixels become black and as many white;
    ``per_channel`` stretches R, G and B separately (also removes a colour cast)."""
    black, white = auto_levels(img, clip, per_channel)
    return levels(img, black, white)


def neutral_gains(rgb: Sequence[float]) -> tuple[float, float, float]:
    """Channel gains that turn the colour ``rgb`` into a grey of the same luma."""
    r, g, b = (max(float(c), 1e-4) for c in rgb)
    luma = LUMA[0] * r + LUMA[1] * g + LUMA[2] * b
    return luma / r, luma / g, luma / b


def gray_world(img: Tensor, clip: float = 0.02) -> tuple[float, float, float]:
    """The image's average colour over mid-tones (the 'grey world' cast estimate)."""
    x = img[0].reshape(3, -1)
    stride = max(1, x.shape[1] // 1_000_000)
    x = x[:, ::stride]
    lum = (torch.tensor(LUMA, dtype=x.dtype, device=x.device)[:, None] * x).sum(0)
    lo, hi = torch.quantile(lum.float(), torch.tensor([clip, 1 - clip], device=x.device))
    keep = (lum >= lo) & (lum <= hi)
    sel = x[:, keep] if bool(keep.any()) else x
    r, g, b = (float(v) for v in sel.mean(1))
    return r, g, b


def white_balance(img: Tensor, neutral: Sequence[float] | None = None,
                  strength: float = 1.0) -> Tensor:
    """Remove a colour cast: scale R, G, B so that ``neutral`` (a colour that should be
    grey, e.g. picked with the eyedropper; None: the grey-world estimate) becomes grey.
    ``strength`` in [0, 1] blends the correction."""
    if neutral is None:
        neutral = gray_world(img)
    gains = np.array(neutral_gains(neutral))
    gains = 1.0 + float(strength) * (gains - 1.0)
    g = torch.tensor(gains, dtype=img.dtype, device=img.device).reshape(1, 3, 1, 1)
    return (img * g).clamp_(0.0, 1.0)


def histogram(rgb: np.ndarray, bins: int = 256, max_samples: int = 1_000_000) -> np.ndarray:
    """(4, bins) counts of luma, R, G, B for a float (H, W, 3) image in [0, 1], taken on a
    regular subsample of at most ``max_samples`` pixels (cheap on a 24 MP scan)."""
    h, w = rgb.shape[:2]
    step = max(1, int(math.sqrt(h * w / max_samples)))
    x = np.ascontiguousarray(rgb[::step, ::step], np.float32)
    u8 = cv2.convertScaleAbs(x, alpha=255.0)
    luma = cv2.cvtColor(u8, cv2.COLOR_RGB2GRAY)
    planes = [luma, u8[..., 0], u8[..., 1], u8[..., 2]]
    hist = [cv2.calcHist([np.ascontiguousarray(p)], [0], None, [bins], [0, 256]).ravel()
            for p in planes]
    return np.stack(hist).astype(np.float64)


# -------------------------------------------------------------------------------- geometry

TURNS = {"none": 0, "right": 1, "180": 2, "left": 3}  # clockwise quarter turns


def max_inner_rect(w: float, h: float, angle_deg: float) -> tuple[float, float]:
    """Width and height of the largest axis-aligned rectangle inside a ``w`` x ``h``
    rectangle turned by ``angle_deg`` (centred in it): what straighten keeps."""
    a = math.radians(angle_deg)
    sin_a, cos_a = abs(math.sin(a)), abs(math.cos(a))
    long_side, short_side = (w, h) if w >= h else (h, w)
    if short_side <= 2.0 * sin_a * cos_a * long_side or abs(sin_a - cos_a) < 1e-10:
        x = 0.5 * short_side  # half constrained: two crop corners touch the long side
        return (x / sin_a, x / cos_a) if w >= h else (x / cos_a, x / sin_a)
    cos_2a = cos_a * cos_a - sin_a * sin_a
    return (w * cos_a - h * sin_a) / cos_2a, (h * cos_a - w * sin_a) / cos_2a


def line_angle(x0: float, y0: float, x1: float, y1: float) -> float:
    """The straighten angle (degrees, clockwise positive) that makes the line drawn from
    (x0, y0) to (x1, y1) horizontal, or vertical when it is steeper than 45 degrees."""
    a = math.degrees(math.atan2(y1 - y0, x1 - x0))  # clockwise from +x (y points down)
    a = (a + 90.0) % 180.0 - 90.0  # direction does not matter: (-90, 90]
    if abs(a) > 45.0:  # a vertical: level it to 90 degrees
        a = a - 90.0 if a > 0 else a + 90.0
    return -a


@dataclass(frozen=True)
class Geometry:
    """One geometric change of a ``width`` x ``height`` photo.

    kind "crop": ``box`` = (x, y, w, h) in pixels; "rotate": ``turns`` clockwise quarter
    turns (1..3); "flip": ``axis`` "horizontal" (mirror left-right) or "vertical";
    "straighten": ``angle`` degrees clockwise, ``crop`` to the largest rectangle without
    empty corners (else the turned photo's bounding box, corners black).
    """

    kind: str
    width: int
    height: int
    box: tuple[int, int, int, int] = (0, 0, 0, 0)
    turns: int = 0
    axis: str = "horizontal"
    angle: float = 0.0
    crop: bool = True

    @classmethod
    def cropping(cls, width: int, height: int, x: int, y: int, w: int, h: int) -> Geometry:
        x0, y0 = max(0, int(x)), max(0, int(y))
        x1, y1 = min(width, int(x) + int(w)), min(height, int(y) + int(h))
        if x1 - x0 < 1 or y1 - y0 < 1:
            raise NeuronError(f"the crop ({x}, {y}, {w}x{h}) leaves nothing of the "
                              f"{width}x{height} photo")
        return cls("crop", width, height, box=(x0, y0, x1 - x0, y1 - y0))

    @property
    def identity(self) -> bool:
        return ((self.kind == "crop" and self.box == (0, 0, self.width, self.height))
                or (self.kind == "rotate" and self.turns % 4 == 0)
                or (self.kind == "straighten" and self.angle == 0.0))

    @property
    def size(self) -> tuple[int, int]:
        """Output (width, height)."""
        w, h = self.width, self.height
        if self.kind == "crop":
            return self.box[2], self.box[3]
        if self.kind == "rotate":
            return (h, w) if self.turns % 2 else (w, h)
        if self.kind == "straighten":
            if self.crop:
                iw, ih = max_inner_rect(w, h, self.angle)
                return max(1, min(w, int(iw + 1e-6))), max(1, min(h, int(ih + 1e-6)))
            a = math.radians(self.angle)
            c, s = abs(math.cos(a)), abs(math.sin(a))
            return math.ceil(w * c + h * s - 1e-6), math.ceil(w * s + h * c - 1e-6)
        return w, h

    def _matrix(self) -> np.ndarray:
        """Straighten: the 2x3 affine map from input to output pixel centres."""
        a = math.radians(self.angle)
        c, s = math.cos(a), math.sin(a)
        wo, ho = self.size
        cx, cy = (self.width - 1) / 2, (self.height - 1) / 2
        ox, oy = (wo - 1) / 2, (ho - 1) / 2
        # clockwise on screen (y down): (x, y) -> (c x - s y, s x + c y)
        return np.array([[c, -s, ox - (c * cx - s * cy)],
                         [s, c, oy - (s * cx + c * cy)]], np.float64)

    def apply(self, arr: np.ndarray) -> np.ndarray:
        """The layer ``arr`` ((H, W) or (H, W, C), matching the photo) transformed: a new
        C-contiguous array of the same dtype."""
        if arr.shape[:2] != (self.height, self.width):
            raise ValueError(f"layer {arr.shape[:2]} does not match the photo "
                             f"{self.height}x{self.width}")
        if self.kind == "crop":
            x, y, w, h = self.box
            out = arr[y:y + h, x:x + w]
        elif self.kind == "rotate":
            out = np.rot90(arr, -(self.turns % 4))  # numpy turns counter-clockwise
        elif self.kind == "flip":
            out = arr[:, ::-1] if self.axis == "horizontal" else arr[::-1]
        elif self.kind == "straighten":
            wo, ho = self.size
            border = cv2.BORDER_REPLICATE if self.crop else cv2.BORDER_CONSTANT
            src = np.ascontiguousarray(arr)
            if src.ndim == 3 and src.shape[2] > 4:
                raise ValueError("straighten: at most 4 channels")
            out = cv2.warpAffine(src, self._matrix(), (wo, ho), flags=cv2.INTER_LINEAR,
                                 borderMode=border, borderValue=0)
            if arr.ndim == 3 and out.ndim == 2:
                out = out[..., None]
        else:
            raise ValueError(f"unknown geometry {self.kind!r}")
        return np.ascontiguousarray(out)

    def map_point(self, x: float, y: float) -> tuple[float, float] | None:
        """Where pixel (x, y) of the photo lands, or None when it is cut off."""
        w, h = self.width, self.height
        if self.kind == "crop":
            bx, by, bw, bh = self.box
            nx, ny = x - bx, y - by
        elif self.kind == "rotate":
            nx, ny = x, y
            for _ in range(self.turns % 4):  # one clockwise quarter turn of a (w, h) photo
                nx, ny = h - 1 - ny, nx
                w, h = h, w
            return nx, ny
        elif self.kind == "flip":
            nx, ny = (w - 1 - x, y) if self.axis == "horizontal" else (x, h - 1 - y)
        else:
            m = self._matrix()
            nx, ny = m @ np.array([x, y, 1.0])
            bw, bh = self.size
        if self.kind in ("crop", "straighten") and not (0 <= nx < bw and 0 <= ny < bh):
            return None
        return float(nx), float(ny)

    def describe(self) -> str:
        if self.kind == "crop":
            return f"Crop to {self.box[2]}×{self.box[3]}"
        if self.kind == "rotate":
            return {1: "Rotate right", 2: "Rotate 180°", 3: "Rotate left"}.get(
                self.turns % 4, "Rotate")
        if self.kind == "flip":
            return "Flip horizontally" if self.axis == "horizontal" else "Flip vertically"
        return f"Straighten {self.angle:+.1f}°"


def apply_to_tensor(geometry: Geometry, img: Tensor) -> Tensor:
    """``geometry`` applied to a (1, C, H, W) tensor (through NumPy on the CPU)."""
    arr = img[0].detach().to("cpu").permute(1, 2, 0).numpy()
    out = geometry.apply(arr)
    return torch.from_numpy(out).permute(2, 0, 1)[None].to(img.device)
