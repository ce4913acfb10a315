"""pytest-qt: signing in by keyboard, the first administrator, the 15-minute idle lock (fake clock),
and a supervisor's approval at the clerk's screen."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QMainWindow
from pytestqt.qtbot import QtBot

from terminal.assembly import build_services
from terminal.domain.money import Money
from terminal.domain.roles import Permission
from terminal.services.audit import Event
from terminal.services.operators import AccessDenied
from terminal.services.profiles import Profile, ProfileRegistry
from terminal.services.security import Security, build_security
from terminal.store.database import open_database
from terminal.ui.async_bridge import AsyncBridge
from terminal.ui.lock import AuditPurge, IdleLock
from terminal.ui.shell import Shell
from terminal.ui.sign_in import ApprovalDialog, SignInWindow
from tests.ui.charge_flow import run_session, wait_until


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


def test_typing_or_clicking_in_a_modal_dialog_resets_the_idle_time(qtbot: QtBot, sandbox: Security) -> None:
    sandbox.session.sign_in("demo-clerk", "1111")
    window = QMainWindow()
    qtbot.addWidget(window)
    window.setCentralWidget(QLabel("content"))
    window.show()
    clock = FakeClock()
    idle = IdleLock(window, sandbox, clock=clock, check_every_ms=60_000)
    dialog = ApprovalDialog(sandbox, window)  # any modal dialog: its own top-level window
    dialog.open()
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWindow() is dialog.windowHandle(), timeout=2000)
    handle = dialog.windowHandle()
    assert handle is not None
    for step in range(3):  # 3 x 14:59 of typing and clicking only in the dialog: never locked
        clock.now += 14 * 60 + 59
        if step == 1:
            QTest.mouseClick(handle, Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
        else:
            QTest.keyClick(handle, Qt.Key.Key_A)
        idle.check()
        assert not idle.locked, step
    clock.now += 15 * 60  # then nobody touches anything
    idle.check()
    assert idle.locked
    dialog.close()


def test_a_dialog_opened_without_the_focus_is_watched_from_the_next_check(
    qtbot: QtBot, sandbox: Security
) -> None:
    sandbox.session.sign_in("demo-clerk", "1111")
    window = QMainWindow()
    qtbot.addWidget(window)
    window.setCentralWidget(QLabel("content"))
    clock = FakeClock()
    idle = IdleLock(window, sandbox, clock=clock, check_every_ms=60_000)
    dialog = QDialog(window)
    dialog.setModal(True)
    dialog.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
    dialog.show()
    qtbot.waitUntil(lambda: QGuiApplication.modalWindow() is dialog.windowHandle(), timeout=2000)
    idle.check()  # the five-second check picks the modal window up
    clock.now += 14 * 60 + 59
    QTest.keyClick(dialog.windowHandle(), Qt.Key.Key_A)
    clock.now += 14 * 60 + 59
    idle.check()
    assert not idle.locked
    dialog.close()


def test_the_audit_purge_runs_at_start_up_and_then_on_its_schedule(
    qtbot: QtBot, sandbox: Security, qloop: asyncio.AbstractEventLoop
) -> None:
    audit = sandbox.audit
    real_now = audit.now
    audit.now = lambda: real_now() - timedelta(days=400)  # entries written 400 days ago
    for index in range(3):
        audit.record(Event.SETTINGS_CHANGED, target=f"old-{index}")
    audit.now = real_now
    audit.record(Event.SETTINGS_CHANGED, target="recent")
    before = audit.repository.count()
    parent = QObject()
    bridge = AsyncBridge()
    purge = AuditPurge(parent, audit, bridge, every_ms=100)

    async def wait() -> None:
        deadline = asyncio.get_running_loop().time() + 10
        while len(purge.removed) < 3:  # start-up, then at least two scheduled runs
            assert asyncio.get_running_loop().time() < deadline, purge.removed
            await asyncio.sleep(0.02)
        await bridge.drain()

    qloop.run_until_complete(wait())
    purge.timer.stop()
    assert purge.removed[0] >= 4 and set(purge.removed[1:]) == {0}  # old ones once; nothing young, ever
    kept = list(audit.repository.entries())
    assert all(not r.target.startswith("old-") for r in kept) and any(r.target == "recent" for r in kept)
    purged = next(r for r in kept if r.event == Event.AUDIT_PURGED)
    assert purged.operator == "system" and audit.verify().ok
    assert len(kept) < before


def test_a_refused_clerk_is_offered_the_supervisor_approval_at_once(
    qtbot: QtBot, tmp_path: Path, qloop: asyncio.AbstractEventLoop
) -> None:
    services = build_services(tmp_path / "data", force_sandbox=True, sign_in_as="demo-clerk")
    failures: list[BaseException] = []

    async def scenario(shell: Shell) -> None:
        ui = shell.security_ui
        messages: list[str] = []  # every status-bar message (a background task's "Ready" may follow)
        shell.window.statusBar().messageChanged.connect(messages.append)
        # Any screen's action, run the way every screen runs one: the refusal reaches the screen as usual...
        eur = Money(500, "EUR")
        shell.bridge.run(services.payments.refund("tx-1", eur), on_error=failures.append)
        await wait_until(lambda: ui.menu.dialog is not None, timeout=5, what="the approval dialog")
        assert len(failures) == 1 and isinstance(failures[0], AccessDenied)
        # ...and the window offers the supervisor's approval, for that action, saying to repeat it.
        dialog = ui.menu.dialog
        assert dialog is not None and dialog.isVisible()
        assert dialog.permission() is Permission.REFUND
        assert "needs a supervisor" in dialog.reason.text() and "Ctrl+Shift+A" in dialog.reason.text()
        assert "repeats the action" in dialog.note.text()
        assert any("needs a supervisor" in m and "Ask a supervisor: Ctrl+Shift+A" in m for m in messages)
        dialog.grab().save(str(tmp_path / "approval_offered.png"))
        QTest.keyClicks(dialog.form.login, "demo-supervisor")
        QTest.keyClicks(dialog.form.secret, "supervisor-demo")
        QTest.keyClick(dialog.form.secret, Qt.Key.Key_Return)
        await wait_until(lambda: ui.menu.dialog is None, timeout=5, what="the dialog to close")
        assert "Refund approved: now repeat the action." in messages
        approver = services.security.session.authorise(Permission.REFUND)  # the repeated action spends it
        assert approver is not None and approver.login == "demo-supervisor"

        # A refusal no supervisor can lift (administrators only) opens nothing.
        shell.bridge.run(services.security.settings.test_connection("x"), on_error=failures.append)
        await shell.bridge.drain()
        await asyncio.sleep(0.05)
        assert len(failures) == 2 and ui.menu.dialog is None

        # PCI-15: a gateway's clock 400 s ahead is shown in the status bar.
        services.security.clock.observe("Skew Gateway", 400.0)
        assert any("7 minutes behind Skew Gateway's" in m for m in messages)

    run_session(qloop, services, scenario)
