"""pytest-qt: Operators & audit (F9) — operators created and disabled from the keyboard, table models
checked by qtmodeltester, the audit log verified (intact, then tampered) and exported."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from terminal.domain.roles import Role
from terminal.services.audit import Event
from terminal.services.operators import SignInError
from terminal.services.profiles import ProfileRegistry
from terminal.services.security import Security, build_security
from terminal.store.database import open_database
from terminal.ui.operators_screen import OperatorsScreen


@pytest.fixture
def security(tmp_path: Path) -> Iterator[Security]:
    database = open_database(tmp_path / "data")
    built = build_security(database, ProfileRegistry([]), tmp_path / "data", sign_in_as="demo-admin")
    try:
        yield built
    finally:
        built.close()
        database.close()


def _screen(qtbot: QtBot, security: Security, export_to: Path | None = None) -> OperatorsScreen:
    def confirm(_what: str) -> bool:
        security.session.step_up("administrator-demo")
        return True

    screen = OperatorsScreen(security, confirm=confirm, choose_export_path=lambda: export_to)
    qtbot.addWidget(screen)
    screen.resize(1280, 800)
    screen.show()
    screen.refresh()
    return screen


def test_models_pass_qtmodeltester(qtbot: QtBot, qtmodeltester: object, security: Security) -> None:
    screen = _screen(qtbot, security)
    assert screen.operator_model.rowCount() == 3
    assert screen.audit_model.rowCount() >= 4
    qtmodeltester.check(screen.operator_model)  # type: ignore[attr-defined]
    qtmodeltester.check(screen.audit_model)  # type: ignore[attr-defined]
    names = [screen.operator_model.index(r, 0).data() for r in range(3)]
    assert all("(demo)" in name for name in names)


def test_create_a_clerk_by_keyboard_then_disable_it(qtbot: QtBot, security: Security) -> None:
    screen = _screen(qtbot, security)
    QTest.mouseClick(screen.new_button, Qt.MouseButton.LeftButton)
    QTest.keyClicks(screen.login, "cleo")
    QTest.keyClicks(screen.name, "Cleo Clerk")
    screen.role.setCurrentIndex(list(Role).index(Role.CLERK))
    QTest.keyClicks(screen.secret, "12")
    QTest.keyClick(screen.secret, Qt.Key.Key_Return)
    assert "PIN: use 4 to 8 digits" in screen.error.text()
    assert screen.login.text() == "cleo" and screen.name.text() == "Cleo Clerk"
    screen.secret.setText("2468")
    QTest.keyClick(screen.secret, Qt.Key.Key_Return)
    assert screen.error.text() == "Saved."
    assert security.operators.authenticate("cleo", "2468").role is Role.CLERK
    created = next(r for r in security.audit.latest() if r.event == Event.OPERATOR_CREATED)
    assert created.operator == "demo-admin" and created.target == "cleo"

    row = next(r for r, op in enumerate(screen.operator_model.rows) if op.login == "cleo")
    screen.operator_table.setCurrentIndex(screen.operator_model.index(row, 0))
    assert screen.login.isReadOnly() and screen.name.text() == "Cleo Clerk"
    screen.disabled.setChecked(True)
    QTest.mouseClick(screen.save_button, Qt.MouseButton.LeftButton)
    assert screen.error.text() == "Saved."
    with pytest.raises(SignInError, match="disabled"):
        security.operators.authenticate("cleo", "2468")
    row = next(r for r, op in enumerate(screen.operator_model.rows) if op.login == "cleo")
    assert screen.operator_model.index(row, 3).data() == "disabled"


def test_verify_finds_tampering_and_export_writes_the_log(
    qtbot: QtBot, security: Security, tmp_path: Path
) -> None:
    out = tmp_path / "audit.csv"
    screen = _screen(qtbot, security, export_to=out)
    QTest.mouseClick(screen.verify_button, Qt.MouseButton.LeftButton)
    assert screen.audit_result.text().startswith("Audit log intact")
    QTest.mouseClick(screen.export_button, Qt.MouseButton.LeftButton)
    assert "Exported to" in screen.audit_result.text()
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[0][0] == "seq" and rows[-1][:2] == ["#", "verified"]
    assert security.audit.latest(1)[0].event == Event.AUDIT_EXPORTED

    with security.audit.repository.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET operator = 'mallory' WHERE seq = 2"))
    QTest.mouseClick(screen.verify_button, Qt.MouseButton.LeftButton)
    assert screen.audit_result.text().startswith("Audit log damaged at entry 2")
    last = security.audit.latest(1)[0]
    assert last.event == Event.AUDIT_VERIFIED and last.outcome == "failure"


def test_clerk_sees_neither_operators_nor_the_log(qtbot: QtBot, security: Security) -> None:
    security.session.sign_in("demo-clerk", "1111")
    screen = _screen(qtbot, security)
    assert "Only an administrator" in screen.notice.text()
    assert screen.operator_model.rowCount() == 0 and screen.audit_model.rowCount() == 0
    assert not screen.save_button.isEnabled() and not screen.export_button.isEnabled()
