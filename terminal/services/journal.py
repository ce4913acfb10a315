"""Async access to the transaction repository: one worker thread, so the UI thread never waits on SQL.

The thread is a StoreWorker (store_worker.py), which may be shared with the audit trail: writes queued
together are committed together, and each awaited write returns once it is durable.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import ParamSpec, TypeVar

from terminal.domain.ledger import CardSummary, Operation, Transaction
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.services.store_worker import StoreWorker
from terminal.store.groups import write_groups
from terminal.store.transactions import TransactionRepository, TransactionRow

P = ParamSpec("P")
T = TypeVar("T")

# How many of the journal's latest writes `written` can still answer for, and for how long (see there).
_WRITTEN_KEPT = 256
_WRITTEN_FOR_S = 1.0


def utc_now() -> datetime:
    """The OS clock, in UTC."""
    return datetime.now(UTC)


def new_id() -> str:
    """A fresh random identifier (also used as idempotency key: UUIDv4 from the OS CSPRNG)."""
    return uuid.uuid4().hex


class Journal:
    """The repository behind an executor; every write is committed when the awaited call returns."""

    def __init__(
        self,
        repository: TransactionRepository,
        *,
        now: Callable[[], datetime] = utc_now,
        worker: StoreWorker | None = None,
    ) -> None:
        self.repository = repository
        self.now = now
        # One thread: SQLite writes are serialised anyway, and order of writes is the order of awaits.
        # A worker handed in is shared (with the audit trail) and closed by whoever made it.
        self._own_worker = worker is None
        self.worker = worker or StoreWorker(write_groups(repository.engine), name="journal")
        # transaction id -> (when, the transaction as this journal's last write to it left it).
        self._written: dict[str, tuple[float, Transaction]] = {}

    async def _run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.worker.run(lambda: fn(*args, **kwargs))

    async def _write(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.worker.write(lambda: fn(*args, **kwargs))

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a repository read (or a small bookkeeping write, e.g. a link's URL) on the journal's thread.

        The one worker thread keeps reads in order with the journal's writes and off the UI thread.
        """
        self._written.clear()  # it may write: what `written` remembers may no longer be what is stored
        return await self._run(fn, *args, **kwargs)

    def new_operation(
        self,
        tx: Transaction,
        kind: OperationKind,
        amount: Money,
        merchant_reference: str,
        operator: str,
        reason: str = "",
    ) -> Operation:
        """An operation in state `created` with a fresh idempotency key (not yet written)."""
        at = self.now()
        return Operation(
            id=new_id(),
            transaction_id=tx.id,
            kind=kind,
            amount=amount,
            state=OperationState.CREATED,
            idempotency_key=str(uuid.uuid4()),
            merchant_reference=merchant_reference,
            created_at=at,
            updated_at=at,
            operator=operator,
            reason=reason,
        )

    async def open(self, tx: Transaction) -> None:
        """Write a new transaction with its opening operation."""
        await self._write(self.repository.add, tx)
        self._keep(tx)

    async def append(self, op: Operation, check: Callable[[Transaction], str | None] | None = None) -> None:
        """Write a follow-up operation (write-ahead: durable before anything is sent).

        `check` re-applies the ledger's rules to the transaction as stored, under the database's write lock:
        RuleViolation when another window or terminal got there first.
        """
        self._keep(await self._write(self.repository.append_operation, op, check=check))

    async def move(self, op: Operation, state: OperationState, **outcome: object) -> Operation:
        """Move an operation to `state` with outcome fields, durably."""
        moved = op.moved_to(state, self.now(), **outcome)  # type: ignore[arg-type]
        stored = await self._write(self.repository.update_operation, moved, expected_state=op.state)
        if stored is not None:
            self._keep(stored)
        else:
            self._written.pop(op.transaction_id, None)  # the transaction changed since what is kept of it
        return moved

    def written(self, op: Operation) -> Transaction | None:
        """The transaction as this journal's last write to it stored it, if that write was less than a
        second ago and the transaction holds `op` exactly as given; taken at most once.

        Read inside that write, under its lock, so it is what the store held then: a service showing the
        outcome of the operation it has just written needs no second read. None otherwise (then read it
        with `get`): this journal wrote the transaction since, or not at all, or too long ago for another
        window or terminal not to have written it meanwhile.
        """
        kept = self._written.pop(op.transaction_id, None)
        if kept is None:
            return None
        at, tx = kept
        stored = next((o for o in tx.operations if o.id == op.id), None)
        fresh = time.monotonic() - at < _WRITTEN_FOR_S
        return tx if fresh and stored == op else None

    def _keep(self, tx: Transaction) -> None:
        self._written.pop(tx.id, None)
        self._written[tx.id] = (time.monotonic(), tx)
        if len(self._written) > _WRITTEN_KEPT:
            del self._written[next(iter(self._written))]

    async def set_card(self, tx_id: str, card: CardSummary) -> None:
        """Record what may be kept of the card once it is known."""
        self._written.clear()
        await self._write(self.repository.update_card, tx_id, card)

    async def get(self, tx_id: str) -> Transaction:
        """A transaction with its journal; KeyError when absent."""
        tx = await self._run(self.repository.get, tx_id)
        if tx is None:
            raise KeyError(tx_id)
        return tx

    async def by_reference(self, gateway: str, profile: str, reference: str) -> Transaction | None:
        """The transaction with this merchant reference, if any."""
        return await self._run(self.repository.get_by_reference, gateway, profile, reference)

    async def unresolved(self) -> list[tuple[Transaction, Operation]]:
        """Operations whose outcome is not known, oldest first."""
        return await self._run(self.repository.unresolved_operations)

    async def page(self, offset: int, limit: int, search: str = "") -> list[TransactionRow]:
        """History rows, newest first."""
        return await self._run(self.repository.page, offset, limit, search=search)

    async def count(self, search: str = "") -> int:
        """How many history rows match."""
        return await self._run(self.repository.count, search=search)

    def close(self) -> None:
        """Stop the worker thread after pending writes (unless it is shared: its owner stops it)."""
        if self._own_worker:
            self.worker.close()
