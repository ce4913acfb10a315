"""Start-up of the window: the main window is shown first, and the store opens behind it.

Importing the database layer and the screens, opening the store and building the services take most of a
start (docs/BENCHMARKS.md). This module shows the main window at once ("Opening the store…") and
waits for its first paint; only then does it start the caller's `start` (which opens the store and builds
the services) and the import of the screens' modules on a worker thread, and load the event loop, so that
the window stays responsive meanwhile. Signing in and the screens follow (`terminal.ui.shell.serve`).
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEventLoop, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from terminal.ui.main_window import MainWindow

if TYPE_CHECKING:  # asyncio and concurrent.futures load after the first paint
    from concurrent.futures import Future

    from terminal.ui.shell import ShellServices

__all__ = ["CannotStart", "freeze_startup_heap", "prepare_qt", "qt_app", "run_gui"]

# How long start-up waits for the window's first paint before it goes on loading anyway.
FIRST_PAINT_WAIT_MS = 1000


def prepare_qt() -> None:
    """What must be set before the QApplication exists.

    QtWebEngine is loaded with the first card page, not at start-up (about 0.1 s of it): Qt allows that
    when OpenGL contexts are shared, which otherwise importing QtWebEngineWidgets first would have set.
    """
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)


def qt_app() -> QApplication:
    """The application object, made (after `prepare_qt`) if there is none yet."""
    app = QApplication.instance()
    if isinstance(app, QApplication):
        return app
    prepare_qt()
    app = QApplication([sys.argv[0]])
    # The session coroutine decides when to quit, after payments in flight and cleanup have finished.
    app.setQuitOnLastWindowClosed(False)
    app.setApplicationName("Merchant Terminal")
    app.setOrganizationName("MerchantTerminal")
    return app


def freeze_startup_heap() -> None:
    """Take what start-up made (modules, classes, the services) out of the garbage collector's sight.

    It lives as long as the process; yet every full collection, triggered by allocations in whichever
    thread, would walk all of it while holding the interpreter lock: a 50-60 ms freeze of the window
    during an export or a long History scroll (benchmarks/, docs/BENCHMARKS.md). Frozen, a full
    collection walks only what was made since.

    The command line pauses the collector from its first line (`gc.disable()` in `terminal.app.main`):
    what start-up makes lives as long as the process, and collecting it meanwhile took about a tenth of a
    start (docs/BENCHMARKS.md). It runs again from here.
    """
    gc.freeze()
    gc.enable()


class CannotStart(Exception):
    """Raised by `start`: the terminal cannot start, for a reason said in one line (shown in the window)."""


def _has_screen() -> bool:
    """False on Qt's screenless platforms (tests, the self-test), where nobody would read the window."""
    return QGuiApplication.platformName() not in ("offscreen", "minimal")


def run_gui(
    start: Callable[[], ShellServices], *, self_test: bool = False, wait_on_failure: bool | None = None
) -> int:
    """Show the main window, open the services with `start` behind it, and serve until the window closes
    (or run the self-test); returns the exit code.

    What `start` raises is raised here, the window closed. A `CannotStart` is first shown in the window until
    it is closed, when there is a screen to show it on (`wait_on_failure` decides instead when given).
    """
    app = qt_app()
    window = MainWindow()
    window.show()
    _wait_for_paint(window)
    opened = _open_in_background(start)
    import asyncio  # the event loop's modules load after the paint: about a fifth of the window's start

    import qasync

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            code: int = loop.run_until_complete(_session(window, opened, self_test, wait_on_failure))
            return code
    finally:
        asyncio.set_event_loop(None)
        gc.enable()  # whatever happened (the command line paused it: `freeze_startup_heap`)


def _wait_for_paint(window: MainWindow, timeout_ms: int = FIRST_PAINT_WAIT_MS) -> None:
    """Run Qt's events until the window has painted once (or `timeout_ms`, e.g. a window shown minimised)."""
    waiting = QEventLoop()
    window.first_painted.connect(waiting.quit)
    QTimer.singleShot(timeout_ms, waiting.quit)
    if not window.has_painted:
        waiting.exec()
    window.first_painted.disconnect(waiting.quit)


def _open_in_background(start: Callable[[], ShellServices]) -> Future[ShellServices]:
    """Run `start` (the store, the services) and import the screens' modules on a worker thread."""
    from concurrent.futures import Future

    opened: Future[ShellServices] = Future()

    def run() -> None:
        try:
            services = start()
            import terminal.ui.shell  # noqa: F401  (off the UI thread: about a fifth of a start)
        except BaseException as exc:  # handed to the UI thread, which raises it
            opened.set_exception(exc)
        else:
            opened.set_result(services)

    threading.Thread(target=run, name="start-up", daemon=True).start()
    return opened


async def _session(
    window: MainWindow, opened: Future[ShellServices], self_test: bool, wait_on_failure: bool | None
) -> int:
    import asyncio

    try:
        services = await asyncio.wrap_future(opened)
    except CannotStart as exc:
        if wait_on_failure if wait_on_failure is not None else _has_screen() and not self_test:
            # On a desktop the window says why (a clerk who started it from a menu sees no console).
            window.show_failure(str(exc))
            closed = asyncio.Event()
            window.closed.connect(closed.set)
            if window.isVisible():
                await closed.wait()
        window.close()
        raise
    except BaseException:
        window.close()
        raise
    # The store and the services are up: the collector runs again before anyone signs in (the sign-in
    # window may stay open a long time), and once more after the screens are built.
    freeze_startup_heap()
    from terminal.ui.shell import serve

    return await serve(services, window, self_test=self_test, ready=freeze_startup_heap)
