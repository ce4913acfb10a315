"""Needs attention (F4) in the real window: a charge whose answer was lost at the simulator shows up with
its count in the navigation, with step-by-step guidance (OGO has no status lookup), and is resolved by
hand from the keyboard: the outcome and a mandatory note, recorded on the operation through the journal."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from terminal.assembly import build_services
from terminal.domain.ledger import TransactionState
from terminal.domain.operations import OperationState
from terminal.ui.shell import Shell
from tests.e2e.flows import arm_fault, hosted_payment
from tests.ui.charge_flow import run_session, wait_until


def test_lost_response_is_resolved_by_hand(qloop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    services = build_services(tmp_path / "data", force_sandbox=True)

    async def scenario(shell: Shell) -> None:
        arm_fault(services, "/purchase", "timeout_after_commit", delay_ms=300)
        outcome = await hosted_payment(services, "4242424242424242", 777, reference="LOST-1")
        assert outcome.operation.state is OperationState.UNKNOWN
        QTest.keyClick(shell.window, Qt.Key.Key_F4)
        screen = shell.attention_screen
        assert shell.window.screens.currentWidget() is screen
        await wait_until(lambda: len(screen.items) == 1, what="the unknown charge listed")
        nav = [shell.window.nav.item(r).text() for r in range(shell.window.nav.count())]
        assert "Needs attention (1)   F4" in nav
        assert not screen.check.isVisible()  # OGO Pay has no status lookup
        steps = screen.steps.text()
        assert "LOST-1" in steps and "back office" in steps and "7.77 LKR" in steps
        shell.window.grab().save(str(tmp_path / "attention.png"))
        # No outcome chosen, then no note: each refused with the field named, nothing lost.
        screen.note.setFocus()
        QTest.keyClicks(screen.note, "found it")
        QTest.keyClick(screen.note, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        assert screen.error.text().startswith("Outcome:")
        assert screen.note.text() == "found it"
        first = screen.outcomes.button(0)
        first.setFocus()
        QTest.keyClick(first, Qt.Key.Key_Space)
        screen.note.clear()
        QTest.keyClicks(screen.note, "  ")
        QTest.keyClick(screen.note, Qt.Key.Key_Return)
        await wait_until(lambda: screen.error.text().startswith("Note:"), what="the note refused")
        QTest.keyClicks(screen.note, "Approved in the OGO portal, auth 123456")
        QTest.keyClick(screen.note, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        await wait_until(lambda: not screen.items and not shell.bridge.running, what="the list emptied")
        tx = await services.history.transaction(outcome.transaction.id)
        op = tx.operations[0]
        assert op.state is OperationState.SUCCEEDED and op.gateway_code == "manual"
        assert "Approved in the OGO portal" in op.gateway_message
        assert tx.state is TransactionState.CAPTURED
        nav = [shell.window.nav.item(r).text() for r in range(shell.window.nav.count())]
        assert "Needs attention   F4" in nav
        assert "recorded as succeeded" in screen.message.text()

    run_session(qloop, services, scenario)
