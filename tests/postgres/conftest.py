"""PostgreSQL fixtures: a real server named by MT_TEST_POSTGRES_URL (`.ci/run` installs and starts one).

Without it every test here skips with one clear message; nothing is started or faked. With it, the
session works in a scratch database of its own (created and dropped here when the role may create
databases; otherwise in the given database, whose terminal tables the fixtures drop and re-create).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from terminal.store.database import Database, open_database
from terminal.store.transactions import TransactionRepository

SKIP_MESSAGE = (
    "PostgreSQL tests skipped: set MT_TEST_POSTGRES_URL or run .ci/run, which installs and starts a server"
)
# Every table the migrations create; dropped between tests that need an empty database.
TABLES = ("operations", "transactions", "audit_log", "operators", "alembic_version")


def _given_url() -> URL | None:
    raw = os.environ.get("MT_TEST_POSTGRES_URL", "").strip()
    if not raw:
        return None
    url = make_url(raw)
    return url.set(drivername="postgresql+psycopg") if url.drivername == "postgresql" else url


@pytest.fixture(scope="session")
def pg_url() -> Iterator[URL]:
    """A database of the session's own on the test server (or the given one when it may not create)."""
    given = _given_url()
    if given is None:
        pytest.skip(SKIP_MESSAGE)
    admin = create_engine(given, isolation_level="AUTOCOMMIT")
    name = f"mt_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING UTF8'))
            # A throwaway database: commits need not wait for the disk (seeding thousands of rows).
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except DBAPIError as exc:
        if "permission denied" not in str(exc.orig).lower():
            admin.dispose()
            pytest.fail(f"MT_TEST_POSTGRES_URL is set but the server cannot be used: {exc.orig}")
        admin.dispose()
        yield given  # no CREATEDB: the given database, its terminal tables reset by `fresh_url`
        return
    try:
        yield given.set(database=name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def drop_terminal_tables(url: URL) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for table in TABLES:
                conn.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
    finally:
        engine.dispose()


@pytest.fixture
def fresh_url(pg_url: URL) -> URL:
    """The session database, emptied of the terminal's tables (not yet migrated)."""
    drop_terminal_tables(pg_url)
    return pg_url


@pytest.fixture
def db(fresh_url: URL) -> Iterator[Database]:
    """A freshly migrated shared database, as a terminal opens it."""
    database = open_database(url=fresh_url)
    yield database
    database.close()


@pytest.fixture
def repo(db: Database) -> TransactionRepository:
    return TransactionRepository(db.engine)


def url_text(url: URL) -> str:
    """The URL with its password, for a child process or an environment variable."""
    return url.render_as_string(hide_password=False)
