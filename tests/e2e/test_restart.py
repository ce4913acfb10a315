"""A restart keeps the history, and operations an earlier run left open are reconciled, never re-sent."""

from __future__ import annotations

from pathlib import Path

from terminal.assembly import build_services
from terminal.domain.ledger import Transaction, TransactionState
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.services.journal import new_id
from tests.e2e.conftest import run
from tests.e2e.flows import hosted_payment, sim_ledger


def test_history_survives_and_open_operations_are_reconciled(data_dir: Path) -> None:
    first = build_services(data_dir, force_sandbox=True)
    try:
        approved = run(hosted_payment(first, "4242424242424242", 1500, reference="KEEP-1"))
        assert approved.approved
        profile = first.profiles.all()[0]
        # A run that stopped at each point of the write-ahead protocol:
        never_sent = Transaction(
            new_id(), profile.gateway, profile.id, "CRASH-CREATED", "LKR", first.journal.now(), sandbox=True
        )
        op = first.journal.new_operation(
            never_sent, OperationKind.SALE, Money(100, "LKR"), "CRASH-CREATED", "t"
        )
        run(first.journal.open(never_sent.with_operation(op)))
        page_open = run(
            first.payments.begin_hosted(
                profile.id,
                OperationKind.SALE,
                Money(200, "LKR"),
                return_url="http://127.0.0.1:9/r",
                merchant_reference="CRASH-PAGE",
            )
        )
        in_flight = run(
            first.payments.begin_hosted(
                profile.id,
                OperationKind.SALE,
                Money(300, "LKR"),
                return_url="http://127.0.0.1:9/r",
                merchant_reference="CRASH-SENT",
            )
        )
        sent = run(first.journal.move(in_flight.operation, OperationState.SENT))
        charged_before = [e for e in sim_ledger(first) if e["effect"]]
    finally:
        run(first.aclose())

    second = build_services(data_dir, force_sandbox=True)
    try:
        assert run(second.history.count()) == 4
        kept = run(second.history.transaction(approved.transaction.id))
        assert kept.state is TransactionState.CAPTURED and kept.card.last4 == "4242"
        report = run(second.reconciler.run())
        states = {op.merchant_reference: op.state for op in report.resolved + report.needs_attention}
        assert states == {
            "CRASH-CREATED": OperationState.FAILED,
            "CRASH-PAGE": OperationState.FAILED,
            "CRASH-SENT": OperationState.UNKNOWN,
        }
        assert [op.id for op in report.needs_attention] == [sent.id]
        assert page_open.operation.id in {op.id for op in report.resolved}
        # Nothing was sent again by the restart (the new run has a fresh simulator: no effects at all).
        assert [e for e in sim_ledger(second) if e["effect"]] == []
        assert len(charged_before) == 1
        again = run(second.reconciler.run())
        assert again.resolved == [] and [op.id for op in again.needs_attention] == [sent.id]
    finally:
        run(second.aclose())
