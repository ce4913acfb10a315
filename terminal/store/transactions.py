"""The transaction repository: the ledger's transactions and operations in and out of the database.

It takes and returns domain objects, never rows. Every write is one short database transaction that
is committed (and, on SQLite, fsynced) when the method returns: `append_operation` is the write-ahead
record of DESIGN.md "Exactly once". Methods are synchronous; services call them from an executor.

Times go in timezone-aware (any zone) and come out in UTC. The store refuses what it must never keep:
a card number (first six / last four only), and free text or a token that looks like a full card
number (13-19 digits passing Luhn).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, exists, func, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from terminal.domain.ledger import CardSummary, Operation, RuleViolation, Transaction, TransactionState
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState, TransitionError, check_transition
from terminal.store import (
    DuplicateError,
    DuplicateReferenceError,
    IllegalTransitionError,
    InvalidRecordError,
    NotFoundError,
    StaleOperationError,
    StoreError,
)
from terminal.store import statements as sql
from terminal.store.groups import write_groups
from terminal.store.rows import (
    _card_values,
    _digits,
    _operation,
    _operation_values,
    _refuse_card_number,
    _transaction_values,
    _utc_in,
    _utc_out,  # noqa: F401 - unused here; kept importable from this module
)
from terminal.store.schema import CARD_LAST4_LENGTH, operations, transactions

__all__ = ["OUTCOME_FIELDS", "UNRESOLVED_STATES", "TransactionRepository", "TransactionRow"]

# Operations whose outcome is not known yet: what reconciliation and the operator look at.
UNRESOLVED_STATES = tuple(state for state in OperationState if not state.is_final)

# What the gateway's answer may set on an operation, besides its state and updated_at.
OUTCOME_FIELDS = (
    "gateway_reference",
    "approval_code",
    "decline_code",
    "gateway_code",
    "gateway_message",
    "avs_result",
    "cvc_result",
)
# What never changes once an operation is written.
_FIXED_FIELDS = (
    "transaction_id",
    "kind",
    "amount",
    "idempotency_key",
    "merchant_reference",
    "created_at",
    "operator",
    "reason",
)


@dataclass(frozen=True, slots=True)
class TransactionRow:
    """One line of the history screen."""

    id: str
    created_at: datetime
    merchant_reference: str
    gateway: str
    profile: str
    amount: Money
    state: TransactionState
    kind: OperationKind | None
    card_brand: str
    card_last4: str
    customer_name: str
    sandbox: bool

    @classmethod
    def of(cls, tx: Transaction) -> TransactionRow:
        """The history line of a transaction: its opening amount and kind, its derived state."""
        first = tx.first_operation
        return cls(
            id=tx.id,
            created_at=tx.created_at,
            merchant_reference=tx.merchant_reference,
            gateway=tx.gateway,
            profile=tx.profile,
            amount=tx.amount,
            state=tx.state,
            kind=first.kind if first else None,
            card_brand=tx.card.brand,
            card_last4=tx.card.last4,
            customer_name=tx.customer_name,
            sandbox=tx.sandbox,
        )


class TransactionRepository:
    """Transactions and their journal of operations, stored through SQLAlchemy Core."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writes = write_groups(engine)

    @property
    def engine(self) -> Engine:
        """The engine it reads from (History's queries read the same database)."""
        return self._engine

    # -- writes ----------------------------------------------------------------------------
    def add(self, tx: Transaction) -> None:
        """Store a new transaction with its operations (in journal order), in one database transaction."""
        tx_values = _transaction_values(tx)
        op_values = []
        for seq, op in enumerate(tx.operations, start=1):
            if op.transaction_id != tx.id:
                raise InvalidRecordError(
                    f"Operation {op.id} belongs to transaction {op.transaction_id}, not {tx.id}"
                )
            _check_currency(op, tx.currency)
            op_values.append(_operation_values(op, seq))
        with self._writing(f"add transaction {tx.id}") as conn:
            # The primary key and the unique merchant reference refuse a duplicate; no read asks first.
            try:
                conn.execute(sql.INSERT_TRANSACTION, tx_values)
            except IntegrityError as exc:
                text = str(exc.orig)
                if not (
                    "merchant_reference" in text or "transactions.id" in text or "pk_transactions" in text
                ):
                    raise  # another constraint (a check): the generic message of _writing names it
                raise self._duplicate(tx, exc) from None
            for op, values in zip(tx.operations, op_values, strict=True):
                _insert_operation(conn, op, values)

    def _duplicate(self, tx: Transaction, exc: IntegrityError) -> Exception:
        """What a refused new transaction row means, read from what is committed (the write's own
        transaction may be unusable after the error, on PostgreSQL)."""
        if "merchant_reference" not in str(exc.orig):
            return DuplicateError(f"Transaction {tx.id} is already stored")
        with self._reading() as conn:
            if conn.execute(sql.TRANSACTION_ID, {"tx_id": tx.id}).first():
                return DuplicateError(f"Transaction {tx.id} is already stored")
            other = conn.execute(
                sql.TRANSACTION_BY_REFERENCE,
                {"gateway": tx.gateway, "profile": tx.profile, "reference": tx.merchant_reference},
            ).scalar_one_or_none()
        where = f"{tx.gateway}/{tx.profile}" + (f" (transaction {other})" if other else "")
        return DuplicateReferenceError(
            f"Merchant reference {tx.merchant_reference} is already used at {where}"
        )

    def append_operation(
        self, op: Operation, *, check: Callable[[Transaction], str | None] | None = None
    ) -> Transaction:
        """Append `op` to its transaction's journal; it is durably committed when this returns, and the
        transaction as now stored is returned.

        `check` is handed the transaction as stored, read under the write lock (BEGIN IMMEDIATE on SQLite,
        a row lock on PostgreSQL), and returns why `op` may not be appended (RuleViolation), or None. Two
        windows or two processes racing to capture one pre-authorisation are serialised here: the second
        sees the first's operation in flight and is refused before anything is sent.
        """
        with self._writing(f"append operation {op.id}") as conn:
            # The journal as stored, read under the write lock: the rules and the summary both use it.
            locked = sql.lock_for_write(conn, op.transaction_id)
            if locked is None:
                raise NotFoundError(
                    f"Transaction {op.transaction_id} is not stored; cannot append operation {op.id}"
                )
            _check_currency(op, locked.row.currency)
            if any(stored_op.id == op.id for stored_op in locked.journal):
                raise DuplicateError(f"Operation {op.id} is already stored")
            stored = locked.transaction()
            if check is not None:
                reason = check(stored)
                if reason:
                    raise RuleViolation(reason)
            _insert_operation(conn, op, _operation_values(op, locked.last_seq + 1))
            tx = stored.with_operation(op)
            locked.write_summary(conn, tx)
            return tx

    def update_operation(
        self, op: Operation, *, expected_state: OperationState | None = None
    ) -> Transaction | None:
        """Store `op`'s new state, outcome fields and updated_at; the transaction as now stored is returned,
        or None for a move that leaves it as it was (see `_same_summary`: then it is not read).

        The move from the stored state must be legal (IllegalTransitionError); nothing else may differ
        from the stored operation (InvalidRecordError). With `expected_state`, the stored state must be
        that one (StaleOperationError otherwise), so a caller acting on an old copy cannot overwrite a
        newer outcome. The update is conditional on the state read in the same database transaction.
        """
        updated_at = _utc_in(op.updated_at, f"Operation {op.id} updated_at")
        outcome = {name: getattr(op, name) for name in OUTCOME_FIELDS}
        outcome["decline_code"] = op.decline_code.value if op.decline_code is not None else None
        light = expected_state is not None and _same_summary(expected_state, op.state)
        with self._writing(f"update operation {op.id}") as conn:
            if light and _moved_unread(conn, op, expected_state, updated_at, outcome):
                return None
            # Read what is stored and check it: a full move, or a light one refused above (the checks
            # below say why: stale, changed fields, illegal move, not stored).
            locked = None if light else sql.lock_for_write(conn, op.transaction_id)
            journal = locked.journal if locked is not None else []
            stored = next((o for o in journal if o.id == op.id), None)
            if stored is None:  # a light move, or not in that transaction's journal: elsewhere, or nowhere
                row = conn.execute(sql.OPERATION_FOR_UPDATE, {"op_id": op.id}).first()
                if row is None:
                    raise NotFoundError(f"Operation {op.id} is not stored")
                stored = _operation(row)
            if expected_state is not None and stored.state is not expected_state:
                raise StaleOperationError(
                    f"Operation {op.id} is {stored.state}, not {expected_state}: it was updated meanwhile"
                )
            changed = [name for name in _FIXED_FIELDS if getattr(stored, name) != getattr(op, name)]
            if changed:
                raise InvalidRecordError(
                    f"Operation {op.id}: only the state and outcome may change, not {', '.join(changed)}"
                )
            try:
                check_transition(stored.state, op.state)
            except TransitionError as exc:
                raise IllegalTransitionError(f"Operation {op.id}: {exc}") from exc
            result = conn.execute(
                sql.UPDATE_OPERATION,
                {"op_id": op.id, "from_state": stored.state.value, "state": op.state.value,
                 "updated_at": updated_at, **outcome},
            )  # fmt: skip
            if result.rowcount != 1:
                raise StaleOperationError(f"Operation {op.id} changed while it was being updated")
            if locked is None:
                return None
            tx = locked.transaction([op if o.id == op.id else o for o in journal])
            locked.write_summary(conn, tx)
            return tx

    def update_link(self, tx_id: str, link_url: str, expires_at: datetime | None) -> None:
        """Record a pay-by-link address and its expiry once the gateway has issued them."""
        _refuse_card_number(link_url, f"Transaction {tx_id} link")
        values = {
            "link_url": link_url,
            "expires_at": _utc_in(expires_at, f"Transaction {tx_id} expires_at") if expires_at else None,
        }
        with self._writing(f"update the link of transaction {tx_id}") as conn:
            result = conn.execute(update(transactions).where(transactions.c.id == tx_id).values(**values))
            if result.rowcount != 1:
                raise NotFoundError(f"Transaction {tx_id} is not stored")

    def update_card(self, tx_id: str, card: CardSummary) -> None:
        """Record what may be kept of the transaction's card (known once the card is tokenised)."""
        values = _card_values(card)
        with self._writing(f"update the card of transaction {tx_id}") as conn:
            result = conn.execute(update(transactions).where(transactions.c.id == tx_id).values(**values))
            if result.rowcount != 1:
                raise NotFoundError(f"Transaction {tx_id} is not stored")

    # -- reads -----------------------------------------------------------------------------
    def get(self, tx_id: str) -> Transaction | None:
        """The transaction with its journal, or None."""
        with self._reading() as conn:
            return sql.load_one(conn, tx_id)

    def get_many(self, tx_ids: Iterable[str]) -> dict[str, Transaction]:
        """Transactions by id with their journals (absent ids are left out), a few queries in all."""
        with self._reading() as conn:
            return sql.load(conn, tx_ids)

    def get_by_reference(self, gateway: str, profile: str, merchant_reference: str) -> Transaction | None:
        """The transaction opened with this merchant reference at this gateway and profile, or None."""
        with self._reading() as conn:
            tx_id = conn.execute(
                sql.TRANSACTION_BY_REFERENCE,
                {"gateway": gateway, "profile": profile, "reference": merchant_reference},
            ).scalar_one_or_none()
            return None if tx_id is None else sql.load_one(conn, tx_id)

    def operation(self, op_id: str) -> Operation | None:
        """One operation, or None."""
        with self._reading() as conn:
            row = conn.execute(sql.OPERATION, {"op_id": op_id}).first()
            return None if row is None else _operation(row)

    def saved_cards(self, profile: str, customer_id: str) -> list[Transaction]:
        """This customer's transactions on this profile that hold a gateway card token, newest first."""
        query = (
            select(transactions.c.id)
            .where(
                transactions.c.profile == profile,
                transactions.c.customer_id == customer_id,
                transactions.c.card_token != "",
            )
            .order_by(transactions.c.created_at.desc(), transactions.c.id.desc())
        )
        with self._reading() as conn:
            ids = list(conn.execute(query).scalars())
            loaded = sql.load(conn, ids)
        return [loaded[tx_id] for tx_id in ids]

    def open_preauthorisations(self) -> list[Transaction]:
        """Approved pre-authorisations with no capture or void succeeded yet, oldest first (end of day)."""
        done = (OperationKind.CAPTURE.value, OperationKind.VOID.value)
        ok = OperationState.SUCCEEDED.value
        query = (
            select(transactions.c.id)
            .where(
                exists().where(
                    operations.c.transaction_id == transactions.c.id,
                    operations.c.kind == OperationKind.AUTHORIZE.value,
                    operations.c.state == ok,
                ),
                ~exists().where(
                    operations.c.transaction_id == transactions.c.id,
                    operations.c.kind.in_(done),
                    operations.c.state == ok,
                ),
            )
            .order_by(transactions.c.created_at, transactions.c.id)
        )
        with self._reading() as conn:
            ids = list(conn.execute(query).scalars())
            loaded = sql.load(conn, ids)
        return [loaded[tx_id] for tx_id in ids]

    def unresolved_operations(self) -> list[tuple[Transaction, Operation]]:
        """Operations created, sent, in a challenge or unknown, oldest first, each with its transaction."""
        with self._reading() as conn:
            ids = conn.execute(
                select(operations.c.id, operations.c.transaction_id)
                .where(operations.c.state.in_([state.value for state in UNRESOLVED_STATES]))
                .order_by(operations.c.created_at, operations.c.transaction_id, operations.c.seq)
            ).all()
            loaded = sql.load(conn, {row.transaction_id for row in ids})
        pairs = []
        for op_id, tx_id in ids:
            tx = loaded[tx_id]
            pairs.append((tx, next(op for op in tx.operations if op.id == op_id)))
        return pairs

    def page(
        self, offset: int, limit: int, *, search: str = "", gateway: str | None = None
    ) -> list[TransactionRow]:
        """History rows, newest first; `search` matches a merchant reference prefix, the last four digits,
        part of the customer's name or id, or a gateway reference, ignoring case."""
        query = (
            select(transactions.c.id)
            .where(*_filters(search, gateway))
            .order_by(transactions.c.created_at.desc(), transactions.c.id.desc())
            .offset(max(offset, 0))
            .limit(max(limit, 0))
        )
        with self._reading() as conn:
            ids = list(conn.execute(query).scalars())
            loaded = sql.load(conn, ids)
        return [TransactionRow.of(loaded[tx_id]) for tx_id in ids]

    def count(self, *, search: str = "", gateway: str | None = None) -> int:
        """How many history rows `page` would show with these filters."""
        query = select(func.count()).select_from(transactions).where(*_filters(search, gateway))
        with self._reading() as conn:
            return int(conn.execute(query).scalar_one())

    # -- plumbing --------------------------------------------------------------------------
    @contextmanager
    def _writing(self, action: str) -> Iterator[Connection]:
        try:
            with self._writes.begin() as conn:
                yield conn
        except IntegrityError as exc:
            raise DuplicateError(f"Could not {action}: {_first_line(exc.orig)}") from exc
        except DBAPIError as exc:
            raise StoreError(f"Could not {action}: {_first_line(exc.orig)}") from exc

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn:
                yield conn
        except DBAPIError as exc:
            raise StoreError(f"Could not read the transaction history: {_first_line(exc.orig)}") from exc


