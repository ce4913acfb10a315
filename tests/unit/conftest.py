"""Fixtures of the store's unit tests: a migrated SQLite database in the test's folder, and its repository."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from terminal.store.database import Database, open_database
from terminal.store.transactions import TransactionRepository


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path / "data")
    yield database
    database.close()


@pytest.fixture
def repo(db: Database) -> TransactionRepository:
    return TransactionRepository(db.engine)
