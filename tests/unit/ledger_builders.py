"""Small builders for operations, transactions and capabilities in ledger tests."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from terminal.domain.capabilities import Capabilities, Support
from terminal.domain.ledger import Operation, Transaction
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState

K = OperationKind
S = OperationState

T0 = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
TX_ID = "tx-1"
_ids = itertools.count(1)

ALL_DOCUMENTED: Mapping[OperationKind, Support] = dict.fromkeys(OperationKind, Support.DOCUMENTED)


def eur(minor: int) -> Money:
    """Minor units of euros."""
    return Money(minor, "EUR")


def op(
    kind: OperationKind,
    minor: int,
    state: OperationState = S.SUCCEEDED,
    *,
    currency: str = "EUR",
    tx_id: str = TX_ID,
    op_id: str | None = None,
) -> Operation:
    """An operation of `kind` for `minor` units, already in `state`."""
    n = next(_ids)
    return Operation(
        id=op_id or f"op-{n}",
        transaction_id=tx_id,
        kind=kind,
        amount=Money(minor, currency),
        state=state,
        idempotency_key=f"key-{n}",
        merchant_reference=f"REF-{n}",
        created_at=T0 + timedelta(seconds=n),
        updated_at=T0 + timedelta(seconds=n),
    )


def tx(*ops: Operation, currency: str = "EUR", tx_id: str = TX_ID) -> Transaction:
    """A transaction whose journal is `ops`, in order."""
    return Transaction(
        id=tx_id,
        gateway="testpay",
        profile="demo",
        merchant_reference="ORDER-1",
        currency=currency,
        created_at=T0,
        operations=tuple(ops),
    )


def caps(
    operations: Mapping[OperationKind, Support] | None = None,
    *,
    currencies: frozenset[str] = frozenset({"EUR"}),
    **flags: bool,
) -> Capabilities:
    """Capabilities of a 'TestPay' gateway: every operation documented and every flag on unless given."""
    options = {
        "partial_capture": True,
        "multiple_capture": True,
        "partial_refund": True,
        "multiple_refund": True,
        "void_after_capture": True,
    }
    options.update(flags)
    return Capabilities(
        gateway="testpay",
        display_name="TestPay",
        operations=dict(ALL_DOCUMENTED if operations is None else operations),
        currencies=currencies,
        **options,
    )
