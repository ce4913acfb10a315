"""Run in a child process by bench_startup: start a window and print READY at its first paint, then exit.

`bare`: a bare PySide6 QMainWindow (the baseline). `terminal DATA_DIR`: the real `merchant-terminal`
entry point (`terminal.app.main`) in SANDBOX mode, with a signed-in demo session (as after the sign-in
screen) so that the window measured is the main window. The parent times from spawning this process
to reading READY, so interpreter start-up and every import are counted.
"""

from __future__ import annotations

import os
import sys


def _ready() -> None:
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    os._exit(0)  # the measurement ends at the first paint; shutting down is not start-up


def bare() -> int:
    """A QApplication and an empty QMainWindow, shown."""
    from PySide6.QtWidgets import QApplication, QMainWindow

    class Window(QMainWindow):
        def paintEvent(self, event: object) -> None:
            _ready()

    app = QApplication([sys.argv[0]])
    window = Window()
    window.resize(1280, 800)
    window.show()
    return app.exec()


def terminal(data_dir: str) -> int:
    """`merchant-terminal --data-dir DATA_DIR`, signed in as the demo administrator."""
    from terminal import app

    real_build = app.build_services

    def build_signed_in(*args: object, **kwargs: object) -> object:
        kwargs["sign_in_as"] = "demo-admin"
        services = real_build(*args, **kwargs)  # type: ignore[arg-type]
        from terminal.ui.main_window import MainWindow

        def first_paint(self: MainWindow, event: object) -> None:
            _ready()

        MainWindow.paintEvent = first_paint  # type: ignore[method-assign,assignment]
        return services

    app.build_services = build_signed_in  # type: ignore[assignment]
    return app.main(["--data-dir", data_dir])


if __name__ == "__main__":
    sys.exit(bare() if sys.argv[1] == "bare" else terminal(sys.argv[2]))
