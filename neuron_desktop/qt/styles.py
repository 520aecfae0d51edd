"""The Styles dock: the fast network's styles and the user's style images.

Built-in entries are the styles of the fast network (``pipelines.stylize.gallery_styles``).
Each thumbnail shows the painting itself when its image is on this computer (the folder the
network was trained from, or the user style's source), with the network's rendering of a
bundled sample photo in the tooltip; without the painting, the rendering is the thumbnail.
Both are made on a worker thread and cached as PNGs in the user cache folder under a key
derived from the weights' sha256, so later starts only read them back. Images dropped on the
dock (or added with "Add style image…") are image styles for the arbitrary (default) and
Gatys methods.

Selecting built-in styles (Ctrl+click several to blend them) asks for the fast method;
selecting an image style asks for the arbitrary method (Gatys stays if it is chosen).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import qtawesome as qta
from PySide6.QtCore import (
    QItemSelectionModel,
    QObject,
    QRunnable,
    QSize,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from neuron_desktop.core.imageio import SUPPORTED_EXTENSIONS
from neuron_desktop.core.paths import samples_dir, user_cache_dir
from neuron_desktop.core.progress import Cancelled, CancelToken
from neuron_desktop.pipelines.stylize import style_title
from neuron_desktop.qt.qimage import IMAGE_FILTER, to_qimage
from neuron_desktop.qt.workers import lower_thread_priority, tensor_preview

log = logging.getLogger(__name__)
SAMPLE = samples_dir() / "coffee.jpg"
RENDER_SIDE = 256  # the network sees the sample at this size (strokes at a photo's scale)
THUMB_SIDE = 128  # stored size; shown at ICON_SIDE (sharp on HiDPI screens)
ICON_SIDE = 80
KIND, VALUE = Qt.ItemDataRole.UserRole, Qt.ItemDataRole.UserRole + 1  # "fast"/"image", name


def thumbnail_cache_dir() -> Path:
    return user_cache_dir() / "style-thumbnails"


def gallery_key() -> str:
    """Cache key of the gallery thumbnails: the fast weights' sha256 plus the user styles'
    files and the sample they are rendered from."""
    from neuron_desktop.models.weights import get_entry, sha256_file
    from neuron_desktop.pipelines import stylize

    h = hashlib.sha256(get_entry(stylize.FAST_WEIGHTS).sha256.encode())
    folder = stylize.user_styles_dir()
    for p in sorted(folder.glob("*.safetensors")) if folder.is_dir() else []:
        h.update(f"{p.stem}:{sha256_file(p)}".encode())
    h.update(f"{SAMPLE.name}:{RENDER_SIDE}:{THUMB_SIDE}".encode())
    return h.hexdigest()[:16]


def square_thumbnail(rgb: np.ndarray, side: int = THUMB_SIDE) -> np.ndarray:
    """Float RGB (h, w, 3) -> its centre square, area-resized to (side, side, 3)."""
    import cv2

    h, w = rgb.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    crop = np.ascontiguousarray(rgb[y:y + s, x:x + s], np.float32)
    return cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA if s > side
                      else cv2.INTER_CUBIC).clip(0, 1)


# ------------------------------------------------------------------- worker-side tasks


def painting_path(name: str) -> Path | None:
    """The gallery style's painting, if it is on this computer: ``<name>.*`` in the folder
    the fast network was trained from (its manifest entry's ``data.styles``)."""
    from neuron_desktop.models.weights import get_entry
    from neuron_desktop.pipelines import stylize

    try:
        folder = Path(get_entry(stylize.FAST_WEIGHTS).data.get("styles", ""))
    except Exception:  # noqa: BLE001 - no manifest entry: no painting
        return None
    if not folder.is_dir():
        return None
    return next((p for p in sorted(folder.glob(f"{name}.*"))
                 if p.suffix.lower() in SUPPORTED_EXTENSIONS), None)


class _Signals(QObject):
    listed = Signal(list)  # gallery style names
    ready = Signal(str, str, object)  # kind, value, QImage
    rendered = Signal(str, str)  # gallery name, the cached rendering's file (tooltip)
    failed = Signal(str, str, str)  # kind, value ("" = the whole gallery), message
    done = Signal()


class _Task(QRunnable):
    """Runs ``work(signals, token)`` on the pool at lowered priority."""

    def __init__(self, work: Callable[[_Signals, CancelToken], None], signals: _Signals,
                 token: CancelToken) -> None:
        super().__init__()
        self.work, self.signals, self.token = work, signals, token
        self.setAutoDelete(True)

    def run(self) -> None:
        lower_thread_priority()
        try:
            self.work(self.signals, self.token)
        except Cancelled:
            pass
        finally:
            self.signals.done.emit()


def render_gallery(signals: _Signals, token: CancelToken) -> None:
    """List the fast network's styles, then emit each thumbnail: read from the cache, or
    rendered by the network on the sample photo and cached."""
    from neuron_desktop.core.imageio import load_image, to_tensor
    from neuron_desktop.core.progress import run_pipeline
    from neuron_desktop.pipelines import stylize

    try:
        names = stylize.gallery_styles()
        folder = thumbnail_cache_dir() / gallery_key()
    except Exception as exc:  # noqa: BLE001 - weights missing or broken: say why
        log.error("gallery styles unavailable", exc_info=True)
        signals.failed.emit("fast", "", str(exc))
        return
    signals.listed.emit(names)
    sample = None
    for name in names:
        token.check()
        path = folder / (re.sub(r"[^\w.-]", "_", name) + ".png")
        painting = _painting_thumbnail(name, path.with_name(path.stem + ".painting.png"))
        img = QImage(str(path))
        if img.isNull():
            try:
                if sample is None:
                    sample = to_tensor(square_thumbnail(load_image(SAMPLE).rgb, RENDER_SIDE))
                out = run_pipeline(stylize.fast(sample, name, device="cpu", cancel=token),
                                   cancel=token)
            except Cancelled:
                raise
            except Exception as exc:  # noqa: BLE001
                log.error("style %s thumbnail failed", name, exc_info=True)
                signals.failed.emit("fast", name, str(exc))
                continue
            img = to_qimage(tensor_preview(out, THUMB_SIDE))
            try:  # the cache is best effort
                folder.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".part")
                if img.save(str(tmp), "PNG"):
                    tmp.replace(path)
            except OSError:
                pass
        if painting is not None and path.exists():
            signals.rendered.emit(name, str(path))
        signals.ready.emit("fast", name, img if painting is None else painting)


