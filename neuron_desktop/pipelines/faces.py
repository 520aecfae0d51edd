"""Faces in old photos, to keep the scratch detector off eyes, nostrils and mouths.

At a high sensitivity both scratch detectors mark the thin dark lines of a face (eyelids,
lashes, nostrils, the line between the lips) as damage. :func:`face_boxes` finds frontal
faces with a cascade detector on a small grey copy of the photo; :func:`feature_mask` turns
each face box into elliptical eye, nose and mouth regions (fixed proportions of a frontal
face box); :func:`protect` then keeps a detected mark that lies mostly outside the faces
whole (a long scratch crossing a face), and of the rest inside a face only what a stricter
detection (sensitivity lowered by STRICT_DROP) also finds, and nothing on the features.

Cascade backends, first available wins: OpenCV's ``CascadeClassifier`` with its bundled
Haar cascade (OpenCV 4 builds ship ``cv2.data.haarcascades``), then scikit-image's
``Cascade`` with its bundled LBP frontal-face cascade. :func:`unavailable` says in plain
words when neither is installed (the editor then disables the option). Nothing is
downloaded. No Qt here.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable

import cv2
import numpy as np

log = logging.getLogger(__name__)

WORK_SIDE = 640  # px: faces are looked for on a grey copy at most this long
MIN_FACE = 0.06  # smallest face side, as a fraction of the photo's shorter side
MIN_NEIGHBOURS = 6  # cascade hits needed to accept a face (fewer: more false faces)
OUTSIDE_KEEP = 0.5  # a mark with at least this share of its pixels off faces stays whole
STRICT_DROP = 0.35  # the stricter detection on faces: sensitivity lowered by this
# (cx, cy, rx, ry) of the feature ellipses in face-box units (x right, y down)
FEATURES = (
    (0.31, 0.38, 0.17, 0.11),  # left eye (and brow line below it)
    (0.69, 0.38, 0.17, 0.11),  # right eye
    (0.50, 0.60, 0.13, 0.12),  # nose and nostrils
    (0.50, 0.80, 0.22, 0.10),  # mouth
)

Box = tuple[int, int, int, int]  # x, y, width, height in photo pixels


@functools.cache
def _detector() -> Callable[[np.ndarray, int], list[Box]] | None:
    """``detect(gray uint8, min_side)`` -> boxes, or None when no backend is installed."""
    classifier = getattr(cv2, "CascadeClassifier", None)
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    path = os.path.join(folder or "", "haarcascade_frontalface_default.xml")
    if classifier is not None and folder and os.path.exists(path):
        cascade = classifier(path)

        def detect_cv(gray: np.ndarray, min_side: int) -> list[Box]:
            found = cascade.detectMultiScale(gray, scaleFactor=1.1,
                                             minNeighbors=MIN_NEIGHBOURS,
                                             minSize=(min_side, min_side))
            return [tuple(int(v) for v in b) for b in found]  # type: ignore[misc]

        log.debug("faces: OpenCV Haar cascade %s", path)
        return detect_cv
    try:
        from skimage import data as skdata
        from skimage.feature import Cascade
    except ImportError:
        return None
    sk = Cascade(skdata.lbp_frontal_face_cascade_filename())

    def detect_sk(gray: np.ndarray, min_side: int) -> list[Box]:
        found = sk.detect_multi_scale(gray, scale_factor=1.1, step_ratio=1,
                                      min_size=(min_side, min_side), max_size=gray.shape,
                                      min_neighbor_number=MIN_NEIGHBOURS)
        return [(int(d["c"]), int(d["r"]), int(d["width"]), int(d["height"])) for d in found]

    log.debug("faces: scikit-image LBP cascade")
    return detect_sk


def unavailable() -> str | None:
    """None when faces can be found, else why not (in plain words)."""
    if _detector() is None:
        return ("Face detection is not available: it needs OpenCV's face cascades "
                "(opencv-python 4) or scikit-image")
    return None


def _merge(boxes: list[Box]) -> list[Box]:
    """Overlapping detections of one face (intersection > half the smaller box) -> the
    larger box."""
    out: list[Box] = []
    for b in sorted(boxes, key=lambda b: -b[2] * b[3]):
        x, y, w, h = b
        if not any(min(x + w, ox + ow) - max(x, ox) > 0 and min(y + h, oy + oh) - max(y, oy) > 0
                   and (min(x + w, ox + ow) - max(x, ox)) * (min(y + h, oy + oh) - max(y, oy))
                   > 0.5 * w * h for ox, oy, ow, oh in out):
            out.append(b)
    return out


def face_boxes(rgb: np.ndarray) -> list[Box]:
    """Frontal faces in ``rgb`` (H, W, 3) float [0, 1] (or (H, W) grey) as boxes in its
    pixels; [] when none (or no detector is installed)."""
    detect = _detector()
    if detect is None:
        return []
    gray = rgb if rgb.ndim == 2 else rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    h, w = gray.shape
    f = min(1.0, WORK_SIDE / max(h, w))
    small = cv2.resize(np.ascontiguousarray(gray, np.float32),
                       (max(1, round(w * f)), max(1, round(h * f))),
                       interpolation=cv2.INTER_AREA)
    small8 = np.clip(small * 255 + 0.5, 0, 255).astype(np.uint8)
    min_side = max(20, round(MIN_FACE * min(small8.shape)))
    boxes = _merge(detect(small8, min_side))
    return [(round(x / f), round(y / f), round(bw / f), round(bh / f))
            for x, y, bw, bh in boxes]


def feature_mask(shape: tuple[int, int], boxes: list[Box]) -> np.ndarray:
    """(H, W) bool: the eye, nose and mouth ellipses of each face box."""
    out = np.zeros(shape[:2], np.uint8)
    for x, y, w, h in boxes:
        for cx, cy, rx, ry in FEATURES:
            cv2.ellipse(out, (round(x + cx * w), round(y + cy * h)),
                        (max(1, round(rx * w)), max(1, round(ry * h))), 0, 0, 360, 1, -1)
    return out > 0


def face_mask(shape: tuple[int, int], boxes: list[Box]) -> np.ndarray:
    """(H, W) bool: the face boxes."""
    out = np.zeros(shape[:2], bool)
    for x, y, w, h in boxes:
        out[max(0, y):y + h, max(0, x):x + w] = True
    return out


def protect(marks: np.ndarray, boxes: list[Box], strict: np.ndarray | None = None
            ) -> np.ndarray:
    """``marks`` (H, W) bool kept off the faces in ``boxes``: a mark with most of its pixels
    outside every face stays whole (a scratch crossing a face); inside a face, the rest
    stays only where ``strict`` (a detection at a lower sensitivity) found it too, and not
    at all on the eyes, nose and mouth."""
    if not boxes or not marks.any():
        return marks
    face = face_mask(marks.shape, boxes)
    count, labels = cv2.connectedComponents(marks.astype(np.uint8), connectivity=8)
    total = np.bincount(labels.ravel(), minlength=count)
    inside = np.bincount(labels[face & marks], minlength=count)
    keep = (total - inside) >= OUTSIDE_KEEP * np.maximum(total, 1)
    keep[0] = False
    out = keep[labels] | (marks & ~face)
    if strict is not None:
        out |= marks & strict & face & ~feature_mask(marks.shape, boxes)
    return out
