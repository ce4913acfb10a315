"""Test-wide settings: Qt without a screen, QtWebEngine as root, and no real keychain."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu --disable-background-networking")

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest


class _LocalQtLoop:
    """What qasync drives in tests instead of the QApplication itself: a local QEventLoop per run.

    The terminal quits its QApplication once per process; tests run many sessions in one process, and
    QtWebEngine crashes when QApplication.aboutToQuit is emitted a second time after a web view was used.
    """

    def __init__(self, app: Any) -> None:
        from PySide6.QtCore import QEventLoop

        self._app = app
        self._loop_class = QEventLoop
        self._loop: Any = None

    def exec(self) -> int:
        self._loop = self._loop_class()
        return int(self._loop.exec())

    def exit(self, code: int = 0) -> None:
        if self._loop is not None:
            self._loop.exit(code)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)


@pytest.fixture(scope="session")
def qloop(qapp: Any) -> Iterator[asyncio.AbstractEventLoop]:
    """The qasync loop on the Qt thread, as the terminal runs it: asyncio and Qt share one thread."""
    import qasync

    qapp.setQuitOnLastWindowClosed(False)  # as the terminal runs: the session decides when to quit
    loop = qasync.QEventLoop(_LocalQtLoop(qapp))
    asyncio.set_event_loop(loop)
    yield loop
