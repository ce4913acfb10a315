"""What a gateway can do, and whether the vendor documents it or only our simulator implements it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from terminal.domain.money import Money, MoneyError
from terminal.domain.operations import OperationKind


class Support(StrEnum):
    """How far an operation is backed: by the vendor's documents, or only by our sandbox."""

    DOCUMENTED = "documented"
    SANDBOX_ONLY = "sandbox_only"


@dataclass(frozen=True, slots=True)
class Capabilities:
    """A gateway's declared abilities; screens and ledger rules read these, never the gateway's name."""

    gateway: str
    display_name: str
    operations: Mapping[OperationKind, Support]
    currencies: frozenset[str]
    partial_capture: bool = False
    multiple_capture: bool = False
    partial_refund: bool = False
    multiple_refund: bool = False
    void_after_capture: bool = False
    hosted_entry: bool = False
    direct_entry: bool = False
    three_d_secure: bool = False
    lookup_by_reference: bool = False
    # A capture, void or refund whose answer was lost can be read back from its payment (fetch_follow_up),
    # even where the gateway offers no lookup of a payment by our reference (OMPay).
    follow_up_lookup: bool = False
    # Card payments (False for bank-transfer gateways, whose page is the bank's, not a card form).
    cards: bool = True
    # The hosted page can be sent to the customer as a link (pay-by-link) and followed by status reads.
    payment_link: bool = False
    # Cards kept at the gateway for a returning customer (a token charged without the card again).
    saved_cards: bool = False
    # A recurring series: an INITIAL payment, then REPEATED ones on its registration.
    recurring: bool = False
    # Payouts to a typed card, and to the card of an earlier payment.
    payout_to_card: bool = False
    payout_to_payment: bool = False
    # Invoices with a link: cancel and remind, besides create and fetch.
    invoice_cancel: bool = False
    invoice_remind: bool = False
    # Payouts the gateway holds until approved (approve_payout / cancel_payout).
    payout_approval: bool = False
    # The gateway lists its transactions for a date range (list_transactions).
    transaction_list: bool = False
    # Inclusive per-currency limits in minor units; a currency absent here has no gateway limit.
    amount_limits: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    sandbox_only_reason: str = "Available in the sandbox only: the gateway has not published this operation."
    # Said after "X does not offer Y." when the gateway lacks an operation (e.g. why, and what to do instead).
    missing_note: str = ""

    def unavailable_reason(self, kind: OperationKind, *, live: bool) -> str | None:
        """Why `kind` cannot be used on this gateway (None when it can)."""
        support = self.operations.get(kind)
        if support is None:
            return f"{self.display_name} does not offer {kind.label.lower()}. {self.missing_note}".strip()
        if support is Support.SANDBOX_ONLY and live:
            return self.sandbox_only_reason
        return None

    def can_look_up(self, kind: OperationKind) -> bool:
        """Whether the terminal can ask the gateway what became of an operation of `kind` it lost."""
        follow_up = kind in (OperationKind.CAPTURE, OperationKind.VOID, OperationKind.REFUND)
        return self.lookup_by_reference or (follow_up and self.follow_up_lookup)

    def limit_reason(self, currency: str, minor: int) -> str | None:
        """Why this amount is outside the gateway's limits or currencies (None when it is inside)."""
        if currency not in self.currencies:
            accepted = ", ".join(sorted(self.currencies))
            return f"{self.display_name} accepts {accepted}, not {currency}."
        limits = self.amount_limits.get(currency)
        if limits is not None:
            low, high = limits
            if not low <= minor <= high:
                lowest, highest = _amount(low, currency), _amount(high, currency)
                return f"{self.display_name} accepts amounts from {lowest} to {highest}."
        return None


def _amount(minor: int, currency: str) -> str:
    """'0.50 EUR' for a clerk rather than '50 minor units'."""
    try:
        return str(Money(minor, currency))
    except MoneyError:
        return f"{minor} minor units of {currency}"
