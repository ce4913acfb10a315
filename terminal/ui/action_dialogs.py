"""The money actions of the transaction detail: capture, void, refund, reverse, payout approval.

Each action is two steps inside the detail screen (no modal exec): a short form (amount prefilled with
the most the ledger allows, a reason where one is kept), then a confirmation that says exactly what will
be sent. Enter goes forward, Esc goes back; an error names the field and keeps what was typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from terminal.domain.capabilities import Capabilities
from terminal.domain.ledger import Transaction, follow_up_reason
from terminal.domain.money import Money, MoneyError, parse_amount
from terminal.domain.operations import OperationKind
from terminal.domain.scrub import contains_card_number
from terminal.services.reversal import ReversalPlan
from terminal.ui.field_errors import error_label, show_error


class Action(StrEnum):
    """What a clerk can do from the transaction detail."""

    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"
    REVERSE = "reverse"
    APPROVE_PAYOUT = "approve_payout"
    CANCEL_PAYOUT = "cancel_payout"

    @property
    def label(self) -> str:
        """The action's name on its button and in the dialog title."""
        return _LABELS[self]


_LABELS = {
    Action.CAPTURE: "Capture",
    Action.VOID: "Void",
    Action.REFUND: "Refund",
    Action.REVERSE: "Reverse",
    Action.APPROVE_PAYOUT: "Approve payout",
    Action.CANCEL_PAYOUT: "Cancel payout",
}

_KIND = {Action.CAPTURE: OperationKind.CAPTURE, Action.REFUND: OperationKind.REFUND}


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """A confirmed action, ready for the services: `amount` for capture and refund, `reason` where kept."""

    action: Action
    tx_id: str
    amount: Money | None = None
    reason: str = ""


