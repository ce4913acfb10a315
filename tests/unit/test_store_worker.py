"""The store's worker and group commit against a real SQLite file: writes queued together share one
commit, each fails alone, a failed commit fails them all, nothing is reported done before its commit,
order is kept; the light moves that skip the summary; the journal's `written`; the audit trail on a
worker shared with the journal."""

from __future__ import annotations

import asyncio
import itertools
import math
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import IntegrityError

from terminal.domain.ledger import Operation, RuleViolation, Transaction, TransactionState
from terminal.domain.operations import OperationKind, OperationState
from terminal.services.audit import AuditTrail, Event
from terminal.services.journal import Journal
from terminal.services.store_worker import GROUP_LIMIT, StoreWorker
from terminal.store import DuplicateError, DuplicateReferenceError
from terminal.store.audit import AuditRepository
from terminal.store.database import Database
from terminal.store.groups import write_groups
from terminal.store.rows import summary_values
from terminal.store.transactions import TransactionRepository, TransactionRow, _same_summary
from tests.unit import ledger_builders as lb
from tests.unit.test_store import make_op, make_tx

K = OperationKind
S = OperationState

# Seconds any single wait may take: every wait is bounded, so a lost future fails instead of hanging.
WAIT = 5.0
LIGHT = frozenset({S.CREATED, S.SENT, S.CHALLENGE})


@pytest.fixture
def worker(db: Database) -> Iterator[StoreWorker]:
    store = StoreWorker(write_groups(db.engine), name="store-test")
    yield store
    store.close()


def commits_of(engine: Engine) -> list[str]:
    """The names of the threads that commit on `engine` from now on, one entry per COMMIT."""
    seen: list[str] = []

    def on_commit(_conn: Connection) -> None:
        seen.append(threading.current_thread().name)

    event.listen(engine, "commit", on_commit)
    return seen


@contextmanager
def held(worker: StoreWorker) -> Iterator[None]:
    """The worker busy with a `run` job until the block ends: what is submitted inside queues up."""
    started, release = threading.Event(), threading.Event()

    def block() -> bool:
        started.set()
        return release.wait(WAIT)

    blocker = worker.submit(block)
    assert started.wait(WAIT)
    try:
        yield
    finally:
        release.set()
        assert blocker.result(WAIT) is True


def stored_operation_ids(db: Database) -> set[str]:
    """Operation ids as a second, plain sqlite3 connection sees them (committed data only)."""
    assert db.path is not None
    with sqlite3.connect(db.path) as other:
        return {row[0] for row in other.execute("SELECT id FROM operations")}


def sales_and_refunds(repo: TransactionRepository, count: int) -> tuple[list[Transaction], list[Operation]]:
    """`count` stored sales and a refund of each, not yet written."""
    sales = seeded_sales(repo, count)
    return sales, [make_op(sale.id, K.REFUND, 100, state=S.SUCCEEDED) for sale in sales]


def results(futures: list[Future[Any]]) -> list[Any]:
    return [future.result(WAIT) for future in futures]


def seeded_sales(repo: TransactionRepository, count: int) -> list[Transaction]:
    sales = [make_tx((K.SALE, 1000 + n, S.SUCCEEDED)) for n in range(count)]
    for sale in sales:
        repo.add(sale)
    return sales


# -- group commit ----------------------------------------------------------------------------------


def test_writes_queued_together_share_one_commit_and_finish_after_it(
    db: Database, repo: TransactionRepository, worker: StoreWorker
) -> None:
    sales, refunds = sales_and_refunds(repo, 4)
    commits = commits_of(db.engine)
    at_first_callback: dict[str, Any] = {}

    def first_done(_future: Future[Any]) -> None:
        # Runs as soon as the first write is reported done: its commit and every other's must be behind.
        at_first_callback["commits"] = len(commits)
        at_first_callback["visible"] = stored_operation_ids(db)

    with held(worker):
        futures = [worker.submit(partial(repo.append_operation, op), write=True) for op in refunds]
        futures[0].add_done_callback(first_done)
        assert not any(future.done() for future in futures)
        assert commits == []

    stored = results(futures)
    assert commits == ["store-test"]  # one COMMIT for the four writes, on the worker's thread
    assert at_first_callback["commits"] == 1
    assert {op.id for op in refunds} <= at_first_callback["visible"]
    for sale, refund, tx in zip(sales, refunds, stored, strict=True):
        assert tx == repo.get(sale.id)
        assert tx.operations[-1] == refund
        assert tx.state is TransactionState.PARTIALLY_REFUNDED
        assert TransactionRow.of(tx) in repo.page(0, 10)  # the summary columns were written too


