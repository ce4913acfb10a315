"""Transactions, their append-only journal of operations, the amounts derived from it, and the rules.

The rules are checked before any request leaves: capture ≤ authorised and never after a void,
refunds ≤ captured minus earlier refunds, nothing on a transaction with an unresolved operation,
and the gateway's own limits from its capabilities.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from terminal.domain.capabilities import Capabilities
from terminal.domain.declines import DeclineCode
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState, check_transition

# Kinds that take the money when they succeed: a sale, and an invoice (pay-by-link) once the customer paid.
# They count as authorised and captured at once, and follow the same rules afterwards (refund, void).
TAKES_MONEY = (OperationKind.SALE, OperationKind.INVOICE)


class TransactionState(StrEnum):
    """The state of a whole transaction, derived from its journal."""

    PENDING = "pending"
    UNKNOWN = "unknown"
    AUTHORISED = "authorised"
    PARTIALLY_CAPTURED = "partially_captured"
    CAPTURED = "captured"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"
    DECLINED = "declined"
    FAILED = "failed"
    PAID_OUT = "paid_out"

    @property
    def label(self) -> str:
        """The words a clerk sees."""
        return self.value.replace("_", " ").capitalize()


class RuleViolation(ValueError):
    """An operation the ledger rules forbid; the message says why in plain words."""


@dataclass(frozen=True, slots=True)
class Operation:
    """One entry of a transaction's journal; only its outcome fields change, once, as the gateway answers."""

    id: str
    transaction_id: str
    kind: OperationKind
    amount: Money
    state: OperationState
    idempotency_key: str
    merchant_reference: str
    created_at: datetime
    updated_at: datetime
    operator: str = ""
    gateway_reference: str = ""
    approval_code: str = ""
    decline_code: DeclineCode | None = None
    gateway_code: str = ""
    gateway_message: str = ""
    avs_result: str = ""
    cvc_result: str = ""
    reason: str = ""

    def moved_to(self, state: OperationState, at: datetime, **outcome: str | DeclineCode | None) -> Operation:
        """A copy in `state`, with outcome fields; refuses transitions the journal does not allow."""
        check_transition(self.state, state)
        return replace(self, state=state, updated_at=at, **outcome)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class CardSummary:
    """What the terminal may keep about a card: brand, first six and last four, expiry, gateway token."""

    brand: str = ""
    first6: str = ""
    last4: str = ""
    expiry: str = ""
    token: str = ""

    @property
    def masked(self) -> str:
        """'Visa •••• 4242', or an empty string when no card is known."""
        if not self.last4:
            return ""
        return f"{self.brand} •••• {self.last4}".strip()


