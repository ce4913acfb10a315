"""The ledger and invoices (pay-by-link): a paid invoice took the money, so it is Captured and refundable
under the same rules as a sale; while it waits, or once cancelled, nothing can follow it up."""

from __future__ import annotations

import pytest

from terminal.domain.capabilities import Support
from terminal.domain.ledger import (
    TAKES_MONEY,
    RuleViolation,
    TransactionState,
    check_follow_up,
    follow_up_reason,
)
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from tests.unit.ledger_builders import ALL_DOCUMENTED, K, S, caps, eur, op, tx

INVOICE = (K.INVOICE, 1000)
SALE = (K.SALE, 1000)


def reason(t: object, kind: OperationKind, minor: int | None, **flags: bool) -> str | None:
    amount = None if minor is None else Money(minor, "EUR")
    return follow_up_reason(t, kind, amount, caps(**flags), live=False)  # type: ignore[arg-type]


# (journal, authorised, captured, refunded, refundable, state)
SHAPES: dict[str, tuple[tuple[tuple[OperationKind, int, OperationState], ...], int, int, int, int, str]] = {
    "invoice waiting for the customer": (((K.INVOICE, 1000, S.CHALLENGE),), 0, 0, 0, 0, "pending"),
    "invoice paid": (((K.INVOICE, 1000, S.SUCCEEDED),), 1000, 1000, 0, 1000, "captured"),
    "invoice cancelled or expired": (((K.INVOICE, 1000, S.DECLINED),), 0, 0, 0, 0, "declined"),
    "invoice outcome unknown": (((K.INVOICE, 1000, S.UNKNOWN),), 0, 0, 0, 0, "unknown"),
    "invoice paid + partial refund": (
        ((K.INVOICE, 1000, S.SUCCEEDED), (K.REFUND, 300, S.SUCCEEDED)),
        1000,
        1000,
        300,
        700,
        "partially_refunded",
    ),
    "invoice paid + full refund": (
        ((K.INVOICE, 1000, S.SUCCEEDED), (K.REFUND, 1000, S.SUCCEEDED)),
        1000,
        1000,
        1000,
        0,
        "refunded",
    ),
    "invoice paid + declined refund": (
        ((K.INVOICE, 1000, S.SUCCEEDED), (K.REFUND, 1000, S.DECLINED)),
        1000,
        1000,
        0,
        1000,
        "captured",
    ),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_amounts_and_state_of_an_invoice(shape: str) -> None:
    journal, authorised, captured, refunded, refundable, state = SHAPES[shape]
    t = tx(*(op(kind, minor, st) for kind, minor, st in journal))
    assert t.authorised == eur(authorised)
    assert t.captured == eur(captured)
    assert t.refunded == eur(refunded)
    assert t.capturable == eur(0)  # nothing is ever left to capture: the customer paid in full
    assert t.refundable == eur(refundable)
    assert t.state is TransactionState(state)
    assert t.state.label != "Authorised"


def test_a_paid_invoice_and_a_sale_are_alike() -> None:
    assert set(TAKES_MONEY) == {K.SALE, K.INVOICE}
    invoice, sale = tx(op(*INVOICE)), tx(op(*SALE))
    for t in (invoice, sale):
        assert t.state is TransactionState.CAPTURED
    for kind, minor in (
        (K.REFUND, 400),
        (K.REFUND, 1000),
        (K.REFUND, 1001),
        (K.CAPTURE, 100),
        (K.VOID, None),
    ):
        for flags in ({}, {"partial_refund": False}, {"void_after_capture": False}):
            assert reason(invoice, kind, minor, **flags) == reason(sale, kind, minor, **flags), (kind, flags)


def test_a_paid_invoice_is_refunded_in_part_then_in_full() -> None:
    t = tx(op(*INVOICE))
    assert reason(t, K.REFUND, 400) is None
    assert reason(t, K.REFUND, 1001) == "At most 10.00 EUR can be refunded."
    t = tx(op(*INVOICE), op(K.REFUND, 400))
    assert reason(t, K.REFUND, 600) is None
    assert reason(t, K.REFUND, 601) == "At most 6.00 EUR can be refunded."
    check_follow_up(t, K.REFUND, eur(600), caps(), live=False)


def test_a_paid_invoice_cannot_be_captured() -> None:
    assert reason(tx(op(*INVOICE)), K.CAPTURE, None) == "Only a pre-authorisation can be captured."


def test_one_refund_only_when_the_gateway_allows_one() -> None:
    t = tx(op(*INVOICE), op(K.REFUND, 300))
    assert reason(t, K.REFUND, 100, multiple_refund=False) == "TestPay allows one refund per payment."


def test_refund_only_where_the_gateway_refunds() -> None:
    offered = {kind: level for kind, level in ALL_DOCUMENTED.items() if kind is not K.REFUND}
    t = tx(op(*INVOICE))
    assert follow_up_reason(t, K.REFUND, eur(100), caps(offered), live=False) == (
        "TestPay does not offer refund."
    )
    with pytest.raises(RuleViolation):
        check_follow_up(t, K.REFUND, eur(100), caps(offered), live=False)
    sandbox_only = {**ALL_DOCUMENTED, K.REFUND: Support.SANDBOX_ONLY}
    assert follow_up_reason(t, K.REFUND, eur(100), caps(sandbox_only), live=False) is None
    assert follow_up_reason(t, K.REFUND, eur(100), caps(sandbox_only), live=True) is not None


@pytest.mark.parametrize("state", [S.CREATED, S.SENT, S.CHALLENGE])
def test_nothing_follows_an_invoice_not_paid_yet(state: OperationState) -> None:
    t = tx(op(K.INVOICE, 1000, state))
    for kind in (K.REFUND, K.VOID, K.CAPTURE):
        assert reason(t, kind, 100) == "The invoice is still in progress."


def test_nothing_follows_a_cancelled_invoice() -> None:
    t = tx(op(K.INVOICE, 1000, S.DECLINED))
    assert reason(t, K.REFUND, 100) == "The invoice was declined; there is nothing to follow up."
