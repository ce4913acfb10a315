"""Run in a child process by bench_startup: start a window and print a line at its first paint, then exit.

`bare`: a bare PySide6 QMainWindow (the baseline); prints READY at its first paint. `terminal DATA_DIR`:
the real `merchant-terminal` entry point (`terminal.app.main`) in SANDBOX mode, with a signed-in demo
session (as after the sign-in screen) so that the window measured is the main window. It prints READY at
the main window's first paint (shown at once, "Opening the store…"), then USABLE when the Charge screen
first paints (the store open, the services and the screens built), and exits. The parent times from
spawning this process to reading each line, so interpreter start-up and every import are counted.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _done() -> None:
    os._exit(0)  # the measurement ends at the paint; shutting down is not start-up


def bare() -> int:
    """A QApplication and an empty QMainWindow, shown."""
    from PySide6.QtWidgets import QApplication, QMainWindow

    class Window(QMainWindow):
        def paintEvent(self, event: object) -> None:
            _say("READY")
            _done()

    app = QApplication([sys.argv[0]])
    window = Window()
    window.resize(1280, 800)
    window.show()
    return app.exec()


def terminal(data_dir: str) -> int:
    """`merchant-terminal --data-dir DATA_DIR`, signed in as the demo administrator."""
    from functools import partial

    from terminal import app
    from terminal.ui.main_window import MainWindow

    app.open_services = partial(app.open_services, sign_in_as="demo-admin")  # type: ignore[assignment]
    real_init, real_open = MainWindow.__init__, MainWindow.open

    def init_and_watch(self: MainWindow) -> None:
        real_init(self)
        self.first_painted.connect(lambda: _say("READY"))

    def open_and_watch(self: MainWindow, charge: Any, *args: Any, **kwargs: Any) -> None:
        from PySide6.QtCore import QEvent, QObject  # imported once the window has painted

        class ChargePainted(QObject):
            def eventFilter(self, watched: QObject, event: QEvent) -> bool:
                if event.type() == QEvent.Type.Paint:
                    _say("USABLE")
                    _done()
                return False

        real_open(self, charge, *args, **kwargs)
        self._probe = ChargePainted(self)  # type: ignore[attr-defined]
        charge.installEventFilter(self._probe)  # type: ignore[attr-defined]

    MainWindow.__init__ = init_and_watch  # type: ignore[method-assign]
    MainWindow.open = open_and_watch  # type: ignore[method-assign]
    return app.main(["--data-dir", data_dir])


if __name__ == "__main__":
    sys.exit(bare() if sys.argv[1] == "bare" else terminal(sys.argv[2]))