@dataclass(frozen=True, slots=True)
class Transaction:
    """One customer payment at one gateway; its amounts and state come from its operations."""

    id: str
    gateway: str
    profile: str
    merchant_reference: str
    currency: str
    created_at: datetime
    operations: tuple[Operation, ...] = ()
    customer_id: str = ""
    customer_name: str = ""
    description: str = ""
    card: CardSummary = CardSummary()
    sandbox: bool = False
    # Pay-by-link and invoices: the address the customer pays at, who it was sent to, when it expires.
    link_url: str = ""
    customer_email: str = ""
    expires_at: datetime | None = None

    # -- amounts ---------------------------------------------------------------------------
    def _total(self, *kinds: OperationKind) -> Money:
        minor = sum(
            op.amount.minor
            for op in self.operations
            if op.kind in kinds and op.state is OperationState.SUCCEEDED
        )
        return Money(minor, self.currency)

    @property
    def authorised(self) -> Money:
        """Approved by the issuer, through a pre-authorisation, a sale or a paid invoice."""
        return self._total(OperationKind.AUTHORIZE, *TAKES_MONEY)

    @property
    def captured(self) -> Money:
        """Money taken: sales, paid invoices, and captures of pre-authorisations."""
        return self._total(*TAKES_MONEY, OperationKind.CAPTURE)

    @property
    def refunded(self) -> Money:
        """Money given back."""
        return self._total(OperationKind.REFUND)

    @property
    def paid_out(self) -> Money:
        """Money sent to a card by payout."""
        return self._total(OperationKind.PAYOUT)

    @property
    def voided(self) -> bool:
        """Whether a void succeeded."""
        return any(
            op.kind is OperationKind.VOID and op.state is OperationState.SUCCEEDED for op in self.operations
        )

    @property
    def capturable(self) -> Money:
        """What a capture may still take (zero after a void or a sale)."""
        if self.voided:
            return Money.zero(self.currency)
        authorised = self._total(OperationKind.AUTHORIZE)
        return Money(max(authorised.minor - self._total(OperationKind.CAPTURE).minor, 0), self.currency)

    @property
    def refundable(self) -> Money:
        """What refunds may still give back."""
        if self.voided:
            return Money.zero(self.currency)
        return Money(max(self.captured.minor - self.refunded.minor, 0), self.currency)

    @property
    def amount(self) -> Money:
        """The amount the transaction was opened for."""
        first = self.first_operation
        return first.amount if first else Money.zero(self.currency)

    # -- journal ---------------------------------------------------------------------------
    @property
    def first_operation(self) -> Operation | None:
        """The operation that opened the transaction."""
        return self.operations[0] if self.operations else None

    @property
    def unresolved(self) -> tuple[Operation, ...]:
        """Operations whose outcome is not known yet (created, sent, in a challenge or unknown)."""
        return tuple(op for op in self.operations if not op.state.is_final)

    def with_operation(self, op: Operation) -> Transaction:
        """A copy with `op` appended, or replacing the operation of the same id (its outcome arrived)."""
        if op.transaction_id != self.id:
            raise ValueError("operation belongs to another transaction")
        if op.amount.currency != self.currency:
            raise RuleViolation(
                f"This transaction is in {self.currency}; the amount is in {op.amount.currency}."
            )
        old = next((o for o in self.operations if o.id == op.id), None)
        if old is None:
            return replace(self, operations=(*self.operations, op))
        # The journal is append-only: a replacement may only bring an outcome, never rewrite the request.
        if (old.kind, old.amount, old.idempotency_key) != (op.kind, op.amount, op.idempotency_key):
            raise ValueError("a journal entry's kind, amount and idempotency key never change")
        if old.state.is_final and op.state is not old.state:
            raise ValueError(
                f"the {old.kind.label.lower()} already ended {old.state}; it cannot become {op.state}"
            )
        return replace(self, operations=tuple(op if o.id == op.id else o for o in self.operations))

    @property
    def state(self) -> TransactionState:
        """The transaction's state, derived from its journal."""
        first = self.first_operation
        if first is None:
            return TransactionState.PENDING
        if any(op.state is OperationState.UNKNOWN for op in self.operations):
            return TransactionState.UNKNOWN
        if not first.state.is_final:
            return TransactionState.PENDING
        if first.state is OperationState.DECLINED:
            return TransactionState.DECLINED
        if first.state is OperationState.FAILED:
            return TransactionState.FAILED
        return self._settled_state(first.kind)

    def _settled_state(self, opened_by: OperationKind) -> TransactionState:
        if opened_by is OperationKind.PAYOUT:
            return TransactionState.PAID_OUT
        if self.voided:
            return TransactionState.VOIDED
        captured, refunded = self.captured, self.refunded
        if refunded.minor:
            return TransactionState.REFUNDED if refunded >= captured else TransactionState.PARTIALLY_REFUNDED
        if opened_by in TAKES_MONEY:
            return TransactionState.CAPTURED
        if not captured.minor:
            return TransactionState.AUTHORISED
        return TransactionState.PARTIALLY_CAPTURED if self.capturable.minor else TransactionState.CAPTURED


def check_follow_up(
    tx: Transaction, kind: OperationKind, amount: Money, caps: Capabilities, *, live: bool
) -> None:
    """Raise RuleViolation unless `kind` for `amount` may be sent on `tx` now."""
    reason = follow_up_reason(tx, kind, amount, caps, live=live)
    if reason:
        raise RuleViolation(reason)


def follow_up_reason(
    tx: Transaction, kind: OperationKind, amount: Money | None, caps: Capabilities, *, live: bool
) -> str | None:
    """Why `kind` cannot be sent on `tx` now (None when it can).

    With amount None only the action is checked (to enable or disable a button).
    """
    reason = caps.unavailable_reason(kind, live=live) or _journal_reason(tx)
    if reason:
        return reason
    if kind is OperationKind.CAPTURE:
        reason = _capture_reason(tx, caps)
    elif kind is OperationKind.VOID:
        reason = _void_reason(tx, caps)
    elif kind is OperationKind.REFUND:
        reason = _refund_reason(tx, caps)
    else:
        reason = f"{kind.label} starts a new transaction; it does not follow one up."
    if reason or amount is None or kind is OperationKind.VOID:
        return reason
    return _amount_reason(tx, kind, amount, caps)