def _painting_thumbnail(name: str, cached: Path) -> QImage | None:
    """The painting's square thumbnail (cached next to the renderings), or None."""
    from neuron_desktop.core.imageio import load_image

    img = QImage(str(cached))
    if not img.isNull():
        return img
    source = painting_path(name)
    if source is None:
        return None
    try:
        img = to_qimage(square_thumbnail(load_image(source).rgb))
    except Exception:  # noqa: BLE001 - unreadable painting: show the rendering instead
        return None
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".part")
        if img.save(str(tmp), "PNG"):
            tmp.replace(cached)
    except OSError:
        pass
    return img


def image_thumbnail(path: str) -> Callable[[_Signals, CancelToken], None]:
    def work(signals: _Signals, token: CancelToken) -> None:
        from neuron_desktop.core.imageio import load_image

        try:
            img = to_qimage(square_thumbnail(load_image(path).rgb))
        except Exception as exc:  # noqa: BLE001 - unreadable file
            log.error("style image %s cannot be read", path, exc_info=True)
            signals.failed.emit("image", path, str(exc))
            return
        signals.ready.emit("image", path, img)

    return work


def _placeholder(side: int = ICON_SIDE) -> QIcon:
    pm = QPixmap(side, side)
    pm.fill(QColor(53, 55, 59))
    p = QPainter(pm)
    qta.icon("mdi6.timer-sand", color="#777").paint(p, side // 3, side // 3, side // 3,
                                                    side // 3)
    p.end()
    return QIcon(pm)


# ---------------------------------------------------------------------------------- panel


class StylesPanel(QWidget):
    """Gallery of the fast network's styles (thumbnails rendered in the background) and of
    image styles (dropped or added)."""

    fastStylesSelected = Signal(list)  # names; several = a blend ([] = none)
    imageStyleSelected = Signal(str)  # path of a style image (Gatys)
    galleryListed = Signal(list)  # the fast network's style names, once known
    galleryFailed = Signal(str)  # why there are no fast styles
    styleAdded = Signal(str)
    styleRemoved = Signal(str)
    styleFailed = Signal(str, str)  # path, message (the image could not be read)
    thumbnailsReady = Signal()  # every gallery thumbnail is shown

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        v = QVBoxLayout(self)
        self.hint = QLabel("Click a style; Ctrl+click several to blend them. Drop any image "
                           "here to use it as a style.")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #999")
        self.list = QListWidget()
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setIconSize(QSize(ICON_SIDE, ICON_SIDE))
        self.list.setGridSize(QSize(ICON_SIDE + 16, ICON_SIDE + 44))
        self.list.setWordWrap(True)
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setMovement(QListWidget.Movement.Static)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setAcceptDrops(False)
        self.setAcceptDrops(True)
        self.add_button = QPushButton(qta.icon("mdi6.image-plus", color="#ddd"),
                                      "Add style image…")
        self.add_button.setToolTip("Use any picture as a style (arbitrary or Gatys method); "
                                   "you can also drop images on this panel")
        self.add_button.clicked.connect(lambda: self.add_dialog())
        self.remove_button = QPushButton(qta.icon("mdi6.image-remove", color="#ddd",
                                                  color_disabled="#666"), "Remove")
        self.remove_button.setToolTip("Take the selected style image off the gallery (the "
                                      "file stays where it is)")
        self.remove_button.setEnabled(False)
        self.remove_button.clicked.connect(self.remove_selected)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        v.addWidget(self.hint)
        v.addWidget(self.list, 1)
        v.addLayout(row)
        self.placeholder = _placeholder()
        self.gallery_started = False
        self.pending: set[str] = set()  # gallery styles without a thumbnail yet
        self._tasks: dict[int, CancelToken] = {}
        self.list.itemSelectionChanged.connect(self._selection_changed)

    # background work ---------------------------------------------------------------------

    def _start(self, work) -> None:
        token, signals = CancelToken(), _Signals(self)
        key = id(signals)
        signals.listed.connect(self._listed)
        signals.ready.connect(self._ready)
        signals.rendered.connect(self._rendered)
        signals.failed.connect(self._failed)
        signals.done.connect(lambda: self._tasks.pop(key, None))
        self._tasks[key] = token
        QThreadPool.globalInstance().start(_Task(work, signals, token))

    def load_gallery(self) -> None:
        """List the fast styles and render their thumbnails in the background (once)."""
        if not self.gallery_started:
            self.gallery_started = True
            self._start(render_gallery)

    def shutdown(self) -> None:
        for token in self._tasks.values():
            token.cancel()

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def _listed(self, names: list) -> None:
        self.pending = set(names)
        for i, name in enumerate(names):
            item = QListWidgetItem(self.placeholder, style_title(name))
            item.setData(KIND, "fast")
            item.setData(VALUE, name)
            item.setToolTip(f"{style_title(name)}\nBuilt-in style of the fast network "
                            "(the thumbnail is its rendering of a sample photo)")
            self.list.insertItem(i, item)
        self.galleryListed.emit(list(names))
        if not names:
            self.thumbnailsReady.emit()

    def _rendered(self, name: str, path: str) -> None:
        """The thumbnail is the painting: its rendering of the sample goes in the tooltip."""
        item = self.item("fast", name)
        if item is not None:
            item.setToolTip(f"<b>{style_title(name)}</b><br>The painting; the fast network "
                            f"renders a sample photo like this:<br><img src='{path}' "
                            f"width={THUMB_SIDE} height={THUMB_SIDE}>")

    def _ready(self, kind: str, value: str, image: QImage) -> None:
        item = self.item(kind, value)
        if item is not None and not image.isNull():
            item.setIcon(QIcon(QPixmap.fromImage(image)))
        if kind == "fast" and value in self.pending:
            self.pending.discard(value)
            if not self.pending:
                self.thumbnailsReady.emit()

    def _failed(self, kind: str, value: str, message: str) -> None:
        if kind == "image":
            item = self.item(kind, value)
            if item is not None:
                self.list.takeItem(self.list.row(item))
            self.styleFailed.emit(value, message)
        elif not value:
            self.hint.setText(f"Fast styles unavailable: {message}")
            self.galleryFailed.emit(message)
        else:
            self._ready(kind, value, QImage())  # keeps the placeholder

    # items and selection -------------------------------------------------------------------

    def item(self, kind: str, value: str) -> QListWidgetItem | None:
        for i in range(self.list.count()):
            it = self.list.item(i)
            if it.data(KIND) == kind and it.data(VALUE) == value:
                return it
        return None

    def names(self) -> list[str]:
        return self._values("fast")

    def paths(self) -> list[str]:
        """The image styles' paths."""
        return self._values("image")

    def _values(self, kind: str, items=None) -> list[str]:
        items = [self.list.item(i) for i in range(self.list.count())] if items is None else items
        return [it.data(VALUE) for it in items if it.data(KIND) == kind]

    def select(self, kind: str, values: list[str], notify: bool = True) -> None:
        """Select these styles (as a click / Ctrl+clicks would; ``notify``: emit the
        selection signals)."""
        self.list.blockSignals(True)
        self.list.clearSelection()
        for value in values:
            item = self.item(kind, value)
            if item is not None:
                item.setSelected(True)
                self.list.setCurrentItem(item, QItemSelectionModel.SelectionFlag.Select)
        self.list.blockSignals(False)
        if notify:
            self._selection_changed()

    def _selection_changed(self) -> None:
        """An image style is used alone; built-in styles can be several (a blend)."""
        items = self.list.selectedItems()
        current = self.list.currentItem()
        image = current if current in items and current.data(KIND) == "image" else None
        keep = [image] if image is not None else [i for i in items if i.data(KIND) == "fast"]
        if len(keep) != len(items):
            self.list.blockSignals(True)
            for it in items:
                it.setSelected(it in keep)
            self.list.blockSignals(False)
        self.remove_button.setEnabled(image is not None)
        if image is not None:
            self.imageStyleSelected.emit(image.data(VALUE))
        else:
            rows = sorted(keep, key=self.list.row)
            self.fastStylesSelected.emit(self._values("fast", rows))

    # adding image styles -------------------------------------------------------------------

    def add_style(self, path: str | Path, select: bool = False) -> bool:
        """Add an image style (its thumbnail is made in the background); False when it is
        not a supported image file or already listed."""
        p = Path(path)
        if p.suffix.lower() not in SUPPORTED_EXTENSIONS or not p.is_file():
            return False
        path = str(p.resolve())
        if path not in self.paths():
            item = QListWidgetItem(self.placeholder, p.stem)
            item.setData(KIND, "image")
            item.setData(VALUE, path)
            item.setToolTip(f"{path}\nStyle image (arbitrary or Gatys method)")
            self.list.addItem(item)
            self._start(image_thumbnail(path))
            self.styleAdded.emit(path)
        if select:
            self.select("image", [path])
        return True

    def remove_selected(self) -> None:
        for item in self.list.selectedItems():
            if item.data(KIND) == "image":
                self.list.takeItem(self.list.row(item))
                self.styleRemoved.emit(item.data(VALUE))

    def add_files(self, paths: list[str]) -> bool:
        """Add dropped files as image styles and select the last one added."""
        added = [p for p in paths if self.add_style(p)]
        if added:
            self.add_style(added[-1], select=True)
        return bool(added)

    def add_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Add style images", "", IMAGE_FILTER)
        self.add_files(paths)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt API)
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if self.add_files(paths):
            event.acceptProposedAction()