class ActionDialog(QWidget):
    """One action's form and confirmation; `confirmed(ActionRequest)` or `cancelled()`."""

    confirmed = Signal(object)
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tx: Transaction | None = None
        self._caps: Capabilities | None = None
        self._live = False
        self.action = Action.CAPTURE
        self._pending: ActionRequest | None = None
        self.title = QLabel()
        self.title.setStyleSheet("font-size: 17px; font-weight: 600;")
        self.explain = QLabel()
        self.explain.setWordWrap(True)
        self.explain.setTextFormat(Qt.TextFormat.PlainText)
        self.amount = QLineEdit()
        self.amount.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.amount.setMaximumWidth(240)
        self.amount_label = QLabel("&Amount")
        self.amount_label.setBuddy(self.amount)
        self.currency = QLabel()
        self.amount_error = error_label()
        self.reason = QLineEdit()
        self.reason.setMaxLength(200)
        self.reason.setMaximumWidth(640)
        self.reason.setPlaceholderText("Why (kept with the operation; shown in History)")
        self.reason_label = QLabel("Reas&on")
        self.reason_label.setBuddy(self.reason)
        self.reason_error = error_label()
        self.review = QPushButton("&Review  ⏎")
        self.review.setObjectName("primary")
        self.review.setAutoDefault(True)
        self.cancel = QPushButton("Cancel  Esc")
        self.summary = QLabel()
        self.summary.setObjectName("confirmSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.confirm = QPushButton("&Confirm  ⏎")
        self.confirm.setObjectName("primary")
        self.confirm.setAutoDefault(True)
        self.back = QPushButton("Back  Esc")
        self.pages = QStackedWidget()
        self.form_page = self._build_form()
        self.confirm_page = self._build_confirm()
        self.pages.addWidget(self.form_page)
        self.pages.addWidget(self.confirm_page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.pages)
        self._wire()

    def _wire(self) -> None:
        self.amount.returnPressed.connect(self.to_confirmation)
        self.reason.returnPressed.connect(self.to_confirmation)
        self.review.clicked.connect(self.to_confirmation)
        self.cancel.clicked.connect(self.cancelled)
        self.confirm.clicked.connect(self._confirm)
        self.back.clicked.connect(self.go_back)
        self.amount.textEdited.connect(lambda _t: show_error(self.amount_error, ""))
        self.reason.textEdited.connect(lambda _t: show_error(self.reason_error, ""))

    def _build_form(self) -> QWidget:
        page = QWidget()
        amount_row = QHBoxLayout()
        amount_row.addWidget(self.amount)
        amount_row.addWidget(self.currency)
        amount_row.addStretch(1)
        amount_box = QVBoxLayout()
        amount_box.setSpacing(2)
        amount_box.addLayout(amount_row)
        amount_box.addWidget(self.amount_error)
        reason_box = QVBoxLayout()
        reason_box.setSpacing(2)
        reason_box.addWidget(self.reason)
        reason_box.addWidget(self.reason_error)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.addRow(self.amount_label, amount_box)
        form.addRow(self.reason_label, reason_box)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel)
        buttons.addWidget(self.review)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.explain)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addStretch(1)
        page.setTabOrder(self.amount, self.reason)
        page.setTabOrder(self.reason, self.review)
        page.setTabOrder(self.review, self.cancel)
        return page

    def _build_confirm(self) -> QWidget:
        page = QWidget()
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.back)
        buttons.addWidget(self.confirm)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)
        layout.addStretch(1)
        page.setTabOrder(self.confirm, self.back)
        return page

    # -- opening -------------------------------------------------------------------------------
    def open_for(
        self,
        action: Action,
        tx: Transaction,
        caps: Capabilities,
        *,
        live: bool,
        plan: ReversalPlan | None = None,
    ) -> None:
        """Show `action` for `tx`: the form when there is something to type, else the confirmation."""
        self.action, self._tx, self._caps, self._live = action, tx, caps, live
        self.title.setText(f"{action.label} — {tx.merchant_reference}")
        self.currency.setText(tx.currency)
        show_error(self.amount_error, "")
        show_error(self.reason_error, "")
        self.reason.clear()
        has_amount = action in (Action.CAPTURE, Action.REFUND)
        has_reason = action in (Action.REFUND, Action.REVERSE)
        for widget in (self.amount, self.amount_label, self.currency):
            widget.setVisible(has_amount)
        for widget in (self.reason, self.reason_label):
            widget.setVisible(has_reason)
        if has_amount:
            self._prefill(action, tx, caps)
        if action is Action.REVERSE:
            assert plan is not None
            self.explain.setText(f"{plan.why} Reverse will send: {plan.summary}.")
        if not has_amount and not has_reason:
            self.to_confirmation()
            return
        self.pages.setCurrentWidget(self.form_page)
        (self.amount if has_amount else self.reason).setFocus()
        if has_amount:
            self.amount.selectAll()

    def _prefill(self, action: Action, tx: Transaction, caps: Capabilities) -> None:
        most = tx.capturable if action is Action.CAPTURE else tx.refundable
        partial = caps.partial_capture if action is Action.CAPTURE else caps.partial_refund
        self.amount.setText(most.plain())
        self.amount.setReadOnly(not partial)
        done = "captured" if action is Action.CAPTURE else "refunded"
        several = caps.multiple_capture if action is Action.CAPTURE else caps.multiple_refund
        if not partial:
            self.explain.setText(f"{caps.display_name}: the full {most} is {done} at once.")
        else:
            again = "" if several else f" {caps.display_name} allows this once: the rest cannot follow."
            self.explain.setText(f"Up to {most} can be {done}. Type a smaller amount for part of it.{again}")

    # -- stepping ------------------------------------------------------------------------------
    def read(self) -> ActionRequest | None:
        """The checked request, or None after showing what is wrong under the field (text kept)."""
        tx, caps = self._tx, self._caps
        assert tx is not None and caps is not None
        amount: Money | None = None
        if self.action in _KIND:
            try:
                amount = parse_amount(self.amount.text(), tx.currency)
            except MoneyError as exc:
                self._refuse(self.amount, self.amount_error, exc.message)
                return None
            reason = follow_up_reason(tx, _KIND[self.action], amount, caps, live=self._live)
            if reason:
                self._refuse(self.amount, self.amount_error, f"Amount: {reason}")
                return None
        why = self.reason.text().strip()
        if self.action in (Action.REFUND, Action.REVERSE):
            if contains_card_number(why):
                self._refuse(
                    self.reason, self.reason_error, "Reason: this looks like a card number; remove it."
                )
                return None
            if self.action is Action.REFUND and not why:
                self._refuse(self.reason, self.reason_error, "Reason: say why the money is given back.")
                return None
        return ActionRequest(self.action, tx.id, amount, why)

    def _refuse(self, field: QLineEdit, label: QLabel, message: str) -> None:
        show_error(label, message)
        self.pages.setCurrentWidget(self.form_page)
        field.setFocus()

    def to_confirmation(self) -> None:
        """Check the form and show what will be sent, with Confirm focused."""
        request = self.read()
        if request is None:
            return
        self._pending = request
        self.summary.setText(self._describe(request))
        self.pages.setCurrentWidget(self.confirm_page)
        self.confirm.setFocus()

    def _describe(self, request: ActionRequest) -> str:
        tx = self._tx
        assert tx is not None
        what = {
            Action.CAPTURE: f"Capture {request.amount}",
            Action.REFUND: f"Refund {request.amount} to {tx.card.masked or 'the customer'}",
            Action.VOID: f"Void the {tx.amount} {_opened_by(tx)}",
            Action.REVERSE: self.explain.text(),
            Action.APPROVE_PAYOUT: f"Release the payout of {tx.amount}",
            Action.CANCEL_PAYOUT: f"Cancel the payout of {tx.amount}",
        }[request.action]
        because = f"\nReason: {request.reason}" if request.reason else ""
        return (
            f"{what.rstrip('.')} — order {tx.merchant_reference}.{because}\n\n"
            "Press Enter to send it to the gateway, or Esc to go back."
        )

    def _confirm(self) -> None:
        if self._pending is not None and self.pages.currentWidget() is self.confirm_page:
            self.confirmed.emit(self._pending)

    def go_back(self) -> None:
        """Esc: from the confirmation back to the form (when it has fields), else out of the action."""
        if self.pages.currentWidget() is self.confirm_page and self.action not in (
            Action.VOID,
            Action.APPROVE_PAYOUT,
            Action.CANCEL_PAYOUT,
        ):
            self.pages.setCurrentWidget(self.form_page)
            (self.amount if self.amount.isVisible() else self.reason).setFocus()
            return
        self.cancelled.emit()

    def show_refusal(self, message: str, field: str = "amount") -> None:
        """The service refused the request: back to the form with the message under `field`, text kept."""
        if field == "reason" and self.reason.isVisibleTo(self):
            self._refuse(self.reason, self.reason_error, message)
        elif self.action in _KIND:
            self._refuse(self.amount, self.amount_error, message)
        elif self.action is Action.REVERSE:
            self._refuse(self.reason, self.reason_error, message)
        else:
            self.summary.setText(message)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.go_back()
            event.accept()
            return
        super().keyPressEvent(event)


def _opened_by(tx: Transaction) -> str:
    first = tx.first_operation
    return first.kind.label.lower() if first else "payment"
