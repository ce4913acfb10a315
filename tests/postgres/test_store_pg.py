"""The repository and History's queries on PostgreSQL: the SQLite suites' own tests, run on this server.

The tests are imported from tests/unit and collected here, where the `db`, `repo` and `seeded` fixtures
are PostgreSQL ones; only SQLite-specific tests (files, locks, PRAGMAs) stay behind. What PostgreSQL does
differently (lengths refused as data errors, concurrent writers) is tested below.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import insert, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from terminal.domain.ledger import RuleViolation, Transaction
from terminal.domain.operations import OperationKind, OperationState
from terminal.store import statements as sql
from terminal.store.database import Database, open_database
from terminal.store.schema import operations, transactions
from terminal.store.transactions import TransactionRepository, _operation_values, _transaction_values
from tests.postgres.conftest import drop_terminal_tables
from tests.unit import test_queries as q
from tests.unit import test_store as s

# -- the SQLite suites' tests, on PostgreSQL ---------------------------------------------------------
test_transaction_round_trips_with_every_field = s.test_transaction_round_trips_with_every_field
test_transaction_without_operations_round_trips = s.test_transaction_without_operations_round_trips
test_update_card_records_the_summary = s.test_update_card_records_the_summary
test_operation_moves_through_legal_states = s.test_operation_moves_through_legal_states
test_illegal_update_is_refused = s.test_illegal_update_is_refused
test_stale_update_is_refused = s.test_stale_update_is_refused
test_idempotency_key_and_references_are_unique = s.test_idempotency_key_and_references_are_unique
test_append_needs_its_transaction_and_currency = s.test_append_needs_its_transaction_and_currency
test_naive_times_are_refused = s.test_naive_times_are_refused
test_unresolved_operations_oldest_first = s.test_unresolved_operations_oldest_first
test_page_is_newest_first_with_derived_rows = s.test_page_is_newest_first_with_derived_rows
test_search_and_gateway_filters = s.test_search_and_gateway_filters
test_schema_cannot_hold_card_numbers_or_security_codes = (
    s.test_schema_cannot_hold_card_numbers_or_security_codes
)
test_repository_refuses_card_numbers = s.test_repository_refuses_card_numbers
test_appended_operations_round_trip = s.test_appended_operations_round_trip

test_default_order_pages_through_everything_once = q.test_default_order_pages_through_everything_once
test_server_sort_matches_python_sort = q.test_server_sort_matches_python_sort
test_filters_by_profile_state_kind_and_dates = q.test_filters_by_profile_state_kind_and_dates
test_search_by_reference_customer_last_four_and_amount = (
    q.test_search_by_reference_customer_last_four_and_amount
)


@pytest.fixture(scope="module")
def seeded(pg_url: URL) -> Iterator[tuple[Database, list[Transaction]]]:
    """test_queries' few thousand transactions, as the repository writes them, in one bulk insert.

    (One `add` per row costs ~10 ms of round trips here; `add` itself is tested above.)
    """
    drop_terminal_tables(pg_url)
    database = open_database(url=pg_url)
    stored = [q.make(i) for i in range(q.ROWS)]
    ops = [_operation_values(op, seq) for tx in stored for seq, op in enumerate(tx.operations, start=1)]
    with database.engine.begin() as conn:
        conn.execute(insert(transactions), [_transaction_values(tx) for tx in stored])
        conn.execute(insert(operations), ops)
    yield database, stored
    database.close()


# -- what PostgreSQL does its own way ----------------------------------------------------------------


def test_database_refuses_long_card_digits_even_past_the_repository(db: Database) -> None:
    tx = s.make_tx()
    TransactionRepository(db.engine).add(tx)
    for column in ("card_last4", "card_first6"):
        # VARCHAR(n) itself refuses (a data error here; SQLite needs the CHECK constraints).
        with pytest.raises(DBAPIError, match=r"too long|check constraint"), db.engine.begin() as conn:
            conn.execute(
                text(f"UPDATE transactions SET {column} = :v WHERE id = :id"),  # noqa: S608 - fixed names
                {"v": s.PAN, "id": tx.id},
            )


def test_append_is_committed_when_it_returns(db: Database, repo: TransactionRepository) -> None:
    tx = s.make_tx((OperationKind.AUTHORIZE, 900, OperationState.SUCCEEDED))
    repo.add(tx)
    capture = s.make_op(tx.id, OperationKind.CAPTURE, 900, at=s.T0 + timedelta(hours=1))
    repo.append_operation(capture)
    # Another terminal (its own engine) sees it at once.
    other = open_database(url=db.url)
    try:
        stored = TransactionRepository(other.engine).get(tx.id)
    finally:
        other.close()
    assert stored is not None and [o.id for o in stored.operations][-1] == capture.id


def test_concurrent_appends_from_two_engines_are_serialised(db: Database) -> None:
    """Eight writers on two engines append to one journal with the ledger check: seq has no gap or twin,
    and the check under the lock lets exactly one capture in."""
    tx = s.make_tx((OperationKind.AUTHORIZE, 900, OperationState.SUCCEEDED))
    TransactionRepository(db.engine).add(tx)
    other = open_database(url=db.url)
    repos = [TransactionRepository(db.engine), TransactionRepository(other.engine)]
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def no_second_capture(stored: Transaction) -> str | None:
        busy = [o for o in stored.operations if o.kind is OperationKind.CAPTURE]
        return "The capture is still in progress." if busy else None

    def append(n: int) -> None:
        op = s.make_op(tx.id, OperationKind.CAPTURE, 900, at=s.T0 + timedelta(minutes=n))
        start.wait(timeout=10)
        try:
            repos[n % 2].append_operation(op, check=no_second_capture)
            outcomes.append("appended")
        except RuleViolation as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=append, args=(n,)) for n in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        other.close()
    assert sorted(outcomes) == ["The capture is still in progress."] * 7 + ["appended"]
    with db.engine.connect() as conn:
        seqs = conn.execute(
            text("SELECT seq FROM operations WHERE transaction_id = :t ORDER BY seq"), {"t": tx.id}
        ).scalars()
        assert list(seqs) == [1, 2]


def test_a_write_waiting_for_the_lock_reads_the_journal_as_committed_meanwhile(db: Database) -> None:
    """The lock is taken in a statement of its own: a write that waited for it then reads the journal the
    other write committed, not the one of the moment its locking statement began (READ COMMITTED)."""
    tx = s.make_tx((OperationKind.AUTHORIZE, 900, OperationState.SUCCEEDED))
    TransactionRepository(db.engine).add(tx)
    capture = s.make_op(
        tx.id, OperationKind.CAPTURE, 900, state=OperationState.SENT, at=s.T0 + timedelta(minutes=1)
    )
    seen: dict[str, object] = {}

    def second_writer() -> None:
        with db.engine.begin() as conn:
            locked = sql.lock_for_write(conn, tx.id)
            assert locked is not None
            seen["journal"] = [(op.id, op.state) for op in locked.journal]
            seen["last_seq"] = locked.last_seq

    with db.engine.connect() as first:
        with first.begin():
            assert sql.lock_for_write(first, tx.id) is not None
            waiting = threading.Thread(target=second_writer)
            waiting.start()
            waiting.join(timeout=1.0)
            assert waiting.is_alive()  # blocked on the transaction's row lock
            first.execute(insert(operations), _operation_values(capture, 2))
        waiting.join(timeout=10)
    assert seen == {
        "journal": [(tx.operations[0].id, OperationState.SUCCEEDED), (capture.id, OperationState.SENT)],
        "last_seq": 2,
    }
