"""NumPy <-> QImage without copies, and display pyramids for fast drawing of huge photos.

The canvas never scales the full-resolution photo on a repaint: it keeps 8-bit display
copies at 1, 1/2, 1/4, ... resolution (a pyramid, built once and updated per changed
rectangle) and draws only the visible part of the level closest to the current zoom.
QImages wrap the NumPy buffers (zero copy); Format_RGB32 / ARGB32_Premultiplied are the
raster engine's fast paths.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from PySide6.QtGui import QImage

from neuron_desktop.core.document import Rect
from neuron_desktop.core.imageio import SUPPORTED_EXTENSIONS

MIN_LEVEL_SIDE = 64
IMAGE_FILTER = "Images ({})".format(" ".join(f"*{e}" for e in SUPPORTED_EXTENSIONS))


def rgb_to_bgra(rgb: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """float32 (h, w, 3) RGB in [0, 1] -> uint8 (h, w, 4) B, G, R, 255 (QImage RGB32)."""
    h, w = rgb.shape[:2]
    if out is None:
        out = np.empty((h, w, 4), np.uint8)
    u8 = cv2.convertScaleAbs(np.ascontiguousarray(rgb), alpha=255.0)  # rounds and saturates
    cv2.cvtColor(u8, cv2.COLOR_RGB2BGRA, dst=out)
    return out


def mask_to_bgra(mask: np.ndarray, color: tuple[int, int, int], opacity: float,
                 out: np.ndarray | None = None) -> np.ndarray:
    """(h, w) mask in [0, 1] -> premultiplied uint8 BGRA overlay in ``color`` (r, g, b)."""
    a = np.clip(mask, 0.0, 1.0).astype(np.float32) * (255.0 * float(opacity))
    r, g, b = color
    channels = [cv2.convertScaleAbs(a, alpha=c / 255.0) for c in (b, g, r)]
    channels.append(cv2.convertScaleAbs(a))
    merged = cv2.merge(channels)
    if out is None:
        return merged
    out[...] = merged
    return out


UNCERTAIN_COLOR = (255, 120, 0)


def uncertainty_to_bgra(confidence: np.ndarray, color: tuple[int, int, int] = UNCERTAIN_COLOR,
                        sure: float = 0.45, unsure: float = 0.1, opacity: float = 0.6
                        ) -> np.ndarray:
    """A confidence map (h, w) in [0, 1] -> premultiplied BGRA: clear where the model is sure
    (>= ``sure``), ``color`` at ``opacity`` where it is unsure (<= ``unsure``), graded
    between, with a thin darker outline at the half-way level so regions read at a glance."""
    c = np.asarray(confidence, np.float32)
    c = cv2.GaussianBlur(c, (0, 0), max(1.0, 0.008 * max(c.shape)))  # regions, not speckle
    a = np.clip((sure - c) / (sure - unsure), 0, 1) * opacity
    edge = cv2.morphologyEx((c < (sure + unsure) / 2).astype(np.uint8), cv2.MORPH_GRADIENT,
                            np.ones((3, 3), np.uint8)) > 0
    return _tint_with_outline(a, edge, color, 0.55)


REACH_COLOR = (0, 190, 255)


def reach_to_bgra(share: np.ndarray, color: tuple[int, int, int] = REACH_COLOR,
                  opacity: float = 0.15) -> np.ndarray:
    """A hint's reach (h, w) in [0, 1] (``hint_reach``) -> premultiplied BGRA: a light
    ``color`` wash as strong as the hint's share of the colour there (at most ``opacity``,
    so the colours stay readable), outlined where its share is one half (inside, the hint's
    colour wins); smoothed first, so the outline follows regions, not speckle."""
    c = np.clip(np.asarray(share, np.float32), 0, 1)
    c = cv2.GaussianBlur(c, (0, 0), max(1.0, 0.006 * max(c.shape)))
    edge = cv2.morphologyEx((c >= 0.5).astype(np.uint8), cv2.MORPH_GRADIENT,
                            np.ones((3, 3), np.uint8)) > 0
    return _tint_with_outline(c * opacity, edge, color, 1.25)


def _tint_with_outline(a: np.ndarray, edge: np.ndarray, color: tuple[int, int, int],
                       edge_gain: float) -> np.ndarray:
    """Premultiplied BGRA of ``color`` at opacity ``a`` (h, w), the ``edge`` pixels nearly
    opaque and ``edge_gain`` times as bright (darker below 1)."""
    a = np.where(edge, np.maximum(a, 0.9), a)
    rgb = np.empty(a.shape + (3,), np.float32)
    rgb[:] = np.float32(color) / 255
    rgb[edge] = np.minimum(rgb[edge] * edge_gain + (0.2 if edge_gain > 1 else 0), 1)
    out = np.empty(a.shape + (4,), np.uint8)
    out[..., 2::-1] = (rgb * a[..., None] * 255 + 0.5).astype(np.uint8)  # B, G, R
    out[..., 3] = (a * 255 + 0.5).astype(np.uint8)
    return out


def qimage_view(arr: np.ndarray, fmt: QImage.Format = QImage.Format.Format_RGB32) -> QImage:
    """A QImage sharing ``arr``'s memory ((h, w, 4) uint8, C-contiguous); keep ``arr`` alive."""
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, arr.strides[0], fmt)


