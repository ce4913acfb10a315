"""pytest-qt: the main window lists its screens by function key and every screen fits 1280×800."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QWidget

from terminal.assembly import Services, build_services
from terminal.ui.main_window import Screen, key_order, plain_title
from terminal.ui.shell import Shell
from tests.ui.charge_flow import run_session

pytestmark = pytest.mark.webengine


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    yield build_services(tmp_path / "data", force_sandbox=True)


def test_titles_and_key_order() -> None:
    assert plain_title("&Operators && audit") == "Operators & audit"
    assert plain_title("Payment &links") == "Payment links"
    assert sorted(["F9", "F4", "F10", "Ctrl+K", "F2"], key=key_order) == ["F2", "F4", "F9", "F10", "Ctrl+K"]


def test_navigation_in_key_order_and_every_screen_fits_1280x800(
    qloop: asyncio.AbstractEventLoop, services: Services
) -> None:
    async def scenario(shell: Shell) -> None:
        window = shell.window
        window.resize(1280, 800)
        keys = [entry.key for entry in window.entries]
        assert keys == sorted(keys, key=key_order) and keys[:3] == ["F2", "F3", "F4"], keys
        texts = [window.nav.item(row).text() for row in range(window.nav.count())]
        assert texts[-1] == "Operators & audit   F9", texts
        # A screen added late still lands at its key's place, and the selection stays where it was.
        window.show_widget(shell.history)
        extra = Screen("E&xtra", "F1", QWidget())
        window.add_screen(extra)
        assert window.entries[0] is extra and window.nav.item(0).text() == "Extra   F1"
        assert window.entries[window.nav.currentRow()].widget is shell.history
        menu = [a.text() for a in window.menuBar().actions()[0].menu().actions() if a.text()]
        assert menu[:3] == ["E&xtra", "&Charge", "&History"], menu
        font = QFont()
        font.setPixelSize(15)
        assert QFontMetrics(font).horizontalAdvance("Needs attention (12)   F4") + 28 <= window.nav.width()
        for entry in [*window.entries, Screen("Detail", "", shell.detail)]:
            window.show_widget(window.built(entry) if entry in window.entries else shell.detail)
            await asyncio.sleep(0.1)  # the layouts settle on the event loop
            hint = window.minimumSizeHint()
            assert hint.width() <= 1280 and hint.height() <= 800, (entry.title, hint)
            assert (window.width(), window.height()) == (1280, 800), entry.title

    run_session(qloop, services, scenario)
    gc.collect()


def test_screens_other_than_charge_and_history_are_built_when_first_shown(
    qloop: asyncio.AbstractEventLoop, services: Services
) -> None:
    async def scenario(shell: Shell) -> None:
        window = shell.window
        lazy = {"F5": "_payout", "F6": "_links", "F7": "_end_of_day"}
        assert all(getattr(shell, name) is None for name in lazy.values())
        assert shell._detail is None and shell.security_ui._settings is None
        for key, name in lazy.items():
            action = next(
                a for a in window.menuBar().actions()[0].menu().actions() if a.shortcut().toString() == key
            )
            action.trigger()  # the function key's action, as a clerk's key press runs it
            await asyncio.sleep(0.05)
            built = getattr(shell, name)
            assert built is not None and window.screens.currentWidget() is built, key
            assert window.entries[window.nav.currentRow()].widget is built
        # Built from elsewhere first (History opening a transaction), a screen is still its nav entry's.
        operators = shell.security_ui.operators
        window.show_widget(operators)
        assert window.entries[window.nav.currentRow()].key == "F9"
        assert window.screens.indexOf(operators) >= 0 and window.screens.count() == len(window.entries)

    run_session(qloop, services, scenario)
    gc.collect()
