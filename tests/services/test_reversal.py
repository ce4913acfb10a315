"""Reverse picks void or refund from the live state: the plan from the ledger and capabilities, then the
real payment service against the OGO simulator over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from terminal.assembly import Services, build_services
from terminal.domain.capabilities import Support
from terminal.domain.ledger import RuleViolation, TransactionState
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind
from terminal.services.reversal import plan_reversal, reverse
from tests.e2e.flows import hosted_payment, sim_ledger
from tests.unit.ledger_builders import K, S, caps, eur, op, tx

APPROVED = "4242424242424242"


# -- the plan: pure ledger and capabilities --------------------------------------------------------
def test_uncaptured_preauth_is_voided() -> None:
    plan = plan_reversal(tx(op(K.AUTHORIZE, 5000)), caps(), live=True)
    assert (plan.kind, plan.amount) == (K.VOID, None)
    assert plan.summary == "Void the payment"


def test_captured_money_is_refunded_what_remains() -> None:
    journal = tx(op(K.AUTHORIZE, 5000), op(K.CAPTURE, 4000), op(K.REFUND, 1000))
    plan = plan_reversal(journal, caps(), live=True)
    assert (plan.kind, plan.amount) == (K.REFUND, eur(3000))
    assert plan.summary == "Refund 30.00 EUR"


def test_sale_is_refunded_even_where_void_after_capture_is_allowed() -> None:
    plan = plan_reversal(tx(op(K.SALE, 1250)), caps(void_after_capture=True), live=True)
    assert (plan.kind, plan.amount) == (K.REFUND, eur(1250))


def test_no_refunds_but_void_after_capture_voids() -> None:
    no_refund = {k: Support.DOCUMENTED for k in OperationKind if k is not K.REFUND}
    plan = plan_reversal(tx(op(K.SALE, 1250)), caps(no_refund, void_after_capture=True), live=True)
    assert plan.kind is K.VOID
    assert "cannot be refunded" in plan.why


def test_neither_possible_says_why() -> None:
    no_refund = {k: Support.DOCUMENTED for k in OperationKind if k is not K.REFUND}
    with pytest.raises(RuleViolation, match="TestPay does not offer refund"):
        plan_reversal(tx(op(K.SALE, 1250)), caps(no_refund, void_after_capture=False), live=True)
    with pytest.raises(RuleViolation, match="unknown; resolve it first"):
        plan_reversal(tx(op(K.AUTHORIZE, 500), op(K.CAPTURE, 500, S.UNKNOWN)), caps(), live=True)
    with pytest.raises(RuleViolation, match="voided"):
        plan_reversal(tx(op(K.AUTHORIZE, 500), op(K.VOID, 500)), caps(), live=True)


# -- against the OGO simulator ----------------------------------------------------------------------
@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def services(tmp_path: Path, loop: asyncio.AbstractEventLoop) -> Iterator[Services]:
    built = build_services(tmp_path / "data", force_sandbox=True)
    try:
        yield built
    finally:
        loop.run_until_complete(built.aclose())


def effects(services: Services, kind: str) -> int:
    return sum(1 for e in sim_ledger(services) if e["effect"] and e["kind"] == kind)


def test_reverse_of_a_preauth_is_a_void(services: Services, loop: asyncio.AbstractEventLoop) -> None:
    auth = loop.run_until_complete(hosted_payment(services, APPROVED, 5000, kind=OperationKind.AUTHORIZE))
    assert auth.approved, auth.message
    kind, outcome = loop.run_until_complete(reverse(services.payments, auth.transaction.id))
    assert kind is OperationKind.VOID
    assert outcome.approved, outcome.message
    assert outcome.transaction.state is TransactionState.VOIDED
    assert effects(services, "refund") == 0
    with pytest.raises(RuleViolation, match="voided"):  # nothing is left to reverse
        loop.run_until_complete(reverse(services.payments, auth.transaction.id))


def test_reverse_of_a_sale_is_a_refund_of_what_remains(
    services: Services, loop: asyncio.AbstractEventLoop
) -> None:
    sale = loop.run_until_complete(hosted_payment(services, APPROVED, 10000))
    assert sale.approved, sale.message
    tx_id = sale.transaction.id
    part = loop.run_until_complete(services.payments.refund(tx_id, Money(2500, "LKR"), "one item back"))
    assert part.approved, part.message
    kind, outcome = loop.run_until_complete(reverse(services.payments, tx_id, reason="order cancelled"))
    assert kind is OperationKind.REFUND
    assert outcome.approved, outcome.message
    assert outcome.operation.amount == Money(7500, "LKR")
    assert outcome.operation.reason == "order cancelled"
    assert outcome.transaction.state is TransactionState.REFUNDED
    assert effects(services, "refund") == 2
