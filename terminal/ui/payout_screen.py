"""Payout (F5): money sent to a typed card, or to the card of an earlier payment, where the gateway allows.

Which destinations are offered comes from the profile's capabilities (payout_to_card, payout_to_payment)
and, for a typed card, from direct entry being on for the profile; a destination not possible stays
visible, disabled, with the reason beside it. A payout moves money, so it is confirmed (Enter) or
abandoned (Esc) on a second step; a payout the gateway holds is approved on the transaction's detail.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from terminal.domain.ledger import RuleViolation, Transaction
from terminal.domain.money import Money, MoneyError, parse_amount
from terminal.domain.operations import OperationKind, OperationState
from terminal.gateways.base import CardDetails
from terminal.services.payments import PaymentInputError, PaymentOutcome
from terminal.services.payouts import PayoutService
from terminal.services.profiles import Profile, ProfileError, ProfileRegistry
from terminal.services.sending import direct_entry_reason
from terminal.ui.async_bridge import AsyncBridge
from terminal.ui.card_form import CardForm
from terminal.ui.field_errors import error_label, show_error


def payout_profiles(profiles: ProfileRegistry) -> list[Profile]:
    """Profiles whose gateway pays out at all (to a card or to an earlier payment)."""
    return [
        p
        for p in profiles.all()
        if p.capabilities.unavailable_reason(OperationKind.PAYOUT, live=p.live) is None
        and (p.capabilities.payout_to_card or p.capabilities.payout_to_payment)
    ]


def card_reason(profile: Profile) -> str | None:
    """Why this profile cannot pay out to a typed card (None when it can)."""
    if not profile.capabilities.payout_to_card:
        return f"{profile.capabilities.display_name} cannot pay out to a typed card."
    reason = direct_entry_reason(profile)
    return reason.replace("; use Enter card.", ".") if reason else None


def payment_reason(profile: Profile) -> str | None:
    """Why this profile cannot pay out to an earlier payment's card (None when it can)."""
    if not profile.capabilities.payout_to_payment:
        return f"{profile.capabilities.display_name} cannot pay out to the card of an earlier payment."
    return None


