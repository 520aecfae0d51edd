"""Taskbar progress: the throttling and clearing, and the real LauncherEntry D-Bus signal
seen by dbus-monitor on a private session bus while a job runs in the window."""

import re
import shutil
import subprocess
import time

import pytest

from neuron_desktop.qt import taskbar
from neuron_desktop.qt.taskbar import APP_URI, TaskbarProgress
from tests.qt.conftest import fake_colorize_module, install_colorize, open_photo


class FakeSender:
    def __init__(self) -> None:
        self.calls: list = []

    def show(self, fraction: float) -> None:
        self.calls.append(round(fraction, 2))

    def clear(self) -> None:
        self.calls.append("clear")


def test_throttled_to_percent_changes_and_ten_a_second():
    now = [0.0]
    sender = FakeSender()
    p = TaskbarProgress(sender, clock=lambda: now[0])
    p.clear()
    assert sender.calls == []  # nothing shown: nothing to clear
    p.update(0.0)
    p.update(0.001)  # same percent
    now[0] = 0.05
    p.update(0.3)  # too soon after the last
    now[0] = 0.2
    p.update(0.3)
    p.update(0.304)  # 30 % again
    now[0] = 0.4
    p.update(1.5)  # clamped
    p.clear()
    p.clear()  # once
    p.update(0.5)  # a new job shows at once
    assert sender.calls == [0.0, 0.3, 1.0, "clear", 0.5]


def test_a_failing_sender_turns_it_off():
    class Broken:
        def show(self, fraction):
            raise OSError("no taskbar")

        def clear(self):
            raise AssertionError("not called")

    p = TaskbarProgress(Broken())
    p.update(0.5)
    assert p.sender is None
    p.update(0.7)
    p.clear()  # no error


def test_cleared_when_the_job_ends_and_when_the_window_closes(make_window, monkeypatch,
                                                             qtbot):
    install_colorize(monkeypatch, fake_colorize_module(delay=0.3, steps=4))
    w = open_photo(qtbot, make_window())
    w.colorize_panel.live.setChecked(False)
    sender = FakeSender()
    w.taskbar_progress.sender = sender
    with qtbot.waitSignal(w.jobs.finished, timeout=20000):
        w.run_colorize()
    qtbot.waitUntil(lambda: sender.calls[-1:] == ["clear"], timeout=5000)
    shown = [c for c in sender.calls if c != "clear"]
    assert shown[0] == 0.0 and len(shown) >= 3 and shown == sorted(shown), sender.calls
    assert sender.calls.count("clear") == 1
    w.taskbar_progress.update(0.4)  # e.g. a job still running at close
    w.history.setClean()  # no save-changes prompt
    w.close()
    assert sender.calls[-2:] == [0.4, "clear"]


def _updates(text: str) -> list[tuple[float, bool]]:
    """(progress, progress-visible) of each LauncherEntry Update in dbus-monitor's output."""
    out = []
    for block in text.split("signal ")[1:]:
        if "member=Update" not in block:
            continue
        assert f'string "{APP_URI}"' in block, block
        assert "path=/com/canonical/unity/launcherentry/" in block, block
        progress = re.search(r'string "progress"\s+variant\s+double ([\d.]+)', block)
        visible = re.search(r'string "progress-visible"\s+variant\s+boolean (\w+)', block)
        assert progress and visible, block  # a{sv} with a double and a boolean
        out.append((float(progress.group(1)), visible.group(1) == "true"))
    return out


@pytest.fixture
def private_bus():
    """A private D-Bus session bus: (address, monitor output file)."""
    if not (shutil.which("dbus-daemon") and shutil.which("dbus-monitor")):
        pytest.skip("dbus-daemon / dbus-monitor not installed")
    daemon = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                              stdout=subprocess.PIPE, text=True)
    address = daemon.stdout.readline().strip()
    assert address.startswith("unix:"), address
    monitor = subprocess.Popen(
        ["dbus-monitor", "--address", address,
         "type='signal',interface='com.canonical.Unity.LauncherEntry'"],
        stdout=subprocess.PIPE, text=True)
    yield address, monitor
    monitor.kill()
    monitor.wait()
    daemon.kill()
    daemon.wait()


def test_launcher_entry_signal_on_the_session_bus(make_window, monkeypatch, qtbot,
                                                  private_bus):
    from PySide6.QtDBus import QDBusConnection

    address, monitor = private_bus
    bus = QDBusConnection.connectToBus(address, "neuron-taskbar-test")
    assert bus.isConnected()
    monkeypatch.setattr(taskbar, "session_bus", lambda: bus)
    install_colorize(monkeypatch, fake_colorize_module(delay=0.3, steps=4))
    w = open_photo(qtbot, make_window())
    assert isinstance(w.taskbar_progress.sender, taskbar.LauncherEntry)
    w.colorize_panel.live.setChecked(False)
    time.sleep(0.3)  # dbus-monitor has subscribed
    with qtbot.waitSignal(w.jobs.finished, timeout=20000):
        w.run_colorize()
    qtbot.waitUntil(lambda: w.taskbar_progress.percent is None, timeout=5000)
    w.history.setClean()  # no save-changes prompt
    w.close()
    QDBusConnection.disconnectFromBus("neuron-taskbar-test")
    time.sleep(0.3)
    monitor.terminate()
    updates = _updates(monitor.communicate(timeout=5)[0])
    assert updates and updates[-1] == (0.0, False), updates  # cleared when the job ended
    jobs, shown = [], []  # each job's shown fractions: opening the photo, then Colorize
    for fraction, visible in updates:
        if visible:
            shown.append(fraction)
        else:
            jobs.append(shown)
            shown = []
    assert len(jobs) == 2 and jobs[0][0] == 0.0, updates
    colorize = jobs[1]
    assert colorize[0] == 0.0 and len(colorize) >= 3 and colorize == sorted(colorize), updates
    assert all(0 < p < 1 for p in colorize[1:]), updates
