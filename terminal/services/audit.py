"""The audit trail: who did what, when, from where, and how it ended; hash-chained so edits show.

Every entry carries the six fields of PCI DSS 10.2.2 (operator, event, UTC time, outcome, origin =
workstation + OS user, affected object) plus a detail object (amount, gateway reference, approver...).
Each entry's hash is SHA-256 over its own fields and the previous entry's hash, so `verify` finds any
changed, removed or reordered entry (PCI-12). The chain is not keyed: someone able to rewrite the whole
database could rebuild it, which is why `export` writes the final hash too, to be kept elsewhere.

Details are scrubbed before they are sealed: an audit entry never holds a card number or a secret.
"""

from __future__ import annotations

import csv
import getpass
import hashlib
import json
import logging
import socket
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from terminal.domain.scrub import scrub_value
from terminal.services.store_worker import StoreWorker
from terminal.store.audit import GENESIS_HASH, AuditRecord, AuditRepository
from terminal.store.groups import write_groups

__all__ = ["RETENTION", "AuditTrail", "Event", "VerifyResult", "origin"]

log = logging.getLogger(__name__)

# How many times `record_soon` tries to write an entry before it logs the failure.
_SOON_ATTEMPTS = 3

# PCI DSS 10.5.1: twelve months kept; nothing younger is ever purged.
RETENTION = timedelta(days=366)
SYSTEM = "system"


class Event(StrEnum):
    """What happened. Values are stored; add new ones freely, never rename."""

    AUDIT_STARTED = "audit.started"
    AUDIT_VIEWED = "audit.viewed"
    AUDIT_VERIFIED = "audit.verified"
    AUDIT_EXPORTED = "audit.exported"
    AUDIT_PURGED = "audit.purged"
    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"
    LOCKED = "screen.locked"
    UNLOCKED = "screen.unlocked"
    LOCKED_OUT = "operator.locked_out"
    STEP_UP = "reauthenticated"
    OPERATOR_CREATED = "operator.created"
    OPERATOR_CHANGED = "operator.changed"
    CREDENTIAL_CHANGED = "operator.credential_changed"
    APPROVAL = "approval"
    ACCESS_DENIED = "access.denied"
    MONEY = "money"
    SETTINGS_CHANGED = "settings.changed"
    PROFILE_CHANGED = "profile.changed"
    SECRET_CHANGED = "profile.secret_changed"  # noqa: S105 - an event name, not a secret
    DIRECT_ENTRY = "profile.direct_entry"
    CLOCK_SKEW = "clock.skew"


def origin() -> str:
    """This workstation and OS user, as 'host/user'."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name (some containers)
        user = "?"
    return f"{socket.gethostname()}/{user}"


def _canonical(detail: Mapping[str, Any]) -> str:
    return json.dumps(scrub_value(dict(detail)), sort_keys=True, separators=(",", ":"), default=str)


def _digest(seq: int, at: datetime, operator: str, event: str, outcome: str, origin_: str, target: str,
            detail: str, prev_hash: str) -> str:  # fmt: skip
    fields = [str(seq), at.astimezone(UTC).isoformat(), operator, event, outcome, origin_, target, detail]
    payload = json.dumps([*fields, prev_hash], separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(payload.encode("ascii")).hexdigest()


def seal(record: AuditRecord) -> str:
    """The hash an entry must carry."""
    return _digest(
        record.seq, record.at, record.operator, record.event, record.outcome, record.origin,
        record.target, record.detail, record.prev_hash,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What verification found: `ok`, how many entries it checked, and the first problem in words."""

    ok: bool
    checked: int
    problem: str = ""
    bad_seq: int | None = None
    last_hash: str = GENESIS_HASH

    @property
    def summary(self) -> str:
        """One line for the screen."""
        if self.ok:
            return f"Audit log intact: {self.checked} entries checked; last hash {self.last_hash[:16]}…"
        return f"Audit log damaged at entry {self.bad_seq}: {self.problem}"