class PayoutScreen(QWidget):
    """Profile, destination (typed card or earlier payment), amount and reference; then a confirmation."""

    # A payout ended: its transaction id (History refreshes; a held payout is approved on its detail).
    completed = Signal(str)
    transaction_requested = Signal(str)

    def __init__(
        self,
        payouts: PayoutService,
        profiles: ProfileRegistry,
        bridge: AsyncBridge,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.payouts, self.bridge = payouts, bridge
        self._profiles = payout_profiles(profiles)
        self._source: Transaction | None = None
        self._pending: tuple[Profile, Money, CardDetails | None] | None = None
        self._last_tx = ""
        self.profile = QComboBox()
        for p in self._profiles:
            self.profile.addItem(p.label, p.id)
        self.to_card = QRadioButton("To a &typed card")
        self.to_payment = QRadioButton("To the card of an &earlier payment")
        group = QButtonGroup(self)
        group.addButton(self.to_card)
        group.addButton(self.to_payment)
        self.destination_reason = _hint()
        self.card = CardForm()
        self.card.save_card.hide()
        self.source = QLineEdit()
        self.source.setPlaceholderText("Order reference of the earlier payment, then Enter")
        self.source_found = _hint()
        self.amount = QLineEdit()
        self.amount.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.amount.setMaximumWidth(240)
        self.currency = QLabel()
        self.reference = QLineEdit()
        self.reference.setPlaceholderText("Order number (left empty: one is generated)")
        self.reference.setMaxLength(40)
        self.description = QLineEdit()
        self.description.setPlaceholderText("What the payout is for (optional)")
        self.errors = {
            name: error_label() for name in ("amount", "source", "reference", "description", "profile")
        }
        self.submit = QPushButton("&Review payout  ⏎")
        self.submit.setObjectName("primary")
        self.submit.setAutoDefault(True)
        self._make_outcome_widgets()
        self.stack = QStackedWidget()
        self.destination = QStackedWidget()
        self._build()
        self._wire()
        self._profile_changed()

    def _make_outcome_widgets(self) -> None:
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.confirm = QPushButton("&Confirm payout  ⏎")
        self.confirm.setObjectName("primary")
        self.confirm.setAutoDefault(True)
        self.back = QPushButton("Back  Esc")
        self.result = QLabel()
        self.result.setObjectName("actionMessage")
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.PlainText)
        self.open_detail = QPushButton("&Open the transaction")
        self.open_detail.setAutoDefault(True)
        self.open_detail.hide()

    def _build(self) -> None:
        title = QLabel("Pay out to a card")
        title.setObjectName("screenTitle")
        self.destination.addWidget(self.card)
        source_box = QWidget()
        source_layout = QVBoxLayout(source_box)
        source_layout.setContentsMargins(0, 0, 0, 0)
        source_layout.addWidget(self.source)
        source_layout.addWidget(self.errors["source"])
        source_layout.addWidget(self.source_found)
        self.destination.addWidget(source_box)
        # The stack is as tall as its current page only: no gap under the short "earlier payment" page.
        self.destination.currentChanged.connect(self._fit_destination)
        self._fit_destination(self.destination.currentIndex())
        kinds = QHBoxLayout()
        kinds.addWidget(self.to_card)
        kinds.addWidget(self.to_payment)
        kinds.addStretch(1)
        amount_row = QHBoxLayout()
        amount_row.addWidget(self.amount)
        amount_row.addWidget(self.currency)
        amount_row.addStretch(1)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.addRow(_buddy("&Gateway", self.profile), _boxed(self.profile, self.errors["profile"]))
        form.addRow("Destination", _boxed(kinds, self.destination_reason))
        form.addRow("", self.destination)
        form.addRow(_buddy("&Amount", self.amount), _boxed(amount_row, self.errors["amount"]))
        form.addRow(
            _buddy("Order &reference", self.reference), _boxed(self.reference, self.errors["reference"])
        )
        form.addRow(
            _buddy("&Description", self.description), _boxed(self.description, self.errors["description"])
        )
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.submit)
        form_page = QWidget()
        form_layout = QVBoxLayout(form_page)
        form_layout.setContentsMargins(0, 0, 0, 0)
        form_layout.addLayout(form)
        form_layout.addLayout(buttons)
        form_layout.addWidget(self.result)
        form_layout.addWidget(self.open_detail, 0, Qt.AlignmentFlag.AlignLeft)
        form_layout.addStretch(1)
        confirm_page = self._build_confirm()
        self.form_page, self.confirm_page = form_page, confirm_page
        self.stack.addWidget(form_page)
        self.stack.addWidget(confirm_page)
        self.setMaximumWidth(900)  # read left to right on a wide screen, as the Charge form
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.stack, 1)

    def _fit_destination(self, current: int) -> None:
        for index in range(self.destination.count()):
            page = self.destination.widget(index)
            if page is None:
                continue
            ignored = QSizePolicy.Policy.Ignored
            page.setSizePolicy(
                QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred if index == current else ignored
            )
        self.destination.adjustSize()

    def _build_confirm(self) -> QWidget:
        confirm_page = QWidget()
        confirm_layout = QVBoxLayout(confirm_page)
        confirm_layout.setContentsMargins(0, 0, 0, 0)
        confirm_layout.addWidget(self.summary)
        confirm_buttons = QHBoxLayout()
        confirm_buttons.addStretch(1)
        confirm_buttons.addWidget(self.back)
        confirm_buttons.addWidget(self.confirm)
        confirm_layout.addLayout(confirm_buttons)
        confirm_layout.addStretch(1)
        return confirm_page

    def _wire(self) -> None:
        self.profile.currentIndexChanged.connect(self._profile_changed)
        self.to_card.toggled.connect(self._destination_changed)
        self.to_payment.toggled.connect(self._destination_changed)
        self.source.returnPressed.connect(self.find_source)
        self.source.textEdited.connect(self._source_edited)
        for edit in (self.amount, self.reference, self.description, self.card.holder, self.card.cvc):
            edit.returnPressed.connect(self.review)
        self.submit.clicked.connect(self.review)
        self.confirm.clicked.connect(self._send)
        self.back.clicked.connect(self.go_back)
        self.open_detail.clicked.connect(lambda: self.transaction_requested.emit(self._last_tx))

    # -- profile and destination --------------------------------------------------------------
    def current_profile(self) -> Profile | None:
        """The profile picked (None when no gateway pays out)."""
        index = self.profile.currentIndex()
        return self._profiles[index] if 0 <= index < len(self._profiles) else None

    def _profile_changed(self) -> None:
        profile = self.current_profile()
        if profile is None:
            for widget in (self.to_card, self.to_payment, self.submit, self.amount):
                widget.setEnabled(False)
            self.destination_reason.setText("None of the configured gateways offers payouts.")
            return
        self.currency.setText(profile.currency)
        card, payment = card_reason(profile), payment_reason(profile)
        self.to_card.setEnabled(card is None)
        self.to_payment.setEnabled(payment is None)
        self.destination_reason.setText("\n".join(r for r in (card, payment) if r))
        if card is None and (not self.to_payment.isChecked() or payment is not None):
            self.to_card.setChecked(True)
        elif payment is None:
            self.to_payment.setChecked(True)
        self.submit.setEnabled(card is None or payment is None)
        self._destination_changed()

    def _destination_changed(self) -> None:
        self.destination.setCurrentIndex(0 if self.to_card.isChecked() else 1)
        self.destination.setEnabled(self.to_card.isChecked() or self.to_payment.isChecked())

    def _source_edited(self, _text: str) -> None:
        self._source = None
        self.source_found.clear()
        show_error(self.errors["source"], "")

    def find_source(self) -> None:
        """Look the earlier payment up by its order reference on the chosen profile."""
        profile = self.current_profile()
        reference = self.source.text().strip()
        if profile is None or not reference:
            show_error(self.errors["source"], "Earlier payment: type its order reference.")
            return
        journal = self.payouts.payments.journal
        self.bridge.run(
            journal.by_reference(profile.gateway, profile.id, reference),
            on_done=self._source_found,
            busy_text="Finding the earlier payment…",
        )

    def _source_found(self, tx: Transaction | None) -> None:
        if tx is None:
            show_error(
                self.errors["source"],
                f"Earlier payment: no payment {self.source.text().strip()} on this gateway.",
            )
            self.source.setFocus()
            return
        first = tx.first_operation
        if first is None or first.kind not in (OperationKind.SALE, OperationKind.AUTHORIZE):
            show_error(self.errors["source"], "Earlier payment: this is not a card payment.")
            return
        if first.state is not OperationState.SUCCEEDED:
            show_error(self.errors["source"], "Earlier payment: only an approved payment can be paid out to.")
            return
        self._source = tx
        card = tx.card.masked or "the card"
        self.source_found.setText(
            f"{first.kind.label} of {tx.amount} on {tx.created_at.astimezone():%d %b %Y}, {card}"
            + (f", {tx.customer_name}" if tx.customer_name else "")
        )
        self.amount.setFocus()

    # -- review, confirm, send ----------------------------------------------------------------
    def review(self) -> None:
        """Check the form; show what will be sent, with Confirm focused."""
        for name in self.errors:
            show_error(self.errors[name], "")
        self.result.clear()
        profile = self.current_profile()
        if profile is None or not self.submit.isEnabled():
            return
        try:
            amount = parse_amount(self.amount.text(), profile.currency)
        except MoneyError as exc:
            show_error(self.errors["amount"], exc.message)
            self.amount.setFocus()
            return
        card: CardDetails | None = None
        if self.to_card.isChecked():
            card = self.card.read(date.today())
            if card is None:
                return
            to = f"the card •••• {card.number[-4:]}"  # never the whole number, even on screen
        else:
            if self._source is None:
                show_error(
                    self.errors["source"], "Earlier payment: type its order reference and press Enter."
                )
                self.source.setFocus()
                return
            to = f"{self._source.card.masked or 'the card'} of payment {self._source.merchant_reference}"
        self._pending = (profile, amount, card)
        self.summary.setText(
            f"Pay out {amount} to {to} through {profile.label}.\n\n"
            "Press Enter to send it to the gateway, or Esc to go back."
        )
        self.stack.setCurrentWidget(self.confirm_page)
        self.confirm.setFocus()

    def go_back(self) -> None:
        """Esc on the confirmation: back to the form, everything kept."""
        self.stack.setCurrentWidget(self.form_page)
        self._pending = None
        self.amount.setFocus()

    def _send(self) -> None:
        if self._pending is None:
            return
        profile, amount, card = self._pending
        self._pending = None
        coro = self.payouts.payout(
            profile.id,
            amount,
            card=card,
            source_tx_id="" if card is not None or self._source is None else self._source.id,
            merchant_reference=self.reference.text().strip(),
            customer_name=card.holder if card is not None else "",
            description=self.description.text().strip(),
        )
        self.bridge.run(
            coro,
            on_done=self._done,
            on_error=self._failed,
            controls=[self.confirm, self.back],
            busy_text="Payout: waiting for the gateway…",
        )

    def _done(self, outcome: PaymentOutcome) -> None:
        self.card.clear_sensitive()
        self.stack.setCurrentWidget(self.form_page)
        held = outcome.operation.state is OperationState.CHALLENGE
        text = outcome.message
        if held:
            text = (
                f"Payout of {outcome.operation.amount} is held by the gateway for approval: "
                "approve or cancel it on the transaction's detail."
            )
        self.result.setText(text)
        self.result.setProperty("outcome", "approved" if outcome.approved or held else "declined")
        self.result.style().polish(self.result)
        self._last_tx = outcome.transaction.id
        self.open_detail.show()
        self.open_detail.setFocus()
        if outcome.approved:
            for edit in (self.amount, self.reference, self.description, self.source):
                edit.clear()
            self._source = None
            self.source_found.clear()
        self.completed.emit(outcome.transaction.id)

    def _failed(self, exc: BaseException) -> None:
        self.stack.setCurrentWidget(self.form_page)
        if isinstance(exc, PaymentInputError):
            if exc.field in self.card.field_names:
                self.card.show_error(exc.field, exc.message)
                self.card.focus_field(exc.field)
            else:
                show_error(self.errors.get(exc.field, self.errors["amount"]), exc.message)
        elif isinstance(exc, RuleViolation | ProfileError):
            show_error(self.errors["amount"], str(exc))
        else:
            self.result.setText(f"The payout could not be sent: {exc}")

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.stack.currentWidget() is self.confirm_page:
            self.go_back()
            event.accept()
            return
        super().keyPressEvent(event)

    def focus_first(self) -> None:
        """F5: the cursor where the clerk starts."""
        (self.card.number if self.to_card.isChecked() else self.source).setFocus()


def _hint() -> QLabel:
    label = QLabel()
    label.setObjectName("hint")
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def _buddy(text: str, widget: QWidget) -> QLabel:
    label = QLabel(text)
    label.setBuddy(widget)
    return label


def _boxed(field: QWidget | QHBoxLayout, below: QLabel) -> QVBoxLayout:
    box = QVBoxLayout()
    box.setSpacing(2)
    if isinstance(field, QWidget):
        box.addWidget(field)
    else:
        box.addLayout(field)
    box.addWidget(below)
    return box
