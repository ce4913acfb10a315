"""The transaction detail: the whole journal, the amounts still capturable or refundable, and the actions.

What a button offers comes from the ledger's rules and the gateway's capabilities (follow_up_reason,
plan_reversal), never from the gateway's name; an action not possible now stays visible, disabled, with
the reason written under the buttons, so a clerk on the phone can say why.
"""

from __future__ import annotations

import logging
from typing import Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from terminal.domain.capabilities import Capabilities
from terminal.domain.ledger import RuleViolation, Transaction, TransactionState, follow_up_reason
from terminal.domain.operations import OperationKind, OperationState
from terminal.services.history import HistoryService
from terminal.services.payments import PaymentInputError, PaymentOutcome, PaymentService
from terminal.services.profiles import ProfileError
from terminal.services.reversal import plan_reversal, reverse
from terminal.ui.action_dialogs import Action, ActionDialog, ActionRequest
from terminal.ui.async_bridge import AsyncBridge
from terminal.ui.detail_model import OperationsModel
from terminal.ui.operation_text import local_time

log = logging.getLogger(__name__)


class PayoutActions(Protocol):
    """What the detail needs of the payout service (services/payouts.py PayoutService)."""

    async def approve(self, tx_id: str) -> PaymentOutcome: ...

    async def cancel(self, tx_id: str) -> PaymentOutcome: ...


_FOLLOW_UPS = {
    Action.CAPTURE: OperationKind.CAPTURE,
    Action.VOID: OperationKind.VOID,
    Action.REFUND: OperationKind.REFUND,
}


def action_reasons(tx: Transaction, caps: Capabilities, *, live: bool) -> dict[Action, str | None]:
    """For each action shown on this transaction, why it cannot be done now (None when it can)."""
    reasons: dict[Action, str | None] = {
        action: follow_up_reason(tx, kind, None, caps, live=live) for action, kind in _FOLLOW_UPS.items()
    }
    try:
        plan_reversal(tx, caps, live=live)
        reasons[Action.REVERSE] = None
    except RuleViolation as exc:
        reasons[Action.REVERSE] = str(exc)
    first = tx.first_operation
    if first is not None and first.kind is OperationKind.PAYOUT:
        held = _payout_held_reason(tx, caps)
        reasons[Action.APPROVE_PAYOUT] = held
        reasons[Action.CANCEL_PAYOUT] = held
    return reasons


def _payout_held_reason(tx: Transaction, caps: Capabilities) -> str | None:
    first = tx.first_operation
    assert first is not None
    if not caps.payout_approval:
        return f"{caps.display_name} sends payouts at once; there is nothing to approve or cancel."
    # PayoutService leaves a held payout in `challenge` with the gateway's reference until approved.
    if first.state is not OperationState.CHALLENGE or not first.gateway_reference:
        return f"The payout is not waiting for approval ({first.state.value})."
    return None


