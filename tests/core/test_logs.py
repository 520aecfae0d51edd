import logging

from neuron_desktop.core.logs import LOG_FILE, log_dir, setup_file_logging


def test_file_logging_writes_tracebacks(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert log_dir() == tmp_path / "neuron-desktop" / "logs"
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    # the CLI's stderr set-up (cli_guard.start) may have run earlier in this process
    pkg = logging.getLogger("neuron_desktop")
    monkeypatch.setattr(pkg, "propagate", True)
    monkeypatch.setattr(pkg, "level", logging.NOTSET)
    try:
        path = setup_file_logging()
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("neuron_desktop.test").exception("job failed")
        for h in root.handlers:
            h.flush()
        text = path.read_text()
        assert path.name == LOG_FILE and "job failed" in text and "ValueError: boom" in text
    finally:
        for h in set(root.handlers) - set(handlers):
            root.removeHandler(h)
            h.close()
        root.setLevel(level)
