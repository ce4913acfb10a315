"""Two captures of one pre-authorisation started at the same moment end with exactly one capture.

First from two windows of one terminal (one service), then from two terminals sharing one database (two
engines, two journals, two services: what a shared back office does). The store re-applies the ledger's
rules under its write lock, so the loser is refused before it sends anything, and the simulator's ledger
shows one completion.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.engine import URL

from terminal.assembly import Services
from terminal.domain.ledger import RuleViolation, TransactionState
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.services.journal import Journal
from terminal.services.payments import PaymentOutcome, PaymentService
from terminal.store.database import DATABASE_FILE, _sqlite_engine
from terminal.store.transactions import TransactionRepository
from tests.e2e.conftest import run
from tests.e2e.flows import arm_fault, hosted_payment, sim_ledger

APPROVED = "4242424242424242"


def _completions(services: Services) -> list[dict[str, object]]:
    return [e for e in sim_ledger(services) if e["kind"] == "completion" and e["effect"]]


async def _race(*captures: asyncio.Future[PaymentOutcome] | object) -> list[object]:
    return list(await asyncio.gather(*captures, return_exceptions=True))  # type: ignore[arg-type]


def _one_winner(results: list[object]) -> PaymentOutcome:
    winners = [r for r in results if isinstance(r, PaymentOutcome)]
    losers = [r for r in results if isinstance(r, RuleViolation)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert any(why in str(losers[0]) for why in ("in progress", "captured", "one capture")), losers
    return winners[0]


def test_two_windows_capture_at_once(services: Services) -> None:
    auth = run(hosted_payment(services, APPROVED, 8000, kind=OperationKind.AUTHORIZE))
    tx_id, amount = auth.transaction.id, Money(8000, auth.transaction.currency)
    # Slow the gateway so that both captures are in flight together.
    arm_fault(services, "/completion", "slow", delay_ms=300, times=2)
    results = run(_race(services.payments.capture(tx_id, amount), services.payments.capture(tx_id, amount)))
    winner = _one_winner(results)
    assert winner.approved and winner.transaction.state is TransactionState.CAPTURED
    assert len(_completions(services)) == 1
    stored = run(services.journal.get(tx_id))
    assert [o.kind for o in stored.operations] == [OperationKind.AUTHORIZE, OperationKind.CAPTURE]


def _second_terminal(services: Services) -> PaymentService:
    """Another terminal on the same database file: its own engine, journal worker and service."""
    path = services.database.path
    assert path is not None and path.name == DATABASE_FILE
    engine = _sqlite_engine(URL.create("sqlite+pysqlite", database=str(path)), memory=False)
    return PaymentService(Journal(TransactionRepository(engine)), services.profiles, operator="till-2")


@pytest.mark.parametrize("partial", [False, True])
def test_two_terminals_capture_at_once(services: Services, partial: bool) -> None:
    auth = run(hosted_payment(services, APPROVED, 9000, kind=OperationKind.AUTHORIZE))
    tx_id, currency = auth.transaction.id, auth.transaction.currency
    amount = Money(4000 if partial else 9000, currency)
    other = _second_terminal(services)
    arm_fault(services, "/completion", "slow", delay_ms=300, times=2)
    try:
        results = run(_race(services.payments.capture(tx_id, amount), other.capture(tx_id, amount)))
    finally:
        other.journal.close()
    winner = _one_winner(results)
    assert winner.approved
    assert len(_completions(services)) == 1
    stored = run(services.journal.get(tx_id))
    captures = [o for o in stored.operations if o.kind is OperationKind.CAPTURE]
    assert [o.state for o in captures] == [OperationState.SUCCEEDED]
    assert stored.captured == amount
