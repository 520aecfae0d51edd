"""Compare methods: the masked area filled by every inpainting method, side by side.

The fills are computed one after the other on a worker (each tile appears as soon as its
method finishes; Stop or closing the view cancels the rest); clicking a tile applies that
method's fill as one undo step. Only a context crop around the area is read and filled
(``pipelines.local_fill``); the area is the strokes being filled as you paint, else the
bounding box of the whole mask (found on the worker).
"""

from __future__ import annotations

import logging
import time

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
)

from neuron_desktop.core.progress import Cancelled, CancelToken, run_pipeline
from neuron_desktop.qt.fills import METHOD_WORDS, Fill, commit_fill, fill_name
from neuron_desktop.qt.qimage import to_qimage
from neuron_desktop.qt.workers import lower_thread_priority, tensor_preview

log = logging.getLogger(__name__)

COMPARE_MAX_PIXELS = 4_000_000  # a bigger masked area is not compared (too slow)
THUMB_SIDE = 260
COLUMNS = 3


class _Signals(QObject):
    region = Signal(object)  # the box compared
    tile = Signal(str, object, object, float)  # method, Fill pixels, thumbnail QImage, s
    failed = Signal(str, str)  # method ("" for all), message
    done = Signal()


class _CompareRun(QRunnable):
    """Fills ``region`` (None: the mask's box) with each method in turn."""

    def __init__(self, snap, region, methods, params, device, token, signals) -> None:
        super().__init__()
        self.snap, self.region, self.methods, self.params = snap, region, methods, params
        self.device, self.token, self.sig = device, token, signals
        self.setAutoDelete(True)

    def run(self) -> None:
        from neuron_desktop.core.device import choose_device
        from neuron_desktop.core.masks import mask_box
        from neuron_desktop.pipelines.local_fill import context_box, fill_box

        lower_thread_priority()
        sig = self.sig
        try:
            with self.snap:
                region = self.region or mask_box(self.snap.mask)
                if region is None:
                    sig.failed.emit("", "The mask is empty: paint over the damage first.")
                    return
                x0, y0, x1, y1 = region
                if (x1 - x0) * (y1 - y0) > COMPARE_MAX_PIXELS:
                    sig.failed.emit("", "The masked area is too large to compare "
                                    f"({(x1 - x0) * (y1 - y0) / 1e6:.1f} MP): paint a "
                                    "smaller area, or use Inpaint ▸ Apply.")
                    return
                ctx = context_box(region, self.snap.mask.shape)
                image = self.snap.image[ctx[1]:ctx[3], ctx[0]:ctx[2]].copy()
                mask = self.snap.mask[ctx[1]:ctx[3], ctx[0]:ctx[2]].copy()
            sig.region.emit(region)
            rel = (x0 - ctx[0], y0 - ctx[1], x1 - ctx[0], y1 - ctx[1])
            device = choose_device(self.device)
            for method in self.methods:
                self.token.check()
                t0 = time.perf_counter()
                try:
                    pixels = run_pipeline(fill_box(
                        image, mask, rel, method=method, radius=self.params.get("radius", 3),
                        grain=self.params.get("grain", "off"), device=device,
                        cancel=self.token, context=(0, 0, image.shape[1], image.shape[0])),
                        cancel=self.token)
                except Cancelled:
                    raise
                except Exception as exc:  # noqa: BLE001 - one method failing is shown on its tile
                    log.warning("compare: %s failed", method, exc_info=True)
                    sig.failed.emit(method, str(exc))
                    continue
                seconds = time.perf_counter() - t0
                view = image.copy()
                view[rel[1]:rel[3], rel[0]:rel[2]] = pixels
                vx0, vy0, vx1, vy1 = context_box(rel, view.shape[:2], max(
                    16, round(0.15 * max(rel[2] - rel[0], rel[3] - rel[1]))))
                thumb = to_qimage(tensor_preview(view[vy0:vy1, vx0:vx1], THUMB_SIDE))
                sig.tile.emit(method, pixels, thumb, seconds)
        except Cancelled:
            pass
        except Exception as exc:  # noqa: BLE001 - reported in the view, never raised into Qt
            log.error("compare methods failed", exc_info=True)
            sig.failed.emit("", str(exc))
        finally:
            self.snap.release()
            sig.done.emit()


