"""Application set-up: QApplication, dark theme, settings, the main window, screenshots."""

from __future__ import annotations

import gc
import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QSettings, Qt, QTimer
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from neuron_desktop import __version__
from neuron_desktop.core.logs import setup_file_logging
from neuron_desktop.core.paths import package_data

ORG, APP = "Neuron Desktop", "Neuron Desktop"
ICON = package_data("resources", "neuron-desktop.svg")

STYLE_SHEET = """
QToolBar { border: none; spacing: 2px; padding: 2px; }
QDockWidget::title { padding: 4px 6px; background: #2b2d31; }
QGroupBox { border: 1px solid #3a3c40; border-radius: 4px; margin-top: 14px; padding-top: 6px; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 4px; color: #c8c8c8; }
QPushButton#primary { background: #2f6fde; color: white; border: 1px solid #2a62c4;
                      border-radius: 4px; padding: 5px 10px; font-weight: 600; }
QPushButton#primary:hover { background: #3b7bea; }
QPushButton#primary:disabled { background: #3a3c40; color: #888; border-color: #3a3c40; }
QStatusBar QLabel { padding: 0 6px; }
QProgressBar { border: 1px solid #3a3c40; border-radius: 3px; background: #26282b;
               max-height: 10px; }
QProgressBar::chunk { background: #2f6fde; border-radius: 2px; }
"""


def dark_palette() -> QPalette:
    p = QPalette()
    base, window, text = QColor(30, 31, 34), QColor(43, 45, 49), QColor(225, 225, 225)
    roles = {
        QPalette.ColorRole.Window: window, QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base, QPalette.ColorRole.AlternateBase: window,
        QPalette.ColorRole.ToolTipBase: QColor(50, 52, 56), QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.Text: text, QPalette.ColorRole.Button: window,
        QPalette.ColorRole.ButtonText: text, QPalette.ColorRole.BrightText: QColor(255, 80, 80),
        QPalette.ColorRole.Highlight: QColor(47, 111, 222),
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.Link: QColor(90, 150, 255),
        QPalette.ColorRole.PlaceholderText: QColor(130, 130, 130),
    }
    for role, color in roles.items():
        p.setColor(role, color)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 120, 120))
    return p


def create_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication (created once), with the dark theme and identity set."""
    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv or [sys.argv[0]])
    QCoreApplication.setOrganizationName(ORG)
    QCoreApplication.setApplicationName(APP)
    QCoreApplication.setApplicationVersion(__version__)
    QGuiApplication.setDesktopFileName("neuron-desktop")  # docks match the window to it
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setStyleSheet(STYLE_SHEET)
    if ICON.exists():
        app.setWindowIcon(QIcon(str(ICON)))
    return app


def freeze_startup_objects() -> None:
    """Move everything allocated at start-up (torch, Qt wrappers...) out of the garbage
    collector's view. A full collection otherwise walks those millions of objects while
    holding the GIL and freezes the GUI thread for 100+ ms whenever a worker thread's
    allocations trigger one (measured by benchmarks/bench_gui.py)."""
    gc.collect()
    gc.freeze()


def make_settings() -> QSettings:
    """User settings (INI format; NEURON_SETTINGS_DIR overrides the location, for tests)."""
    override = os.environ.get("NEURON_SETTINGS_DIR")
    if override:
        return QSettings(str(Path(override) / "neuron-desktop.ini"), QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORG, APP)


def screenshot(window, out: str | Path, size: tuple[int, int] = (1400, 900)) -> Path:
    """Render ``window`` (shown, possibly offscreen) to a PNG at ``size``."""
    app = QApplication.instance()
    window.resize(*size)
    window.show()
    for _ in range(5):
        app.processEvents()
    window.canvas.fit()
    app.processEvents()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(out)):
        raise OSError(f"cannot write screenshot '{out}'")
    return out


def run(file: str | None = None, screenshot_to: str | None = None) -> int:
    """Open the editor (on ``file``); with ``screenshot_to``, render it to a PNG and exit."""
    if screenshot_to and "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = create_app()
    if not screenshot_to:
        logging.getLogger(__name__).info("Neuron Desktop %s, log at %s", __version__,
                                         setup_file_logging())
    from neuron_desktop.qt.main_window import MainWindow

    if screenshot_to:  # never touch the user's settings or recovery data for a screenshot
        import tempfile

        tmp = Path(tempfile.mkdtemp(prefix="neuron-shot-"))
        window = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat),
                            recovery_dir=tmp / "recovery")
    else:
        window = MainWindow(make_settings())
    freeze_startup_objects()
    if file:
        window.open_file(file, wait=bool(screenshot_to))  # interactive: loads on a worker
    if screenshot_to:
        ok = window.doc is not None or not file
        path = screenshot(window, screenshot_to)
        print(f"wrote {path}")
        window.close()
        return 0 if ok else 1
    window.show()
    QTimer.singleShot(0, window.offer_recovery)  # after a crash: offer to restore
    return app.exec()
