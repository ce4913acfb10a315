"""The audit repository: append-only rows of `audit_log`, each carrying the hash of the one before.

There is no update and no delete of single entries (PCI-12); the one removal is `purge_before`, which
drops whole months past retention from the start of the chain. `append` reads the last entry and writes
the next one inside one write transaction (`BEGIN IMMEDIATE` on SQLite), so two writers can never fork
the chain. The hash itself is computed by the caller's `seal` function (services/audit.py), which keeps
the chain's rule in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Row, delete, func, insert, select

from terminal.store import InvalidRecordError
from terminal.store.database import writer
from terminal.store.groups import write_groups
from terminal.store.schema import audit_log

__all__ = ["GENESIS_HASH", "AuditRecord", "AuditRepository"]

# Built once (see statements.py): the end of the chain, and a new entry.
_CHAIN_END = select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
_INSERT_ENTRY = insert(audit_log)

GENESIS_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit entry as stored. `detail` is canonical JSON text (sorted keys, no spaces)."""

    seq: int
    at: datetime
    operator: str
    event: str
    outcome: str
    origin: str
    target: str
    detail: str
    prev_hash: str
    hash: str


def _record(row: Row[Any]) -> AuditRecord:
    at = row.at if row.at.tzinfo is not None else row.at.replace(tzinfo=UTC)
    return AuditRecord(
        seq=int(row.seq),
        at=at.astimezone(UTC),
        operator=row.operator,
        event=row.event,
        outcome=row.outcome,
        origin=row.origin,
        target=row.target,
        detail=row.detail,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class AuditRepository:
    """The audit log table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(self, build: Callable[[int, str], AuditRecord]) -> AuditRecord:
        """Write the next entry: `build(seq, prev_hash)` makes it from the chain's current end."""
        with write_groups(self.engine).begin() as conn:
            last = conn.execute(_CHAIN_END).first()
            seq, prev = (1, GENESIS_HASH) if last is None else (int(last.seq) + 1, str(last.hash))
            record = build(seq, prev)
            if record.seq != seq or record.prev_hash != prev:
                raise InvalidRecordError("an audit entry must continue the chain where it ends")
            if record.at.tzinfo is None:
                raise InvalidRecordError("audit entry: a time without a time zone is not stored")
            conn.execute(_INSERT_ENTRY, _entry_values(record))
        return record

    def entries(self, *, after_seq: int = 0, batch: int = 1000) -> Iterator[AuditRecord]:
        """Every entry in chain order, read in batches (a year's log does not sit in memory at once)."""
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(audit_log)
                    .where(audit_log.c.seq > after_seq)
                    .order_by(audit_log.c.seq)
                    .limit(batch)
                ).all()
            if not rows:
                return
            for row in rows:
                yield _record(row)
            after_seq = int(rows[-1].seq)

    def latest(self, limit: int) -> list[AuditRecord]:
        """The newest `limit` entries, newest first (what the audit screen lists)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)).all()
        return [_record(row) for row in rows]

    def count(self) -> int:
        """How many entries the log holds."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())

    def purge_before(self, cutoff: datetime, seal_purge: Callable[[int, str, int, str], AuditRecord]) -> int:
        """Drop the oldest entries written before `cutoff`, in one transaction with a purge entry.

        `seal_purge(seq, prev_hash, through_seq, through_hash)` builds the entry that records where the
        kept chain now starts, so verification can still tell a purge from a removal.
        """
        with writer(self.engine).begin() as conn:
            old = conn.execute(
                select(audit_log.c.seq, audit_log.c.hash)
                .where(audit_log.c.at < cutoff.astimezone(UTC))
                .order_by(audit_log.c.seq.desc())
                .limit(1)
            ).first()
            if old is None:
                return 0
            through_seq, through_hash = int(old.seq), str(old.hash)
            last = conn.execute(
                select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
            ).one()
            record = seal_purge(int(last.seq) + 1, str(last.hash), through_seq, through_hash)
            conn.execute(_INSERT_ENTRY, _entry_values(record))
            done = conn.execute(delete(audit_log).where(audit_log.c.seq <= through_seq))
        return int(done.rowcount)


def _entry_values(record: AuditRecord) -> dict[str, Any]:
    return {
        "seq": record.seq,
        "at": record.at.astimezone(UTC),
        "operator": record.operator,
        "event": record.event,
        "outcome": record.outcome,
        "origin": record.origin,
        "target": record.target,
        "detail": record.detail,
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }
