"""The Charge screen's result: approved with its code, declined with the reason, or unknown; the next
steps (Print receipt for an approved payment, Show in History, New payment) centred under it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from terminal.domain.operations import OperationState
from terminal.services.sending import PaymentOutcome


class ResultPanel(QWidget):
    """The outcome in large type: approved with its code, declined with the reason, or unknown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.headline = QLabel()
        self.headline.setObjectName("resultHeadline")
        self.details = QLabel()
        self.details.setObjectName("resultDetails")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.PlainText)  # gateway text is never rendered as markup
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.new_payment = QPushButton("New payment  ⏎")
        self.new_payment.setObjectName("primary")
        self.new_payment.setDefault(True)
        self.show_history = QPushButton("Show in History (F3)")
        # An approved payment's receipt, merchant and customer copy (as from History); hidden otherwise.
        self.print_receipt = QPushButton("&Print receipt  Ctrl+P")
        self.print_receipt.hide()
        self.tx_id = ""  # the transaction shown, for its receipt
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.print_receipt)
        buttons.addWidget(self.show_history)
        buttons.addWidget(self.new_payment)
        buttons.addStretch(1)  # centred under the outcome, where the eye already is
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.headline, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.details, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(16)
        layout.addLayout(buttons)
        layout.addStretch(2)

    def show_unknown(self, reference: str) -> None:
        """The terminal lost track of a payment after the card page returned: say so plainly."""
        self.tx_id = ""
        self.print_receipt.hide()
        self.headline.setText("?  Outcome unknown")
        self.headline.setProperty("outcome", "unknown")
        self.headline.style().unpolish(self.headline)
        self.headline.style().polish(self.headline)
        self.details.setText(
            f"Order reference: {reference}\n\nThe terminal could not finish recording this payment. "
            "Do not charge the customer again: check the payment in History first."
        )
        self.new_payment.setFocus()

    def show_outcome(self, outcome: PaymentOutcome) -> None:
        """Fill the panel from a payment outcome."""
        op, tx = outcome.operation, outcome.transaction
        state = op.state
        headline, kind = {
            OperationState.SUCCEEDED: ("✔  Approved", "approved"),
            OperationState.DECLINED: ("✖  Declined", "declined"),
            OperationState.UNKNOWN: ("?  Outcome unknown", "unknown"),
        }.get(state, ("✖  Not charged", "declined"))
        self.headline.setText(headline)
        self.headline.setProperty("outcome", kind)
        self.headline.style().unpolish(self.headline)
        self.headline.style().polish(self.headline)
        lines = [
            outcome.message,
            "",
            f"Amount: {op.amount.display()}",
            f"Order reference: {tx.merchant_reference}",
        ]
        if tx.card.masked:
            lines.append(f"Card: {tx.card.masked}")
        if op.approval_code:
            lines.append(f"Approval code: {op.approval_code}")
        if op.gateway_reference:
            lines.append(f"Gateway reference: {op.gateway_reference}")
        self.details.setText("\n".join(lines))
        self.tx_id = tx.id
        self.print_receipt.setVisible(state is OperationState.SUCCEEDED)
        self.new_payment.setFocus()