# -- loading and checking ----------------------------------------------------------------------


def _check_currency(op: Operation, currency: str) -> None:
    if op.amount.currency != currency:
        raise InvalidRecordError(
            f"Operation {op.id} is in {op.amount.currency}; its transaction is in {currency}"
        )


def _same_summary(before: OperationState, after: OperationState) -> bool:
    """Whether moving an operation from `before` to `after` leaves its transaction's summary as it was.

    The derived state (Transaction.state) reads an operation's state only as: unknown or not, final or
    not, declined, failed, succeeded. Between two states that are neither final nor unknown (created,
    sent, challenge) none of these changes, and amounts count succeeded operations only; so the summary
    columns need no rewrite and the journal no read (tests/unit/test_store_worker.py checks it).
    """
    return not (before.is_final or after.is_final or OperationState.UNKNOWN in (before, after))


def _moved_unread(
    conn: Connection,
    op: Operation,
    expected: OperationState | None,
    updated_at: datetime,
    outcome: dict[str, Any],
) -> bool:
    """A light move (`_same_summary`) in one statement, without reading the operation first: the update
    applies only while the stored operation is in `expected` state and every field that never changes
    is as in `op`, which is what the read-and-check path would have verified. False when nothing was
    updated (stale, changed, not stored) or the move is illegal: the caller then reads and says why."""
    if expected is None:
        return False
    try:
        check_transition(expected, op.state)
    except TransitionError:
        return False
    fixed = _operation_values(op, 0)
    result = conn.execute(
        sql.UPDATE_OPERATION_UNCHANGED,
        {"op_id": op.id, "from_state": expected.value, "state": op.state.value, "updated_at": updated_at,
         **outcome, **{f"was_{name}": fixed[name] for name in sql.FIXED_COLUMNS}},
    )  # fmt: skip
    return bool(result.rowcount == 1)


