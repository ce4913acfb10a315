"""The store against real SQLite files: round trips, the write-ahead journal, history, opening and locking."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from terminal.domain.declines import DeclineCode
from terminal.domain.ledger import CardSummary, Operation, Transaction, TransactionState
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState, TransitionError
from terminal.store import (
    DatabaseInUseError,
    DataDirectoryError,
    DuplicateError,
    IllegalTransitionError,
    InvalidRecordError,
    NotADatabaseError,
    NotFoundError,
    StaleOperationError,
    StoreError,
)
from terminal.store.database import DATABASE_FILE, Database, default_data_dir, open_database
from terminal.store.transactions import TransactionRepository, TransactionRow

T0 = datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
PAN = "4111111111111111"


def new_id() -> str:
    return uuid.uuid4().hex


def make_op(
    tx_id: str,
    kind: OperationKind = OperationKind.SALE,
    minor: int = 1250,
    currency: str = "EUR",
    *,
    state: OperationState = OperationState.CREATED,
    at: datetime = T0,
    **fields: object,
) -> Operation:
    return Operation(
        id=new_id(),
        transaction_id=tx_id,
        kind=kind,
        amount=Money(minor, currency),
        state=state,
        idempotency_key=str(uuid.uuid4()),
        merchant_reference=f"REF-{new_id()[:8]}",
        created_at=at,
        updated_at=at,
        operator="alice",
        **fields,  # type: ignore[arg-type]
    )


def make_tx(
    *ops: tuple[OperationKind, int, OperationState],
    currency: str = "EUR",
    at: datetime = T0,
    reference: str | None = None,
    **fields: object,
) -> Transaction:
    tx_id = new_id()
    tx = Transaction(
        id=tx_id,
        gateway=str(fields.pop("gateway", "ogopay")),
        profile=str(fields.pop("profile", "main")),
        merchant_reference=reference or f"MT-{tx_id[:10]}",
        currency=currency,
        created_at=at,
        **fields,  # type: ignore[arg-type]
    )
    for index, (kind, minor, state) in enumerate(ops):
        tx = tx.with_operation(
            make_op(tx_id, kind, minor, currency, state=state, at=at + timedelta(seconds=index))
        )
    return tx


# -- round trips ---------------------------------------------------------------------------------


def test_transaction_round_trips_with_every_field(repo: TransactionRepository) -> None:
    paris = timezone(timedelta(hours=2))
    tx = Transaction(
        id=new_id(),
        gateway="connect",
        profile="shop-1",
        merchant_reference="MT-0001",
        currency="OMR",
        created_at=datetime(2025, 6, 1, 14, 0, 0, 42, tzinfo=paris),
        customer_id="C-77",
        customer_name="Zoë O'Brien",
        description="Two nights, room 12",
        card=CardSummary(brand="Visa", first6="411111", last4="1111", expiry="12/29", token="tok_abc"),
        sandbox=True,
    )
    auth = make_op(
        tx.id,
        OperationKind.AUTHORIZE,
        12_345,
        "OMR",
        state=OperationState.SUCCEEDED,
        at=tx.created_at,
        gateway_reference="GW-1",
        approval_code="A1B2C3",
        gateway_code="00",
        gateway_message="Approved",
        avs_result="Y",
        cvc_result="M",
    )
    capture = make_op(
        tx.id,
        OperationKind.CAPTURE,
        10_000,
        "OMR",
        state=OperationState.DECLINED,
        at=tx.created_at + timedelta(minutes=5),
        decline_code=DeclineCode.LIMIT_EXCEEDED,
        gateway_code="61",
        gateway_message="Exceeds limit",
        reason="partial stay",
    )
    tx = tx.with_operation(auth).with_operation(capture)
    repo.add(tx)

    stored = repo.get(tx.id)
    assert stored == tx
    assert stored is not None
    assert stored.created_at.tzinfo is UTC
    assert stored.created_at == datetime(2025, 6, 1, 12, 0, 0, 42, tzinfo=UTC)
    assert all(op.created_at.tzinfo is UTC and op.updated_at.tzinfo is UTC for op in stored.operations)
    assert [op.id for op in stored.operations] == [auth.id, capture.id]
    assert stored.operations[1].decline_code is DeclineCode.LIMIT_EXCEEDED
    assert stored.operations[0].amount == Money(12_345, "OMR")
    assert stored.state is TransactionState.AUTHORISED
    assert repo.get_by_reference("connect", "shop-1", "MT-0001") == tx
    assert repo.get_by_reference("connect", "shop-2", "MT-0001") is None
    assert repo.operation(capture.id) == capture
    assert repo.get("missing") is None
    assert repo.operation("missing") is None


def test_transaction_without_operations_round_trips(repo: TransactionRepository) -> None:
    tx = make_tx()
    repo.add(tx)
    assert repo.get(tx.id) == tx


def test_update_card_records_the_summary(repo: TransactionRepository) -> None:
    tx = make_tx((OperationKind.SALE, 500, OperationState.CREATED))
    repo.add(tx)
    card = CardSummary(brand="Mastercard", first6="555555", last4="4444", expiry="01/30", token="tk-9")
    repo.update_card(tx.id, card)
    stored = repo.get(tx.id)
    assert stored is not None
    assert stored.card == card
    with pytest.raises(NotFoundError):
        repo.update_card("missing", card)


# -- the write-ahead journal ---------------------------------------------------------------------


def test_append_is_committed_when_it_returns(db: Database, repo: TransactionRepository) -> None:
    tx = make_tx((OperationKind.AUTHORIZE, 900, OperationState.SUCCEEDED))
    repo.add(tx)
    capture = make_op(tx.id, OperationKind.CAPTURE, 900, at=T0 + timedelta(hours=1))
    repo.append_operation(capture)

    # Another connection, as after a crash, sees the row at once.
    assert db.path is not None
    with sqlite3.connect(db.path) as other:
        rows = other.execute(
            "SELECT seq, state, idempotency_key FROM operations WHERE transaction_id = ? ORDER BY seq",
            (tx.id,),
        ).fetchall()
    assert rows[-1] == (2, "created", capture.idempotency_key)
    assert len(rows) == 2


def test_operation_moves_through_legal_states(repo: TransactionRepository) -> None:
    tx = make_tx()
    repo.add(tx)
    op = make_op(tx.id, OperationKind.SALE, 700)
    repo.append_operation(op)
    at = T0
    for state in (OperationState.SENT, OperationState.CHALLENGE, OperationState.SENT, OperationState.UNKNOWN):
        at += timedelta(seconds=3)
        op = op.moved_to(state, at)
        repo.update_operation(op)
        assert repo.operation(op.id) == op
    at += timedelta(seconds=3)
    op = op.moved_to(OperationState.SUCCEEDED, at, gateway_reference="G-9", approval_code="123456")
    repo.update_operation(op, expected_state=OperationState.UNKNOWN)
    stored = repo.get(tx.id)
    assert stored is not None
    assert stored.operations == (op,)
    assert stored.state is TransactionState.CAPTURED


def test_illegal_update_is_refused(repo: TransactionRepository) -> None:
    tx = make_tx((OperationKind.SALE, 700, OperationState.SUCCEEDED))
    repo.add(tx)
    done = tx.operations[0]
    # A transition the journal forbids, forced past the domain object's own check.
    with pytest.raises(IllegalTransitionError, match="cannot go from succeeded to declined") as caught:
        repo.update_operation(replace(done, state=OperationState.DECLINED))
    assert isinstance(caught.value, TransitionError)
    assert isinstance(caught.value, StoreError)
    # The same state again is not a transition either.
    with pytest.raises(IllegalTransitionError):
        repo.update_operation(replace(done, gateway_message="changed"))
    # Fixed fields never change.
    pending = make_op(tx.id, OperationKind.REFUND, 100, at=T0 + timedelta(days=1))
    repo.append_operation(pending)
    with pytest.raises(InvalidRecordError, match="amount"):
        repo.update_operation(replace(pending.moved_to(OperationState.SENT, T0), amount=Money(999, "EUR")))
    with pytest.raises(InvalidRecordError, match="idempotency_key"):
        repo.update_operation(replace(pending.moved_to(OperationState.SENT, T0), idempotency_key="other"))
    with pytest.raises(NotFoundError):
        repo.update_operation(replace(pending, id="missing").moved_to(OperationState.SENT, T0))
    assert repo.get(tx.id) == tx.with_operation(pending)


def test_stale_update_is_refused(repo: TransactionRepository) -> None:
    tx = make_tx((OperationKind.SALE, 700, OperationState.SENT))
    repo.add(tx)
    sent = tx.operations[0]
    first = sent.moved_to(OperationState.UNKNOWN, T0 + timedelta(seconds=30))
    late = sent.moved_to(OperationState.DECLINED, T0 + timedelta(seconds=31), decline_code=DeclineCode.OTHER)
    repo.update_operation(first, expected_state=OperationState.SENT)
    # The second writer worked from the `sent` copy: refused, the stored outcome stands.
    with pytest.raises(StaleOperationError, match="updated meanwhile"):
        repo.update_operation(late, expected_state=OperationState.SENT)
    assert repo.operation(sent.id) == first
    # Once final, nothing moves it again, whatever the caller expected.
    resolved = first.moved_to(OperationState.SUCCEEDED, T0 + timedelta(minutes=5))
    repo.update_operation(resolved)
    with pytest.raises(IllegalTransitionError):
        repo.update_operation(late)
    assert repo.operation(sent.id) == resolved


def test_idempotency_key_and_references_are_unique(repo: TransactionRepository) -> None:
    tx = make_tx((OperationKind.SALE, 700, OperationState.SUCCEEDED), reference="MT-DUP")
    repo.add(tx)
    reused = replace(
        make_op(tx.id, OperationKind.REFUND, 100), idempotency_key=tx.operations[0].idempotency_key
    )
    with pytest.raises(DuplicateError, match="Idempotency key"):
        repo.append_operation(reused)
    with pytest.raises(DuplicateError, match="already stored"):
        repo.append_operation(tx.operations[0])
    with pytest.raises(DuplicateError, match="MT-DUP"):
        repo.add(make_tx((OperationKind.SALE, 1, OperationState.CREATED), reference="MT-DUP"))
    with pytest.raises(DuplicateError, match="already stored"):
        repo.add(tx)
    # The same reference at another profile is another transaction.
    repo.add(make_tx((OperationKind.SALE, 1, OperationState.CREATED), reference="MT-DUP", profile="other"))
    assert repo.get(tx.id) == tx


def test_append_needs_its_transaction_and_currency(repo: TransactionRepository) -> None:
    with pytest.raises(NotFoundError, match="not stored"):
        repo.append_operation(make_op("missing"))
    tx = make_tx((OperationKind.SALE, 700, OperationState.SUCCEEDED))
    repo.add(tx)
    with pytest.raises(InvalidRecordError, match="USD"):
        repo.append_operation(make_op(tx.id, OperationKind.REFUND, 100, "USD"))


def test_naive_times_are_refused(repo: TransactionRepository) -> None:
    with pytest.raises(InvalidRecordError, match="timezone-aware"):
        repo.add(make_tx(at=datetime(2025, 1, 1, 12, 0)))


def test_unresolved_operations_oldest_first(repo: TransactionRepository) -> None:
    settled = make_tx((OperationKind.SALE, 100, OperationState.SUCCEEDED), at=T0)
    unknown = make_tx((OperationKind.SALE, 200, OperationState.UNKNOWN), at=T0 + timedelta(minutes=2))
    created = make_tx((OperationKind.AUTHORIZE, 300, OperationState.CREATED), at=T0 + timedelta(minutes=1))
    challenge = make_tx((OperationKind.SALE, 400, OperationState.CHALLENGE), at=T0 + timedelta(minutes=4))
    followed = make_tx(
        (OperationKind.AUTHORIZE, 500, OperationState.SUCCEEDED),
        (OperationKind.CAPTURE, 500, OperationState.SENT),
        at=T0 - timedelta(days=1),
    )
    for tx in (settled, unknown, created, challenge, followed):
        repo.add(tx)

    found = repo.unresolved_operations()
    assert [(tx.id, op.id) for tx, op in found] == [
        (followed.id, followed.operations[1].id),
        (created.id, created.operations[0].id),
        (unknown.id, unknown.operations[0].id),
        (challenge.id, challenge.operations[0].id),
    ]
    assert found[0][0] == followed
    assert all(op in tx.operations for tx, op in found)


# -- history -------------------------------------------------------------------------------------


def _history(repo: TransactionRepository) -> list[Transaction]:
    kept = []
    for index in range(25):
        tx = make_tx(
            (
                OperationKind.SALE if index % 2 else OperationKind.AUTHORIZE,
                100 + index,
                OperationState.SUCCEEDED,
            ),
            at=T0 + timedelta(minutes=index),
            reference=f"MT-{index:04d}",
            gateway="ompay" if index % 3 else "paymentz",
            customer_name=f"Customer {index}" if index != 7 else "Ada LOVELACE",
            customer_id=f"cust-{index}",
            card=CardSummary(brand="Visa", last4=f"{4200 + index}"),
            sandbox=index % 2 == 0,
        )
        repo.add(tx)
        kept.append(tx)
    return kept


def test_page_is_newest_first_with_derived_rows(repo: TransactionRepository) -> None:
    kept = _history(repo)
    first = repo.page(0, 10)
    assert [row.merchant_reference for row in first] == [f"MT-{i:04d}" for i in range(24, 14, -1)]
    assert [row.merchant_reference for row in repo.page(20, 10)] == [f"MT-{i:04d}" for i in range(4, -1, -1)]
    assert repo.page(30, 10) == []
    assert repo.count() == 25

    top = kept[24]
    assert first[0] == TransactionRow(
        id=top.id,
        created_at=top.created_at,
        merchant_reference="MT-0024",
        gateway="paymentz",
        profile="main",
        amount=Money(124, "EUR"),
        state=TransactionState.AUTHORISED,
        kind=OperationKind.AUTHORIZE,
        card_brand="Visa",
        card_last4="4224",
        customer_name="Customer 24",
        sandbox=True,
    )
    assert first[1].state is TransactionState.CAPTURED
    assert first[1].kind is OperationKind.SALE


def test_search_and_gateway_filters(repo: TransactionRepository) -> None:
    kept = _history(repo)
    refs = lambda rows: sorted(row.merchant_reference for row in rows)  # noqa: E731

    assert refs(repo.page(0, 50, search="mt-001")) == [f"MT-{i:04d}" for i in range(10, 20)]
    assert repo.count(search="mt-001") == 10
    assert refs(repo.page(0, 50, search="4207")) == ["MT-0007"]
    assert refs(repo.page(0, 50, search="lovelace")) == ["MT-0007"]
    assert refs(repo.page(0, 50, search="  CUST-13 ")) == ["MT-0013"]
    assert refs(repo.page(0, 50, search="0001")) == []  # no prefix in "MT-0001", no last four 0001
    assert repo.count(search="%") == 0  # LIKE wildcards are literal
    assert repo.count(search="_") == 0
    assert repo.count(gateway="paymentz") == 9
    assert refs(repo.page(0, 50, search="mt-002", gateway="paymentz")) == ["MT-0021", "MT-0024"]

    tx = kept[3]
    follow = make_op(
        tx.id, OperationKind.REFUND, 50, at=T0 + timedelta(days=1), gateway_reference="PZ-778899"
    )
    repo.append_operation(follow)
    assert refs(repo.page(0, 50, search="PZ-778899")) == ["MT-0003"]


# -- persistence and opening ---------------------------------------------------------------------


def test_data_survives_a_restart(tmp_path: Path) -> None:
    tx = make_tx((OperationKind.AUTHORIZE, 4_000, OperationState.SUCCEEDED))
    capture = make_op(tx.id, OperationKind.CAPTURE, 4_000, at=T0 + timedelta(hours=2))
    with open_database(tmp_path) as first:
        repo = TransactionRepository(first.engine)
        repo.add(tx)
        repo.append_operation(capture)
        repo.update_operation(capture.moved_to(OperationState.UNKNOWN, T0 + timedelta(hours=3)))
    with open_database(tmp_path) as second:
        again = TransactionRepository(second.engine)
        stored = again.get(tx.id)
        assert stored is not None
        assert stored.operations[0] == tx.operations[0]
        assert stored.operations[1].state is OperationState.UNKNOWN
        assert [op.id for _, op in again.unresolved_operations()] == [capture.id]


def test_sqlite_settings(db: Database) -> None:
    assert db.path is not None
    assert db.path.name == DATABASE_FILE
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_default_data_dir_is_per_user() -> None:
    path = default_data_dir()
    assert path.is_absolute()
    assert "MerchantTerminal" in str(path)


def _one_line(error: BaseException) -> str:
    message = str(error)
    assert "\n" not in message
    return message


def test_data_dir_under_a_regular_file(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(DataDirectoryError) as caught:
        open_database(blocker / "data")
    message = _one_line(caught.value)
    assert message.startswith(f"Data directory {blocker / 'data'} is not writable: ")
    with pytest.raises(DataDirectoryError, match="not writable"):
        open_database(blocker)


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_data_dir(tmp_path: Path) -> None:
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(DataDirectoryError) as caught:
            open_database(locked)
        assert _one_line(caught.value).startswith(f"Data directory {locked} is not writable: ")
    finally:
        locked.chmod(0o700)


def test_second_terminal_on_the_same_directory(db: Database) -> None:
    assert db.path is not None
    with pytest.raises(DatabaseInUseError) as caught:
        open_database(db.path.parent)
    assert _one_line(caught.value) == (
        f"The database {db.path} is in use by another Merchant Terminal (locked)"
    )
    # The refused attempt left the first one working, and closing releases the lock.
    TransactionRepository(db.engine).add(make_tx())
    db.close()
    open_database(db.path.parent).close()


def test_lock_held_by_another_process(tmp_path: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from terminal.store.database import open_database\n"
        "db = open_database(Path(sys.argv[1])); print('ready', flush=True)\n"
        "sys.stdin.readline(); db.close()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(DatabaseInUseError, match="in use by another Merchant Terminal"):
            open_database(tmp_path)
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=10)
    open_database(tmp_path).close()


def test_database_locked_by_another_program(tmp_path: Path) -> None:
    open_database(tmp_path).close()
    other = sqlite3.connect(tmp_path / DATABASE_FILE, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(DatabaseInUseError, match="is in use by another program") as caught:
            open_database(tmp_path)
        _one_line(caught.value)
    finally:
        other.execute("ROLLBACK")
        other.close()
    open_database(tmp_path).close()


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    (tmp_path / DATABASE_FILE).write_bytes(b"these are not the pages you are looking for\n" * 200)
    with pytest.raises(NotADatabaseError) as caught:
        open_database(tmp_path)
    assert _one_line(caught.value).startswith(
        f"The file {tmp_path / DATABASE_FILE} is not a Merchant Terminal"
    )
    # The lock was released: the next attempt fails the same way, not as "in use".
    with pytest.raises(NotADatabaseError):
        open_database(tmp_path)


def test_someone_elses_sqlite_database(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / DATABASE_FILE) as other:
        other.execute("CREATE TABLE notes (body TEXT)")
    other.close()
    with pytest.raises(NotADatabaseError, match="no schema revision"):
        open_database(tmp_path)


# -- card data (ARCH-3, PCI-1, PCI-2) ------------------------------------------------------------


def test_schema_cannot_hold_card_numbers_or_security_codes(db: Database) -> None:
    inspector = inspect(db.engine)
    forbidden = re.compile(
        r"(^|_)(pan|cvc|cvv|cvv2|cvn|cid|track\d?|pin|pinblock)(_|$)|card_?num|security_code"
    )
    # The gateway's verdict on the CVC check (M / N / P / U), not the code itself.
    allowed = {("operations", "cvc_result")}
    for table in inspector.get_table_names():
        for column in inspector.get_columns(table):
            name = column["name"].lower()
            assert (table, name) in allowed or not forbidden.search(name), f"{table}.{name}"
            if name.startswith("card_"):
                assert name in {"card_brand", "card_first6", "card_last4", "card_expiry", "card_token"}
    lengths = {c["name"]: getattr(c["type"], "length", None) for c in inspector.get_columns("transactions")}
    assert lengths["card_last4"] == 4
    assert lengths["card_first6"] == 6
    assert lengths["card_expiry"] == 5


def test_database_refuses_long_card_digits_even_past_the_repository(db: Database) -> None:
    tx = make_tx()
    TransactionRepository(db.engine).add(tx)
    for column in ("card_last4", "card_first6"):
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(
                text(f"UPDATE transactions SET {column} = :v WHERE id = :id"),  # noqa: S608 - fixed names
                {"v": PAN, "id": tx.id},
            )


def test_repository_refuses_card_numbers(repo: TransactionRepository) -> None:
    cases = [
        {"card": CardSummary(brand="Visa", last4=PAN)},
        {"card": CardSummary(brand="Visa", first6=PAN)},
        {"card": CardSummary(brand="Visa", first6="41111a")},
        {"card": CardSummary(brand="Visa", token=PAN)},
        {"card": CardSummary(brand="Visa", expiry="12/2029")},
        {"description": f"card {PAN[:4]} {PAN[4:8]} {PAN[8:12]} {PAN[12:]} cvc 123"},
        {"customer_name": f"Bob {PAN}"},
    ]
    for fields in cases:
        with pytest.raises(InvalidRecordError) as caught:
            repo.add(make_tx(**fields))
        assert PAN not in str(caught.value)
        assert PAN[-8:] not in str(caught.value)
    tx = make_tx()
    repo.add(tx)
    with pytest.raises(InvalidRecordError):
        repo.update_card(tx.id, CardSummary(last4=PAN))
    assert repo.count() == 1
    # Sixteen digits that fail Luhn are an order number, not a card.
    repo.add(make_tx(description="order 4111111111111112"))


# -- property ------------------------------------------------------------------------------------

_text = st.text(st.characters(exclude_categories=("Cs", "Nd"), exclude_characters="\x00"), max_size=20)
_moments = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2090, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]),
)
_operation_specs = st.lists(
    st.tuples(
        st.sampled_from(list(OperationKind)),
        st.integers(min_value=0, max_value=2**53),
        st.sampled_from(list(OperationState)),
        st.none() | st.sampled_from(list(DeclineCode)),
        _moments,
        _text,
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    specs=_operation_specs,
    currency=st.sampled_from(["EUR", "OMR", "JPY", "CLP", "USD"]),
    created=_moments,
    name=_text,
)
def test_appended_operations_round_trip(
    repo: TransactionRepository,
    specs: list[tuple[OperationKind, int, OperationState, DeclineCode | None, datetime, str]],
    currency: str,
    created: datetime,
    name: str,
) -> None:
    tx = make_tx(currency=currency, at=created, customer_name=name)
    first, *rest = (
        make_op(
            tx.id,
            kind,
            minor,
            currency,
            state=state,
            at=at,
            decline_code=decline,
            gateway_message=words,
            gateway_reference=words[::-1],
        )
        for kind, minor, state, decline, at, words in specs
    )
    opened = tx.with_operation(first)
    repo.add(opened)
    expected = opened
    for op in rest:
        repo.append_operation(op)
        expected = expected.with_operation(op)
    assert repo.get(tx.id) == expected
    for op in expected.operations:
        assert repo.operation(op.id) == op


# -- light moves (created, sent, challenge) are written without reading the operation first ------------
LIGHT_FIXED_CHANGES = {
    "amount": Money(999, "EUR"),
    "idempotency_key": "other-key",
    "kind": OperationKind.REFUND,
    "merchant_reference": "OTHER-REF",
    "operator": "mallory",
    "reason": "changed",
    "created_at": T0 - timedelta(days=1),
}


@pytest.mark.parametrize("field", sorted(LIGHT_FIXED_CHANGES))
def test_light_move_refuses_a_changed_fixed_field(repo: TransactionRepository, field: str) -> None:
    tx = make_tx()
    repo.add(tx)
    op = make_op(tx.id, OperationKind.SALE, 700)
    repo.append_operation(op)
    changed = replace(
        op.moved_to(OperationState.SENT, T0 + timedelta(seconds=1)), **{field: LIGHT_FIXED_CHANGES[field]}
    )
    with pytest.raises(InvalidRecordError, match=field):
        repo.update_operation(changed, expected_state=OperationState.CREATED)
    assert repo.operation(op.id) == op  # nothing written


def test_light_move_is_stale_illegal_or_missing_as_before(repo: TransactionRepository) -> None:
    tx = make_tx()
    repo.add(tx)
    op = make_op(tx.id, OperationKind.SALE, 700)
    repo.append_operation(op)
    sent = op.moved_to(OperationState.SENT, T0 + timedelta(seconds=1), gateway_reference="G-1")
    assert repo.update_operation(sent, expected_state=OperationState.CREATED) is None
    assert repo.operation(op.id) == sent
    # A second writer from the `created` copy is refused: the stored state is no longer created.
    with pytest.raises(StaleOperationError, match="updated meanwhile"):
        repo.update_operation(
            op.moved_to(OperationState.SENT, T0 + timedelta(seconds=2)), expected_state=OperationState.CREATED
        )
    # An illegal light move (sent -> created) is refused with its reason.
    with pytest.raises(IllegalTransitionError):
        repo.update_operation(replace(sent, state=OperationState.CREATED), expected_state=OperationState.SENT)
    with pytest.raises(NotFoundError):
        repo.update_operation(
            replace(sent, id="missing", state=OperationState.CHALLENGE), expected_state=OperationState.SENT
        )
    assert repo.operation(op.id) == sent
    # The light move leaves the summary as it was and the transaction reads back whole.
    challenge = sent.moved_to(OperationState.CHALLENGE, T0 + timedelta(seconds=3), gateway_reference="G-2")
    assert repo.update_operation(challenge, expected_state=OperationState.SENT) is None
    assert repo.get(tx.id) == tx.with_operation(challenge)


def test_transaction_without_operations_reads_back(repo: TransactionRepository) -> None:
    # One statement reads a transaction with its journal (an outer join): an empty journal is no row of NULLs.
    tx = make_tx()
    repo.add(tx)
    assert tx.operations == ()
    assert repo.get(tx.id) == tx
    assert repo.get_many([tx.id]) == {tx.id: tx}
    op = make_op(tx.id, OperationKind.SALE, 700)
    assert repo.append_operation(op) == tx.with_operation(op)
