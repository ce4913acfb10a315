"""pytest-qt: Settings (F8) — a live profile typed by keyboard, secrets to an in-memory keyring and read
back, field errors that keep the typing, direct entry audited and for administrators only, preferences,
and Test connection against the simulator."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from terminal.assembly import Services, build_services
from terminal.services.audit import Event
from terminal.services.secrets import service_name
from terminal.services.settings import SettingsError, parse_profile
from terminal.ui.async_bridge import AsyncBridge
from terminal.ui.settings_screen import NEW_PROFILE, SettingsScreen
from tests.security.keyrings import MemoryKeyring, using

SECRET = "ogo-live-SECRET-5c1d9e"


@pytest.fixture(autouse=True)
def _qloop_is_current(qloop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """Ctrl+S is pressed outside the running loop; the screen's task must land on the terminal's loop
    (an earlier test in the same process may have left no current loop)."""
    asyncio.set_event_loop(qloop)
    yield


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


def _save(screen: SettingsScreen, qloop: asyncio.AbstractEventLoop) -> None:
    """Ctrl+S, then let the keyring part (in a worker thread) and its callbacks finish."""
    QTest.keyClick(screen, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qloop.run_until_complete(screen.bridge.drain())


def _type(screen: SettingsScreen, name: str, text: str) -> None:
    line = screen.inputs.get(name) or screen.secret_inputs[name]
    line.clear()
    QTest.keyClicks(line, text)


def test_new_live_profile_stores_its_secret_in_the_keyring_only(
    qtbot: QtBot,
    services: Services,
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
    qloop: asyncio.AbstractEventLoop,
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
    _save(screen, qloop)
    assert screen.error.text() == "", screen.error.text()
    assert confirmed == ["Save the gateway profile"]
    assert memory_keyring.store[(service_name("live"), "shop-ogo/secret")] == SECRET
    saved = services.profiles.get("shop-ogo")
    assert saved.live and saved.currency == "LKR" and saved.settings["base_url"] == "https://ogo.example.com"
    settings_file = tmp_path / "data" / "settings.json"
    assert SECRET not in settings_file.read_text() and "shop-ogo" in settings_file.read_text()
    entry = next(r for r in services.security.audit.latest() if r.event == Event.PROFILE_CHANGED)
    assert entry.operator == "demo-admin" and entry.target == "shop-ogo"
    assert json.loads(entry.detail)["stored_in_keyring"] == ["secret"] and SECRET not in entry.detail


def test_direct_entry_is_for_administrators_and_audited(
    qtbot: QtBot, services: Services, memory_keyring: MemoryKeyring, qloop: asyncio.AbstractEventLoop
) -> None:
    target = next((p for p in services.profiles.all() if p.capabilities.direct_entry), None)
    if target is None:
        pytest.skip("no registered sandbox gateway takes card data from the terminal")
    screen = _screen(qtbot, services, [])
    _select(screen, target.id)
    assert "SAQ C-VT" in screen.direct_entry.toolTip()
    screen.direct_entry.setChecked(True)
    _save(screen, qloop)
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
    qloop.run_until_complete(screen.bridge.drain())
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


class SlowKeyring(MemoryKeyring):
    """A keychain that takes its time (a prompt, a slow D-Bus) and notes which thread called it."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[int] = set()

    def set_password(self, service: str, username: str, password: str) -> None:
        self.threads.add(threading.get_ident())
        time.sleep(0.4)
        super().set_password(service, username, password)

    def get_password(self, service: str, username: str) -> str | None:
        self.threads.add(threading.get_ident())
        return super().get_password(service, username)


def test_a_slow_keychain_never_freezes_the_window(
    qtbot: QtBot, services: Services, qloop: asyncio.AbstractEventLoop
) -> None:
    screen = _screen(qtbot, services, [])
    _select(screen, NEW_PROFILE)
    screen.gateway.setCurrentIndex(screen.gateway.findData("ogopay"))
    QApplication.processEvents()
    for name, text in (("id", "slow-ogo"), ("name", "Slow"), ("currency", "LKR"),
                       ("base_url", "https://live-ipg.ogo.exchange"), ("merchant_id", "M-2"),
                       ("secret", SECRET)):  # fmt: skip
        _type(screen, name, text)
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    with using(SlowKeyring()) as backend:
        assert isinstance(backend, SlowKeyring)
        timer.start(20)
        started = time.monotonic()
        QTest.keyClick(screen, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
        assert time.monotonic() - started < 0.3  # Ctrl+S returned before the keychain answered
        assert not screen.save_button.isEnabled()  # and no second save can start meanwhile
        qloop.run_until_complete(screen.bridge.drain())
        timer.stop()
    assert screen.result.text() == "Saved Slow.", (screen.result.text(), screen.error.text())
    assert backend.store[(service_name("live"), "slow-ogo/secret")] == SECRET
    assert threading.get_ident() not in backend.threads  # every keyring call left the GUI thread
    # The window's event loop kept turning while the keychain took 0.4 s.
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) >= 8 and max(gaps) < 0.25, gaps
    assert screen.save_button.isEnabled()


def test_moving_a_profile_from_test_to_live_needs_its_secret_again(
    services: Services, memory_keyring: MemoryKeyring, qloop: asyncio.AbstractEventLoop
) -> None:
    settings = services.security.settings
    services.security.session.step_up("administrator-demo")
    values = {"id": "shop", "name": "Shop", "currency": "LKR", "merchant_id": "M-3",
              "base_url": "https://test-ipg.ogo.exchange"}  # fmt: skip
    test_profile = parse_profile("ogopay", values, live=True)
    qloop.run_until_complete(settings.asave_profile(test_profile, {"secret": "test-secret"}))
    assert memory_keyring.store[(service_name("test"), "shop/secret")] == "test-secret"
    live_profile = parse_profile("ogopay", {**values, "base_url": "https://live-ipg.ogo.exchange"}, live=True)
    with pytest.raises(SettingsError, match="Secret key: required for a profile moved between test and live"):
        settings.save_profile(live_profile, {})
    settings.save_profile(live_profile, {"secret": "live-secret"})
    assert memory_keyring.store[(service_name("live"), "shop/secret")] == "live-secret"
    assert memory_keyring.store[(service_name("test"), "shop/secret")] == "test-secret"  # untouched
