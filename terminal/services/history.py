"""History for the screens: filtered, sorted pages of transactions; Needs attention and its resolution.

Reads run on the service's own worker thread (never the UI thread) so a long search or an export does
not queue behind the journal's writes, nor they behind it. Resolving an operation by hand goes through
the journal like any outcome: a state change, durable when the call returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ParamSpec, TypeVar

from terminal.domain.ledger import Operation, Transaction
from terminal.domain.operations import OperationState
from terminal.services.journal import Journal
from terminal.services.profiles import ProfileError, ProfileRegistry, gateway_display_name
from terminal.store.queries import HistoryQueries, HistoryQuery
from terminal.store.transactions import TransactionRow

P = ParamSpec("P")
T = TypeVar("T")

# A request sent this long ago without an answer is as good as unknown for the operator.
STALE_AFTER = timedelta(minutes=10)
MANUAL_CODE = "manual"
MANUAL_OUTCOMES = (OperationState.SUCCEEDED, OperationState.DECLINED, OperationState.FAILED)


class HistoryService:
    """Read-only views of the journal for History, Needs attention, receipts and export."""

    def __init__(self, journal: Journal, queries: HistoryQueries | None = None) -> None:
        self.journal = journal
        self.queries = queries or HistoryQueries(journal.repository.engine)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history")
        warm = getattr(self.queries, "warm", None)
        if warm is not None:  # the customers a search looks through, read now rather than at the first search
            self._executor.submit(warm)

    async def _run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    async def rows(
        self, query: HistoryQuery, after: TransactionRow | None, limit: int
    ) -> list[TransactionRow]:
        """The next `limit` rows of `query` after `after` (the first page when None)."""
        return await self._run(self.queries.page, query, after, limit)

    async def count_upto(self, query: HistoryQuery, cap: int) -> int:
        """How many rows match `query`, counting no further than `cap + 1`."""
        return await self._run(self.queries.count_upto, query, cap)

    async def page(self, offset: int, limit: int, search: str = "") -> list[TransactionRow]:
        """Rows `offset`..`offset+limit` of the history matching `search`, newest first."""
        return await self.journal.page(offset, limit, search)

    async def count(self, search: str = "") -> int:
        """How many transactions match `search` (an exact count: for tests and the self-test)."""
        return await self.journal.count(search)

    async def transaction(self, tx_id: str) -> Transaction:
        """One transaction with its whole journal."""
        return await self.journal.get(tx_id)

    async def needs_attention(self) -> list[tuple[Transaction, Operation]]:
        """Operations whose outcome is not known yet."""
        return await self.journal.unresolved()

    def close(self) -> None:
        """Stop the reading thread (reads in flight finish first)."""
        self._executor.shutdown(wait=True)


@dataclass(frozen=True, slots=True)
class AttentionItem:
    """One operation an operator must look at, with what the terminal can do about it."""

    transaction: Transaction
    operation: Operation
    gateway_name: str
    can_check: bool  # the gateway has a status lookup: "Check with the gateway now"
    steps: tuple[str, ...]  # what to look for in the gateway's back office

    @property
    def headline(self) -> str:
        """'Sale of 12.50 LKR — outcome unknown'."""
        op = self.operation
        what = "outcome unknown" if op.state is OperationState.UNKNOWN else "sent, no answer yet"
        return f"{op.kind.label} of {op.amount} — {what}"


@dataclass(frozen=True, slots=True)
class ManualResolution:
    """An outcome recorded by hand: what the audit log (wired by the shell) is told."""

    transaction: Transaction
    operation: Operation
    state: OperationState
    note: str
    operator: str


class ResolutionError(ValueError):
    """A manual resolution that cannot be recorded; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


CheckOne = Callable[[str], Awaitable[Operation | None]]
ResolutionHook = Callable[[ManualResolution], Awaitable[None] | None]


