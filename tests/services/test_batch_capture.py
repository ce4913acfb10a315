"""End of day against the OGO simulator: open pre-authorisations captured in one batch, each exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from terminal.assembly import Services, build_services
from terminal.domain.ledger import TransactionState
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.services.batch import BatchCapture, BatchProgress
from tests.e2e.conftest import run
from tests.e2e.flows import arm_fault, hosted_payment, sim_ledger

APPROVED = "4242424242424242"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = build_services(tmp_path / "data", force_sandbox=True)
    try:
        yield built
    finally:
        run(built.aclose())


def completions(services: Services) -> list[dict[str, object]]:
    return [e for e in sim_ledger(services) if e["effect"] and e["kind"] == "completion"]


def preauths(services: Services, count: int, minor: int = 1000) -> list[str]:
    ids = []
    for n in range(count):
        auth = run(
            hosted_payment(services, APPROVED, minor + n, kind=OperationKind.AUTHORIZE, reference=f"EOD-{n}")
        )
        assert auth.approved, auth.message
        ids.append(auth.transaction.id)
    return ids


def test_candidates_are_the_open_preauthorisations_only(services: Services) -> None:
    open_ids = preauths(services, 3)
    sale = run(hosted_payment(services, APPROVED, 500, reference="EOD-SALE"))
    assert sale.approved
    run(services.payments.void(open_ids[2]))
    partly = open_ids[1]
    run(services.payments.capture(partly, Money(100, "LKR")))
    batch = BatchCapture(services.payments)
    assert [tx.id for tx in run(batch.candidates())] == [open_ids[0]]


def test_batch_captures_each_preauthorisation_once_with_progress(services: Services) -> None:
    ids = preauths(services, 6)
    batch = BatchCapture(services.payments, concurrency=4)
    seen: list[BatchProgress] = []
    summary = run(batch.run(ids + ids[:2], seen.append))  # a doubled id is still one capture
    assert len(summary.captured) == 6, summary.text
    assert summary.declined == summary.unknown == summary.skipped == summary.not_started == []
    assert [p.done for p in seen] == [1, 2, 3, 4, 5, 6] and {p.total for p in seen} == {6}
    assert len(completions(services)) == 6
    for tx_id in ids:
        tx = run(services.history.transaction(tx_id))
        assert tx.state is TransactionState.CAPTURED and tx.captured == tx.authorised
    assert run(batch.candidates()) == []
    again = run(batch.run(ids))  # a second run sends nothing: the rules refuse each one
    assert len(again.skipped) == 6 and again.captured == []
    assert len(completions(services)) == 6
    assert "6 captured, 0 declined, 0 unknown" in summary.text


def test_cancel_stops_starting_new_captures_and_records_those_in_flight(services: Services) -> None:
    ids = preauths(services, 6)
    batch = BatchCapture(services.payments, concurrency=2)

    def cancel_after_first(progress: BatchProgress) -> None:
        if progress.done == 1:
            batch.cancel()

    summary = run(batch.run(ids, cancel_after_first))
    assert summary.cancelled
    # The first finished; the other one in flight then finished too; nothing else started.
    assert len(summary.captured) == 2, summary.text
    assert len(summary.not_started) == 4
    assert len(completions(services)) == 2
    assert "not started" in summary.text
    left = [tx.id for tx in run(batch.candidates())]
    assert sorted(left) == sorted(summary.not_started)


def test_lost_capture_answer_stays_unknown_and_is_never_resent(services: Services) -> None:
    ids = preauths(services, 3)
    arm_fault(services, "/completion", "timeout_after_commit", delay_ms=300)
    batch = BatchCapture(services.payments, concurrency=1)
    summary = run(batch.run(ids))
    assert len(summary.unknown) == 1 and len(summary.captured) == 2, summary.text
    lost = summary.unknown[0]
    assert lost.operation.state is OperationState.UNKNOWN
    assert len(completions(services)) == 3  # the simulator did capture it, once
    assert lost.transaction.id not in [tx.id for tx in run(batch.candidates())]
    again = run(batch.run(ids))
    assert again.captured == [] and len(again.skipped) == 3
    assert len(completions(services)) == 3
    assert "Needs attention" in summary.text
