"""Test-only driver: runs the real editor entry point (``neuron_desktop.__main__.main``) in
this process and scripts it from a timer with real mouse events, for the kill -9 tests
(test_crash_recovery.py) and the open-path fuzz (test_open_fuzz.py). Never shipped.

    editor_driver.py edit PHOTO OUT_DIR [--full-disk]
        paint, inpaint (Telea), paint, add a hint; save the expected state to
        OUT_DIR/expected.npz and print "EDITED <revision>"; with --full-disk every recovery
        write fails with ENOSPC and "NOTICE <json text>" is printed once the user is told.
        Then it idles until killed.
    editor_driver.py fuzz CORPUS OUT.json NAME...
        open each NAME of CORPUS through File ▸ Open, a drop on the canvas and the way the
        command line's FILE is opened, in turn, over a photo kept open; write the outcomes.
    editor_driver.py cli OUT.json FILE...
        start the editor on each FILE (as the command line does), record the outcome, quit.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl  # noqa: E402
from PySide6.QtGui import QDropEvent  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from neuron_desktop.qt.app import create_app  # noqa: E402

ESCAPED: list[str] = []  # exceptions that reached sys.excepthook


def _hook(kind, value, tb) -> None:
    ESCAPED.append("".join(traceback.format_exception(kind, value, tb)))
    sys.__excepthook__(kind, value, tb)


def say(*parts) -> None:
    print(*parts, flush=True)


def window():
    from neuron_desktop.qt.main_window import MainWindow

    return next(w for w in QApplication.topLevelWidgets()
                if isinstance(w, MainWindow) and w.isVisible())


def wait_until(cond, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            return False
        QApplication.processEvents()
        time.sleep(0.01)
    return True


def paint(w, points) -> None:
    c = w.canvas
    pts = [c.image_to_widget(x, y).toPoint() for x, y in points]
    QTest.mousePress(c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[0])
    for p in pts[1:]:
        QTest.mouseMove(c, p)
    QTest.mouseRelease(c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[-1])


# ------------------------------------------------------------------------------------ edit


def edit_script(out: Path, full_disk: bool) -> None:
    w = window()
    assert wait_until(lambda: w.doc is not None, 120), "the photo did not open"
    if full_disk:
        from neuron_desktop.core import sessions
        from neuron_desktop.core.errors import ImageSaveError

        def no_space(path, data):
            raise ImageSaveError(f"cannot save '{path}': No space left on device")

        sessions.write_atomic = no_space
    w.colorize_panel.live.setChecked(False)  # no live colorization runs on the CPU
    paint(w, [(60, 60), (120, 80), (160, 140)])
    w.inpaint_panel.set_method("telea")
    steps = w.history.count()
    w.run_capability("inpaint")
    assert wait_until(lambda: w.history.count() > steps, 120), "inpaint did not finish"
    paint(w, [(200, 200), (260, 220)])
    w.set_tool("hints")
    QTest.mouseClick(w.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     w.canvas.image_to_widget(300, 120).toPoint())
    doc = w.doc
    # a new hint takes the model's first suggestion (a worker job) before it is final
    wait_until(lambda: doc.hints and doc.hints[0].rgb != (0.5, 0.5, 0.5), 60)
    np.savez(out / "expected.npz", image=doc.image, mask=doc.mask, original=doc.original)
    (out / "hints.json").write_text(json.dumps([h.to_dict() for h in doc.hints]))
    say("EDITED", doc.revision, w.history.count())
    if full_disk:
        assert wait_until(lambda: w.autosave_notice is not None, 30), "nobody was told"
        say("NOTICE", json.dumps(w.autosave_notice.text()))


# ------------------------------------------------------------------------------------ fuzz


def _outcome(w, before_doc, errors: list, t0: float, timeout: float) -> dict:
    """Wait for the open to end: a new document, or error dialogs and the old one kept."""
    done = wait_until(lambda: w.doc is not before_doc or (errors and not w.load_jobs.busy),
                      timeout)
    QApplication.processEvents()
    return {"opened": w.doc is not before_doc, "hang": not done,
            "seconds": round(time.monotonic() - t0, 2), "messages": list(errors)}


def fuzz_script(corpus: Path, out: Path, names: list[str]) -> None:
    from neuron_desktop.qt import documents

    w = window()
    errors: list[str] = []
    real_show_error = w.show_error

    def counting(title, text):
        errors.append(f"{title}: {text}")
        return real_show_error(title, text)

    w.show_error = counting
    routes = ["menu", "drop", "command line"]
    results = {}
    for i, name in enumerate(names):
        path = str(corpus / name)
        # a photo with an edit is open: it must stay when the file is refused
        if w.doc is None or w.doc.path is None or w.doc.path.parent == corpus:
            assert w.open_file(SAMPLE, wait=True)
            w.invert_mask(wait=True)
            w.history.setClean()  # "saved": no save-changes question in the way
        doc, mask = w.doc, w.doc.mask.copy()
        errors.clear()
        route = routes[i % 3]
        say("OPEN", route, name)
        t0 = time.monotonic()
        if route == "menu":
            documents.QFileDialog.getOpenFileName = staticmethod(lambda *a, p=path, **k: (p, ""))
            w.act_open.trigger()
        elif route == "drop":
            mime = QMimeData()
            mime.setUrls([QUrl.fromLocalFile(path)])
            pos = QPointF(w.canvas.width() / 2, w.canvas.height() / 2)
            ev = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
            w.canvas.dropEvent(ev)  # as a drop on the canvas delivers it
        else:
            w.open_file(path)  # what app.run does with the command line's FILE
        res = _outcome(w, doc, errors, t0, 30)
        res["route"] = route
        res["kept"] = (not res["opened"] and w.doc is doc
                       and np.array_equal(w.doc.mask, mask))
        for box in w.findChildren(QMessageBox):
            box.close()
        results[name] = res
    t0 = time.monotonic()
    w.close()
    results["_close_seconds"] = round(time.monotonic() - t0, 2)
    results["_escaped"] = ESCAPED
    out.write_text(json.dumps(results, indent=1))
    QApplication.instance().quit()


def cli_script(name: str, results: dict) -> None:
    w = window()
    errors: list[str] = []
    real_show_error = w.show_error
    w.show_error = lambda title, text: (errors.append(f"{title}: {text}"),
                                        real_show_error(title, text))[1]
    t0 = time.monotonic()
    res = _outcome(w, None, errors, t0, 30)
    res["messages"] = errors or [b.text() for b in w.findChildren(QMessageBox) if b.isVisible()]
    t0 = time.monotonic()
    w.close()
    res["close_seconds"] = round(time.monotonic() - t0, 2)
    res["escaped"] = list(ESCAPED)
    results[name] = res
    QApplication.instance().quit()


SAMPLE = None


def main() -> int:
    global SAMPLE
    from neuron_desktop import __main__ as entry
    from neuron_desktop.core.paths import samples_dir

    SAMPLE = samples_dir() / "old_photo.jpg"
    sys.excepthook = _hook
    mode, args = sys.argv[1], sys.argv[2:]
    app = create_app()

    def guarded(fn, *a):
        def run():
            try:
                fn(*a)
            except BaseException:  # noqa: BLE001 - the test reads it
                say("DRIVER-ERROR", json.dumps(traceback.format_exc()))
                app.exit(3)
        return run

    if mode == "edit":
        QTimer.singleShot(0, guarded(edit_script, Path(args[1]), "--full-disk" in args))
        return entry.main([args[0]])
    if mode == "fuzz":
        QTimer.singleShot(0, guarded(fuzz_script, Path(args[0]), Path(args[1]), args[2:]))
        return entry.main([])
    if mode == "cli":  # the editor started on each FILE in turn, in this process
        results: dict = {}
        for f in args[1:]:
            QTimer.singleShot(0, guarded(cli_script, Path(f).name, results))
            entry.main([f])
        Path(args[0]).write_text(json.dumps(results, indent=1))
        return 0
    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    sys.exit(main())