class DetailScreen(QWidget):
    """One transaction: summary, amounts, every operation, and the actions possible now."""

    # Another engineer's receipts connect here: the clerk asked for the receipt of this transaction again.
    receipt_requested = Signal(str)
    # Esc: back to where the clerk came from (History).
    back_requested = Signal()
    # An action ended (approved, declined or unknown): the transaction's id, so History can refresh.
    changed = Signal(str)
    # The last operation's outcome is unknown: open Needs attention (F4) on this transaction.
    attention_requested = Signal(str)

    def __init__(
        self,
        history: HistoryService,
        payments: PaymentService,
        bridge: AsyncBridge,
        payouts: PayoutActions | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.history, self.payments, self.bridge, self.payouts = history, payments, bridge, payouts
        self.tx: Transaction | None = None
        self._caps: Capabilities | None = None
        self._live = False
        self.title = QLabel("Transaction")
        self.title.setObjectName("screenTitle")
        self.state = QLabel()
        self.state.setObjectName("stateBadge")
        self.facts = QLabel()
        self.facts.setTextFormat(Qt.TextFormat.PlainText)
        self.facts.setWordWrap(True)
        self.amounts = QLabel()
        self.amounts.setObjectName("amountsLine")
        self.amounts.setTextFormat(Qt.TextFormat.PlainText)
        self.amounts.setWordWrap(True)
        self.attention = QLabel()
        self.attention.setObjectName("formMessage")
        self.attention.setWordWrap(True)
        self.attention.setTextFormat(Qt.TextFormat.PlainText)
        self.resolve = QPushButton("Resolve in &Needs attention  F4")
        self.attention.hide()
        self.resolve.hide()
        self.model = OperationsModel()
        self.table = self._build_table()
        self.buttons: dict[Action, QPushButton] = {
            action: QPushButton(text)
            for action, text in (
                (Action.CAPTURE, "&Capture…"),
                (Action.VOID, "&Void…"),
                (Action.REFUND, "&Refund…"),
                (Action.REVERSE, "R&everse…"),
                (Action.APPROVE_PAYOUT, "&Approve payout…"),
                (Action.CANCEL_PAYOUT, "Ca&ncel payout…"),
            )
        }
        for hidden in (Action.APPROVE_PAYOUT, Action.CANCEL_PAYOUT):
            # Shown by `display` for payouts only: six buttons in a row would widen the window.
            self.buttons[hidden].hide()
        self.reprint = QPushButton("Re&print receipt")
        self.back = QPushButton("Back to History  Esc")
        self.reasons = QLabel()
        self.reasons.setObjectName("hint")
        self.reasons.setWordWrap(True)
        self.reasons.setTextFormat(Qt.TextFormat.PlainText)
        self.message = QLabel()
        self.message.setObjectName("actionMessage")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.dialog = ActionDialog()
        self.bottom = QStackedWidget()
        self._build()
        self._wire()

    def _build_table(self) -> QTableView:
        table = QTableView()
        table.setModel(self.model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        table.verticalHeader().hide()
        table.setWordWrap(False)
        header = table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((150, 100, 115, 110, 90, 140, 75, 105)):  # fits 1280 px
            table.setColumnWidth(column, width)
        return table

    def _build(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.state)
        attention = QHBoxLayout()
        attention.addWidget(self.attention, 1)
        attention.addWidget(self.resolve)
        actions_page = QWidget()
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        # Money actions on the first row; reprint and back on the second, so 1280 pixels hold them all.
        for column, button in enumerate(self.buttons.values()):
            grid.addWidget(button, 0, column)
        grid.addWidget(self.reprint, 1, 0)
        grid.addWidget(self.back, 1, 1)
        grid.setColumnStretch(len(self.buttons), 1)
        actions = QVBoxLayout(actions_page)
        actions.setContentsMargins(0, 0, 0, 0)
        actions.addLayout(grid)
        actions.addWidget(self.reasons)
        actions.addStretch(1)
        self.bottom.addWidget(actions_page)
        self.bottom.addWidget(self.dialog)
        self.actions_page = actions_page
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.facts)
        layout.addWidget(self.amounts)
        layout.addLayout(attention)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.bottom)

    def _wire(self) -> None:
        for action, button in self.buttons.items():
            button.setAutoDefault(True)
            button.clicked.connect(lambda _checked=False, a=action: self.open_action(a))
        for button in (self.reprint, self.resolve):
            button.setAutoDefault(True)
        self.back.setAutoDefault(True)
        self.reprint.clicked.connect(self._reprint)
        self.back.clicked.connect(self.back_requested)
        self.resolve.clicked.connect(self._resolve)
        self.dialog.confirmed.connect(self._run_action)
        self.dialog.cancelled.connect(self._close_action)

    def _reprint(self) -> None:
        if self.tx is not None:
            self.receipt_requested.emit(self.tx.id)

    def _resolve(self) -> None:
        if self.tx is not None:
            self.attention_requested.emit(self.tx.id)

    # -- loading and showing ---------------------------------------------------------------------
    def show_transaction(self, tx_id: str) -> None:
        """Read the transaction afresh and show it (from History, or after an action)."""
        self.message.clear()
        self.bridge.run(
            self.history.transaction(tx_id),
            on_done=self.display,
            on_error=lambda exc: self._say(f"The transaction cannot be read: {exc}", ok=False),
            busy_text="Reading the transaction…",
            background=True,
        )

    def display(self, tx: Transaction) -> None:
        """Show `tx` as it stands: summary, amounts, journal, and which actions are possible now."""
        self.tx = tx
        profile = self.payments.profiles.get(tx.profile)
        self._caps, self._live = profile.capabilities, profile.live
        self.title.setText(f"Transaction {tx.merchant_reference}")
        self.state.setText(tx.state.label)
        self.state.setProperty("state", tx.state.value)
        self.state.style().polish(self.state)
        self.facts.setText(self._facts(tx, profile.label))
        self.amounts.setText(self._amounts(tx))
        self.model.set_operations(tx.operations)
        unknown = tx.state is TransactionState.UNKNOWN
        if unknown:
            op = next(o for o in tx.operations if o.state is OperationState.UNKNOWN)
            self.attention.setText(
                f"The outcome of the {op.kind.label.lower()} of {op.amount} is unknown, so every action "
                "is disabled until it is resolved: check it with the gateway in Needs attention (F4)."
            )
        self.attention.setVisible(unknown)
        self.resolve.setVisible(unknown)
        self._show_actions(tx)
        self.bottom.setCurrentWidget(self.actions_page)
        self._focus_first_action()

    def _facts(self, tx: Transaction, profile_label: str) -> str:
        customer = " ".join(
            p for p in (tx.customer_name, f"({tx.customer_id})" if tx.customer_id else "") if p
        )
        parts = [
            f"Gateway: {profile_label}",
            f"Opened: {local_time(tx.created_at)}",
            f"Card: {tx.card.masked or tx.card.brand or '—'}",
            f"Customer: {customer or '—'}",
        ]
        if tx.customer_email:
            parts.append(f"E-mail: {tx.customer_email}")
        if tx.description:
            parts.append(f"Description: {tx.description}")
        if tx.link_url:
            parts.append(f"Link: {tx.link_url}")
        return "    ".join(parts)

    def _amounts(self, tx: Transaction) -> str:
        first = tx.first_operation
        parts = [f"Amount: {tx.amount.display()}"]
        if first is not None and first.kind is OperationKind.PAYOUT:
            parts.append(f"Paid out: {tx.paid_out.display()}")
        else:
            parts += [
                f"Captured: {tx.captured.display()}",
                f"Refunded: {tx.refunded.display()}",
                f"Still capturable: {tx.capturable.display()}",
                f"Still refundable: {tx.refundable.display()}",
            ]
        return "    ".join(parts)

    def _show_actions(self, tx: Transaction) -> None:
        assert self._caps is not None
        reasons = action_reasons(tx, self._caps, live=self._live)
        lines = []
        for action, button in self.buttons.items():
            button.setVisible(action in reasons)
            if action not in reasons:
                button.setEnabled(False)
                continue
            reason = reasons[action]
            button.setEnabled(reason is None)
            button.setText(self._button_text(action, tx))
            button.setToolTip(reason or "")
            if reason:
                lines.append(f"{action.label}: {reason}")
        self.reasons.setText("\n".join(lines))
        self.reprint.setEnabled(
            bool(tx.first_operation and tx.first_operation.state is OperationState.SUCCEEDED)
        )

    def _button_text(self, action: Action, tx: Transaction) -> str:
        base = self.buttons[action].text().split("  ")[0]
        if not self.buttons[action].isEnabled():
            return base
        if action is Action.CAPTURE:
            return f"{base}  up to {tx.capturable}"
        if action is Action.REFUND:
            return f"{base}  up to {tx.refundable}"
        if action is Action.REVERSE and self._caps is not None:
            return f"{base}  = {plan_reversal(tx, self._caps, live=self._live).summary}"
        return base

    def _focus_first_action(self) -> None:
        for button in self.buttons.values():
            if button.isVisible() and button.isEnabled():
                button.setFocus()
                return
        (self.resolve if self.resolve.isVisible() else self.back).setFocus()

    # -- actions ----------------------------------------------------------------------------------
    def open_action(self, action: Action) -> None:
        """Open the form (or the confirmation) of `action`, when it is possible now."""
        button = self.buttons[action]
        if self.tx is None or self._caps is None or not button.isEnabled() or not button.isVisible():
            return
        plan = plan_reversal(self.tx, self._caps, live=self._live) if action is Action.REVERSE else None
        self.message.clear()
        self.bottom.setCurrentWidget(self.dialog)
        self.dialog.open_for(action, self.tx, self._caps, live=self._live, plan=plan)

    def _close_action(self) -> None:
        self.bottom.setCurrentWidget(self.actions_page)
        self._focus_first_action()

    def _run_action(self, request: ActionRequest) -> None:
        self.bridge.run(
            self._call(request),
            on_done=self._action_done,
            on_error=self._action_failed,
            controls=[self.dialog],
            busy_text=f"{request.action.label}: waiting for the gateway…",
        )

    async def _call(self, request: ActionRequest) -> tuple[str, PaymentOutcome]:
        tx_id, amount = request.tx_id, request.amount
        if request.action is Action.REVERSE:
            kind, outcome = await reverse(self.payments, tx_id, request.reason)
            chose = "a refund" if kind is OperationKind.REFUND else "a void"
            return f"Reverse chose {chose}. ", outcome
        if request.action is Action.CAPTURE:
            assert amount is not None
            return "", await self.payments.capture(tx_id, amount)
        if request.action is Action.REFUND:
            assert amount is not None
            return "", await self.payments.refund(tx_id, amount, request.reason)
        if request.action is Action.VOID:
            return "", await self.payments.void(tx_id)
        if self.payouts is None:
            raise RuleViolation("Payouts are not available in this terminal.")
        if request.action is Action.APPROVE_PAYOUT:
            return "", await self.payouts.approve(tx_id)
        return "", await self.payouts.cancel(tx_id)

    def _action_done(self, result: tuple[str, PaymentOutcome]) -> None:
        prefix, outcome = result
        self.display(outcome.transaction)
        self._say(prefix + outcome.message, ok=outcome.approved)
        self.changed.emit(outcome.transaction.id)

    def _action_failed(self, exc: BaseException) -> None:
        if isinstance(exc, PaymentInputError):
            self.dialog.show_refusal(exc.message, exc.field)
        elif isinstance(exc, RuleViolation | ProfileError):
            self.dialog.show_refusal(str(exc))
        else:
            log.error("Action failed", exc_info=exc)
            self._close_action()
            self._say(f"The action could not be completed: {exc}", ok=False)
        if self.tx is not None:
            self.changed.emit(self.tx.id)

    def _say(self, text: str, *, ok: bool) -> None:
        self.message.setText(text)
        self.message.setProperty("outcome", "approved" if ok else "declined")
        self.message.style().polish(self.message)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            if self.bottom.currentWidget() is self.dialog:
                self.dialog.go_back()
            else:
                self.back_requested.emit()
            event.accept()
            return
        super().keyPressEvent(event)