def _journal_reason(tx: Transaction) -> str | None:
    first = tx.first_operation
    if first is None:
        return "The transaction has no operations yet."
    # An unknown outcome is named before one merely in flight: it is the one a person must resolve.
    for op in sorted(tx.unresolved, key=lambda o: o.state is not OperationState.UNKNOWN):
        if op.state is OperationState.UNKNOWN:
            return f"The outcome of the {op.kind.label.lower()} is unknown; resolve it first."
        return f"The {op.kind.label.lower()} is still in progress."
    if first.state is not OperationState.SUCCEEDED:
        ended = "was declined" if first.state is OperationState.DECLINED else "failed"
        return f"The {first.kind.label.lower()} {ended}; there is nothing to follow up."
    if tx.voided:
        return "The transaction was voided; nothing can follow a void."
    return None


def _capture_reason(tx: Transaction, caps: Capabilities) -> str | None:
    if tx.first_operation is None or tx.first_operation.kind is not OperationKind.AUTHORIZE:
        return "Only a pre-authorisation can be captured."
    if not tx.capturable.minor:
        return "Everything authorised has been captured."
    captures = [
        o for o in tx.operations if o.kind is OperationKind.CAPTURE and o.state is OperationState.SUCCEEDED
    ]
    if captures and not caps.multiple_capture:
        return f"{caps.display_name} allows one capture per pre-authorisation."
    return None


def _void_reason(tx: Transaction, caps: Capabilities) -> str | None:
    first = tx.first_operation
    assert first is not None
    if first.kind is not OperationKind.AUTHORIZE and first.kind not in TAKES_MONEY:
        return f"A {first.kind.label.lower()} cannot be voided."
    if tx.refunded.minor:
        return "Part of the payment was refunded; it can no longer be voided."
    taken = tx.captured.minor
    if taken and not caps.void_after_capture:
        return f"Money was already captured; {caps.display_name} can only refund it now."
    return None


def _refund_reason(tx: Transaction, caps: Capabilities) -> str | None:
    if not tx.captured.minor:
        return "Nothing was captured, so there is nothing to refund (void the pre-authorisation instead)."
    if not tx.refundable.minor:
        return "Everything captured has been refunded."
    refunds = [
        o for o in tx.operations if o.kind is OperationKind.REFUND and o.state is OperationState.SUCCEEDED
    ]
    if refunds and not caps.multiple_refund:
        return f"{caps.display_name} allows one refund per payment."
    return None


def _amount_reason(tx: Transaction, kind: OperationKind, amount: Money, caps: Capabilities) -> str | None:
    if amount.currency != tx.currency:
        return f"This transaction is in {tx.currency}; the amount is in {amount.currency}."
    if amount.minor <= 0:
        return "The amount must be more than zero."
    if kind is OperationKind.CAPTURE:
        return _limit_reason(
            amount, tx.capturable, "captured", caps.partial_capture, f"{caps.display_name} captures"
        )
    if kind is OperationKind.REFUND:
        return _limit_reason(
            amount, tx.refundable, "refunded", caps.partial_refund, f"{caps.display_name} refunds"
        )
    return None


def _limit_reason(amount: Money, limit: Money, done: str, partial: bool, who_does: str) -> str | None:
    if amount > limit:
        return f"At most {limit} can be {done}."
    if amount != limit and not partial:
        return f"{who_does} the full amount only ({limit})."
    return None


def opening_reason(kind: OperationKind, amount: Money, caps: Capabilities, *, live: bool) -> str | None:
    """Why a new transaction opened by `kind` for `amount` cannot be sent (None when it can)."""
    if not kind.opens_transaction:
        return f"A {kind.label.lower()} follows up an existing transaction."
    if amount.minor <= 0:
        return "The amount must be more than zero."
    return caps.unavailable_reason(kind, live=live) or caps.limit_reason(amount.currency, amount.minor)
