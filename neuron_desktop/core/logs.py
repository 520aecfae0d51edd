"""Logging set-up: the editor writes a rotating log file in the user's data folder; the CLI
logs to stderr (warnings, or everything with ``-v``)."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from neuron_desktop.core.paths import user_data_dir

LOG_FILE = "neuron-desktop.log"
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"


def log_dir() -> Path:
    """$XDG_DATA_HOME/neuron-desktop/logs (Help ▸ Open log folder opens it)."""
    return user_data_dir() / "logs"


def setup_file_logging(folder: Path | None = None, level: int = logging.INFO) -> Path:
    """Log to ``folder/neuron-desktop.log`` (1 MB, 3 old files kept) and record uncaught
    exceptions with their tracebacks; returns the log file's path."""
    folder = log_dir() if folder is None else folder
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_FILE
    root = logging.getLogger()
    if not any(getattr(h, "baseFilename", None) == str(path) for h in root.handlers):
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1 << 20, backupCount=3,
                                                       encoding="utf-8")
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    root.setLevel(min(root.level or level, level))

    def excepthook(kind, value, tb) -> None:
        logging.getLogger("neuron_desktop").critical("uncaught exception",
                                                     exc_info=(kind, value, tb))
        sys.__excepthook__(kind, value, tb)

    sys.excepthook = excepthook
    return path


def setup_console_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="neuron: %(levelname)s %(name)s: %(message)s")
