"""The Charge form: what the clerk types before the card page opens (or the card itself, on profiles
with direct entry), checked field by field. Saved cards of the customer are offered where the gateway
keeps cards; only their brand and last four are shown."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
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
    QVBoxLayout,
    QWidget,
)

from terminal.domain.ledger import Transaction
from terminal.domain.money import Money, MoneyError, parse_amount
from terminal.domain.operations import OperationKind
from terminal.gateways.base import CardDetails
from terminal.services.profiles import Profile
from terminal.services.sending import direct_entry_reason
from terminal.ui.card_form import CardForm

HOSTED, DIRECT, SAVED = "hosted", "direct", "saved"
# Under the title: where the card goes, in the words a clerk repeats to the customer on the phone.
HINTS = {
    HOSTED: "Phone or mail order: the card is typed into the gateway's secure page, never into the terminal.",
    DIRECT: "Phone or mail order: type the card below; it is checked as you type and cleared once sent.",
    SAVED: "Phone or mail order: the card the gateway keeps for this customer is charged.",
}
# Wide enough for every field at 1280×800; on a wider screen the form keeps this width, read left to right.
FORM_MAX_WIDTH = 900


@dataclass(frozen=True, slots=True)
class ChargeInput:
    """A checked charge request, ready for the payment service."""

    profile_id: str
    kind: OperationKind
    amount: Money
    reference: str
    customer_id: str
    customer_name: str
    description: str
    # How the card is given: on the gateway's page (hosted), typed here (direct), or a saved card.
    entry: str = HOSTED
    card: CardDetails | None = None
    save_card: bool = False
    saved_tx_id: str = ""


class ChargeForm(QWidget):
    """Profile, type, amount, reference and customer; `submitted` carries a checked ChargeInput."""

    submitted = Signal(object)
    link_requested = Signal(object)
    # (profile id, customer number): the screen looks up the customer's saved cards.
    customer_entered = Signal(str, str)
    # The clerk asked to forget the saved card chosen (its transaction's id): the screen forgets it.
    forget_requested = Signal(str)

    def __init__(self, profiles: list[Profile], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._profiles = profiles
        self.profile = QComboBox()
        for p in profiles:
            self.profile.addItem(p.label, p.id)
        self.sale = QRadioButton("&Sale")
        self.preauth = QRadioButton("&Pre-authorise (capture later)")
        self.sale.setChecked(True)
        self._kinds = QButtonGroup(self)
        self._kinds.addButton(self.sale)
        self._kinds.addButton(self.preauth)
        self.amount = QLineEdit()
        self.amount.setPlaceholderText("0.00")
        self.amount.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.currency = QLabel()
        self.reference = QLineEdit()
        self.reference.setPlaceholderText("Order number (left empty: one is generated)")
        self.reference.setMaxLength(40)
        self.customer_id = QLineEdit()
        self.customer_id.setPlaceholderText("Your customer number (optional)")
        self.customer_name = QLineEdit()
        self.customer_name.setPlaceholderText("Name on the card")
        self.description = QLineEdit()
        self.description.setPlaceholderText("What is being paid for (optional)")
        self.hosted_entry = QRadioButton("Card pa&ge")
        self.direct_entry = QRadioButton("&Type the card here")
        self.saved_entry = QRadioButton("Sa&ved card")
        self.hosted_entry.setChecked(True)
        self._entries = QButtonGroup(self)
        for button in (self.hosted_entry, self.direct_entry, self.saved_entry):
            self._entries.addButton(button)
        self.saved = QComboBox()
        self.saved.setMinimumWidth(220)
        self.entry_note = QLabel()
        self.entry_note.setObjectName("hint")
        self.entry_note.setWordWrap(True)
        self.card = CardForm()
        self.card.hide()
        self.enter_card = QPushButton("Enter card  ⏎")
        self.enter_card.setObjectName("primary")
        self.enter_card.setDefault(True)
        self.enter_card.setAutoDefault(True)
        self.send_link = QPushButton("Send payment &link")
        self.send_link.setToolTip("Create a link the customer opens to pay on the gateway's page.")
        self.message = QLabel()
        self.message.setObjectName("formMessage")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self._errors: dict[str, QLabel] = {}
        self._build()
        self._wire()
        self._profile_changed()

    def _error_label(self, name: str) -> QLabel:
        label = QLabel()
        label.setObjectName("fieldError")
        label.setWordWrap(True)
        label.hide()
        self._errors[name] = label
        return label

    def _build(self) -> None:
        title = QLabel("Take a card payment")
        title.setObjectName("screenTitle")
        hint = self.hint = QLabel(HINTS[HOSTED])
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        entry_box = self._entry_box()
        kinds = QHBoxLayout()
        kinds.addWidget(self.sale)
        kinds.addWidget(self.preauth)
        kinds.addStretch(1)
        amount_row = QHBoxLayout()
        amount_row.addWidget(self.amount, 1)
        amount_row.addWidget(self.currency)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        rows: list[tuple[str, object, str]] = [
            ("&Gateway", self.profile, "profile"),
            ("Type", kinds, "kind"),
            ("&Amount", amount_row, "amount"),
            ("Order &reference", self.reference, "reference"),
            ("C&ustomer number", self.customer_id, "customer_id"),
            ("Customer &name", self.customer_name, "customer_name"),
            ("&Description", self.description, "description"),
            ("Card entry", entry_box, "entry"),
        ]
        for text, field, name in rows:
            box = QVBoxLayout()
            box.setSpacing(2)
            if isinstance(field, QWidget):
                box.addWidget(field)
            else:
                box.addLayout(field)  # type: ignore[arg-type]
            box.addWidget(self._error_label(name))
            label = QLabel(text)
            if isinstance(field, QWidget):
                label.setBuddy(field)
            elif name == "amount":
                label.setBuddy(self.amount)
            elif name == "entry":
                label.setBuddy(self.hosted_entry)
                self._entry_label = label
                box.addWidget(self._error_label("saved_card"))
            form.addRow(label, box)
        form.addRow("", self.card)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.send_link)
        buttons.addWidget(self.enter_card)
        self.setMaximumWidth(FORM_MAX_WIDTH)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addSpacing(8)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self._tab_order()

    def _entry_box(self) -> QVBoxLayout:
        self.forget = QPushButton("&Forget this card")
        self.forget.setAutoDefault(True)  # Enter on it forgets the card, never charges
        self.send_link.setAutoDefault(True)  # Enter on it sends a link, never charges
        self.forget.setToolTip("The customer asked: delete the saved card at the gateway and here.")
        entries = QHBoxLayout()
        for widget in (self.hosted_entry, self.direct_entry, self.saved_entry, self.saved, self.forget):
            entries.addWidget(widget)
        entries.addStretch(1)
        box = QVBoxLayout()
        box.addLayout(entries)
        box.addWidget(self.entry_note)
        return box

    def _tab_order(self) -> None:
        """The order of a phone call: money first, then who pays, then the card."""
        card = self.card
        chain: list[QWidget] = [
            self.profile,
            self.sale,
            self.preauth,
            self.amount,
            self.reference,
            self.customer_id,
            self.customer_name,
            self.description,
            self.hosted_entry,
            self.direct_entry,
            self.saved_entry,
            self.saved,
            self.forget,
            card.number,
            card.expiry,
            card.cvc,
            card.holder,
            card.save_card,
            self.enter_card,
        ]
        for first, second in itertools.pairwise(chain):
            self.setTabOrder(first, second)

    def _wire(self) -> None:
        self.profile.currentIndexChanged.connect(self._profile_changed)
        self.enter_card.clicked.connect(self.submit)
        self.send_link.clicked.connect(self.request_link)
        self.forget.clicked.connect(self._forget_chosen)
        card = self.card
        for edit in (
            self.amount,
            self.reference,
            self.customer_id,
            self.customer_name,
            self.description,
            card.number,
            card.expiry,
            card.cvc,
            card.holder,
        ):
            edit.returnPressed.connect(self.submit)
        self._entries.buttonToggled.connect(lambda _button, _on: self._entry_changed())
        self.saved.currentIndexChanged.connect(lambda _index: self.show_error("saved_card", ""))
        self.customer_id.editingFinished.connect(self._customer_entered)
        self.amount.textEdited.connect(lambda _text: self.show_error("amount", ""))
        self.reference.textEdited.connect(lambda _text: self.show_error("reference", ""))

    def current_profile(self) -> Profile | None:
        """The profile picked in the combo box."""
        index = self.profile.currentIndex()
        return self._profiles[index] if 0 <= index < len(self._profiles) else None

    def _profile_changed(self) -> None:
        profile = self.current_profile()
        if profile is None:
            self.enter_card.setEnabled(False)
            self.message.setText("No gateway profile is configured.")
            return
        self.currency.setText(profile.currency)
        self.send_link.setVisible(profile.capabilities.payment_link)
        reason = profile.capabilities.unavailable_reason(OperationKind.AUTHORIZE, live=profile.live)
        self.preauth.setEnabled(reason is None)
        self.preauth.setToolTip(reason or "Reserve the amount now and capture it later from History.")
        if reason and self.preauth.isChecked():
            self.sale.setChecked(True)
        caps = profile.capabilities
        direct_reason = direct_entry_reason(profile) if caps.cards else "no cards"
        self.direct_entry.setVisible(direct_reason is None)
        self.hosted_entry.setVisible(caps.hosted_entry or not caps.cards)
        self.set_saved_cards([])
        choices = direct_reason is None or caps.saved_cards
        for widget in (self.hosted_entry, self._entry_label, self.entry_note):
            widget.setVisible(choices)
        self.saved_entry.setVisible(caps.saved_cards)
        if direct_reason is None and not caps.hosted_entry:
            self.direct_entry.setChecked(True)
        else:
            checked = self._entries.checkedButton()
            if checked is None or checked.isHidden():
                self._fallback_entry()
        self._entry_changed()
        self._customer_entered()

    def _customer_entered(self) -> None:
        profile = self.current_profile()
        if profile is not None and profile.capabilities.saved_cards:
            self.customer_entered.emit(profile.id, self.customer_id.text().strip())

    def set_saved_cards(self, cards: list[Transaction]) -> None:
        """Offer the customer's saved cards (brand and last four only); none hides the choice."""
        self.saved.clear()
        for tx in cards:
            expiry = f"  exp {tx.card.expiry}" if tx.card.expiry else ""
            self.saved.addItem(f"{tx.card.masked}{expiry}", tx.id)
        self.saved_entry.setEnabled(bool(cards))
        self.saved_entry.setToolTip("" if cards else "This customer has no saved card on this gateway.")
        if not cards and self.saved_entry.isChecked():
            self._fallback_entry()
        self._entry_changed()

    def _forget_chosen(self) -> None:
        tx_id = str(self.saved.currentData() or "")
        if self.entry == SAVED and tx_id:
            self.forget_requested.emit(tx_id)

    def _fallback_entry(self) -> None:
        (self.direct_entry if self.hosted_entry.isHidden() else self.hosted_entry).setChecked(True)

    @property
    def entry(self) -> str:
        """How the card will be given: HOSTED, DIRECT or SAVED."""
        if self.direct_entry.isChecked() and self.direct_entry.isVisible():
            return DIRECT
        if self.saved_entry.isChecked() and self.saved_entry.isVisible() and self.saved.count():
            return SAVED
        return HOSTED

    def _entry_changed(self) -> None:
        entry = self.entry
        self.card.setVisible(entry == DIRECT)
        self.saved.setVisible(entry == SAVED)
        self.forget.setVisible(entry == SAVED)
        profile = self.current_profile()
        cards = profile is None or profile.capabilities.cards
        hosted_text = "Enter card  ⏎" if cards else "Open payment page  ⏎"
        self.enter_card.setText(hosted_text if entry == HOSTED else "Charge card  ⏎")
        self.card.save_card.setVisible(profile is not None and profile.capabilities.saved_cards)
        notes = {
            HOSTED: "The card is typed into the gateway's secure page.",
            DIRECT: "Card typed here (direct entry): checked as you type; cleared after sending.",
            SAVED: "Charged on the card the gateway keeps for this customer.",
        }
        self.entry_note.setText(notes[entry])
        self.hint.setText(HINTS[entry])

    @property
    def field_names(self) -> frozenset[str]:
        """Names of the fields that can show an error."""
        return frozenset(self._errors) | self.card.field_names

    def show_error(self, name: str, message: str) -> None:
        """Show (or clear, with an empty message) the error under one field; keeps what was typed."""
        if name in self.card.field_names:
            self.card.show_error(name, message)
            return
        label = self._errors[name]
        label.setText(message)
        label.setVisible(bool(message))

    def clear_errors(self) -> None:
        """Hide every field error and the form message."""
        for name in self.field_names:
            self.show_error(name, "")
        self.message.clear()

    def focus_field(self, name: str) -> None:
        """Put the cursor in the named field."""
        if name in self.card.field_names:
            self.card.focus_field(name)
            return
        widgets: dict[str, QWidget] = {
            "amount": self.amount,
            "reference": self.reference,
            "customer_id": self.customer_id,
            "customer_name": self.customer_name,
            "description": self.description,
            "profile": self.profile,
            "entry": self.hosted_entry if self.hosted_entry.isVisible() else self.direct_entry,
            "saved_card": self.saved,
        }
        widgets.get(name, self.amount).setFocus()

    def read(self) -> ChargeInput | None:
        """The checked input, or None after showing what is wrong next to each field."""
        self.clear_errors()
        profile = self.current_profile()
        if profile is None:
            self.show_error("profile", "Gateway: configure a gateway profile first.")
            return None
        try:
            amount = parse_amount(self.amount.text(), profile.currency)
        except MoneyError as exc:
            self.show_error("amount", exc.message)
            self.amount.setFocus()
            return None
        kind = OperationKind.AUTHORIZE if self.preauth.isChecked() else OperationKind.SALE
        entry = self.entry
        card = self.card.read(date.today()) if entry == DIRECT else None
        if entry == DIRECT and card is None:
            return None
        return ChargeInput(
            profile_id=profile.id,
            kind=kind,
            amount=amount,
            reference=self.reference.text().strip(),
            customer_id=self.customer_id.text().strip(),
            customer_name=self.customer_name.text().strip(),
            description=self.description.text().strip(),
            entry=entry,
            card=card,
            save_card=entry == DIRECT and self.card.save_card.isChecked() and self.card.save_card.isVisible(),
            saved_tx_id=str(self.saved.currentData() or "") if entry == SAVED else "",
        )

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter submits from anywhere in the form: a choice, a tick box or a list, not only a text field."""
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        # Text fields submit through returnPressed and buttons click themselves: never twice.
        if enter and not isinstance(self.focusWidget(), (QLineEdit, QPushButton)):
            event.accept()
            self.submit()
            return
        super().keyPressEvent(event)

    def submit(self) -> None:
        """Check the form; emit `submitted` when it is right."""
        if not self.enter_card.isEnabled():
            return
        request = self.read()
        if request is not None:
            self.submitted.emit(request)

    def request_link(self) -> None:
        """Check the form; emit `link_requested` when it is right."""
        request = self.read()
        if request is not None:
            self.link_requested.emit(request)

    def reset(self) -> None:
        """Empty the form for the next customer (keeps the profile and type)."""
        for edit in (self.amount, self.reference, self.customer_id, self.customer_name, self.description):
            edit.clear()
        self.card.reset()
        self.set_saved_cards([])
        self.clear_errors()
        self.amount.setFocus()
