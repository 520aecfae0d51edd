"""GUI benchmarks (offscreen Qt): canvas repaint time at 24 MP, and the longest event-loop
stall while pipeline jobs run on the worker pool.

Targets from the editor issue: a repaint at fit-to-window zoom under 16 ms per frame for a
24 MP photo, and no GUI-thread stall over 50 ms while a colorization and a Gatys job run.
Until the colorization and style pipelines land, the jobs are stand-ins with the same shape
(a conv net forward + guided-filter refinement; a VGG-like Gatys optimisation with backward
passes), yielding Progress/Preview events like the real pipelines.
"""

from __future__ import annotations

import os
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _app():
    from neuron_desktop.qt.app import create_app, freeze_startup_objects

    app = create_app()
    freeze_startup_objects()  # as the editor does at start-up
    return app


def _photo(h: int, w: int) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(0)
    small = rng.random((h // 64, w // 64, 3), dtype=np.float32)
    return np.clip(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), 0, 1)


def _median_ms(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def bench_repaint(quick: bool) -> list[dict]:
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QPainter

    from neuron_desktop.core.document import Document
    from neuron_desktop.qt.canvas import Canvas
    from neuron_desktop.qt.qimage import qimage_view, rgb_to_bgra

    app = _app()
    h, w = 4000, 6000  # 24 MP, also in quick mode: the target is about this size
    doc = Document(_photo(h, w))
    doc.mask[1000:1400, 2000:5000] = 1.0
    canvas = Canvas()
    canvas.resize(1600, 1000)
    canvas.show()
    app.processEvents()
    t0 = time.perf_counter()
    canvas.set_document(doc)
    setup = time.perf_counter() - t0
    app.processEvents()
    repeat = 10 if quick else 30
    name = f"canvas repaint {w}x{h} (24 MP) in a 1600x1000 view"
    rows = []

    def row(impl, seconds, **extra):
        rows.append({"benchmark": name, "impl": impl, "device": "cpu", "seconds": seconds,
                     **extra})

    canvas.fit()
    t_fit = _median_ms(canvas.repaint, repeat)
    row("pyramid, fit to window (+ mask overlay)", t_fit, target="< 16 ms",
        meets_target=t_fit < 0.016)
    canvas.actual_size()
    row("pyramid, 100 %", _median_ms(canvas.repaint, repeat))
    canvas.set_zoom(4.0)
    row("pyramid, 400 %", _median_ms(canvas.repaint, repeat))
    canvas.set_split(True)
    canvas.fit()
    row("pyramid, fit, split before/after", _median_ms(canvas.repaint, repeat))
    canvas.set_split(False)

    # baseline: drawing the full-resolution image scaled on every repaint
    full = rgb_to_bgra(doc.image)
    qimg = qimage_view(full)
    from PySide6.QtGui import QImage

    target = QImage(1600, 1000, QImage.Format.Format_RGB32)

    def naive():
        p = QPainter(target)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        z = min(1568 / w, 968 / h)
        p.drawImage(QRectF(16, 16, w * z, h * z), qimg)
        p.end()

    row("baseline: full-res drawImage scaled", _median_ms(naive, max(3, repeat // 5)))
    rows.append({"benchmark": f"open {w}x{h}: build display pyramids", "impl": "Canvas",
                 "device": "cpu", "seconds": setup})
    for r in rows:
        if r["benchmark"] == name:
            base = next(x["seconds"] for x in rows if x["impl"].startswith("baseline"))
            r["baseline"] = "baseline: full-res drawImage scaled"
            r["speedup_vs_baseline"] = base / r["seconds"]
    canvas.close()
    return rows


def _colorize_standin(size: int, steps: int):
    import torch
    import torch.nn as nn

    from neuron_desktop.core.progress import Preview, Progress
    from neuron_desktop.pipelines.refine import refine_colors

    def make(device, tile, cancel):
        def gen():
            torch.manual_seed(0)
            layers = [nn.Conv2d(1 if i == 0 else 64, 64, 3, padding=1) for i in range(8)]
            head = nn.Conv2d(64, 313, 1)
            x = torch.rand(1, 1, 256, 256)
            with torch.no_grad():
                for i, layer in enumerate(layers):
                    x = torch.relu(layer(x))
                    yield Progress((i + 1) / (len(layers) + 2), "network")
                head(x)
                img = torch.rand(1, 3, size, size)
                yield Preview(img[..., ::4, ::4], 0.8)
                result = yield from refine_colors(img, cancel=cancel)
            for _ in range(steps - 1):
                yield Progress(1.0)
            return result

        return gen()

    return make


def _gatys_standin(iterations: int):
    import torch
    import torch.nn as nn

    from neuron_desktop.core.progress import Preview, Progress

    def make(device, tile, cancel):
        def gen():
            torch.manual_seed(0)
            net = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(),
                                nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                nn.Conv2d(64, 128, 3, padding=1), nn.ReLU())
            for p in net.parameters():
                p.requires_grad_(False)
            img = torch.rand(1, 3, 192, 192, requires_grad=True)
            opt = torch.optim.Adam([img], lr=0.02)
            target = torch.rand(128, 128)
            for i in range(iterations):
                f = net(img)[0].flatten(1)
                gram = f @ f.T / f.shape[1]
                loss = ((gram - target) ** 2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                yield Progress((i + 1) / iterations, "optimising")
                if i % 5 == 0:
                    yield Preview(img.detach().clamp(0, 1), (i + 1) / iterations)
            return img.detach()

        return gen()

    return make


def bench_stall(quick: bool) -> list[dict]:
    from PySide6.QtCore import QElapsedTimer, QTimer

    from neuron_desktop.qt.canvas import Canvas
    from neuron_desktop.qt.workers import JobManager, JobSpec

    app = _app()
    canvas = Canvas()
    canvas.resize(800, 600)
    canvas.show()
    duration_ms = 3000 if quick else 8000

    def measure(specs) -> tuple[float, int]:
        managers = [JobManager() for _ in specs]
        for m in managers:
            m.preview.connect(canvas.set_preview)
        clock, gaps, last = QElapsedTimer(), [], [0]
        clock.start()
        tick = QTimer()
        tick.setInterval(1)

        def on_tick():
            now = clock.elapsed()
            gaps.append(now - last[0])
            last[0] = now
            for m, spec in zip(managers, specs, strict=True):
                if not m.busy:  # keep the workers loaded for the whole window
                    m.submit(spec)

        tick.timeout.connect(on_tick)
        tick.start()
        while clock.elapsed() < duration_ms:
            app.processEvents()
            time.sleep(0.0005)
        tick.stop()
        for m in managers:
            m.shutdown()
        app.processEvents()
        return (max(gaps[1:]) if len(gaps) > 1 else float("nan")), len(gaps)

    idle, _ = measure([])
    name = f"GUI event-loop longest stall over {duration_ms / 1000:.0f} s"
    rows = [{"benchmark": name, "impl": "idle (no jobs)", "device": "cpu",
             "seconds": idle / 1000}]
    stall, ticks = measure([JobSpec("colorize", _colorize_standin(1024, 1)),
                            JobSpec("gatys", _gatys_standin(40))])
    rows.append({"benchmark": name, "impl": "colorization + Gatys jobs running (stand-ins)",
                 "device": "cpu", "seconds": stall / 1000, "ticks": ticks,
                 "target": "< 50 ms", "meets_target": stall < 50})
    canvas.close()
    return rows


def run(devices: list[str], quick: bool = False) -> list[dict]:
    return bench_repaint(quick) + bench_stall(quick)
