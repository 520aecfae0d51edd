"""In-memory photo folders for training: decode once, sample random crops fast."""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import cv2
import numpy as np

from neuron_desktop.core.errors import ImageLoadError, NeuronError
from neuron_desktop.core.imageio import SUPPORTED_EXTENSIONS, load_image

log = logging.getLogger("neuron.data.photos")

# The development photos (train/, eval/, old_photos/, styles/) of training and evaluation: a
# folder beside the source checkout, never part of the package or of the repository.
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def list_images(folders: list[str | Path]) -> list[Path]:
    """All supported image files under the folders (recursive), sorted for reproducibility."""
    files = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise NeuronError(f"training data folder '{folder}' does not exist")
        files += [p for p in folder.rglob("*") if p.suffix.lower() in SUPPORTED_EXTENSIONS]
    if not files:
        raise NeuronError(f"no images found in {', '.join(map(str, folders))}")
    return sorted(files)


def is_validation(path: Path, fraction: float) -> bool:
    """Deterministic hold-out by a hash of the file name (stable when folders grow)."""
    digest = hashlib.sha256(path.name.encode()).digest()
    return int.from_bytes(digest[:4], "little") / 2**32 < fraction


def split(files: list[Path], val_fraction: float) -> tuple[list[Path], list[Path]]:
    val = [p for p in files if is_validation(p, val_fraction)]
    train = [p for p in files if not is_validation(p, val_fraction)]
    if not train:
        train, val = files, []
    return train, val


class PhotoBank:
    """Decoded uint8 RGB photos, shorter side at most ``max_side``; bad files are skipped."""

    def __init__(self, files: list[Path], max_side: int = 256) -> None:
        self.images: list[np.ndarray] = []
        self.skipped: list[str] = []
        self.max_side = max_side
        self.add(files)
        if not self.images:
            raise NeuronError("none of the training images could be read")

    def add(self, files: list[Path]) -> None:
        for path in files:
            try:
                rgb = load_image(path).rgb
            except ImageLoadError as exc:
                self.skipped.append(str(exc))
                continue
            h, w = rgb.shape[:2]
            scale = self.max_side / min(h, w)
            if scale < 1:
                rgb = cv2.resize(rgb, (round(w * scale), round(h * scale)),
                                 interpolation=cv2.INTER_AREA)
            self.images.append((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8))

    def __len__(self) -> int:
        return len(self.images)

    def random_crops(self, rng: np.random.Generator, n: int, crop: int,
                     scale: tuple[float, float] = (0.5, 1.0)) -> np.ndarray:
        """(n, crop, crop, 3) float32 in [0, 1]: random photo, random zoom-out, crop, flip."""
        out = np.empty((n, crop, crop, 3), np.float32)
        for i in range(n):
            img = self.images[rng.integers(len(self.images))]
            h, w = img.shape[:2]
            s = max(rng.uniform(*scale), crop / min(h, w))
            if s < 1:
                img = cv2.resize(img, (max(crop, round(w * s)), max(crop, round(h * s))),
                                 interpolation=cv2.INTER_AREA)
                h, w = img.shape[:2]
            if min(h, w) < crop:
                img = cv2.resize(img, (max(crop, w), max(crop, h)), interpolation=cv2.INTER_CUBIC)
                h, w = img.shape[:2]
            y, x = rng.integers(h - crop + 1), rng.integers(w - crop + 1)
            patch = img[y:y + crop, x:x + crop]
            out[i] = (patch[:, ::-1] if rng.random() < 0.5 else patch) / 255.0
        return out


def complete_parts(folder: Path) -> list[Path]:
    """The parts ``folder/<name>/`` that hold a ``.complete`` file (photos fed to a lent GPU
    over several calls), in arrival order: p2 before p10."""
    return sorted((d.parent for d in Path(folder).glob("*/.complete")),
                  key=lambda d: (len(d.name), d.name))


class GrowingBank(PhotoBank):
    """A :class:`PhotoBank` that also takes in the parts that arrive in ``watch`` while it is
    used (a lent GPU fed over several calls): each part is a folder ``watch/<name>/`` that
    counts once it holds a ``.complete`` file; its validation photos (by name hash) stay
    out. It looks at most every ``every_s`` seconds, from ``random_crops``, so each worker
    process of a training grows its own copy."""

    def __init__(self, files: list[Path], watch: Path, val_fraction: float,
                 max_side: int = 256, every_s: float = 10.0) -> None:
        super().__init__(files, max_side)
        self.watch, self.val_fraction, self.every_s = Path(watch), val_fraction, every_s
        self.parts: set[str] = set()
        self.checked = 0.0

    def refresh(self) -> int:
        """Load the parts that arrived since the last look; returns how many."""
        self.checked = time.monotonic()
        new = [d for d in complete_parts(self.watch) if d.name not in self.parts]
        for part in new:
            self.parts.add(part.name)
            try:
                train, _ = split(list_images([part]), self.val_fraction)
            except NeuronError:  # a part without photos
                continue
            self.add(train)
            log.info("part %s joined: %d photos in all", part.name, len(self.images))
        return len(new)

    def random_crops(self, rng: np.random.Generator, n: int, crop: int,
                     scale: tuple[float, float] = (0.5, 1.0)) -> np.ndarray:
        if time.monotonic() - self.checked >= self.every_s:
            self.refresh()
        return super().random_crops(rng, n, crop, scale)
