"""End of day: capture the pre-authorisations still open, in one batch, each exactly once.

Each capture is an ordinary `PaymentService.capture` (written ahead, sent once, recorded), so a batch
adds no new way for money to move. A few run at once to keep the wait short without flooding the
gateway. Cancel stops *starting* captures; the ones in flight finish and are recorded, because a
request already sent cannot be taken back, only its answer can be lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from terminal.domain.ledger import RuleViolation, Transaction, follow_up_reason
from terminal.domain.operations import OperationKind, OperationState
from terminal.services.payments import PaymentService
from terminal.services.profiles import ProfileError
from terminal.services.sending import PaymentInputError, PaymentOutcome

log = logging.getLogger(__name__)

# Captures in flight at once: few enough not to flood a gateway, enough that their store writes share
# commits (about five writes per commit at 8, against two or three at 4; docs/BENCHMARKS.md).
DEFAULT_CONCURRENCY = 8


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """How far the batch is: `done` of `total` finished, and the one that just finished."""

    done: int
    total: int
    tx_id: str
    outcome: PaymentOutcome | None
    skipped_reason: str = ""


@dataclass(slots=True)
class BatchSummary:
    """What the batch did with each transaction it was given."""

    captured: list[PaymentOutcome] = field(default_factory=list)
    declined: list[PaymentOutcome] = field(default_factory=list)
    unknown: list[PaymentOutcome] = field(default_factory=list)
    failed: list[PaymentOutcome] = field(default_factory=list)
    # Refused before sending (the rules changed meanwhile: captured elsewhere, voided, ...).
    skipped: list[tuple[str, str]] = field(default_factory=list)
    # Never started because the clerk cancelled.
    not_started: list[str] = field(default_factory=list)

    @property
    def cancelled(self) -> bool:
        """The clerk cancelled before every capture had started."""
        return bool(self.not_started)

    @property
    def text(self) -> str:
        """One paragraph for the clerk."""
        parts = [
            f"{len(self.captured)} captured",
            f"{len(self.declined)} declined",
            f"{len(self.unknown)} unknown",
        ]
        if self.failed:
            parts.append(f"{len(self.failed)} not sent")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        line = ", ".join(parts) + "."
        if self.not_started:
            line += f" Cancelled: {len(self.not_started)} not started; they stay open for the next run."
        if self.unknown:
            line += " Unknown outcomes are listed under Needs attention; do not capture them again."
        return line


class BatchCapture:
    """Captures many pre-authorisations, `concurrency` at a time, with progress and a soft cancel."""

    def __init__(self, payments: PaymentService, *, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        self.payments = payments
        self.concurrency = max(1, concurrency)
        self._cancelled = False

    async def candidates(self) -> list[Transaction]:
        """Pre-authorisations that may be captured now, oldest first."""
        journal = self.payments.journal
        found = await self.payments.read_store(journal.repository.open_preauthorisations)
        ready = []
        for tx in found:
            try:
                profile = self.payments.profiles.get(tx.profile)
            except ProfileError:
                continue  # a profile no longer configured: nothing can be sent for it from here
            caps = profile.capabilities
            if follow_up_reason(tx, OperationKind.CAPTURE, None, caps, live=profile.live) is None:
                ready.append(tx)
        return ready

    def cancel(self) -> None:
        """Start no more captures (in this run, or the next one if none is running); those in flight
        finish and are recorded."""
        self._cancelled = True

    async def run(
        self, tx_ids: Sequence[str], progress: Callable[[BatchProgress], None] | None = None
    ) -> BatchSummary:
        """Capture what each transaction still has capturable; each one once."""
        summary = BatchSummary()
        wanted = list(dict.fromkeys(tx_ids))  # the same transaction twice is still one capture
        queue = iter(wanted)
        done = 0
        # Read once for the whole batch; each capture's rules are applied again to the stored journal
        # under the write lock before it is sent, so a transaction changed meanwhile is still safe.
        repository = self.payments.journal.repository
        known = await self.payments.read_store(repository.get_many, wanted)

        async def worker() -> None:
            nonlocal done
            for tx_id in queue:  # one shared iterator: each id is taken by exactly one worker
                if self._cancelled:
                    summary.not_started.append(tx_id)
                    continue
                outcome, reason = await self._capture(tx_id, known.pop(tx_id, None))
                self._file(summary, tx_id, outcome, reason)
                done += 1
                if progress is not None:
                    progress(BatchProgress(done, len(wanted), tx_id, outcome, reason))

        try:
            await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(wanted)))))
        finally:
            # A cancel given before the run started still applies to it; the next run starts afresh.
            self._cancelled = False
        return summary

    async def _capture(self, tx_id: str, known: Transaction | None) -> tuple[PaymentOutcome | None, str]:
        try:
            try:
                return await self.payments.capture(tx_id, known=known), ""
            except RuleViolation:
                if known is None:
                    raise
                # Read at the start of the batch and changed since (a partial capture elsewhere): once
                # more from the store, as a capture on its own would.
                return await self.payments.capture(tx_id), ""
        except (RuleViolation, PaymentInputError, ProfileError, KeyError) as exc:
            return None, getattr(exc, "message", "") or str(exc)

    @staticmethod
    def _file(summary: BatchSummary, tx_id: str, outcome: PaymentOutcome | None, reason: str) -> None:
        if outcome is None:
            summary.skipped.append((tx_id, reason))
            return
        state = outcome.operation.state
        if state is OperationState.SUCCEEDED:
            summary.captured.append(outcome)
        elif state is OperationState.DECLINED:
            summary.declined.append(outcome)
        elif state is OperationState.FAILED:
            summary.failed.append(outcome)
        else:
            summary.unknown.append(outcome)