def _insert_operation(conn: Connection, op: Operation, values: dict[str, Any]) -> None:
    # The primary key and the unique idempotency key refuse a second copy; no read is spent asking first.
    try:
        conn.execute(sql.INSERT_OPERATION, values)
    except IntegrityError as exc:
        text = str(exc.orig)
        if "idempotency_key" in text:
            # The database names one constraint; a copy of a stored operation breaks both.
            raise DuplicateError(
                f"Idempotency key of operation {op.id} is already used (or the operation is already stored)"
            ) from None
        if "operations.id" in text or "pk_operations" in text:
            raise DuplicateError(f"Operation {op.id} is already stored") from None
        raise


def _filters(search: str, gateway: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if gateway:
        conditions.append(transactions.c.gateway == gateway)
    text = search.strip()
    if text:
        lowered = text.lower()
        matches: list[ColumnElement[bool]] = [
            func.lower(transactions.c.merchant_reference).startswith(lowered, autoescape=True),
            func.lower(transactions.c.customer_name).contains(lowered, autoescape=True),
            func.lower(transactions.c.customer_id).contains(lowered, autoescape=True),
            exists().where(
                operations.c.transaction_id == transactions.c.id, operations.c.gateway_reference == text
            ),
        ]
        if _digits(text, CARD_LAST4_LENGTH) and len(text) == CARD_LAST4_LENGTH:
            matches.append(transactions.c.card_last4 == text)
        conditions.append(or_(*matches))
    return conditions


def _first_line(exc: BaseException | None) -> str:
    text = str(exc).strip() if exc is not None else ""
    return text.splitlines()[0] if text else type(exc).__name__
