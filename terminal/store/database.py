"""Opening the database: data directory, single-instance lock, SQLite settings, migrations.

SQLite (the default) is one file, `terminal.db`, in the user's data directory, with:
- `journal_mode=WAL`: readers (history screen) never block the writer (the journal), and vice versa;
- `synchronous=FULL`: every commit is fsynced to the WAL before it returns. With NORMAL a commit
  survives an application crash but may vanish on power loss or an OS crash; the write-ahead record
  of a money-moving call must survive both (DESIGN.md, Exactly once), and it costs one fsync for the
  handful of commits a payment makes;
- `foreign_keys=ON`, a busy timeout through the driver's connect arguments, and transactions begun
  by us (`BEGIN IMMEDIATE` for writes, so a read-modify-write never interleaves with another writer).

One terminal per SQLite file: an OS lock on `terminal.lock` beside the database is held for the life
of the `Database`; a second terminal gets `DatabaseInUseError`. A PostgreSQL URL (several terminals
sharing a back office) skips the file handling; write transactions there take an advisory lock instead
of `BEGIN IMMEDIATE` (store/postgres.py). All other SQL is dialect-neutral.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from terminal.store import (
    DatabaseInUseError,
    DataDirectoryError,
    NewerDatabaseError,
    NotADatabaseError,
    StoreError,
    postgres,
)
from terminal.store.location import default_data_dir

if TYPE_CHECKING:
    # Alembic costs about 0.2 s to import: only a new or older database (or a test) needs it.
    from alembic.config import Config

__all__ = [
    "DATABASE_FILE",
    "LOCK_FILE",
    "DataDirectoryError",
    "Database",
    "DatabaseInUseError",
    "NewerDatabaseError",
    "NotADatabaseError",
    "StoreError",
    "alembic_config",
    "default_data_dir",
    "head_revision",
    "known_revisions",
    "open_database",
    "upgrade_to_head",
]

log = logging.getLogger(__name__)

DATABASE_FILE = "terminal.db"
LOCK_FILE = "terminal.lock"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Seconds a statement waits for another connection's lock before failing ("database is locked").
BUSY_TIMEOUT_S = 10.0
# At start-up a short wait is enough to tell "held by someone else" from "momentarily busy".
STARTUP_BUSY_TIMEOUT_MS = 1500

# Execution option that makes the SQLite begin hook take the write lock at BEGIN.
WRITE_OPTION = "terminal_write"


# -- the single-instance lock ------------------------------------------------------------------


class _InstanceLock:
    """An exclusive, non-blocking OS lock on a file, held until `release()` or process exit."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, path: Path, database: Path) -> _InstanceLock:
        try:
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        except OSError as exc:
            raise DataDirectoryError(
                f"Data directory {path.parent} is not writable: {_os_reason(exc)}"
            ) from exc
        try:
            _lock_fd(fd)
        except OSError as exc:
            os.close(fd)
            raise DatabaseInUseError(
                f"The database {database} is in use by another Merchant Terminal (locked)"
            ) from exc
        return cls(path, fd)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            _unlock_fd(fd)
        os.close(fd)


