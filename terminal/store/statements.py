"""The repository's statements, built once, and loading transactions with their journals.

A statement built once and executed with its values as parameters is compiled once and found in
SQLAlchemy's cache by identity; building `select(...).where(col == value)` on every call costs about four
times as much (coercions and a fresh cache key each time), which a sale's few reads and writes felt.
Every statement on the path of a money operation is here; transactions.py executes them.

Fewer statements matter more than cheaper ones: the store's worker thread gives up the interpreter lock
inside every SQLite call and, while the event loop is busy, waits for it back (docs/BENCHMARKS.md, the
batch). So a transaction and its journal are read in one statement, and an operation marked sent is
updated without being read first (`UPDATE_OPERATION_UNCHANGED`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update

from terminal.domain.ledger import Operation, Transaction
from terminal.store.rows import _operation, _transaction, summary_values
from terminal.store.schema import operations, transactions

INSERT_TRANSACTION = insert(transactions)
INSERT_OPERATION = insert(operations)
# The SET columns come from the parameters' other keys (state, updated_at, outcome).
UPDATE_OPERATION = update(operations).where(
    operations.c.id == bindparam("op_id"), operations.c.state == bindparam("from_state")
)
# The same, only while every field that never changes still holds what the caller's copy holds: an
# operation moved without reading it first (transactions.py) cannot rewrite a different one.
FIXED_COLUMNS = (
    "transaction_id", "kind", "amount_minor", "currency", "idempotency_key", "merchant_reference",
    "operator", "reason", "created_at",
)  # fmt: skip
UPDATE_OPERATION_UNCHANGED = UPDATE_OPERATION.where(
    *(operations.c[name] == bindparam(f"was_{name}") for name in FIXED_COLUMNS)
)
UPDATE_SUMMARY = update(transactions).where(transactions.c.id == bindparam("summary_tx_id"))

TRANSACTION_ID = select(transactions.c.id).where(transactions.c.id == bindparam("tx_id"))
TRANSACTION_BY_REFERENCE = select(transactions.c.id).where(
    transactions.c.gateway == bindparam("gateway"),
    transactions.c.profile == bindparam("profile"),
    transactions.c.merchant_reference == bindparam("reference"),
)
OPERATION = select(operations).where(operations.c.id == bindparam("op_id"))
OPERATION_FOR_UPDATE = OPERATION.with_for_update()

# A transaction with its journal in one statement: one row per operation (the operation's columns under
# `op_` names), or a single row of NULLs on that side when the journal is empty.
_OP_COLUMNS = tuple(column.name for column in operations.c)
_TX_WIDTH = len(transactions.c)
_ONE_TRANSACTION = (
    select(transactions, *(column.label(f"op_{column.name}") for column in operations.c))
    .select_from(transactions.outerjoin(operations, operations.c.transaction_id == transactions.c.id))
    .where(transactions.c.id == bindparam("tx_id"))
    .order_by(operations.c.seq)
)
# PostgreSQL: the transaction's row locked for the rest of the write, in a statement of its own before the
# read. A locking read that waited for the lock would see the row as committed meanwhile but the journal
# as it was when the statement began (READ COMMITTED re-checks only the locked row); the read after it
# is a new statement with a fresh snapshot. SQLite's BEGIN IMMEDIATE already holds the whole database.
_LOCK_TRANSACTION = select(transactions.c.id).where(transactions.c.id == bindparam("tx_id")).with_for_update()
_TRANSACTIONS = select(transactions).where(transactions.c.id.in_(bindparam("ids", expanding=True)))
_JOURNALS = (
    select(operations)
    .where(operations.c.transaction_id.in_(bindparam("ids", expanding=True)))
    .order_by(operations.c.transaction_id, operations.c.seq)
)

# SQLite's default limit on bound parameters is 32766 (999 before 3.32); stay far below.
IN_CHUNK = 500


def load_one(conn: Connection, tx_id: str) -> Transaction | None:
    """One transaction with its journal, or None: two indexed reads."""
    read = _read_one(conn, tx_id)
    return None if read is None else read.transaction()


@dataclass(frozen=True, slots=True)
class Locked:
    """A transaction as read: its row (locked until the write ends when read for one), journal, last seq."""

    row: Row[Any]
    journal: list[Operation]
    last_seq: int

    def transaction(self, journal: Sequence[Operation] | None = None) -> Transaction:
        """The transaction with this journal (or another: the journal as the write leaves it)."""
        return _transaction(self.row, self.journal if journal is None else journal)

    def write_summary(self, conn: Connection, tx: Transaction) -> None:
        """Bring the summary columns (History's state, kind, amount) in line with `tx`, the transaction as
        this write leaves it; only when a value changed (a payment marked sent still shows as pending),
        which also keeps the summary's indexes out of the commit."""
        summary = summary_values(tx)
        if any(getattr(self.row, name) != value for name, value in summary.items()):
            conn.execute(UPDATE_SUMMARY, {"summary_tx_id": tx.id, **summary})


def lock_for_write(conn: Connection, tx_id: str) -> Locked | None:
    """The transaction's row (locked) and journal, inside the caller's write; None when not stored."""
    if conn.dialect.name != "sqlite":
        conn.execute(_LOCK_TRANSACTION, {"tx_id": tx_id})
    return _read_one(conn, tx_id)


def _read_one(conn: Connection, tx_id: str) -> Locked | None:
    rows = conn.execute(_ONE_TRANSACTION, {"tx_id": tx_id}).all()
    if not rows:
        return None
    # An operation's columns of each joined row, under their own names (what `_operation` reads).
    ops = [SimpleNamespace(**dict(zip(_OP_COLUMNS, row[_TX_WIDTH:], strict=True))) for row in rows]
    if ops[0].id is None:  # no operation: the outer join's NULLs
        ops = []
    return Locked(rows[0], [_operation(op) for op in ops], max((int(op.seq) for op in ops), default=0))


def load(conn: Connection, ids: Iterable[str]) -> dict[str, Transaction]:
    """Transactions by id with their journals: one query for the transactions, one for the operations
    (per chunk of ids)."""
    wanted = list(dict.fromkeys(ids))
    if len(wanted) == 1:
        one = load_one(conn, wanted[0])
        return {} if one is None else {one.id: one}
    tx_rows: list[Row[Any]] = []
    op_rows: list[Row[Any]] = []
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[start : start + IN_CHUNK]
        tx_rows += conn.execute(_TRANSACTIONS, {"ids": chunk}).all()
        op_rows += conn.execute(_JOURNALS, {"ids": chunk}).all()
    journals: dict[str, list[Operation]] = {}
    for row in op_rows:
        journals.setdefault(row.transaction_id, []).append(_operation(row))
    return {row.id: _transaction(row, journals.get(row.id, ())) for row in tx_rows}
