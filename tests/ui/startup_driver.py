"""Run in a child process by test_startup_window: `terminal.ui.startup.run_gui` as the terminal runs it,
with a `start` that lets the test see the window before the store opens. Prints what it saw, a line each.

python startup_driver.py MODE DATA_DIR, MODE one of:
  opens                 the window paints before the services are built, then opens on them
  fails                 `start` raises CannotStart; the window shows why until the driver closes it
  closed_while_opening  the window is closed while the store opens; nothing opens, the store is released
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")

from PySide6.QtCore import QTimer

from terminal.ui import startup
from terminal.ui.main_window import MainWindow

WAIT_S = 20.0
windows: list[MainWindow] = []


class Watched(MainWindow):
    def __init__(self) -> None:
        super().__init__()
        windows.append(self)


def say(line: str) -> None:
    print(line, flush=True)


def main(mode: str, data_dir: Path) -> int:
    startup.MainWindow = Watched  # type: ignore[misc]
    may_open = threading.Event()

    def start() -> object:
        if not may_open.wait(WAIT_S):
            raise TimeoutError("the driver never let the store open")
        say(f"START painted={windows[0].has_painted}")
        if mode == "fails":
            raise startup.CannotStart("The database is in use by another Merchant Terminal")
        from terminal.assembly import build_services

        return build_services(data_dir, force_sandbox=True, sign_in_as="demo-clerk")

    def poll() -> None:
        if not windows or not windows[0].has_painted:
            return
        window = windows[0]
        if not may_open.is_set():
            say(f"SHOWN title={window.windowTitle()!r} page={window.opening.text()!r}")
            if mode == "closed_while_opening":
                window.close()
            may_open.set()
        elif mode == "opens" and window.entries and window.isVisible():
            entries = [window.nav.item(row).text() for row in range(window.nav.count())]
            say(f"OPENED title={window.windowTitle()!r} nav={entries}")
            window.close()
        elif mode == "fails" and window.opening.property("failed") and window.isVisible():
            say(f"FAILURE page={window.opening.text()!r}")
            window.close()

    startup.qt_app()  # run_gui uses this one; the driver's timer needs it first
    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(20)
    try:
        code = startup.run_gui(start, wait_on_failure=True)  # type: ignore[arg-type]
    except startup.CannotStart as exc:
        say(f"RAISED {exc}")
        return 2
    say(f"EXIT {code}")
    if mode == "closed_while_opening":
        from terminal.store.database import open_database

        open_database(data_dir).close()  # the store was closed: another start may open it
        say("RELEASED")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2])))
