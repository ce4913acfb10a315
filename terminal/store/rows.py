"""Row <-> domain conversion for the transaction repository (transactions.py), and what it refuses.

Split from transactions.py so the repository module holds the queries and this one the mapping: a
stored row becomes a Transaction or Operation, and a domain object becomes the values of its row.
Both directions go through here, so what is refused on the way in is refused in one place:

- times must be timezone-aware going in (stored in UTC) and always come out in UTC;
- a card keeps at most its first six and last four digits, and no free text or token that looks like a
  full card number (13-19 digits passing Luhn) is ever written.

The underscored names are private to the store package: transactions.py imports them (and the
PostgreSQL tests reach them through it), nothing outside terminal.store should.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row

from terminal.domain.declines import DeclineCode
from terminal.domain.ledger import CardSummary, Operation, Transaction
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.store import InvalidRecordError
from terminal.store.schema import (
    CARD_BRAND_LENGTH,
    CARD_EXPIRY_LENGTH,
    CARD_FIRST6_LENGTH,
    CARD_LAST4_LENGTH,
)

__all__ = ["summary_values"]

_PAN_LIKE = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")


# -- rows to domain objects ---------------------------------------------------------------------


def _transaction(row: Row[Any], ops: Sequence[Operation]) -> Transaction:
    return Transaction(
        id=row.id,
        gateway=row.gateway,
        profile=row.profile,
        merchant_reference=row.merchant_reference,
        currency=row.currency,
        created_at=_utc_out(row.created_at),
        operations=tuple(ops),
        customer_id=row.customer_id,
        customer_name=row.customer_name,
        description=row.description,
        card=CardSummary(
            brand=row.card_brand,
            first6=row.card_first6,
            last4=row.card_last4,
            expiry=row.card_expiry,
            token=row.card_token,
        ),
        sandbox=bool(row.sandbox),
        link_url=row.link_url,
        customer_email=row.customer_email,
        expires_at=_utc_out(row.expires_at) if row.expires_at is not None else None,
    )


def _operation(row: Any) -> Operation:
    """An operation from a row of `operations` (or anything with its columns as attributes)."""
    return Operation(
        id=row.id,
        transaction_id=row.transaction_id,
        kind=OperationKind(row.kind),
        amount=Money(int(row.amount_minor), row.currency),
        state=OperationState(row.state),
        idempotency_key=row.idempotency_key,
        merchant_reference=row.merchant_reference,
        created_at=_utc_out(row.created_at),
        updated_at=_utc_out(row.updated_at),
        operator=row.operator,
        gateway_reference=row.gateway_reference,
        approval_code=row.approval_code,
        decline_code=DeclineCode(row.decline_code) if row.decline_code is not None else None,
        gateway_code=row.gateway_code,
        gateway_message=row.gateway_message,
        avs_result=row.avs_result,
        cvc_result=row.cvc_result,
        reason=row.reason,
    )


# -- domain objects to rows ---------------------------------------------------------------------


def _transaction_values(tx: Transaction) -> dict[str, Any]:
    for name in ("customer_name", "description"):
        _refuse_card_number(getattr(tx, name), f"Transaction {tx.id} {name.replace('_', ' ')}")
    return {
        "id": tx.id,
        "gateway": tx.gateway,
        "profile": tx.profile,
        "merchant_reference": tx.merchant_reference,
        "currency": tx.currency,
        "customer_id": tx.customer_id,
        "customer_name": tx.customer_name,
        "description": tx.description,
        "sandbox": tx.sandbox,
        "created_at": _utc_in(tx.created_at, f"Transaction {tx.id} created_at"),
        "link_url": tx.link_url,
        "customer_email": tx.customer_email,
        "expires_at": (
            _utc_in(tx.expires_at, f"Transaction {tx.id} expires_at") if tx.expires_at is not None else None
        ),
        **_card_values(tx.card),
        **summary_values(tx),
    }


def summary_values(tx: Transaction) -> dict[str, Any]:
    """The history's summary columns of a transaction: opening kind and amount, derived state."""
    first = tx.first_operation
    return {
        "opening_kind": first.kind.value if first else "",
        "amount_minor": tx.amount.minor,
        "state": tx.state.value,
    }


def _card_values(card: CardSummary) -> dict[str, Any]:
    # Never echo the refused value: it may be the very card number we must not write anywhere.
    if card.first6 and not _digits(card.first6, CARD_FIRST6_LENGTH):
        raise InvalidRecordError(f"Card: the first digits must be at most {CARD_FIRST6_LENGTH} digits")
    if card.last4 and not _digits(card.last4, CARD_LAST4_LENGTH):
        raise InvalidRecordError(f"Card: the last digits must be at most {CARD_LAST4_LENGTH} digits")
    if len(card.expiry) > CARD_EXPIRY_LENGTH:
        raise InvalidRecordError(f"Card: the expiry must be at most {CARD_EXPIRY_LENGTH} characters (MM/YY)")
    if len(card.brand) > CARD_BRAND_LENGTH:
        raise InvalidRecordError(f"Card: the brand must be at most {CARD_BRAND_LENGTH} characters")
    _refuse_card_number(card.token, "Card: the token")
    return {
        "card_brand": card.brand,
        "card_first6": card.first6,
        "card_last4": card.last4,
        "card_expiry": card.expiry,
        "card_token": card.token,
    }


def _operation_values(op: Operation, seq: int) -> dict[str, Any]:
    return {
        "id": op.id,
        "transaction_id": op.transaction_id,
        "seq": seq,
        "kind": op.kind.value,
        "state": op.state.value,
        "amount_minor": op.amount.minor,
        "currency": op.amount.currency,
        "idempotency_key": op.idempotency_key,
        "merchant_reference": op.merchant_reference,
        "operator": op.operator,
        "gateway_reference": op.gateway_reference,
        "approval_code": op.approval_code,
        "decline_code": op.decline_code.value if op.decline_code is not None else None,
        "gateway_code": op.gateway_code,
        "gateway_message": op.gateway_message,
        "avs_result": op.avs_result,
        "cvc_result": op.cvc_result,
        "reason": op.reason,
        "created_at": _utc_in(op.created_at, f"Operation {op.id} created_at"),
        "updated_at": _utc_in(op.updated_at, f"Operation {op.id} updated_at"),
    }


# -- values --------------------------------------------------------------------------------------


def _utc_in(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidRecordError(f"{what} must be timezone-aware")
    return moment.astimezone(UTC)


def _utc_out(moment: datetime) -> datetime:
    # SQLite keeps the UTC wall time without its zone; PostgreSQL returns the session's zone.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _digits(text: str, at_most: int) -> bool:
    return len(text) <= at_most and text.isascii() and text.isdigit()


def _refuse_card_number(text: str, what: str) -> None:
    for match in _PAN_LIKE.finditer(text):
        if _luhn(re.sub(r"[ -]", "", match.group())):
            raise InvalidRecordError(f"{what} looks like a card number; card numbers are never stored")


def _luhn(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0
