"""The transaction detail through the real window, by keyboard, against the OGO simulator over HTTP:
capture, refund, void and reverse from History, the confirmation step, and the reasons shown for what
cannot be done."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from terminal.assembly import Services, build_services
from terminal.domain.ledger import TransactionState
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.ui.action_dialogs import Action
from terminal.ui.shell import Shell
from tests.e2e.flows import arm_fault, hosted_payment, sim_ledger
from tests.ui.charge_flow import Scenario, run_session, wait_until

APPROVED = "4242424242424242"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    yield build_services(tmp_path / "data", force_sandbox=True)
    gc.collect()


def run_shell(qloop: asyncio.AbstractEventLoop, services: Services, scenario: Scenario) -> None:
    run_session(qloop, services, scenario)
    gc.collect()


def effects(services: Services, kind: str) -> int:
    return sum(1 for e in sim_ledger(services) if e["effect"] and e["kind"] == kind)


async def open_from_history(shell: Shell, tx_id: str) -> None:
    """F3, the row of `tx_id`, Enter: the detail screen shows it."""
    QTest.keyClick(shell.window, Qt.Key.Key_F3)
    model = shell.history.model
    await wait_until(lambda: any((r := model.row_at(i)) and r.id == tx_id for i in range(model.rowCount())))
    row = next(i for i in range(model.rowCount()) if (r := model.row_at(i)) is not None and r.id == tx_id)
    shell.history.table.setFocus()
    shell.history.table.selectRow(row)
    QTest.keyClick(shell.history.table, Qt.Key.Key_Return)
    await wait_until(lambda: shell.detail.tx is not None and shell.detail.tx.id == tx_id, what="the detail")
    assert shell.window.screens.currentWidget() is shell.detail


async def settle(shell: Shell) -> None:
    await wait_until(lambda: not shell.bridge.running, what="the action to finish")
    await asyncio.sleep(0.05)


def press(widget: object, key: Qt.Key, text: str = "") -> None:
    if text:
        QTest.keyClicks(widget, text)  # type: ignore[arg-type]
    QTest.keyClick(widget, key)  # type: ignore[arg-type]


def test_capture_part_then_refund_with_reason(qloop: asyncio.AbstractEventLoop, services: Services) -> None:
    async def scenario(shell: Shell) -> None:
        auth = await hosted_payment(services, APPROVED, 10000, kind=OperationKind.AUTHORIZE, reference="DT-1")
        assert auth.approved, auth.message
        await open_from_history(shell, auth.transaction.id)
        detail, dialog = shell.detail, shell.detail.dialog
        capture = detail.buttons[Action.CAPTURE]
        assert capture.isEnabled() and "up to 100.00 LKR" in capture.text()
        assert not detail.buttons[Action.REFUND].isEnabled()
        assert "Refund: Nothing was captured" in detail.reasons.text()
        assert detail.buttons[Action.REVERSE].text().endswith("= Void the payment")
        assert not detail.buttons[Action.APPROVE_PAYOUT].isVisibleTo(detail)
        assert detail.model.rowCount() == 1 and detail.model.index(0, 4).data() == "Approved"
        assert capture.hasFocus()  # the first action possible is where the cursor waits
        press(capture, Qt.Key.Key_Return)
        assert dialog.amount.hasFocus() and dialog.amount.text() == "100.00"  # the most, prefilled
        press(dialog.amount, Qt.Key.Key_Return, "60")
        assert dialog.pages.currentWidget() is dialog.confirm_page
        assert "Capture 60.00 LKR" in dialog.summary.text()
        press(dialog.confirm, Qt.Key.Key_Return)
        await settle(shell)
        assert "Capture of" in detail.message.text() and "approved" in detail.message.text()
        tx = detail.tx
        assert tx is not None and tx.state is TransactionState.PARTIALLY_CAPTURED
        assert tx.captured == Money(6000, "LKR")
        assert not capture.isEnabled()
        assert "Capture: OGO Pay allows one capture per pre-authorisation." in detail.reasons.text()
        refund = detail.buttons[Action.REFUND]
        assert refund.isEnabled() and "up to 60.00 LKR" in refund.text()
        refund.setFocus()
        press(refund, Qt.Key.Key_Space)
        assert dialog.amount.text() == "60.00"
        dialog.amount.clear()
        press(dialog.amount, Qt.Key.Key_Return, "abc")
        assert (
            dialog.amount_error.text() == "Amount: 'abc' is not a number (use digits and one decimal point)."
        )
        assert dialog.amount.text() == "abc" and dialog.amount.hasFocus()
        dialog.amount.selectAll()
        press(dialog.amount, Qt.Key.Key_Return, "70")
        assert dialog.amount_error.text() == "Amount: At most 60.00 LKR can be refunded."
        dialog.amount.selectAll()
        press(dialog.amount, Qt.Key.Key_Tab, "12,5")
        press(dialog.reason, Qt.Key.Key_Return)
        assert dialog.reason_error.text() == "Reason: say why the money is given back."
        assert dialog.amount.text() == "12,5"
        press(dialog.reason, Qt.Key.Key_Return, "one item returned")
        assert "Refund 12.50 LKR to Visa •••• 4242" in dialog.summary.text()
        press(dialog.confirm, Qt.Key.Key_Escape)  # back to the form, all kept
        assert dialog.pages.currentWidget() is dialog.form_page
        assert dialog.reason.text() == "one item returned" and dialog.amount.text() == "12,5"
        press(dialog.reason, Qt.Key.Key_Return)
        press(dialog.confirm, Qt.Key.Key_Return)
        await settle(shell)
        tx = detail.tx
        assert tx is not None and tx.state is TransactionState.PARTIALLY_REFUNDED
        assert tx.refunded == Money(1250, "LKR")
        last = detail.model.operation(detail.model.rowCount() - 1)
        assert last is not None and last.reason == "one item returned"
        assert detail.model.index(2, 8).data() == "Reason: one item returned"
        assert effects(services, "completion") == 1 and effects(services, "refund") == 1
        assert shell.history.model.index(0, 5).data() == "Partially refunded"  # History refreshed
        press(detail.back, Qt.Key.Key_Escape)
        assert shell.window.screens.currentWidget() is shell.history

    run_shell(qloop, services, scenario)


def test_void_is_confirmed_with_enter_and_cancelled_with_esc(
    qloop: asyncio.AbstractEventLoop, services: Services
) -> None:
    async def scenario(shell: Shell) -> None:
        auth = await hosted_payment(services, APPROVED, 5000, kind=OperationKind.AUTHORIZE, reference="DT-2")
        await open_from_history(shell, auth.transaction.id)
        detail, dialog = shell.detail, shell.detail.dialog
        void = detail.buttons[Action.VOID]
        void.setFocus()
        press(void, Qt.Key.Key_Return)
        assert dialog.pages.currentWidget() is dialog.confirm_page  # nothing to type: straight to confirm
        assert "Void the 50.00 LKR pre-authorisation" in dialog.summary.text()
        press(dialog.confirm, Qt.Key.Key_Escape)
        assert detail.bottom.currentWidget() is detail.actions_page
        assert effects(services, "void") == 0
        void.setFocus()
        press(void, Qt.Key.Key_Return)
        press(dialog.confirm, Qt.Key.Key_Return)
        await settle(shell)
        tx = detail.tx
        assert tx is not None and tx.state is TransactionState.VOIDED
        assert effects(services, "void") == 1
        assert all(not b.isEnabled() for b in detail.buttons.values())
        assert "Capture: The transaction was voided; nothing can follow a void." in detail.reasons.text()
        assert detail.back.hasFocus()

    run_shell(qloop, services, scenario)


def test_reverse_says_it_chose_a_refund(qloop: asyncio.AbstractEventLoop, services: Services) -> None:
    async def scenario(shell: Shell) -> None:
        sale = await hosted_payment(services, APPROVED, 4200, reference="DT-3")
        await open_from_history(shell, sale.transaction.id)
        detail, dialog = shell.detail, shell.detail.dialog
        reverse = detail.buttons[Action.REVERSE]
        assert reverse.text().endswith("= Refund 42.00 LKR")
        reverse.setFocus()
        press(reverse, Qt.Key.Key_Return)
        assert dialog.reason.hasFocus() and "refund 42.00 lkr" in dialog.explain.text().lower()
        press(dialog.reason, Qt.Key.Key_Return, "customer cancelled")
        press(dialog.confirm, Qt.Key.Key_Return)
        await settle(shell)
        assert detail.message.text().startswith("Reverse chose a refund. Refund of")
        tx = detail.tx
        assert tx is not None and tx.state is TransactionState.REFUNDED
        assert effects(services, "refund") == 1 and effects(services, "void") == 0

    run_shell(qloop, services, scenario)


def test_unknown_outcome_disables_every_action(qloop: asyncio.AbstractEventLoop, services: Services) -> None:
    async def scenario(shell: Shell) -> None:
        arm_fault(services, "/purchase", "timeout_after_commit", delay_ms=300)
        lost = await hosted_payment(services, APPROVED, 777, reference="DT-4")
        assert lost.operation.state is OperationState.UNKNOWN
        await open_from_history(shell, lost.transaction.id)
        detail = shell.detail
        assert all(not b.isEnabled() for b in detail.buttons.values() if b.isVisibleTo(detail))
        assert detail.attention.isVisibleTo(detail) and "Needs attention (F4)" in detail.attention.text()
        assert "Capture: The outcome of the sale is unknown; resolve it first." in detail.reasons.text()
        assert detail.resolve.hasFocus()
        asked: list[str] = []
        detail.attention_requested.connect(asked.append)
        press(detail.resolve, Qt.Key.Key_Return)
        assert asked == [lost.transaction.id]
        detail.open_action(Action.REFUND)  # refused even when called directly
        assert detail.bottom.currentWidget() is detail.actions_page

    run_shell(qloop, services, scenario)


def test_reprint_emits_the_transaction_for_receipts(
    qloop: asyncio.AbstractEventLoop, services: Services
) -> None:
    async def scenario(shell: Shell) -> None:
        sale = await hosted_payment(services, APPROVED, 1500, reference="DT-5")
        await open_from_history(shell, sale.transaction.id)
        asked: list[str] = []
        shell.detail.receipt_requested.connect(asked.append)
        shell.detail.reprint.setFocus()
        press(shell.detail.reprint, Qt.Key.Key_Return)
        assert asked == [sale.transaction.id]
        assert "Visa •••• 4242" in shell.detail.facts.text()

    run_shell(qloop, services, scenario)
