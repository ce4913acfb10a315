"""Async access to the transaction repository: one worker thread, so the UI thread never waits on SQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import ParamSpec, TypeVar

from terminal.domain.ledger import CardSummary, Operation, Transaction
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.store.transactions import TransactionRepository, TransactionRow

P = ParamSpec("P")
T = TypeVar("T")


def utc_now() -> datetime:
    """The OS clock, in UTC."""
    return datetime.now(UTC)


def new_id() -> str:
    """A fresh random identifier (also used as idempotency key: UUIDv4 from the OS CSPRNG)."""
    return uuid.uuid4().hex


class Journal:
    """The repository behind an executor; every write is committed when the awaited call returns."""

    def __init__(self, repository: TransactionRepository, *, now: Callable[[], datetime] = utc_now) -> None:
        self.repository = repository
        self.now = now
        # One thread: SQLite writes are serialised anyway, and order of writes is the order of awaits.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal")

    async def _run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a repository read (or a small bookkeeping write, e.g. a link's URL) on the journal's thread.

        The one worker thread keeps reads in order with the journal's writes and off the UI thread.
        """
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
        await self._run(self.repository.add, tx)

    async def append(self, op: Operation, check: Callable[[Transaction], str | None] | None = None) -> None:
        """Write a follow-up operation (write-ahead: durable before anything is sent).

        `check` re-applies the ledger's rules to the transaction as stored, under the database's write lock:
        RuleViolation when another window or terminal got there first.
        """
        await self._run(self.repository.append_operation, op, check=check)

    async def move(self, op: Operation, state: OperationState, **outcome: object) -> Operation:
        """Move an operation to `state` with outcome fields, durably."""
        moved = op.moved_to(state, self.now(), **outcome)  # type: ignore[arg-type]
        await self._run(self.repository.update_operation, moved, expected_state=op.state)
        return moved

    async def set_card(self, tx_id: str, card: CardSummary) -> None:
        """Record what may be kept of the card once it is known."""
        await self._run(self.repository.update_card, tx_id, card)

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
        """Stop the worker thread after pending writes."""
        self._executor.shutdown(wait=True)
