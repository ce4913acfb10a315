"""Receipts as plain data and text: a merchant and a customer copy of one operation, no Qt.

A receipt carries only what may be shown: the card's brand and last four digits (PCI DSS 3.4.1), the
amount formatted for its currency from CLDR (1.250 OMR with three decimals, 15,000 CLP with none), the
approval code and references, the date and time, and the kind of operation. In sandbox mode every
receipt says, in its text, that no real money moved; the view adds a watermark on top.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from babel.core import Locale, UnknownLocaleError
from babel.numbers import format_currency

from terminal.domain.ledger import Operation, Transaction
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.services.profiles import gateway_display_name

__all__ = [
    "SANDBOX_MARK",
    "Receipt",
    "ReceiptCopy",
    "ReceiptSettings",
    "build_receipt",
    "format_amount",
    "receipt_operation",
]

SANDBOX_MARK = "SANDBOX"
SANDBOX_LINE = "SANDBOX — practice receipt, no real money moved"

_KIND_WORDS = {
    OperationKind.SALE: "SALE",
    OperationKind.AUTHORIZE: "PRE-AUTH",
    OperationKind.CAPTURE: "CAPTURE",
    OperationKind.REFUND: "REFUND",
    OperationKind.VOID: "VOID",
    OperationKind.PAYOUT: "PAYOUT",
    OperationKind.INVOICE: "PAYMENT LINK",
}
_STATE_WORDS = {
    OperationState.SUCCEEDED: "APPROVED",
    OperationState.DECLINED: "DECLINED",
    OperationState.FAILED: "NOT COMPLETED",
    OperationState.UNKNOWN: "OUTCOME UNKNOWN",
}


@dataclass(frozen=True, slots=True)
class ReceiptSettings:
    """What the shop prints on its receipts (Settings fills these; the defaults print a plain receipt)."""

    merchant_name: str = "Merchant Terminal"
    header_lines: tuple[str, ...] = ()
    footer: str = "Thank you."
    locale: str = "en_GB"


class ReceiptCopy(StrEnum):
    """Which copy: the merchant keeps one, the customer gets the other."""

    MERCHANT = "merchant"
    CUSTOMER = "customer"

    @property
    def heading(self) -> str:
        """The line printed at the top of this copy."""
        return "MERCHANT COPY" if self is ReceiptCopy.MERCHANT else "CUSTOMER COPY"


@dataclass(frozen=True, slots=True)
class Receipt:
    """One copy of one operation's receipt, ready to lay out."""

    copy: ReceiptCopy
    merchant_name: str
    header_lines: tuple[str, ...]
    kind: str
    status: str
    amount: str
    card: str
    approval_code: str
    reference: str
    gateway: str
    gateway_reference: str
    when: str
    operator: str
    sandbox: bool
    footer: str
    notes: tuple[str, ...] = field(default=())

    @property
    def fields(self) -> list[tuple[str, str]]:
        """Label and value pairs of the body, in print order (empty values left out)."""
        pairs = [
            ("Date", self.when),
            ("Type", self.kind),
            ("Amount", self.amount),
            ("Card", self.card),
            ("Approval code", self.approval_code),
            ("Order reference", self.reference),
            ("Gateway", self.gateway),
            ("Gateway reference", self.gateway_reference),
            ("Operator", self.operator if self.copy is ReceiptCopy.MERCHANT else ""),
        ]
        return [(label, value) for label, value in pairs if value]

    def text(self, width: int = 40) -> str:
        """The receipt as fixed-width plain text (print preview text, tests, a plain-text printer)."""
        lines: list[str] = []
        if self.sandbox:
            lines += [_centre(f"*** {SANDBOX_MARK} ***", width), _centre(SANDBOX_LINE, width)]
        lines += [_centre(self.merchant_name, width), *(_centre(h, width) for h in self.header_lines)]
        lines += ["", _centre(self.copy.heading, width), _centre(f"{self.kind} — {self.status}", width), ""]
        for label, value in self.fields:
            gap = max(width - len(label) - len(value), 1)
            lines.append(f"{label}{' ' * gap}{value}")
        lines += ["", *self.notes]
        if self.footer:
            lines += ["", _centre(self.footer, width)]
        if self.sandbox:
            lines += ["", _centre(f"*** {SANDBOX_MARK} ***", width)]
        return "\n".join(lines).rstrip() + "\n"


def _centre(text: str, width: int) -> str:
    return text.center(width).rstrip()


def format_amount(amount: Money, locale: str = "en_GB") -> str:
    """'OMR 1.250', 'LKR 1,250.50', 'CLP 15,000': the currency's own decimals, the locale's separators."""
    try:
        loc = Locale.parse(locale)
    except (ValueError, UnknownLocaleError):
        loc = Locale.parse("en_GB")
    return str(format_currency(amount.as_decimal(), amount.currency, "¤\u00a0#,##0.00", locale=loc))


def receipt_operation(tx: Transaction) -> Operation | None:
    """The operation a reprint shows by default: the latest one with a final outcome, else the opening one."""
    for op in reversed(tx.operations):
        if op.state.is_final:
            return op
    return tx.first_operation


def build_receipt(
    tx: Transaction,
    op: Operation | None = None,
    copy: ReceiptCopy = ReceiptCopy.CUSTOMER,
    settings: ReceiptSettings | None = None,
) -> Receipt:
    """The `copy` receipt of `op` (by default `receipt_operation(tx)`) on `tx`."""
    settings = settings or ReceiptSettings()
    op = op or receipt_operation(tx)
    if op is None:
        raise ValueError(f"Transaction {tx.merchant_reference} has no operation to print")
    notes: list[str] = []
    if op.kind in (OperationKind.SALE, OperationKind.AUTHORIZE) and copy is ReceiptCopy.MERCHANT:
        notes.append("Card not present (mail or telephone order).")
    if op.kind is OperationKind.AUTHORIZE and op.state is OperationState.SUCCEEDED:
        notes.append("Amount reserved on the card; it is taken when captured.")
    if op.state is OperationState.DECLINED:
        notes.append("No money was taken.")
    return Receipt(
        copy=copy,
        merchant_name=settings.merchant_name,
        header_lines=settings.header_lines,
        kind=_KIND_WORDS[op.kind],
        status=_STATE_WORDS.get(op.state, op.state.value.upper()),
        amount=format_amount(op.amount, settings.locale),
        card=tx.card.masked,  # brand and last four only, never more
        approval_code=op.approval_code,
        reference=op.merchant_reference or tx.merchant_reference,
        gateway=gateway_display_name(tx.gateway),
        gateway_reference=op.gateway_reference,
        when=_when(op.updated_at if op.state.is_final else op.created_at),
        operator=op.operator,
        sandbox=tx.sandbox,
        footer=settings.footer,
        notes=tuple(notes),
    )


def _when(moment: datetime) -> str:
    local = moment.astimezone()
    return f"{local:%d %b %Y %H:%M} {local:%Z}".strip()