def test_one_commit_takes_at_most_group_limit_writes(
    db: Database, repo: TransactionRepository, worker: StoreWorker
) -> None:
    count = GROUP_LIMIT + 8
    opened = [make_tx((K.SALE, 500 + n, S.CREATED)) for n in range(count)]
    commits = commits_of(db.engine)
    with held(worker):
        futures = [worker.submit(partial(repo.add, tx), write=True) for tx in opened]
    assert results(futures) == [None] * count
    assert len(commits) == math.ceil(count / GROUP_LIMIT) == 2
    assert repo.count() == count


def test_a_failing_write_fails_alone_and_leaves_nothing_behind(
    db: Database, repo: TransactionRepository, worker: StoreWorker
) -> None:
    (existing,) = seeded_sales(repo, 1)
    fresh = make_tx((K.SALE, 700, S.CREATED))
    same_reference = make_tx((K.SALE, 800, S.CREATED), reference=existing.merchant_reference)
    # Its transaction row and first operation are written before the second operation's stored
    # idempotency key is refused: the rollback must take the row and the first operation back too.
    half = make_tx((K.AUTHORIZE, 900, S.SUCCEEDED), (K.CAPTURE, 900, S.CREATED))
    clash = replace(half.operations[1], idempotency_key=existing.operations[0].idempotency_key)
    half = replace(half, operations=(half.operations[0], clash))
    refund = make_op(existing.id, K.REFUND, 200, state=S.SUCCEEDED)
    refused = make_op(existing.id, K.REFUND, 300)
    late = make_tx((K.SALE, 1100, S.CREATED))
    commits = commits_of(db.engine)

    with held(worker):
        futures: list[Future[Any]] = [
            worker.submit(partial(repo.add, fresh), write=True),
            worker.submit(partial(repo.add, same_reference), write=True),
            worker.submit(partial(repo.add, half), write=True),
            worker.submit(partial(repo.append_operation, refund), write=True),
            worker.submit(partial(repo.append_operation, refused, check=lambda tx: "no more"), write=True),
            worker.submit(partial(repo.add, late), write=True),
        ]

    ok_fresh, dup_ref, dup_key, ok_refund, violation, ok_late = futures
    assert ok_fresh.result(WAIT) is None and ok_late.result(WAIT) is None
    assert ok_refund.result(WAIT).operations[-1] == refund
    with pytest.raises(DuplicateReferenceError):
        dup_ref.result(WAIT)
    with pytest.raises(DuplicateError, match="Idempotency key"):
        dup_key.result(WAIT)
    with pytest.raises(RuleViolation, match="no more"):
        violation.result(WAIT)
    # The group was rolled back and its writes run again one by one: each survivor committed alone.
    assert len(commits) == 3

    assert repo.get(fresh.id) == fresh and repo.get(late.id) == late
    assert repo.get(same_reference.id) is None
    assert repo.get(half.id) is None and repo.operation(half.operations[0].id) is None
    stored = repo.get(existing.id)
    assert stored is not None and [op.id for op in stored.operations] == [
        existing.operations[0].id,
        refund.id,
    ]
    assert repo.count() == 3


def test_a_failing_commit_fails_only_the_write_that_breaks_it(
    db: Database, repo: TransactionRepository, worker: StoreWorker
) -> None:
    (existing,) = seeded_sales(repo, 1)
    fresh = make_tx((K.SALE, 700, S.CREATED))
    refund = make_op(existing.id, K.REFUND, 200, state=S.SUCCEEDED)
    groups = write_groups(db.engine)

    def orphan_the_sale() -> None:
        # Real SQLite: with deferred foreign keys the orphaned operations are refused only at COMMIT.
        with groups.begin() as conn:
            conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
            conn.exec_driver_sql("DELETE FROM transactions WHERE id = ?", (existing.id,))

    with held(worker):
        futures: list[Future[Any]] = [
            worker.submit(partial(repo.add, fresh), write=True),
            worker.submit(partial(repo.append_operation, refund), write=True),
            worker.submit(orphan_the_sale, write=True),
        ]
    failures = [future.exception(WAIT) for future in futures]
    # The group's COMMIT failed and nothing of it was kept; run again one by one, only the delete fails.
    assert failures[:2] == [None, None], failures
    assert isinstance(failures[2], IntegrityError) and "FOREIGN KEY" in str(failures[2])
    assert repo.get(fresh.id) == fresh
    stored = repo.get(existing.id)  # the delete was not kept; the refund was
    assert stored is not None and [op.id for op in stored.operations][-1] == refund.id

    # The worker goes on: the next write is committed.
    later = make_tx((K.SALE, 901, S.CREATED))
    assert worker.submit(partial(repo.add, later), write=True).result(WAIT) is None
    assert repo.get(later.id) == later


