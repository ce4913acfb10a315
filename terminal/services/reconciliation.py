"""Reconciliation: resolve operations left `created`, `sent`, in a challenge or `unknown`.

It asks the gateway where the gateway has a lookup and never re-sends a money request. What it
cannot resolve stays `unknown` and is listed for an operator (Needs attention).

On a shared database (several terminals, PostgreSQL) a pass runs in one terminal at a time, under a
session advisory lock; the others skip theirs. The `active` set of operations in flight is per process,
so an operation another terminal may still be working on is recognised by its age instead: it is left
alone until `IN_FLIGHT_ELSEWHERE` has passed since its last write (terminal clocks must agree to well
within a minute: NTP). A terminal that died mid-call is thus reconciled by the others a few minutes later.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from terminal.domain.ledger import Operation, Transaction
from terminal.domain.operations import OperationKind, OperationState
from terminal.gateways.base import Outcome
from terminal.gateways.errors import GatewayError, NotSupportedError
from terminal.services.journal import Journal
from terminal.services.payments import PaymentService
from terminal.services.profiles import ProfileError, ProfileRegistry
from terminal.store import StaleOperationError
from terminal.store.postgres import RECONCILE_LOCK, AdvisoryLock, is_shared

log = logging.getLogger(__name__)

_FOLLOW_UPS = frozenset({OperationKind.CAPTURE, OperationKind.VOID, OperationKind.REFUND})

NEVER_SENT = "The terminal stopped before sending this request; nothing reached the gateway."
PAGE_CLOSED = "The card page was closed before the payment was sent; nothing was charged."
HOLD_ONLY = "The gateway shows an approved pre-authorisation but no capture for this sale; check it by hand."
NO_LOOKUP = "The gateway offers no status lookup; check the gateway's back office and resolve it by hand."

# Shared database: how long after its last write another terminal's unresolved operation may still be in
# its hands. A gateway call ends (answer or timeout) well within a few minutes; a card page or a followed
# link stays open for up to 30 minutes (PaymentService.follow). UNKNOWN is never in anyone's hands.
IN_FLIGHT_ELSEWHERE = {
    OperationState.CREATED: timedelta(minutes=5),
    OperationState.SENT: timedelta(minutes=5),
    OperationState.CHALLENGE: timedelta(minutes=35),
}


@dataclass(slots=True)
class ReconciliationReport:
    """What one pass resolved and what it left for an operator."""

    resolved: list[Operation] = field(default_factory=list)
    needs_attention: list[Operation] = field(default_factory=list)
    waiting: list[Operation] = field(default_factory=list)
    # True when another terminal on the shared database was reconciling: this one did nothing.
    elsewhere: bool = False

    @property
    def summary(self) -> str:
        """One line for the status bar."""
        return f"Reconciliation: {len(self.resolved)} resolved, {len(self.needs_attention)} need attention."


class Reconciler:
    """Resolves what it can of the unresolved journal, at start-up and on a schedule."""

    def __init__(self, journal: Journal, profiles: ProfileRegistry, payments: PaymentService) -> None:
        self.journal = journal
        self.profiles = profiles
        self.payments = payments
        self.shared = is_shared(journal.repository.engine)

    async def run(self) -> ReconciliationReport:
        """One pass over every unresolved operation, oldest first (none while another terminal runs one)."""
        async with self._exclusive() as mine:
            return await self._pass() if mine else ReconciliationReport(elsewhere=True)

    async def _pass(self) -> ReconciliationReport:
        report = ReconciliationReport()
        now = self.journal.now()
        for tx, op in await self.journal.unresolved():
            if op.id in self.payments.active:
                continue  # this terminal is working on it right now (a page is open, a call in flight)
            if self._maybe_elsewhere(op, now):
                report.waiting.append(op)  # another terminal may be working on it: not ours to resolve
                continue
            try:
                resolved = await self._resolve(tx, op)
            except StaleOperationError:
                log.info("Operation %s was resolved elsewhere during the pass", op.id)
                continue
            except Exception:
                # One bad record must not stop the pass for every later one: an operator looks at it.
                log.exception("Reconciliation could not resolve operation %s", op.id)
                report.needs_attention.append(op)
                continue
            if resolved.state is OperationState.UNKNOWN:
                report.needs_attention.append(resolved)
            elif resolved.state.is_final:
                report.resolved.append(resolved)
            else:
                report.waiting.append(resolved)
        if report.resolved or report.needs_attention:
            log.info(report.summary)
        return report

    async def check(self, op_id: str) -> Operation | None:
        """Resolve one operation now, as a pass would (Needs attention: "Check with the gateway now").

        The operation as it then stands, or None when it was no longer unresolved.
        """
        for tx, op in await self.journal.unresolved():
            if op.id == op_id:
                if op.id in self.payments.active:
                    return op
                async with self._exclusive() as mine:
                    # While another terminal's pass runs, it is the one resolving: show the operation as is.
                    return await self._resolve(tx, op) if mine else op
        return None

    def _maybe_elsewhere(self, op: Operation, now: datetime) -> bool:
        """On a shared database: another terminal may still be sending or showing a page for `op`."""
        grace = IN_FLIGHT_ELSEWHERE.get(op.state) if self.shared else None
        return grace is not None and now - op.updated_at < grace

    @asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[bool]:
        """Hold the reconciliation lock for the block; yields False when another terminal holds it.

        SQLite needs none (one terminal per file). The lock is taken and given back on the journal's
        worker thread; if the terminal dies holding it, the server releases it with the connection.
        """
        if not self.shared:
            yield True
            return
        engine = self.journal.repository.engine
        lock = await self.payments.read_store(AdvisoryLock.try_acquire, engine, RECONCILE_LOCK)
        if lock is None:
            yield False
            return
        try:
            yield True
        finally:
            await self.payments.read_store(lock.release)

    async def _resolve(self, tx: Transaction, op: Operation) -> Operation:
        if op.state is OperationState.CREATED:
            # Written but never marked sent: the request provably did not leave.
            return await self.journal.move(op, OperationState.FAILED, gateway_message=NEVER_SENT)
        if op.state is OperationState.CHALLENGE and not op.gateway_reference:
            return await self.journal.move(op, OperationState.FAILED, gateway_message=PAGE_CLOSED)
        return await self._ask_gateway(tx, op)

    async def _ask_gateway(self, tx: Transaction, op: Operation) -> Operation:
        try:
            profile = self.profiles.get(tx.profile)
            if not profile.capabilities.can_look_up(op.kind):
                raise NotSupportedError(NO_LOOKUP)
            gateway, parent = self.profiles.gateway(profile.id), tx.first_operation
            if op.kind in _FOLLOW_UPS and parent is not None and parent.id != op.id:
                result = await gateway.fetch_follow_up(
                    op.kind, op.gateway_reference, op.merchant_reference, parent.gateway_reference
                )
            else:
                result = await gateway.fetch(op.gateway_reference, op.merchant_reference)
        except (GatewayError, ProfileError) as exc:
            message = exc.message if isinstance(exc, GatewayError) else str(exc)
            if op.state is OperationState.UNKNOWN:
                return op
            return await self.journal.move(op, OperationState.UNKNOWN, gateway_message=message)
        hold = result.outcome is Outcome.APPROVED and result.kind == "authorize"
        if hold and op.kind is OperationKind.SALE:
            # A sale completed by a capture: an approved hold does not show that anything was captured.
            if op.state is OperationState.UNKNOWN:
                return op
            return await self.journal.move(op, OperationState.UNKNOWN, gateway_message=HOLD_ONLY)
        if result.outcome in (Outcome.APPROVED, Outcome.DECLINED):
            return await self.payments.record_result(op, result)
        if op.state is OperationState.CHALLENGE:
            return op  # the customer is still on the gateway's page (or link): nothing to resolve yet
        # Not found or still pending is not proof of anything: it stays unknown for the next pass.
        if op.state is OperationState.UNKNOWN:
            return op
        return await self.journal.move(op, OperationState.UNKNOWN, gateway_message=result.gateway_message)
