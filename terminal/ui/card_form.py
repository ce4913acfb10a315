"""The direct-entry card form: number, expiry, CVC and name, checked as they are typed.

Only for profiles where an administrator turned direct entry on (PCI DSS merchants). The number is
grouped as printed while typed, shows its brand, and is masked to the last four once the field loses
focus. It never reaches the clipboard (copy, cut, drag, the context menu and the X11 selection are
off) and is cleared, with the CVC, as soon as the request has been sent: the digits live in the
widgets' memory only for one payment.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QContextMenuEvent, QKeyEvent, QKeySequence, QMouseEvent
from PySide6.QtWidgets import QCheckBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from terminal.domain.cards import (
    CardBrand,
    CardError,
    brand_of,
    check_cvc,
    check_expiry_text,
    check_number,
    cvc_length,
    format_as_typed,
    mask,
    valid_lengths,
)
from terminal.gateways.base import CardDetails

CARD_FIELDS = ("card_number", "expiry", "cvc", "holder", "save_card")


class SensitiveLineEdit(QLineEdit):
    """A line edit whose text never leaves it: no copy, cut, drag, context menu or selection clipboard."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDragEnabled(False)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        # Input methods must not learn or store what is typed here.
        self.setInputMethodHints(
            Qt.InputMethodHint.ImhSensitiveData
            | Qt.InputMethodHint.ImhNoPredictiveText
            | Qt.InputMethodHint.ImhDigitsOnly
        )

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Copy) or event.matches(QKeySequence.StandardKey.Cut):
            event.accept()
            return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        # QLineEdit copies a mouse selection to the X11 selection clipboard here; skip that step.
        event.accept()


