"""Start-up shows the main window first and opens the store behind it (terminal.ui.startup).

The whole start runs in a child process (`startup_driver.py`), as the terminal runs it: its own
QApplication and event loop, the services built on a worker thread.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pytestqt.qtbot import QtBot

from terminal.ui.main_window import OPENING_TEXT, MainWindow

DRIVER = str(Path(__file__).with_name("startup_driver.py"))


def drive(mode: str, data_dir: Path) -> tuple[int, list[str]]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, DRIVER, mode, str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.returncode, result.stdout.splitlines()


def test_the_window_paints_before_the_store_opens_then_opens_on_it(tmp_path: Path) -> None:
    code, lines = drive("opens", tmp_path)
    assert code == 0, lines
    assert lines[0] == f"SHOWN title='Merchant Terminal' page={OPENING_TEXT!r}"
    assert lines[1] == "START painted=True"  # the services were built after the first paint
    opened = "OPENED title='Merchant Terminal — SANDBOX' nav=['Charge   F2', 'History   F3'"
    assert lines[2].startswith(opened)
    assert lines[3] == "EXIT 0"


def test_a_start_that_cannot_open_says_why_in_the_window_until_closed(tmp_path: Path) -> None:
    code, lines = drive("fails", tmp_path)
    assert code == 2, lines
    assert lines[2] == (
        "FAILURE page='Merchant Terminal cannot start.\\n\\nThe database is in use by another Merchant "
        "Terminal\\n\\nClose this window, fix it, and start again.'"
    )
    assert lines[3] == "RAISED The database is in use by another Merchant Terminal"


def test_closing_the_window_while_the_store_opens_opens_nothing_and_releases_it(tmp_path: Path) -> None:
    code, lines = drive("closed_while_opening", tmp_path)
    assert code == 0, lines
    assert lines[1:] == ["START painted=True", "EXIT 0", "RELEASED"]


def test_the_empty_window_says_the_store_is_opening_and_opens_once(qtbot: QtBot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    assert window.screens.currentWidget() is window.opening
    assert window.opening.text() == OPENING_TEXT
    assert window.nav.count() == 0 and not window.banner.isVisibleTo(window)
    window.close()  # closing before the screens exist closes; nothing runs yet
    assert not window.isVisible()