class AuditTrail:
    """Writes and checks the audit log. `operator()` names who is signed in ('' when nobody)."""

    def __init__(
        self,
        repository: AuditRepository,
        *,
        operator: Callable[[], str] = lambda: "",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        workstation: str | None = None,
        worker: StoreWorker | None = None,
    ) -> None:
        self.repository = repository
        self.operator = operator
        self.now = now
        self.origin = workstation or origin()
        # Shared with the journal when handed in (one writer, group commits); closed by its owner then.
        self._own_worker = worker is None
        self.worker = worker or StoreWorker(write_groups(repository.engine), name="audit")

    # -- writing --------------------------------------------------------------------------------
    def record(
        self,
        event: Event | str,
        *,
        success: bool = True,
        target: str = "",
        operator: str | None = None,
        **detail: Any,
    ) -> AuditRecord:
        """Append one entry, committed on return. `operator` defaults to whoever is signed in.

        Entries queued with `record_soon` are written first, so the chain keeps the order of the actions.
        """
        self.flush()
        who = operator if operator is not None else (self.operator() or SYSTEM)
        at = self.now()
        text = _canonical(detail)
        outcome = "success" if success else "failure"

        def build(seq: int, prev: str) -> AuditRecord:
            record = AuditRecord(seq, at, who, str(event), outcome, self.origin, target, text, prev, "")
            return replace(record, hash=seal(record))

        return self.repository.append(build)

    async def arecord(self, event: Event | str, **kwargs: Any) -> AuditRecord:
        """`record` off the event loop's thread (the UI never waits on an fsync)."""
        return await self.worker.write(self._entry_writer(event, kwargs))

    def record_soon(self, event: Event | str, **kwargs: Any) -> None:
        """`record` queued on the store's worker, not waited for: the entry of a money action, written in
        order after the operation it describes (queued on the same worker before it), often in the same
        commit as other writes. The caller gets its answer without waiting for one more commit; a crash
        before the commit loses the entry exactly as a crash just before an awaited write would. A write
        that fails is tried again (up to three times in all), then logged as an error; reads of the log
        (`latest`, `verify`) and `record` wait for queued entries."""
        self._submit_soon(self._entry_writer(event, kwargs), event, attempt=1)

    def _entry_writer(self, event: Event | str, kwargs: dict[str, Any]) -> Callable[[], AuditRecord]:
        who = kwargs.pop("operator", None)
        who = who if who is not None else (self.operator() or SYSTEM)  # read now, on the caller's thread

        def write() -> AuditRecord:
            return self.record(event, operator=who, **kwargs)

        return write

    def _submit_soon(self, write: Callable[[], AuditRecord], event: Event | str, attempt: int) -> None:
        future = self.worker.submit(write, write=True)
        future.add_done_callback(lambda done: self._after_soon(done, write, event, attempt))

    def _after_soon(
        self, done: Future[AuditRecord], write: Callable[[], AuditRecord], event: Event | str, attempt: int
    ) -> None:
        exc = None if done.cancelled() else done.exception()
        if exc is None:
            return
        if attempt < _SOON_ATTEMPTS:
            try:
                self._submit_soon(write, event, attempt + 1)
                return
            except RuntimeError:  # the worker closed meanwhile
                pass
        log.error("An audit entry (%s) could not be written: %s", event, exc)

    def flush(self) -> None:
        """Wait until every entry queued so far is written (reads of the log see them)."""
        if self.worker.on_worker_thread():
            return
        try:
            self.worker.submit(lambda: None).result()
        except RuntimeError:  # the worker is closed: nothing is queued any more
            return

    # -- reading and checking ----------------------------------------------------------------------
    def latest(self, limit: int = 500) -> list[AuditRecord]:
        """The newest entries, newest first."""
        self.flush()
        return self.repository.latest(limit)

    def verify(self) -> VerifyResult:
        """Walk the whole chain: each hash recomputed, each link to the previous entry, no gap in seq."""
        self.flush()
        prev_hash, prev_seq, checked = GENESIS_HASH, 0, 0
        first: AuditRecord | None = None
        anchors: set[tuple[int, str]] = set()
        for record in self.repository.entries():
            if first is None:
                first = record
            elif record.seq != prev_seq + 1:
                return VerifyResult(False, checked, f"entry {prev_seq + 1} is missing", prev_seq + 1)
            elif record.prev_hash != prev_hash:
                return VerifyResult(False, checked, "it does not follow the entry before it", record.seq)
            if seal(record) != record.hash:
                return VerifyResult(
                    False, checked, "its content was changed after it was written", record.seq
                )
            if record.event == Event.AUDIT_PURGED:
                try:
                    detail = json.loads(record.detail)
                    anchors.add((int(detail["through_seq"]), str(detail["through_link"])))
                except (ValueError, KeyError, TypeError):
                    return VerifyResult(False, checked, "a purge entry is unreadable", record.seq)
            prev_hash, prev_seq, checked = record.hash, record.seq, checked + 1
        # Entries before `first` are gone when it does not start the chain: only a purge explains that.
        starts = first is None or (first.seq, first.prev_hash) == (1, GENESIS_HASH)
        if first is not None and not starts and (first.seq - 1, first.prev_hash) not in anchors:
            return VerifyResult(False, checked, "entries before it were removed", first.seq)
        return VerifyResult(True, checked, last_hash=prev_hash)

    def export(self, path: Path) -> VerifyResult:
        """Write every entry to a CSV file (and the chain's final hash), after verifying; audited."""
        result = self.verify()
        tmp = path.with_name(path.name + ".part")
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle)
            out.writerow(["seq", "at_utc", "operator", "event", "outcome", "origin", "target", "detail",
                          "prev_hash", "hash"])  # fmt: skip
            for r in self.repository.entries():
                row = [r.seq, r.at.isoformat(), r.operator, r.event, r.outcome, r.origin, r.target, r.detail,
                       r.prev_hash, r.hash]  # fmt: skip
                out.writerow([_no_formula(str(v)) for v in row])
            out.writerow(["#", "verified" if result.ok else "DAMAGED", result.summary])
        tmp.replace(path)
        self.record(Event.AUDIT_EXPORTED, target=path.name, entries=result.checked, intact=result.ok)
        return result

    def purge(self, now: datetime | None = None, *, operator: str | None = None) -> int:
        """Remove entries older than the retention period (never younger); records the purge itself."""
        at = now or self.now()
        cutoff = at - RETENTION
        who = operator or self.operator() or SYSTEM

        def build(seq: int, prev: str, through_seq: int, through_hash: str) -> AuditRecord:
            detail = _canonical({"through_seq": through_seq, "through_link": through_hash})
            record = AuditRecord(seq, at, who, Event.AUDIT_PURGED.value, "success", self.origin,
                                 "audit_log", detail, prev, "")  # fmt: skip
            return replace(record, hash=seal(record))

        return self.repository.purge_before(cutoff, build)

    async def apurge(self) -> int:
        """The scheduled purge (at start-up, then daily), off the event loop's thread, by 'system'."""

        def purge() -> int:
            return self.purge(operator=SYSTEM)

        return await self.worker.run(purge)

    def close(self) -> None:
        """Finish pending writes (a shared worker is stopped by its owner)."""
        if self._own_worker:
            self.worker.close()


def _no_formula(value: str) -> str:
    # A cell starting with = + - @ would run as a formula in a spreadsheet (CSV injection).
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
