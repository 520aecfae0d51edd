"""The running job's progress on the taskbar / dock icon, where the platform has a way.

- Linux and BSD: the freedesktop "LauncherEntry" D-Bus signal
  (``com.canonical.Unity.LauncherEntry.Update``), read by KDE Plasma's task manager, Ubuntu
  Dock / Dash to Dock, Plank and others. The dock matches it to the window through the
  desktop entry ``neuron-desktop.desktop`` (docs/packaging.md installs it). Tested against a
  private session bus (tests/qt/test_taskbar.py).
- Windows: ``ITaskbarList3`` (SetProgressValue / SetProgressState on the window's HWND)
  through ctypes COM calls. Not tested (written on Linux): any failure turns it off, logged
  at debug level.
- macOS: nothing (the dock tile needs a custom NSView; not worth a PyObjC dependency).

:class:`TaskbarProgress` sends only when the rounded percent changes, at most 10 times a
second, and clears the progress when no job runs and when the window closes. Without a
session bus (or on any error) it does nothing.
"""

from __future__ import annotations

import ctypes
import logging
import sys
import time
import uuid
import zlib
from typing import Protocol

log = logging.getLogger(__name__)
DESKTOP_ID = "neuron-desktop"  # the .desktop file's name; QGuiApplication.desktopFileName
APP_URI = f"application://{DESKTOP_ID}.desktop"
MIN_INTERVAL_S = 0.1


class Sender(Protocol):
    def show(self, fraction: float) -> None: ...

    def clear(self) -> None: ...


class TaskbarProgress:
    """Throttles the progress of the running job to ``sender``."""

    def __init__(self, sender: Sender | None, clock=time.monotonic) -> None:
        self.sender = sender
        self.clock = clock
        self.percent: int | None = None  # what the taskbar shows (None: nothing)
        self.sent_at = -1e9

    def update(self, fraction: float) -> None:
        percent = max(0, min(100, round(fraction * 100)))
        now = self.clock()
        if self.sender is None or percent == self.percent:
            return
        if self.percent is not None and now - self.sent_at < MIN_INTERVAL_S:
            return
        self.percent, self.sent_at = percent, now
        self._call(self.sender.show, percent / 100)

    def clear(self) -> None:
        if self.sender is None or self.percent is None:
            return
        self.percent = None
        self._call(self.sender.clear)

    def _call(self, fn, *args) -> None:
        try:
            fn(*args)
        except Exception:  # a taskbar is never worth an error
            log.debug("taskbar progress off", exc_info=True)
            self.sender = None


def session_bus():
    from PySide6.QtDBus import QDBusConnection

    return QDBusConnection.sessionBus()


class LauncherEntry:
    """The freedesktop/Unity LauncherEntry signal on the session bus."""

    def __init__(self, bus) -> None:
        self.bus = bus
        self.path = f"/com/canonical/unity/launcherentry/{zlib.crc32(APP_URI.encode())}"

    def _send(self, props: dict) -> None:
        from PySide6.QtDBus import QDBusMessage

        msg = QDBusMessage.createSignal(self.path, "com.canonical.Unity.LauncherEntry",
                                        "Update")
        msg.setArguments([APP_URI, props])  # a plain dict marshals as a{sv}
        if not self.bus.send(msg):
            raise OSError(f"D-Bus send failed: {self.bus.lastError().message()}")

    def show(self, fraction: float) -> None:
        self._send({"progress": float(fraction), "progress-visible": True})

    def clear(self) -> None:
        self._send({"progress": 0.0, "progress-visible": False})


class _GUID(ctypes.Structure):
    _fields_ = [("d1", ctypes.c_uint32), ("d2", ctypes.c_uint16), ("d3", ctypes.c_uint16),
                ("d4", ctypes.c_ubyte * 8)]

    @classmethod
    def of(cls, text: str) -> _GUID:
        return cls.from_buffer_copy(uuid.UUID(text).bytes_le)


class WindowsTaskbar:
    """ITaskbarList3 through its COM vtable (untested: written without Windows)."""

    CLSID = "56FDF344-FD6D-11D0-958A-006097C9A090"  # CLSID_TaskbarList
    IID = "EA1AFB91-9E28-4B86-90E9-9E9F8A5EEFAF"  # IID_ITaskbarList3
    HR_INIT, SET_VALUE, SET_STATE = 3, 9, 10  # vtable slots
    NOPROGRESS, NORMAL = 0, 2  # TBPFLAG
    TOTAL = 1000

    def __init__(self, window) -> None:
        self.window = window
        ole32 = ctypes.windll.ole32
        ole32.CoInitialize(None)  # already done by Qt: S_FALSE, harmless
        self.obj = ctypes.c_void_p()
        hr = ole32.CoCreateInstance(ctypes.byref(_GUID.of(self.CLSID)), None, 1,  # in-proc
                                    ctypes.byref(_GUID.of(self.IID)), ctypes.byref(self.obj))
        if hr != 0 or not self.obj:
            raise OSError(f"CoCreateInstance(TaskbarList) failed: {hr:#x}")
        self._method(self.HR_INIT)()

    def _method(self, slot: int, *argtypes):
        functype = ctypes.WINFUNCTYPE(ctypes.c_long, ctypes.c_void_p, *argtypes)
        vtable = ctypes.cast(self.obj, ctypes.POINTER(ctypes.POINTER(ctypes.c_void_p)))[0]
        fn = functype(vtable[slot])

        def call(*args):
            hr = fn(self.obj, *args)
            if hr < 0:
                raise OSError(f"ITaskbarList3 slot {slot} failed: {hr & 0xFFFFFFFF:#x}")
        return call

    def _hwnd(self) -> ctypes.c_void_p:
        return ctypes.c_void_p(int(self.window.winId()))

    def show(self, fraction: float) -> None:
        self._method(self.SET_STATE, ctypes.c_void_p, ctypes.c_int)(self._hwnd(), self.NORMAL)
        self._method(self.SET_VALUE, ctypes.c_void_p, ctypes.c_ulonglong, ctypes.c_ulonglong)(
            self._hwnd(), round(fraction * self.TOTAL), self.TOTAL)

    def clear(self) -> None:
        self._method(self.SET_STATE, ctypes.c_void_p, ctypes.c_int)(self._hwnd(),
                                                                     self.NOPROGRESS)


def platform_sender(window) -> Sender | None:
    """This platform's taskbar progress, or None where there is none (or it fails)."""
    try:
        if sys.platform == "win32":
            return WindowsTaskbar(window)
        if sys.platform == "darwin":
            return None
        bus = session_bus()
        if not bus.isConnected():
            log.debug("no D-Bus session bus: no taskbar progress")
            return None
        return LauncherEntry(bus)
    except Exception:
        log.debug("no taskbar progress", exc_info=True)
        return None


def install(window) -> TaskbarProgress:
    """The window's taskbar progress (cleared when the window shuts down)."""
    progress = TaskbarProgress(platform_sender(window))
    window.taskbar_progress = progress
    stops = getattr(window, "on_shutdown", None)
    if stops is None:
        window.on_shutdown = stops = []
    stops.append(progress.clear)
    return progress