class CompareFills(QDialog):
    """The compare view (non-modal). ``tiles``: method -> its button; ``fills``: method ->
    its :class:`Fill` once computed."""

    applied = Signal(str)

    def __init__(self, window, live, region=None) -> None:
        super().__init__(window)
        from neuron_desktop.pipelines.local_fill import compare_methods

        self.w, self.live = window, live
        self.setWindowTitle("Compare fill methods")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        doc = window.doc
        self.methods = compare_methods(window.device_pref())
        self.fills: dict[str, Fill] = {}
        self.tiles: dict[str, QToolButton] = {}
        self.region = region
        self.running = True
        v = QVBoxLayout(self)
        self.info = QLabel("Each method fills the masked area; click the one to keep "
                           "(one undo step).")
        self.info.setWordWrap(True)
        v.addWidget(self.info)
        grid = QGridLayout()
        for i, m in enumerate(self.methods):
            b = QToolButton()
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            b.setIconSize(QSize(THUMB_SIDE, THUMB_SIDE * 2 // 3))
            b.setMinimumSize(THUMB_SIDE + 12, THUMB_SIDE * 2 // 3 + 40)
            b.setText(f"{METHOD_WORDS.get(m, m)}\nfilling…")
            b.setEnabled(False)
            b.clicked.connect(lambda _=False, name=m: self.choose(name))
            grid.addWidget(b, i // COLUMNS, i % COLUMNS)
            self.tiles[m] = b
        v.addLayout(grid)
        self.progress = QProgressBar()
        self.progress.setRange(0, len(self.methods))
        self.progress.setValue(0)
        self.progress.setFormat("%v of %m methods done")
        v.addWidget(self.progress)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop filling with the remaining methods")
        self.stop_button.clicked.connect(self.stop)
        buttons.addButton(self.stop_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        v.addWidget(buttons)
        self.token = CancelToken()
        self.sig = _Signals(self)
        self.sig.region.connect(self._region)
        self.sig.tile.connect(self._tile)
        self.sig.failed.connect(self._failed)
        self.sig.done.connect(self._done)
        self.revisions = dict(doc.revisions)
        self._doc = doc
        snap = doc.snapshot("image", "mask")
        live.jobs.pool.start(_CompareRun(snap, region, self.methods,
                                         window.capability_params("inpaint"),
                                         window.device_pref(), self.token, self.sig))

    def _region(self, box) -> None:
        self.region = tuple(box)

    def _tile(self, method: str, pixels: np.ndarray, thumb, seconds: float) -> None:
        if self.region is None:
            return
        self.fills[method] = Fill(self.region, pixels, method, self.revisions, thumb, seconds)
        b = self.tiles[method]
        b.setIcon(QIcon(QPixmap.fromImage(thumb)))
        b.setText(f"{METHOD_WORDS.get(method, method)}\n{seconds:.1f} s — click to apply")
        b.setToolTip(f"Apply the {METHOD_WORDS.get(method, method).lower()} fill")
        b.setEnabled(True)
        self.progress.setValue(self.progress.value() + 1)

    def _failed(self, method: str, message: str) -> None:
        if not method:
            self.info.setText(message)
            for b in self.tiles.values():
                if not b.isEnabled():
                    b.setText(b.text().split("\n")[0] + "\n—")
            return
        self.tiles[method].setText(f"{METHOD_WORDS.get(method, method)}\nfailed")
        self.tiles[method].setToolTip(message)
        self.progress.setValue(self.progress.value() + 1)

    def _done(self) -> None:
        self.running = False
        self.stop_button.setEnabled(False)
        for m, b in self.tiles.items():
            if m not in self.fills and b.text().endswith("filling…"):
                b.setText(f"{METHOD_WORDS.get(m, m)}\nstopped")

    def stop(self) -> None:
        """Cancel the methods not done yet (the tiles shown stay)."""
        self.token.cancel()

    def choose(self, method: str) -> bool:
        """Apply ``method``'s fill (one undo step) and close."""
        fill = self.fills.get(method)
        if fill is None or self.w.doc is not self._doc:
            return False
        self.stop()
        self.live.discard(quiet=True)
        ok = commit_fill(self.w, fill, fill_name(method))
        if ok:
            self.applied.emit(method)
            self.accept()
        return ok

    def done(self, result: int) -> None:  # noqa: D401 (Qt API: close, accept, reject)
        self.stop()
        super().done(result)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.stop()
        super().closeEvent(event)
