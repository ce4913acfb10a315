"""pytest-qt: signing in by keyboard, the first administrator, the 15-minute idle lock (fake clock),
and a supervisor's approval at the clerk's screen."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QMainWindow
from pytestqt.qtbot import QtBot

from terminal.domain.roles import Permission
from terminal.services.audit import Event
from terminal.services.profiles import Profile, ProfileRegistry
from terminal.services.security import Security, build_security
from terminal.store.database import open_database
from terminal.ui.async_bridge import AsyncBridge
from terminal.ui.lock import IdleLock
from terminal.ui.sign_in import ApprovalDialog, SignInWindow


def _security(data_dir: Path, profiles: list[Profile]) -> Iterator[Security]:
    database = open_database(data_dir)
    security = build_security(database, ProfileRegistry(profiles), data_dir)
    try:
        yield security
    finally:
        security.close()
        database.close()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Security]:
    yield from _security(tmp_path / "data", [])  # no profile: SANDBOX, with the demo operators


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Security]:
    shop = Profile(
        "shop", "ogopay", "Shop", "LKR", True, {"base_url": "https://ogo.example", "merchant_id": "m"}
    )
    yield from _security(tmp_path / "data", [shop])


def _type(widget: object, text: str) -> None:
    QTest.keyClicks(widget, text)  # type: ignore[arg-type]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sandbox_sign_in_lists_demo_operators_and_keeps_the_login(qtbot: QtBot, sandbox: Security) -> None:
    window = SignInWindow(sandbox)
    qtbot.addWidget(window)
    window.show()
    form = window.form
    demo = form.demo.text()  # type: ignore[attr-defined]
    assert "SANDBOX demo operators" in demo and "demo-clerk" in demo and "1111" in demo
    _type(form.login, "demo-clerk")  # type: ignore[attr-defined]
    QTest.keyClick(form.login, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    assert window.focusWidget() is form.secret  # type: ignore[attr-defined]
    _type(form.secret, "9999")  # type: ignore[attr-defined]
    QTest.keyClick(form.secret, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    assert "not recognised" in form.error.text()  # type: ignore[attr-defined]
    assert form.login.text() == "demo-clerk" and form.secret.text() == ""  # type: ignore[attr-defined]
    assert window.isVisible() and sandbox.session.current is None
    _type(form.secret, "1111")  # type: ignore[attr-defined]
    QTest.keyClick(form.secret, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    assert window.result() == SignInWindow.DialogCode.Accepted
    assert sandbox.session.login == "demo-clerk"


def test_first_start_on_a_live_profile_asks_for_the_first_administrator(qtbot: QtBot, live: Security) -> None:
    assert live.operators.all() == []  # no demo operators on a live terminal
    window = SignInWindow(live)
    qtbot.addWidget(window)
    window.show()
    form = window.form
    for field, text in (
        ("login", "owner"),
        ("name", "Shop Owner"),
        ("password", "short"),
        ("repeat", "short"),
    ):
        _type(getattr(form, field), text)
    QTest.keyClick(form.repeat, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    assert "at least 12 characters" in form.error.text()  # type: ignore[attr-defined]
    assert form.login.text() == "owner" and form.name.text() == "Shop Owner"  # type: ignore[attr-defined]
    for field in ("password", "repeat"):
        getattr(form, field).setText("a-long-enough-password")
    QTest.keyClick(form.repeat, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    assert window.result() == SignInWindow.DialogCode.Accepted
    assert live.session.current is not None and live.session.current.may(Permission.OPERATORS)
    assert not live.operators.needs_first_administrator()


def test_idle_lock_at_fifteen_minutes_hides_the_content(
    qtbot: QtBot, sandbox: Security, qloop: asyncio.AbstractEventLoop
) -> None:
    sandbox.session.sign_in("demo-clerk", "1111")
    window = QMainWindow()
    qtbot.addWidget(window)
    content = QLabel("Visa •••• 4242 — Ada Lovelace")
    window.setCentralWidget(content)
    shortcut = QAction("History", window)
    shortcut.setShortcut(QKeySequence("F3"))
    window.addAction(shortcut)
    window.show()
    clock = FakeClock()
    idle = IdleLock(window, sandbox, clock=clock, check_every_ms=60_000)
    clock.now += 14 * 60 + 59
    idle.check()
    assert not idle.locked and window.centralWidget() is content
    handle = window.windowHandle()
    assert handle is not None
    QTest.keyClick(handle, Qt.Key.Key_Shift)  # input resets the idle time
    clock.now += 14 * 60 + 59
    idle.check()
    assert not idle.locked
    clock.now += 1
    idle.check()
    assert idle.locked and sandbox.session.locked
    assert window.centralWidget() is idle.lock_screen and not content.isVisible()
    assert not shortcut.isEnabled()

    # Work already in flight goes on while the screen is locked.
    bridge = AsyncBridge()
    done: list[str] = []

    async def inquiry() -> str:
        await asyncio.sleep(0.05)
        return "resolved"

    async def wait() -> None:
        bridge.run(inquiry(), on_done=done.append)
        await bridge.drain()

    qloop.run_until_complete(wait())
    assert done == ["resolved"] and idle.locked

    form = idle.lock_screen.form  # type: ignore[union-attr]
    assert form.login.text() == "demo-clerk" and form.login.isReadOnly()
    _type(form.secret, "0000")
    QTest.keyClick(form.secret, Qt.Key.Key_Return)
    assert idle.locked and "not recognised" in form.error.text()
    _type(form.secret, "1111")
    QTest.keyClick(form.secret, Qt.Key.Key_Return)
    assert not idle.locked and window.centralWidget() is content and shortcut.isEnabled()
    events = [(r.event, r.outcome) for r in reversed(sandbox.audit.latest(3))]
    assert events == [(Event.LOCKED, "success"), (Event.UNLOCKED, "failure"), (Event.UNLOCKED, "success")]


def test_another_operator_signs_in_on_the_lock_screen(qtbot: QtBot, sandbox: Security) -> None:
    sandbox.session.sign_in("demo-clerk", "1111")
    window = QMainWindow()
    qtbot.addWidget(window)
    window.setCentralWidget(QLabel("content"))
    idle = IdleLock(window, sandbox, clock=FakeClock(), check_every_ms=60_000)
    idle.lock("by hand")
    screen = idle.lock_screen
    assert screen is not None
    QTest.mouseClick(screen.switch, Qt.MouseButton.LeftButton)
    assert sandbox.session.current is None
    _type(screen.form.login, "demo-supervisor")
    _type(screen.form.secret, "supervisor-demo")
    QTest.keyClick(screen.form.secret, Qt.Key.Key_Return)
    assert not idle.locked and sandbox.session.login == "demo-supervisor"


def test_supervisor_approves_one_refund_at_the_clerks_screen(qtbot: QtBot, sandbox: Security) -> None:
    sandbox.session.sign_in("demo-clerk", "1111")
    dialog = ApprovalDialog(sandbox)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.action.setCurrentIndex(dialog.action.findData(Permission.REFUND))
    _type(dialog.form.login, "demo-clerk")
    _type(dialog.form.secret, "1111")
    QTest.keyClick(dialog.form.secret, Qt.Key.Key_Return)
    assert "may not approve" in dialog.form.error.text()
    dialog.form.login.setText("demo-supervisor")
    _type(dialog.form.secret, "supervisor-demo")
    QTest.keyClick(dialog.form.secret, Qt.Key.Key_Return)
    assert dialog.result() == ApprovalDialog.DialogCode.Accepted
    approver = sandbox.session.authorise(Permission.REFUND)
    assert approver is not None and approver.login == "demo-supervisor"