if sys.platform == "win32":
    import msvcrt

    def _lock_fd(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock_fd(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock_fd(fd: int) -> None:
        # flock locks belong to the open file description: a second open in this process conflicts too.
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock_fd(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


# -- the database ------------------------------------------------------------------------------


@dataclass(eq=False)
class Database:
    """An open, migrated database: the engine to build repositories on, and the file (None for a URL)."""

    engine: Engine
    path: Path | None = None
    _lock: _InstanceLock | None = field(default=None, repr=False)

    @property
    def url(self) -> URL:
        """The engine's URL (password hidden when rendered)."""
        return self.engine.url

    def close(self) -> None:
        """Close every connection and release the single-instance lock."""
        self.engine.dispose()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_database(data_dir: Path | None = None, url: str | URL | None = None) -> Database:
    """Open (creating and migrating as needed) the terminal's database.

    With no URL: the SQLite file `terminal.db` in `data_dir` (default: `default_data_dir()`), which is
    created if missing, and locked against a second terminal. With a URL: that database (SQLite file
    URLs get the same settings and lock beside the file). Raises a `StoreError` subclass with a
    one-line message naming the path on every foreseeable failure.
    """
    if url is None:
        directory = data_dir if data_dir is not None else default_data_dir()
        _prepare_directory(directory)
        return _open_sqlite_file(directory / DATABASE_FILE)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            return _open_engine(_sqlite_engine(parsed, memory=True), None, None)
        database = Path(parsed.database or "")
        _prepare_directory(database.parent)
        return _open_sqlite_file(database, parsed)
    if parsed.get_backend_name() == "postgresql":
        return _open_engine(_postgres_engine(parsed), None, None)
    engine = create_engine(parsed, hide_parameters=True, pool_pre_ping=True)
    return _open_engine(engine, None, None)


def _postgres_engine(url: URL) -> Engine:
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")  # psycopg 3, the driver the terminal ships
    try:
        engine = create_engine(url, **postgres.engine_options())
    except ImportError as exc:
        raise StoreError(f"PostgreSQL support is not installed ({exc}); install psycopg[binary]") from None
    event.listen(engine, "begin", _postgres_on_begin)
    return engine


def _postgres_on_begin(connection: Connection) -> None:
    postgres.on_begin(connection, write=bool(connection.get_execution_options().get(WRITE_OPTION, False)))


def _prepare_directory(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataDirectoryError(f"Data directory {directory} is not writable: {_os_reason(exc)}") from exc
    if not directory.is_dir():
        raise DataDirectoryError(f"Data directory {directory} is not writable: it is not a directory")


def _open_sqlite_file(database: Path, parsed: URL | None = None) -> Database:
    lock = _InstanceLock.acquire(database.with_name(_lock_name(database)), database)
    try:
        if database.exists() and not os.access(database, os.R_OK | os.W_OK):
            raise DataDirectoryError(
                f"Data directory {database.parent} is not writable: {database} is read-only"
            )
        url = parsed if parsed is not None else URL.create("sqlite+pysqlite", database=str(database))
        return _open_engine(_sqlite_engine(url, memory=False), database, lock)
    except BaseException:
        lock.release()
        raise


def _lock_name(database: Path) -> str:
    return LOCK_FILE if database.name == DATABASE_FILE else f"{database.name}.lock"


def _sqlite_engine(url: URL, *, memory: bool) -> Engine:
    kwargs: dict[str, Any] = {"hide_parameters": True, "connect_args": {"timeout": BUSY_TIMEOUT_S}}
    if memory:
        # One shared connection, or every checkout would see its own empty database.
        kwargs["poolclass"] = StaticPool
        kwargs["connect_args"]["check_same_thread"] = False
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    event.listen(engine, "do_execute", _sqlite_do_execute)
    return engine


def _sqlite_do_execute(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
    """Run one INSERT, UPDATE or DELETE as an `executemany` of one parameter set: the same statement and
    effect, and the same rowcount, but the sqlite3 module then skips its `lastrowid` call, which lets go
    of the interpreter lock once more per statement; with a busy event loop each such release is a wait
    to get it back (docs/BENCHMARKS.md, the batch). Nothing here reads `lastrowid`: every primary key is
    given by the terminal. Anything else (a read, a statement returning rows) runs as usual."""
    compiled = getattr(context, "compiled", None)
    if (
        compiled is None
        or not (context.isinsert or context.isupdate or context.isdelete)
        or compiled.effective_returning
    ):
        return False
    cursor.executemany(statement, (parameters,))
    return True


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module (it would not BEGIN before a SELECT);
    # _sqlite_on_begin emits BEGIN instead. PRAGMAs run outside any transaction, as they must.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        mode = cursor.fetchone()[0]
        if mode not in ("wal", "memory"):
            log.warning("SQLite could not switch to WAL (journal mode %s); concurrency will suffer", mode)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def writer(engine: Engine) -> Engine:
    """The engine for writes: its transactions take the write lock at BEGIN (SQLite: BEGIN IMMEDIATE;
    PostgreSQL: a transaction-level advisory lock shared by every terminal)."""
    return engine.execution_options(**{WRITE_OPTION: True})


def _open_engine(engine: Engine, path: Path | None, lock: _InstanceLock | None) -> Database:
    where = str(path) if path is not None else engine.url.render_as_string(hide_password=True)
    try:
        upgrade_to_head(engine, where=where)
    except BaseException:
        engine.dispose()
        raise
    return Database(engine, path, lock)


# -- migrations --------------------------------------------------------------------------------


def alembic_config(connection: Connection | None = None) -> Config:
    """The Alembic configuration, built in code: scripts from the package, optional open connection."""
    from alembic.config import Config  # deferred: see upgrade_to_head

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


# `revision: str = "0004"` / `down_revision: str | None = "0003"` at the top level of a migration file.
_REVISION_LINE = re.compile(r"""^(down_revision|revision)\b[^=]*=\s*(?:None|["']([^"']+)["'])\s*$""", re.M)


@functools.cache
def _script_revisions() -> tuple[str, frozenset[str]]:
    """The head revision and every known revision, read from the migration files without Alembic.

    Every start checks the database against these; importing Alembic (about 0.2 s) only to learn that
    the database is already at the head would be most of the store's start-up cost. The files are
    parsed the way they are written (one linear chain); tests/unit/test_migrations.py checks the
    result against Alembic's own reading of the same directory.
    """
    parents: dict[str, str | None] = {}
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        found = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        if found.get("revision"):
            parents[found["revision"]] = found.get("down_revision") or None
    children = {parent for parent in parents.values() if parent is not None}
    heads = sorted(set(parents) - children)
    if len(heads) != 1:
        raise StoreError(f"The terminal's migrations have {len(heads)} heads ({', '.join(heads)}), not one")
    return heads[0], frozenset(parents)


def head_revision() -> str:
    """The schema revision this version of the terminal writes."""
    return _script_revisions()[0]


def known_revisions() -> frozenset[str]:
    """Every schema revision this version of the terminal can read (and migrate to the head)."""
    return _script_revisions()[1]


def upgrade_to_head(engine: Engine, *, where: str | None = None) -> None:
    """Check the database is ours and not newer, then migrate it to the head revision, in one transaction.

    On SQLite the transaction takes the write lock at once with a short wait, which is also the
    start-up check that no other program is writing to the file. On PostgreSQL it takes the shared write
    lock, so two terminals starting at once migrate one after the other (the second finds the head).
    A database already at the head (every start but the first after an install or upgrade) is checked
    with plain SQL; Alembic is imported and run only for a new or older database.
    """
    where = where or engine.url.render_as_string(hide_password=True)
    is_sqlite = engine.dialect.name == "sqlite"
    try:
        with writer(engine).connect() as connection:
            if is_sqlite:
                _busy_timeout(connection, STARTUP_BUSY_TIMEOUT_MS)
            try:
                with connection.begin():
                    if _check_revision(connection, where) != {head_revision()}:
                        from alembic import command  # deferred: see the docstring

                        command.upgrade(alembic_config(connection), "head")
            finally:
                if is_sqlite:
                    _busy_timeout(connection, int(BUSY_TIMEOUT_S * 1000))
    except DBAPIError as exc:
        raise _classify(exc, where) from exc
    except SQLAlchemyError as exc:
        raise StoreError(f"The database {where} could not be opened: {_first_line(exc)}") from exc


def _busy_timeout(connection: Connection, milliseconds: int) -> None:
    # On the driver's connection: through SQLAlchemy the PRAGMA would begin a transaction first.
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA busy_timeout={int(milliseconds)}")


def _current_revisions(connection: Connection) -> set[str]:
    """The revisions in the database's `alembic_version` table (empty when there is none), read as
    Alembic's MigrationContext reads them, without importing Alembic."""
    if not inspect(connection).has_table("alembic_version"):
        return set()
    rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
    return {str(row[0]) for row in rows}


def _check_revision(connection: Connection, where: str) -> set[str]:
    """The database's current revisions, after refusing a foreign or newer database."""
    heads = _current_revisions(connection)
    if not heads:
        tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
        if tables:
            raise NotADatabaseError(
                f"The database {where} is not a Merchant Terminal database "
                "(it has tables but no schema revision)"
            )
        return heads
    unknown = sorted(heads - known_revisions())
    if unknown:
        raise NewerDatabaseError(
            f"The database {where} was written by a newer Merchant Terminal "
            f"(schema revision {', '.join(unknown)}); install the newer version to open it"
        )
    return heads


def _classify(exc: DBAPIError, where: str) -> StoreError:
    reason = _first_line(exc.orig) if exc.orig is not None else _first_line(exc)
    lowered = reason.lower()
    if "database is locked" in lowered or "database is busy" in lowered:
        return DatabaseInUseError(f"The database {where} is in use by another program (locked)")
    if "not a database" in lowered or "malformed" in lowered or "encrypted" in lowered:
        return NotADatabaseError(f"The file {where} is not a Merchant Terminal database ({reason})")
    if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
        return DataDirectoryError(f"Data directory {Path(where).parent} is not writable: {reason}")
    return StoreError(f"The database {where} could not be opened: {reason}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _os_reason(exc: OSError) -> str:
    return exc.strerror or _first_line(exc)