def to_qimage(rgb: np.ndarray) -> QImage:
    """An independent QImage (copy) of float RGB (h, w, 3) in [0, 1]."""
    return qimage_view(rgb_to_bgra(rgb)).copy()


def qimage_to_rgb(img: QImage) -> np.ndarray:
    """QImage -> float32 (h, w, 3) RGB in [0, 1] (copy)."""
    img = img.convertToFormat(QImage.Format.Format_RGB32)
    h, w = img.height(), img.width()
    buf = np.frombuffer(img.constBits(), np.uint8, count=img.bytesPerLine() * h)
    bgra = buf.reshape(h, img.bytesPerLine() // 4, 4)[:, :w]
    return bgra[..., 2::-1].astype(np.float32) / 255.0


class Pyramid:
    """8-bit BGRA display copies of a layer at scales 1, 1/2, 1/4, ... down to ~64 px.

    ``encode(rect) -> (h, w, 4) uint8`` renders full-resolution pixels of ``rect``; levels
    below are area-averaged from the level above, only over the changed rectangle. With
    ``build=False`` the levels start as zeros (transparent: right for an empty mask).
    Plain NumPy work: pyramids may be built on a worker thread.
    """

    def __init__(self, width: int, height: int, encode: Callable[[Rect], np.ndarray],
                 fmt: QImage.Format = QImage.Format.Format_RGB32, build: bool = True) -> None:
        self.width, self.height, self.encode, self.fmt = width, height, encode, fmt
        self.levels: list[np.ndarray] = []
        w, h = width, height
        while True:
            self.levels.append(np.zeros((h, w, 4), np.uint8))
            if max(w, h) <= MIN_LEVEL_SIDE * 2 or min(w, h) < 2:
                break
            w, h = (w + 1) // 2, (h + 1) // 2
        self._views: list[QImage | None] = [None] * len(self.levels)
        if build:
            self.update(Rect(0, 0, width, height))

    def copy(self, encode: Callable[[Rect], np.ndarray]) -> Pyramid:
        """A copy of the levels with another ``encode`` (e.g. the original's, while equal)."""
        p = Pyramid(self.width, self.height, encode, self.fmt, build=False)
        for dst, src in zip(p.levels, self.levels, strict=True):
            dst[...] = src
        return p

    def update(self, rect: Rect) -> None:
        """Re-encode ``rect`` (full-resolution pixels) and propagate it down the levels."""
        rect = rect.clip(self.width, self.height)
        if rect.empty:
            return
        self.levels[0][rect.slices] = self.encode(rect)
        for k in range(1, len(self.levels)):
            src, dst = self.levels[k - 1], self.levels[k]
            # expand to even coordinates of the level above so 2x2 blocks stay whole
            x0, y0 = (rect.x0 >> k) * 2, (rect.y0 >> k) * 2
            x1 = min(((rect.x1 + (1 << k) - 1) >> k) * 2, src.shape[1])
            y1 = min(((rect.y1 + (1 << k) - 1) >> k) * 2, src.shape[0])
            dx0, dy0 = x0 // 2, y0 // 2
            dx1, dy1 = min((x1 + 1) // 2, dst.shape[1]), min((y1 + 1) // 2, dst.shape[0])
            if dx1 <= dx0 or dy1 <= dy0:
                break
            block = src[y0:y1, x0:x1]
            if block.shape[0] < 2 * (dy1 - dy0) or block.shape[1] < 2 * (dx1 - dx0):
                block = np.pad(block, ((0, 2 * (dy1 - dy0) - block.shape[0]),
                                       (0, 2 * (dx1 - dx0) - block.shape[1]), (0, 0)),
                               mode="edge")
            dst[dy0:dy1, dx0:dx1] = cv2.resize(block, (dx1 - dx0, dy1 - dy0),
                                               interpolation=cv2.INTER_AREA)

    def level_for(self, scale: float) -> int:
        """The smallest level still at least as detailed as ``scale`` device px per image px."""
        k = 0
        while k + 1 < len(self.levels) and scale <= 0.5 ** (k + 1):
            k += 1
        return k

    def image(self, k: int) -> QImage:
        if self._views[k] is None:
            self._views[k] = qimage_view(self.levels[k], self.fmt)
        return self._views[k]

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.levels)
