"""Qt test set-up: offscreen platform, throw-away settings and cache, tiny stand-in models,
and a no-leftovers check."""

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before any Qt import

import types  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402
from PySide6.QtCore import QSettings, QThreadPool, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from neuron_desktop.core.paths import samples_dir  # noqa: E402
from neuron_desktop.core.progress import Preview, Progress  # noqa: E402

SAMPLES = samples_dir()


@pytest.fixture(scope="session")
def qapp_cls():
    return QApplication


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Never touch the real user configuration or recovery folder."""
    monkeypatch.setenv("NEURON_SETTINGS_DIR", str(tmp_path / "settings"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # style thumbnails
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                      str(tmp_path / "qsettings"))
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope,
                      str(tmp_path / "qsettings"))
    torch.set_num_threads(1)
    # Deterministic editor tests: the real colorization model is hidden (the capability
    # reports it unavailable); tests that need one install a tiny fake (fake_colorize).
    from neuron_desktop import capabilities

    monkeypatch.setattr(capabilities.get("colorize"), "available",
                        lambda: "Colorization model not installed")
    yield


@pytest.fixture(autouse=True)
def _no_threads_or_timers_left(qapp):
    """Fail a test that leaves worker threads or running timers behind."""
    yield
    pool = QThreadPool.globalInstance()
    assert pool.waitForDone(20000), "worker threads still running 20 s after the test"
    assert pool.activeThreadCount() == 0
    qapp.processEvents()
    running = []
    for w in QApplication.topLevelWidgets():
        for t in w.findChildren(QTimer):
            if t.isActive() and t.objectName() != "qt_internal":
                running.append(f"{t.objectName() or t} (parent {t.parent()}, {t.interval()} ms)")
    assert not running, f"timers left running: {running}"


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "test.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(qtbot, tmp_path, settings):
    from neuron_desktop.qt.main_window import MainWindow

    made = []

    def make(s=None, **kw):
        kw.setdefault("recovery_dir", tmp_path / "recovery")
        w = MainWindow(s or settings, **kw)
        # a test's leftover edits: no save-changes prompt when the window is closed
        qtbot.addWidget(w, before_close_func=lambda w: w.history.setClean())
        w.resize(1100, 750)
        w.show()
        qtbot.waitExposed(w)
        made.append(w)
        return w

    yield make
    for w in made:
        w.history.setClean()
        w.close()


@pytest.fixture
def window(make_window):
    return make_window()


def open_photo(qtbot, window, path=SAMPLES / "old_photo.jpg"):
    """Open ``path`` (on the worker pool) and wait until the window shows it."""
    with qtbot.waitSignal(window.documentOpened, timeout=20000):
        assert window.open_file(path)
    return window


@pytest.fixture
def photo_window(window, qtbot):
    return open_photo(qtbot, window)


def install_colorize(monkeypatch, mod) -> None:
    """Make the colorize capability available, running ``mod``'s colorize/suggest_colors."""
    from neuron_desktop import capabilities
    from neuron_desktop.pipelines import colorize

    monkeypatch.setattr(capabilities.get("colorize"), "available", lambda: None)
    monkeypatch.setattr(colorize, "colorize", mod.colorize)
    monkeypatch.setattr(colorize, "suggest_colors", mod.suggest_colors)


def fake_colorize_module(delay: float = 0.0, steps: int = 3) -> types.ModuleType:
    """A stand-in for neuron_desktop.pipelines.colorize with the agreed interface."""
    import time

    mod = types.ModuleType("neuron_desktop.pipelines.colorize")
    mod.calls = []

    def colorize(image, *, hints=None, temperature=0.38, render_size=256, refine=True,
                 device=None, model=None, clean_view="off", vividness=0.5):
        mod.calls.append({"hints": list(hints or []), "temperature": temperature,
                          "clean_view": clean_view, "vividness": vividness})
        out = image.clone()
        out[:, 0] = (out[:, 0] * 0.8 + 0.2).clamp(0, 1)  # "warm" it
        for i in range(steps):
            time.sleep(delay)
            yield Progress((i + 1) / (steps + 1), "colorizing")
            yield Preview(out[..., ::4, ::4], (i + 1) / (steps + 1), "preview")
        for h in hints or []:
            out[0, :, h.y, h.x] = torch.tensor(h.rgb)
        return out

    def suggest_colors(image, hints, point, k, **_session):  # model=, prepared= (live)
        return [((1.0, 0.0, 0.0), 0.5), ((0.0, 0.5, 1.0), 0.3)][:k]

    mod.colorize = colorize
    mod.suggest_colors = suggest_colors
    return mod


@pytest.fixture
def fake_colorize(monkeypatch):
    mod = fake_colorize_module()
    install_colorize(monkeypatch, mod)
    return mod


@pytest.fixture
def tiny_style_bank(monkeypatch):
    """A random FastStyleNet with three styles in place of the shipped one (gallery and
    fast jobs both get it through ``pipelines.stylize._cached_bank``)."""
    from neuron_desktop.models.style import FastStyleNet
    from neuron_desktop.pipelines import stylize

    torch.manual_seed(0)
    net = FastStyleNet(3, width=4, blocks=1).eval().requires_grad_(False)
    for norm in net.norms():  # make the styles differ
        norm.gamma.data += torch.randn_like(norm.gamma) * 0.5
        norm.beta.data += torch.randn_like(norm.beta) * 0.5
    bank = stylize.StyleBank(net, ["alpha_style", "beta_style", "gamma_style"])
    monkeypatch.setattr(stylize, "_cached_bank", lambda device: bank)
    return bank