class NeedsAttention:
    """Operations whose outcome is unknown (or sent long ago without an answer) and their resolution.

    `check_one(op_id)` asks the gateway about one operation (the Reconciler's entry point);
    `on_manual_resolution` is told of every outcome recorded by hand (the audit log).
    """

    def __init__(
        self,
        journal: Journal,
        profiles: ProfileRegistry,
        check_one: CheckOne,
        *,
        operator: Callable[[], str] = lambda: "clerk",
        on_manual_resolution: ResolutionHook | None = None,
        active: Callable[[], set[str]] = set,
    ) -> None:
        self.journal = journal
        self.profiles = profiles
        self.check_one = check_one
        self.operator = operator
        self.on_manual_resolution = on_manual_resolution
        self.active = active

    async def items(self) -> list[AttentionItem]:
        """What needs an operator now, oldest first."""
        now = self.journal.now()
        busy = self.active()
        found = []
        for tx, op in await self.journal.unresolved():
            if op.id in busy:
                continue  # this terminal is waiting on it right now
            stale_sent = op.state is OperationState.SENT and now - op.updated_at >= STALE_AFTER
            if op.state is OperationState.UNKNOWN or stale_sent:
                found.append(self._item(tx, op))
        return found

    async def count(self) -> int:
        """How many items `items` would list (for the navigation entry)."""
        return len(await self.items())

    def _item(self, tx: Transaction, op: Operation) -> AttentionItem:
        try:
            can_check = self.profiles.get(tx.profile).capabilities.can_look_up(op.kind)
        except ProfileError:
            can_check = False
        name = gateway_display_name(tx.gateway)
        return AttentionItem(tx, op, name, can_check, guidance(tx, op, name))

    async def check(self, op_id: str) -> Operation | None:
        """Ask the gateway about this one operation now; the operation as it then stands (None: resolved)."""
        return await self.check_one(op_id)

    async def record_by_hand(self, op_id: str, state: OperationState, note: str) -> Operation:
        """Record the outcome an operator found in the gateway's back office, with their note."""
        if state not in MANUAL_OUTCOMES:
            raise ResolutionError("outcome", "Outcome: choose succeeded, declined or failed.")
        text = " ".join(note.split())
        if len(text) < 3:
            raise ResolutionError("note", "Note: say what you checked (at least a few words).")
        tx = await self.journal.get(self._tx_of(op_id, await self.journal.unresolved()))
        op = next(o for o in tx.operations if o.id == op_id)
        if op.state.is_final:
            raise ResolutionError(
                "outcome", f"This {op.kind.label.lower()} was already resolved: {op.state}."
            )
        if op.state not in (OperationState.UNKNOWN, OperationState.SENT):
            raise ResolutionError("outcome", f"This {op.kind.label.lower()} is {op.state}; it is not stuck.")
        operator = self.operator()
        moved = await self.journal.move(
            op, state, gateway_code=MANUAL_CODE, gateway_message=f"Recorded by hand by {operator}: {text}"
        )
        if self.on_manual_resolution is not None:
            result = self.on_manual_resolution(
                ManualResolution(tx.with_operation(moved), moved, state, text, operator)
            )
            if result is not None:
                await result
        return moved

    @staticmethod
    def _tx_of(op_id: str, unresolved: list[tuple[Transaction, Operation]]) -> str:
        for tx, op in unresolved:
            if op.id == op_id:
                return tx.id
        raise ResolutionError("outcome", "This operation was resolved meanwhile; refresh the list.")


def guidance(tx: Transaction, op: Operation, gateway_name: str) -> tuple[str, ...]:
    """Step by step, what to check in the gateway's back office to resolve `op` by hand."""
    found_by = f"the order reference {op.merchant_reference or tx.merchant_reference}"
    if op.gateway_reference:
        found_by += f" or the gateway reference {op.gateway_reference}"
    sent = _local(op.created_at)
    return (
        f"Sign in to the {gateway_name} merchant back office (its web portal).",
        f"Find the {op.kind.label.lower()} by {found_by}, made on {sent}.",
        f"Check that its amount is {op.amount}.",
        "Approved, successful, captured or settled there: record Succeeded.",
        "Declined or rejected there: record Declined.",
        "Not there at all: the request never arrived, nothing was charged: record Failed.",
        "Until it is resolved, do not charge the customer again.",
    )


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%d %b %Y at %H:%M")
