"""Shared builders for the operator, audit and settings tests: a real database in a temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from terminal.services.audit import AuditTrail
from terminal.services.operators import OperatorService, Session
from terminal.store.audit import AuditRepository
from terminal.store.database import Database, open_database
from terminal.store.operators import OperatorRepository


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.at = start or datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@dataclass
class Security:
    database: Database
    clock: FakeClock
    audit: AuditTrail
    operators: OperatorService
    session: Session


def build_security(data_dir: Path) -> Iterator[Security]:
    database = open_database(data_dir)
    clock = FakeClock()
    audit = AuditTrail(AuditRepository(database.engine), now=clock, workstation="till-1/tester")
    operators = OperatorService(OperatorRepository(database.engine), audit, now=clock)
    try:
        yield Security(database, clock, audit, operators, Session(operators))
    finally:
        audit.close()
        database.close()