class CardForm(QWidget):
    """The card fields of the Charge form; `read` returns CardDetails or shows what is wrong per field."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._digits = ""
        self._masked = False
        self.number = SensitiveLineEdit()
        self.number.setPlaceholderText("1234 5678 9012 3456")
        self.number.setMaxLength(23)  # 19 digits and their group spaces
        self.number.setAccessibleName("Card number")
        self.brand = QLabel("")
        self.brand.setObjectName("cardBrand")
        self.brand.setMinimumWidth(130)
        self.expiry = QLineEdit()
        self.expiry.setPlaceholderText("MM/YY")
        self.expiry.setMaxLength(7)
        self.expiry.setFixedWidth(90)
        self.cvc = SensitiveLineEdit()
        self.cvc.setEchoMode(QLineEdit.EchoMode.Password)
        self.cvc.setMaxLength(4)
        self.cvc.setFixedWidth(70)
        self.cvc.setPlaceholderText("CVC")
        self.holder = QLineEdit()
        self.holder.setPlaceholderText("Name on the card (optional)")
        self.save_card = QCheckBox("Sa&ve the card for this customer's next payments")
        self._errors: dict[str, QLabel] = {}
        self._build()
        self.number.textEdited.connect(self._number_edited)
        self.number.installEventFilter(self)
        self.expiry.textEdited.connect(lambda _t: self._check_live("expiry"))
        self.cvc.textEdited.connect(lambda _t: self._check_live("cvc"))

    def _error_label(self, name: str) -> QLabel:
        label = QLabel()
        label.setObjectName("fieldError")
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.hide()
        self._errors[name] = label
        return label

    def _build(self) -> None:
        number_row = QHBoxLayout()
        number_row.addWidget(self.number, 1)
        number_row.addWidget(self.brand)
        small = QHBoxLayout()
        small.addWidget(self.expiry)
        small.addSpacing(12)
        cvc_label = QLabel("C&VC")
        cvc_label.setBuddy(self.cvc)
        small.addWidget(cvc_label)
        small.addWidget(self.cvc)
        small.addStretch(1)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        rows: list[tuple[str, QHBoxLayout | QWidget, QWidget, list[str]]] = [
            ("Card num&ber", number_row, self.number, ["card_number"]),
            ("E&xpiry", small, self.expiry, ["expiry", "cvc"]),
            ("Name on card", self.holder, self.holder, ["holder"]),
            ("", self.save_card, self.save_card, ["save_card"]),
        ]
        for text, field, buddy, names in rows:
            box = QVBoxLayout()
            box.setSpacing(2)
            if isinstance(field, QWidget):
                box.addWidget(field)
            else:
                box.addLayout(field)
            for name in names:
                box.addWidget(self._error_label(name))
            label = QLabel(text)
            label.setBuddy(buddy)
            form.addRow(label, box)
        self.setTabOrder(self.number, self.expiry)
        self.setTabOrder(self.expiry, self.cvc)
        self.setTabOrder(self.cvc, self.holder)
        self.setTabOrder(self.holder, self.save_card)

    # -- as you type ------------------------------------------------------------------------
    def _number_edited(self, text: str) -> None:
        formatted = format_as_typed(text)
        if formatted != text:
            # Keep the cursor after the same number of digits once the groups are re-spaced.
            digits_before = sum(c.isdigit() for c in text[: self.number.cursorPosition()])
            self.number.setText(formatted)
            position, seen = 0, 0
            while position < len(formatted) and seen < digits_before:
                seen += formatted[position].isdigit()
                position += 1
            self.number.setCursorPosition(position)
        self._digits = formatted.replace(" ", "")
        self._show_brand()
        self._check_live("card_number")
        self.changed.emit()

    def _show_brand(self) -> None:
        brand = brand_of(self._digits)
        label = brand.label if brand is not CardBrand.UNKNOWN and self._digits else ""
        self.brand.setText(f"{label}  ✓" if label and self._complete() else label)
        self.cvc.setMaxLength(cvc_length(brand))

    def _complete(self) -> bool:
        try:
            check_number(self._digits)
        except CardError:
            return False
        return True

    def _check_live(self, name: str) -> None:
        """Say what is wrong as soon as a field is complete; stay quiet while it is still being typed."""
        self.show_error(name, "")
        try:
            if name == "card_number":
                # A number that may still grow (Visa 16 → 19) is judged when it leaves the field.
                if len(self._digits) >= valid_lengths(brand_of(self._digits))[-1]:
                    check_number(self._digits)
            elif name == "expiry" and len(self.expiry.text().strip()) >= 5:
                check_expiry_text(self.expiry.text(), date.today())
            elif name == "cvc" and len(self.cvc.text()) >= cvc_length(brand_of(self._digits)):
                check_cvc(self.cvc.text(), brand_of(self._digits))
        except CardError as exc:
            self.show_error(exc.field, exc.message)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.number:
            if event.type() == QEvent.Type.FocusOut and self._digits and not self._masked:
                self._mask()
            elif event.type() == QEvent.Type.FocusIn and self._masked:
                self._masked = False
                self.number.setText(format_as_typed(self._digits))
        return super().eventFilter(watched, event)

    def _mask(self) -> None:
        """Show only the last four once the number is entered; the digits stay in memory for the request."""
        try:
            check_number(self._digits)
        except CardError as exc:
            self.show_error("card_number", exc.message)
            return
        self._masked = True
        self.number.setText(mask(self._digits))

    # -- reading, errors, clearing ------------------------------------------------------------
    @property
    def field_names(self) -> frozenset[str]:
        """Fields that can show an error."""
        return frozenset(self._errors)

    def show_error(self, name: str, message: str) -> None:
        """Show (or clear) the error under one card field; what was typed stays."""
        label = self._errors[name]
        label.setText(message)
        label.setVisible(bool(message))

    def focus_field(self, name: str) -> None:
        """Put the cursor in the named card field."""
        widgets: dict[str, QWidget] = {
            "card_number": self.number,
            "expiry": self.expiry,
            "cvc": self.cvc,
            "holder": self.holder,
            "save_card": self.save_card,
        }
        widgets.get(name, self.number).setFocus()

    def read(self, today: date) -> CardDetails | None:
        """The card, or None after showing what is wrong next to each field (first wrong one focused)."""
        for name in self._errors:
            self.show_error(name, "")
        wrong: list[str] = []
        month = year = 0
        cvc = ""
        try:
            check_number(self._digits)
        except CardError as exc:
            self.show_error(exc.field, exc.message)
            wrong.append(exc.field)
        try:
            month, year = check_expiry_text(self.expiry.text(), today)
        except CardError as exc:
            self.show_error(exc.field, exc.message)
            wrong.append(exc.field)
        try:
            cvc = check_cvc(self.cvc.text(), brand_of(self._digits))
        except CardError as exc:
            self.show_error(exc.field, exc.message)
            wrong.append(exc.field)
        if wrong:
            self.focus_field(wrong[0])
            return None
        return CardDetails(self._digits, month, year, cvc, self.holder.text().strip())

    def clear_sensitive(self) -> None:
        """Forget the number and the CVC (after the request was sent, or when the form is reset)."""
        self._digits = ""
        self._masked = False
        self.number.clear()
        self.cvc.clear()
        self.brand.clear()

    def reset(self) -> None:
        """Empty every card field for the next customer."""
        self.clear_sensitive()
        self.expiry.clear()
        self.holder.clear()
        self.save_card.setChecked(False)
        for name in self._errors:
            self.show_error(name, "")

    @property
    def masked(self) -> bool:
        """Whether the number field shows the masked number."""
        return self._masked

    @property
    def has_number(self) -> bool:
        """Whether digits are held for a request."""
        return bool(self._digits)
