"""The Charge form: what the clerk types before the card page opens, checked field by field."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
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

from terminal.domain.money import Money, MoneyError, parse_amount
from terminal.domain.operations import OperationKind
from terminal.services.profiles import Profile


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


class ChargeForm(QWidget):
    """Profile, type, amount, reference and customer; `submitted` carries a checked ChargeInput."""

    submitted = Signal(object)
    link_requested = Signal(object)

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
        hint = QLabel(
            "Phone or mail order: the card is typed into the gateway's secure page, never into the terminal."
        )
        hint.setObjectName("hint")
        hint.setWordWrap(True)
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
            form.addRow(label, box)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.send_link)
        buttons.addWidget(self.enter_card)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addSpacing(8)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self.setTabOrder(self.profile, self.sale)
        self.setTabOrder(self.sale, self.preauth)
        self.setTabOrder(self.preauth, self.amount)
        self.setTabOrder(self.amount, self.reference)
        self.setTabOrder(self.reference, self.customer_id)
        self.setTabOrder(self.customer_id, self.customer_name)
        self.setTabOrder(self.customer_name, self.description)
        self.setTabOrder(self.description, self.enter_card)

    def _wire(self) -> None:
        self.profile.currentIndexChanged.connect(self._profile_changed)
        self.enter_card.clicked.connect(self.submit)
        self.send_link.clicked.connect(self.request_link)
        for edit in (self.amount, self.reference, self.customer_id, self.customer_name, self.description):
            edit.returnPressed.connect(self.submit)
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
        self.enter_card.setText("Enter card  ⏎" if profile.capabilities.cards else "Open payment page  ⏎")
        reason = profile.capabilities.unavailable_reason(OperationKind.AUTHORIZE, live=profile.live)
        self.preauth.setEnabled(reason is None)
        self.preauth.setToolTip(reason or "Reserve the amount now and capture it later from History.")
        if reason and self.preauth.isChecked():
            self.sale.setChecked(True)

    @property
    def field_names(self) -> frozenset[str]:
        """Names of the fields that can show an error."""
        return frozenset(self._errors)

    def show_error(self, name: str, message: str) -> None:
        """Show (or clear, with an empty message) the error under one field; keeps what was typed."""
        label = self._errors[name]
        label.setText(message)
        label.setVisible(bool(message))

    def clear_errors(self) -> None:
        """Hide every field error and the form message."""
        for name in self._errors:
            self.show_error(name, "")
        self.message.clear()

    def focus_field(self, name: str) -> None:
        """Put the cursor in the named field."""
        widgets: dict[str, QWidget] = {
            "amount": self.amount,
            "reference": self.reference,
            "customer_id": self.customer_id,
            "customer_name": self.customer_name,
            "description": self.description,
            "profile": self.profile,
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
        return ChargeInput(
            profile_id=profile.id,
            kind=kind,
            amount=amount,
            reference=self.reference.text().strip(),
            customer_id=self.customer_id.text().strip(),
            customer_name=self.customer_name.text().strip(),
            description=self.description.text().strip(),
        )

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
        self.clear_errors()
        self.amount.setFocus()
