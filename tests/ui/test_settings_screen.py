"""pytest-qt: Settings (F8) — a live profile typed by keyboard, secrets to an in-memory keyring and read
back, field errors that keep the typing, direct entry audited and for administrators only, preferences,
and Test connection against the simulator."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from terminal.app import Services, build_services
from terminal.services.audit import Event
from terminal.services.profiles import KEYRING_SERVICE
from terminal.ui.async_bridge import AsyncBridge
from terminal.ui.settings_screen import NEW_PROFILE, SettingsScreen
from tests.security.keyrings import MemoryKeyring, using

SECRET = "ogo-live-SECRET-5c1d9e"


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    with using(MemoryKeyring()) as backend:
        assert isinstance(backend, MemoryKeyring)
        yield backend


@pytest.fixture
def services(tmp_path: Path, qloop: asyncio.AbstractEventLoop) -> Iterator[Services]:
    built = build_services(tmp_path / "data", force_sandbox=True, sign_in_as="demo-admin")
    yield built
    qloop.run_until_complete(built.aclose())


def _screen(qtbot: QtBot, services: Services, confirmed: list[str]) -> SettingsScreen:
    passwords = {"demo-admin": "administrator-demo", "demo-supervisor": "supervisor-demo"}

    def confirm(what: str) -> bool:
        confirmed.append(what)
        session = services.security.session
        session.step_up(passwords[session.login])
        return True

    screen = SettingsScreen(services.security, AsyncBridge(), confirm=confirm)
    qtbot.addWidget(screen)
    screen.resize(1280, 800)
    with qtbot.waitActive(screen):  # Ctrl+S is a window shortcut: the window must be the active one
        screen.show()
        screen.activateWindow()
    screen.refresh()
    return screen


def _select(screen: SettingsScreen, profile_id: str) -> None:
    for row in range(screen.profiles.count()):
        if screen.profiles.item(row).data(Qt.ItemDataRole.UserRole) == profile_id:
            screen.profiles.setCurrentRow(row)
            QApplication.processEvents()  # the rebuilt form's fields are shown by a queued call
            return
    raise AssertionError(profile_id)


def _type(screen: SettingsScreen, name: str, text: str) -> None:
    line = screen.inputs.get(name) or screen.secret_inputs[name]
    line.clear()
    QTest.keyClicks(line, text)


def test_new_live_profile_stores_its_secret_in_the_keyring_only(
    qtbot: QtBot, services: Services, memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    confirmed: list[str] = []
    screen = _screen(qtbot, services, confirmed)
    _select(screen, NEW_PROFILE)
    screen.gateway.setCurrentIndex(screen.gateway.findData("ogopay"))
    QApplication.processEvents()
    _type(screen, "id", "shop-ogo")
    _type(screen, "name", "Shop on OGO")
    _type(screen, "currency", "lkr")
    _type(screen, "base_url", "http://ogo.example.com")  # live needs https
    _type(screen, "merchant_id", "M-1001")
    _type(screen, "secret", SECRET)
    QTest.keyClick(screen, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert "Gateway address" in screen.error.text() and "https" in screen.error.text()
    assert screen.focusWidget() is screen.inputs["base_url"]
    assert screen.inputs["merchant_id"].text() == "M-1001" and screen.secret_inputs["secret"].text() == SECRET
    _type(screen, "base_url", "https://ogo.example.com/")
    QTest.keyClick(screen, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert screen.error.text() == "", screen.error.text()
    assert confirmed == ["Save the gateway profile"]
    assert memory_keyring.store[(KEYRING_SERVICE, "shop-ogo/secret")] == SECRET
    saved = services.profiles.get("shop-ogo")
    assert saved.live and saved.currency == "LKR" and saved.settings["base_url"] == "https://ogo.example.com"
    settings_file = tmp_path / "data" / "settings.json"
    assert SECRET not in settings_file.read_text() and "shop-ogo" in settings_file.read_text()
    entry = next(r for r in services.security.audit.latest() if r.event == Event.PROFILE_CHANGED)
    assert entry.operator == "demo-admin" and entry.target == "shop-ogo"
    assert json.loads(entry.detail)["stored_in_keyring"] == ["secret"] and SECRET not in entry.detail


def test_direct_entry_is_for_administrators_and_audited(
    qtbot: QtBot, services: Services, memory_keyring: MemoryKeyring
) -> None:
    target = next((p for p in services.profiles.all() if p.capabilities.direct_entry), None)
    if target is None:
        pytest.skip("no registered sandbox gateway takes card data from the terminal")
    screen = _screen(qtbot, services, [])
    _select(screen, target.id)
    assert "SAQ C-VT" in screen.direct_entry.toolTip()
    screen.direct_entry.setChecked(True)
    QTest.keyClick(screen, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert screen.error.text() == "", screen.error.text()
    assert services.profiles.get(target.id).settings["direct_entry"] == "on"
    entry = services.security.audit.latest(1)[0]
    assert entry.event == Event.DIRECT_ENTRY and json.loads(entry.detail)["enabled"] is True
    # A supervisor may not turn it off again.
    services.security.session.sign_in("demo-supervisor", "supervisor-demo")
    screen.refresh()
    assert not screen.save_button.isEnabled() and "Only an administrator" in screen.notice.text()
    screen.direct_entry.setChecked(False)
    screen.save_profile()
    assert screen.error.text() == "Change settings: for administrators only."
    assert services.profiles.get(target.id).settings["direct_entry"] == "on"


def test_preferences_name_the_field_and_keep_the_text(qtbot: QtBot, services: Services) -> None:
    screen = _screen(qtbot, services, [])
    screen.default_currency.setFocus()
    QTest.keyClicks(screen.default_currency, "ZZZ")
    screen.receipt_header.setPlainText("Corner Shop\nHigh Street 1")
    QTest.mouseClick(screen.save_preferences_button, Qt.MouseButton.LeftButton)
    assert "Default currency" in screen.preferences_error.text()
    assert screen.receipt_header.toPlainText() == "Corner Shop\nHigh Street 1"
    screen.default_currency.setText("eur")
    QTest.mouseClick(screen.save_preferences_button, Qt.MouseButton.LeftButton)
    assert screen.preferences_error.text() == "Saved."
    prefs = services.security.settings.preferences()
    assert (prefs.default_currency, prefs.receipt_header) == ("EUR", "Corner Shop\nHigh Street 1")
    changed = {r.target for r in services.security.audit.latest(2) if r.event == Event.SETTINGS_CHANGED}
    assert changed == {"default_currency", "receipt_header"}


def test_test_connection_reaches_the_simulator(
    qtbot: QtBot, services: Services, qloop: asyncio.AbstractEventLoop
) -> None:
    screen = _screen(qtbot, services, [])
    _select(screen, services.profiles.all()[0].id)

    async def press() -> None:
        QTest.mouseClick(screen.test_button, Qt.MouseButton.LeftButton)
        await screen.bridge.drain()

    qloop.run_until_complete(press())
    assert screen.result.text().startswith("Connected"), screen.result.text()