def test_a_failing_begin_fails_every_write_of_the_group(
    db: Database, repo: TransactionRepository, worker: StoreWorker
) -> None:
    opened = [make_tx((K.SALE, 100 + n, S.CREATED)) for n in range(3)]
    failing = threading.Event()

    class BeginRefused(Exception):
        pass

    def refuse_begin(_conn: Connection) -> None:
        if failing.is_set() and threading.current_thread().name == "store-test":
            raise BeginRefused("BEGIN refused")

    event.listen(db.engine, "begin", refuse_begin)
    try:
        with held(worker):
            failing.set()
            futures = [worker.submit(partial(repo.add, tx), write=True) for tx in opened]
        failures = [future.exception(1.0) for future in futures]
    finally:
        failing.clear()
        event.remove(db.engine, "begin", refuse_begin)
    assert all(isinstance(failure, BeginRefused) for failure in failures)
    assert repo.count() == 0


def test_reads_wait_for_the_writes_queued_before_them_and_writes_keep_their_order(
    db: Database, repo: TransactionRepository, worker: StoreWorker
) -> None:
    (sale,) = seeded_sales(repo, 1)
    first = make_op(sale.id, K.REFUND, 100)
    second = make_op(sale.id, K.REFUND, 200)
    ran: list[str] = []
    journal_lengths: list[int] = []

    def step(name: str, fn: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            ran.append(name)
            return fn()

        return run

    def second_check(stored: Transaction) -> str | None:
        journal_lengths.append(len(stored.operations))  # the earlier writes of the group, seen
        return None

    sent = first.moved_to(S.SENT, first.updated_at)
    done = sent.moved_to(S.SUCCEEDED, sent.updated_at, gateway_reference="GW-1")
    commits = commits_of(db.engine)
    with held(worker):
        futures = [
            worker.submit(step("append", partial(repo.append_operation, first)), write=True),
            worker.submit(
                step("sent", partial(repo.update_operation, sent, expected_state=S.CREATED)), write=True
            ),
            worker.submit(
                step("done", partial(repo.update_operation, done, expected_state=S.SENT)), write=True
            ),
            worker.submit(step("read", partial(repo.get, sale.id))),
            worker.submit(
                step("append 2", partial(repo.append_operation, second, check=second_check)), write=True
            ),
        ]
    appended, light, final, read, appended_again = results(futures)

    assert ran == ["append", "sent", "done", "read", "append 2"]
    assert light is None  # created -> sent leaves the summary: not read, not returned
    assert appended.operations[-1] == first and final.operations[-1] == done
    assert read == final  # the read saw the three writes queued before it
    assert read.state is TransactionState.PARTIALLY_REFUNDED
    assert journal_lengths == [2]
    assert appended_again.operations[-1] == second
    assert len(commits) == 2  # the three writes before the read together; the one after it alone


def test_close_finishes_queued_work_then_refuses_more(
    db: Database, repo: TransactionRepository, worker: StoreWorker
) -> None:
    opened = [make_tx((K.SALE, 100 + n, S.CREATED)) for n in range(5)]
    closing = threading.Thread(target=worker.close)
    with held(worker):
        writes = [worker.submit(partial(repo.add, tx), write=True) for tx in opened]
        count = worker.submit(repo.count)
        closing.start()
        refused = False
        for _ in range(500):  # bounded: until close() has marked the worker closed
            try:
                worker.submit(repo.count).cancel()
            except RuntimeError:
                refused = True
                break
            threading.Event().wait(0.01)
        assert refused
        assert closing.is_alive()  # close() waits for the queued work
        assert not any(future.done() for future in writes)
    closing.join(WAIT)
    assert not closing.is_alive()

    assert [future.result(0) for future in writes] == [None] * len(opened)
    assert count.result(0) == len(opened)
    assert repo.count() == len(opened)
    with pytest.raises(RuntimeError, match="closed"):
        worker.submit(repo.count, write=True)
    with pytest.raises(RuntimeError, match="closed"):
        asyncio.run(worker.write(repo.count))
    worker.close()  # again: nothing


# -- light moves ------------------------------------------------------------------------------------

OPENING = (K.SALE, K.AUTHORIZE, K.PAYOUT, K.INVOICE)
FOLLOW_UPS = (K.CAPTURE, K.VOID, K.REFUND)


def _journal(*entries: tuple[OperationKind, int, OperationState]) -> Transaction:
    return lb.tx(*(lb.op(kind, minor, state) for kind, minor, state in entries))


# A sale, a sale with refunds, a pre-authorisation with captures (and refunds), a voided one, a payout,
# an invoice; the operation that moves is each one in turn, the others as written here.
TEMPLATES = (
    _journal((K.SALE, 1000, S.SUCCEEDED)),
    _journal((K.SALE, 1000, S.SUCCEEDED), (K.REFUND, 300, S.SUCCEEDED), (K.REFUND, 700, S.SENT)),
    _journal((K.SALE, 1000, S.SUCCEEDED), (K.REFUND, 1000, S.SUCCEEDED), (K.REFUND, 1, S.DECLINED)),
    _journal(
        (K.AUTHORIZE, 1000, S.SUCCEEDED),
        (K.CAPTURE, 400, S.SUCCEEDED),
        (K.CAPTURE, 600, S.CREATED),
        (K.REFUND, 100, S.SUCCEEDED),
    ),
    _journal((K.AUTHORIZE, 1000, S.SUCCEEDED), (K.CAPTURE, 1000, S.SUCCEEDED), (K.REFUND, 50, S.UNKNOWN)),
    _journal((K.AUTHORIZE, 1000, S.SUCCEEDED), (K.VOID, 1000, S.SUCCEEDED)),
    _journal((K.AUTHORIZE, 1000, S.DECLINED)),
    _journal((K.PAYOUT, 2500, S.SUCCEEDED)),
    _journal((K.INVOICE, 4000, S.SUCCEEDED), (K.REFUND, 4000, S.CHALLENGE)),
)


def _with_state(tx: Transaction, index: int, state: OperationState) -> Transaction:
    # Straight to the state, whether or not the ledger allows the move: only the summary is compared.
    ops = list(tx.operations)
    ops[index] = replace(ops[index], state=state)
    return replace(tx, operations=tuple(ops))


def test_same_summary_is_exactly_the_moves_between_created_sent_and_challenge() -> None:
    for before, after in itertools.product(OperationState, repeat=2):
        assert _same_summary(before, after) is (before in LIGHT and after in LIGHT), (before, after)


def test_a_light_move_never_changes_the_summary() -> None:
    light_pairs = [pair for pair in itertools.product(OperationState, repeat=2) if _same_summary(*pair)]
    assert len(light_pairs) == len(LIGHT) ** 2
    checked = 0
    for template in TEMPLATES:
        for index in range(len(template.operations)):
            for before, after in light_pairs:
                was = _with_state(template, index, before)
                now = _with_state(template, index, after)
                assert summary_values(now) == summary_values(was), (template, index, before, after)
                checked += 1
    assert checked == 9 * sum(len(template.operations) for template in TEMPLATES)


def test_every_move_that_is_not_light_can_change_the_summary() -> None:
    # So the exclusions are needed: each such move changes some transaction's summary.
    for before, after in itertools.product(OperationState, repeat=2):
        if before is after or _same_summary(before, after):
            continue
        assert any(
            summary_values(_with_state(template, index, before))
            != summary_values(_with_state(template, index, after))
            for template in TEMPLATES
            for index in range(len(template.operations))
        ), (before, after)


@settings(max_examples=300, deadline=None)
@given(
    opening=st.sampled_from(OPENING),
    rest=st.lists(
        st.tuples(st.sampled_from(FOLLOW_UPS), st.integers(1, 2000), st.sampled_from(list(OperationState))),
        max_size=5,
    ),
    first_state=st.sampled_from(list(OperationState)),
    where=st.integers(0, 5),
    move=st.sampled_from(sorted(itertools.product(LIGHT, repeat=2))),
)
def test_a_light_move_never_changes_the_summary_of_any_journal(
    opening: OperationKind,
    rest: list[tuple[OperationKind, int, OperationState]],
    first_state: OperationState,
    where: int,
    move: tuple[OperationState, OperationState],
) -> None:
    tx = _journal((opening, 1000, first_state), *rest)
    index = where % len(tx.operations)
    before, after = move
    assert _same_summary(before, after)
    assert summary_values(_with_state(tx, index, after)) == summary_values(_with_state(tx, index, before))


def test_a_light_move_is_stored_and_the_history_row_still_matches(repo: TransactionRepository) -> None:
    tx = make_tx((K.AUTHORIZE, 1000, S.SUCCEEDED), (K.CAPTURE, 400, S.SUCCEEDED))
    repo.add(tx)
    capture = make_op(tx.id, K.CAPTURE, 600)
    repo.append_operation(capture)
    state = S.CREATED
    for following in (S.CHALLENGE, S.SENT):
        moved = repo.update_operation(replace(capture, state=following), expected_state=state)
        assert moved is None
        state = following
    stored = repo.get(tx.id)
    assert stored is not None and stored.operations[-1].state is S.SENT
    assert repo.page(0, 10) == [TransactionRow.of(stored)]
    final = repo.update_operation(replace(capture, state=S.SUCCEEDED), expected_state=S.SENT)
    assert final == repo.get(tx.id) and final is not None
    assert final.state is TransactionState.CAPTURED
    assert repo.page(0, 10) == [TransactionRow.of(final)]


# -- the journal and the audit trail on the worker --------------------------------------------------


def test_journal_written_is_the_stored_transaction_once(repo: TransactionRepository) -> None:
    ticks = itertools.count()
    india = timezone(timedelta(hours=5, minutes=30))

    def now() -> datetime:
        return datetime(2026, 11, 23, 14, 0, 0, 123456, tzinfo=india) + timedelta(seconds=next(ticks))

    journal = Journal(repo, now=now)
    tx = make_tx((K.SALE, 1000, S.CREATED))
    sale = tx.operations[0]

    async def scenario() -> dict[str, Any]:
        await journal.open(tx)
        sent = await journal.move(sale, S.SENT)
        after_sent = journal.written(sent)
        done = await journal.move(sent, S.SUCCEEDED, gateway_reference="GW-9", approval_code="A1")
        return {
            "after_sent": after_sent,
            "done": done,
            "written": journal.written(done),
            "again": journal.written(done),
            "stored": await journal.get(tx.id),
        }

    try:
        seen = asyncio.run(scenario())
    finally:
        journal.close()
    assert seen["after_sent"] is None  # a light move stores no transaction to hand back
    assert seen["written"] is not None
    assert seen["written"] == seen["stored"] == repo.get(tx.id)
    assert seen["written"].operations[0] == seen["done"]
    assert seen["written"].state is TransactionState.CAPTURED
    assert seen["again"] is None


def test_journal_written_is_none_for_an_operation_it_did_not_write_so(repo: TransactionRepository) -> None:
    journal = Journal(repo)
    tx = make_tx((K.SALE, 1000, S.SUCCEEDED))
    refund = make_op(tx.id, K.REFUND, 250)

    async def scenario() -> tuple[Transaction | None, ...]:
        await journal.open(tx)
        await journal.append(refund)
        elsewhere = replace(refund, state=S.SENT)  # not what this journal stored
        refused = journal.written(elsewhere), journal.written(refund)
        await journal.append(second := make_op(tx.id, K.REFUND, 100))
        # The journal's last write to a transaction answers for any operation it holds as given, once.
        return (*refused, journal.written(tx.operations[0]), journal.written(second))

    try:
        elsewhere, after_elsewhere, latest, taken = asyncio.run(scenario())
    finally:
        journal.close()
    assert elsewhere is None
    assert after_elsewhere is None  # taken (and refused) by the first call
    assert latest is not None and len(latest.operations) == 3 and latest == repo.get(tx.id)
    assert taken is None  # the last write's copy was taken by the call before


def test_audit_and_journal_share_a_worker_and_a_sound_chain(
    db: Database, repo: TransactionRepository, worker: StoreWorker
) -> None:
    journal = Journal(repo, worker=worker)
    audit = AuditTrail(AuditRepository(db.engine), worker=worker, workstation="till-1/tester")
    opened = [make_tx((K.SALE, 100 + n, S.CREATED)) for n in range(6)]
    entries = 10
    commits = commits_of(db.engine)

    async def scenario() -> list[Any]:
        started, release = threading.Event(), threading.Event()

        def block() -> bool:
            started.set()
            return release.wait(WAIT)

        blocker = asyncio.wrap_future(worker.submit(block))
        await asyncio.to_thread(started.wait, WAIT)
        tasks: list[asyncio.Future[Any]] = [asyncio.ensure_future(journal.open(tx)) for tx in opened]
        tasks += [
            asyncio.ensure_future(audit.arecord(Event.MONEY, target=f"tx-{n}", operator="cleo", n=n))
            for n in range(entries)
        ]
        await asyncio.sleep(0)  # every task submits its write before the worker is let go
        release.set()
        await blocker
        return await asyncio.wait_for(asyncio.gather(*tasks), WAIT)

    done = asyncio.run(scenario())
    records = done[len(opened) :]
    assert sorted(record.seq for record in records) == list(range(1, entries + 1))
    assert len(commits) == 1  # sixteen writes of two services, one commit
    result = audit.verify()
    assert result.ok, result.problem
    assert result.checked == entries
    assert [tx.id for tx in opened if repo.get(tx.id) == tx] == [tx.id for tx in opened]

    # Closing the services leaves the shared worker running for its owner.
    journal.close()
    audit.close()
    assert worker.submit(repo.count).result(WAIT) == len(opened)


def test_writes_before_a_failing_one_are_committed_together_and_the_rest_go_on(
    db: Database, repo: TransactionRepository, worker: StoreWorker
) -> None:
    (existing,) = seeded_sales(repo, 1)
    before = [make_tx((K.SALE, 200 + n, S.CREATED)) for n in range(3)]
    clash = make_tx((K.SALE, 300, S.CREATED), reference=existing.merchant_reference)
    after = [make_tx((K.SALE, 400 + n, S.CREATED)) for n in range(3)]
    commits = commits_of(db.engine)
    with held(worker):
        futures = [worker.submit(partial(repo.add, tx), write=True) for tx in [*before, clash, *after]]
    outcomes = [future.exception(WAIT) for future in futures]
    assert outcomes[:3] == [None] * 3 and outcomes[4:] == [None] * 3
    assert isinstance(outcomes[3], DuplicateReferenceError)
    # The three before the clash once more as a group, the clash alone (no commit), the three after as one.
    assert len(commits) == 2
    assert all(repo.get(tx.id) == tx for tx in [*before, *after]) and repo.get(clash.id) is None


def test_a_commit_whose_outcome_is_unknown_fails_every_write_and_runs_none_again(
    db: Database, repo: TransactionRepository, worker: StoreWorker
) -> None:
    opened = [make_tx((K.SALE, 500 + n, S.CREATED)) for n in range(3)]
    runs: list[str] = []
    lost = threading.Event()

    class ConnectionLost(Exception):
        connection_invalidated = True  # as SQLAlchemy marks a DBAPI error that lost the connection

    def commit_lost(_conn: Connection) -> None:
        if lost.is_set() and threading.current_thread().name == "store-test":
            raise ConnectionLost("server closed the connection during COMMIT")

    def add(tx: Transaction) -> None:
        runs.append(tx.id)
        repo.add(tx)

    event.listen(db.engine, "commit", commit_lost)
    try:
        with held(worker):
            lost.set()
            futures = [worker.submit(partial(add, tx), write=True) for tx in opened]
        failures = [future.exception(WAIT) for future in futures]
    finally:
        lost.clear()
        event.remove(db.engine, "commit", commit_lost)
    assert all(isinstance(failure, ConnectionLost) for failure in failures), failures
    assert runs == [tx.id for tx in opened]  # each ran once: none was tried again


def test_audit_entries_queued_soon_come_before_one_recorded_at_once_and_survive_a_failure(
    db: Database, worker: StoreWorker
) -> None:
    audit = AuditTrail(AuditRepository(db.engine), worker=worker, workstation="till-1/tester")
    failing = threading.Event()

    def refuse_once(_conn: Connection) -> None:
        if failing.is_set() and threading.current_thread().name == "store-test":
            failing.clear()  # the first attempt's commit fails; the second is let through
            raise sqlite3.OperationalError("disk I/O error")

    event.listen(db.engine, "commit", refuse_once)
    try:
        with held(worker):
            failing.set()
            audit.record_soon(Event.MONEY, target="tx-1", operator="cleo")
            audit.record_soon(Event.MONEY, target="tx-2", operator="cleo")
        # Recorded at once from this thread: written after the queued ones, whatever their first try did.
        audit.record(Event.SIGN_OUT, target="cleo", operator="cleo")
    finally:
        event.remove(db.engine, "commit", refuse_once)
    entries = list(reversed(audit.latest(10)))
    assert [e.target for e in entries] == ["tx-1", "tx-2", "cleo"], entries
    assert audit.verify().ok


# -- handing results back to the event loop --------------------------------------------------------


def test_awaited_writes_of_one_group_wake_their_loop_once(
    db: Database, repo: TransactionRepository, worker: StoreWorker
) -> None:
    _, refunds = sales_and_refunds(repo, 5)
    commits = commits_of(db.engine)

    async def scenario() -> list[Transaction]:
        loop = asyncio.get_running_loop()
        wakeups: list[Any] = []
        original = loop.call_soon_threadsafe

        def counted(callback: Any, *args: Any) -> Any:
            wakeups.append(callback)
            return original(callback, *args)

        loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
        try:
            with held(worker):
                tasks = [
                    asyncio.ensure_future(worker.write(partial(repo.append_operation, op))) for op in refunds
                ]
                await asyncio.sleep(0.05)  # every write is queued behind the held worker
                assert not any(task.done() for task in tasks)
            stored = await asyncio.wait_for(asyncio.gather(*tasks), WAIT)
        finally:
            loop.call_soon_threadsafe = original  # type: ignore[method-assign]
        # The held `run` job is waited on with a plain future; the five writes share one wake-up.
        assert len(wakeups) == 1
        return stored

    stored = asyncio.run(scenario())
    assert commits == ["store-test"]
    assert [tx.operations[-1] for tx in stored] == refunds
    assert all(tx == repo.get(tx.id) for tx in stored)


def sale_and_refund(repo: TransactionRepository) -> tuple[Transaction, Operation]:
    """A stored sale and a refund of it, not yet written."""
    sales, refunds = sales_and_refunds(repo, 1)
    return sales[0], refunds[0]


def test_a_failing_write_and_a_read_reach_their_awaiting_coroutines(
    repo: TransactionRepository, worker: StoreWorker
) -> None:
    sale, copy = sale_and_refund(repo)

    async def scenario() -> None:
        first = await worker.write(partial(repo.append_operation, copy))
        assert first.operations[-1] == copy
        with pytest.raises(DuplicateError):
            await worker.write(partial(repo.append_operation, copy))
        assert await worker.run(partial(repo.get, sale.id)) == first

    asyncio.run(scenario())


def test_an_awaited_write_cancelled_before_it_starts_never_runs(
    repo: TransactionRepository, worker: StoreWorker
) -> None:
    sale, refund = sale_and_refund(repo)

    async def scenario() -> None:
        with held(worker):
            task = asyncio.ensure_future(worker.write(partial(repo.append_operation, refund)))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        await worker.run(lambda: None)  # everything queued before has been dealt with

    asyncio.run(scenario())
    assert repo.get(sale.id) == sale  # the cancelled write was never run


def test_an_exception_asyncio_will_not_carry_strands_no_other_waiter(
    repo: TransactionRepository, worker: StoreWorker
) -> None:
    _, refunds = sales_and_refunds(repo, 2)

    def odd() -> None:
        raise StopIteration  # a coroutine's waiter cannot be given this one as it is

    async def scenario() -> None:
        with held(worker):
            first = asyncio.ensure_future(worker.write(partial(repo.append_operation, refunds[0])))
            broken = asyncio.ensure_future(worker.write(odd))
            last = asyncio.ensure_future(worker.write(partial(repo.append_operation, refunds[1])))
            await asyncio.sleep(0.05)
        done = await asyncio.wait_for(asyncio.gather(first, broken, last, return_exceptions=True), WAIT)
        assert done[0].operations[-1] == refunds[0]
        assert isinstance(done[1], RuntimeError) and "StopIteration" in str(done[1])
        assert done[2].operations[-1] == refunds[1]

    asyncio.run(scenario())
