"""Test-wide settings: Qt without a screen, QtWebEngine as root, and no real keychain."""

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu --disable-background-networking")

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, Qt

# As the terminal does before its QApplication (terminal.ui.startup.prepare_qt): QtWebEngine then loads
# with the first web view a test opens, after pytest-qt's QApplication exists, exactly as in the app.
QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)


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


# PySide6/shiboken can abort in the garbage collection at interpreter exit after many QtWebEngine
# sessions in one process ("bool_dealloc ... refcount error in a C extension"), after every test has
# passed and been reported. The terminal itself runs one session per process and exits normally.
# Once pytest has finished, end the process with pytest's own exit status instead of finalizing.
_EXIT_STATUS: dict[str, int] = {}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS["status"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if "status" in _EXIT_STATUS and "PySide6.QtWebEngineCore" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS["status"])
