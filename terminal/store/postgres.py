"""What is PostgreSQL-specific about a shared back office: the write lock, advisory locks, change notices.

Several terminals share one PostgreSQL database (README, "Shared back office"). The rest of the store is
dialect-neutral SQLAlchemy Core; this module holds the three things SQLite does differently:

- The write lock. On SQLite `BEGIN IMMEDIATE` makes every write transaction exclusive, and the
  repositories' read-modify-writes (the next journal `seq`, the audit chain's next hash, an operator's
  failed-attempt count) rely on it. On PostgreSQL each write transaction takes the transaction-level
  advisory lock `WRITE_LOCK` as its first statement (released at commit or rollback), so the same
  reasoning holds across terminals. Writes are a few milliseconds (nothing is ever sent to a gateway
  inside one), so serialising them costs nothing a shop would notice. Operations on one transaction are
  additionally serialised by the row lock (`SELECT ... FOR UPDATE`) that `append_operation` and
  `update_operation` take. Waits are bounded by `lock_timeout`, so a stuck peer yields an error, not a hang.
- Session advisory locks (`pg_try_advisory_lock`): reconciliation runs in one terminal at a time.
- Change notices: each write transaction also issues `NOTIFY` on `CHANNEL` (delivered only when it
  commits); `ChangeListener` keeps one connection LISTENing so History can refresh when another terminal
  writes, without polling the tables.

The database URL and its password are resolved by `database_url` (settings.json or MT_DATABASE_URL; the
password never in settings.json: the OS keyring, or libpq's PGPASSWORD / ~/.pgpass).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from terminal.store import StoreError

__all__ = [
    "CHANNEL",
    "ENV_URL",
    "RECONCILE_LOCK",
    "WRITE_LOCK",
    "AdvisoryLock",
    "ChangeListener",
    "database_url",
    "is_shared",
    "lock_key",
]

log = logging.getLogger(__name__)

ENV_URL = "MT_DATABASE_URL"
SETTINGS_KEY = "database_url"
CHANNEL = "merchant_terminal_changes"
# Seconds a write waits for another terminal's write lock or row lock before it fails.
LOCK_TIMEOUT_S = 10
CONNECT_TIMEOUT_S = 10


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for `name` (the same in every terminal and version)."""
    return int.from_bytes(
        hashlib.sha256(f"merchant-terminal/{name}".encode()).digest()[:8], "big", signed=True
    )


WRITE_LOCK = lock_key("write")
RECONCILE_LOCK = lock_key("reconcile")


def is_shared(engine: Engine) -> bool:
    """True when several terminals may use this database at once (anything but a locked SQLite file)."""
    return engine.dialect.name != "sqlite"


# -- the engine -------------------------------------------------------------------------------------


def engine_options() -> dict[str, Any]:
    """create_engine keyword arguments for a PostgreSQL database."""
    return {
        "hide_parameters": True,
        "pool_pre_ping": True,  # a server restart or a dropped idle connection is noticed before use
        "connect_args": {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "Merchant Terminal"},
    }


def on_begin(connection: Connection, *, write: bool) -> None:
    """First statements of a transaction: for a write, the write lock and the change notice."""
    if not write:
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    # On the driver's connection: it begins the transaction implicitly (psycopg), and SQLAlchemy is
    # inside its own begin here. SET LOCAL and the xact lock last until commit or rollback.
    driver.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_S}s'")
    driver.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
    driver.execute(f"NOTIFY {CHANNEL}")


# -- session advisory locks -------------------------------------------------------------------------


class AdvisoryLock:
    """A session-level advisory lock held on its own connection until `release()`.

    Held by a connection, not a transaction: if the terminal dies, the server drops the connection and
    the lock with it, so a crashed terminal never blocks the others.
    """

    def __init__(self, connection: Connection, key: int) -> None:
        self._connection: Connection | None = connection
        self.key = key

    @classmethod
    def try_acquire(cls, engine: Engine, key: int) -> AdvisoryLock | None:
        """The lock if no other session holds it now (never waits), else None."""
        connection = engine.connect()
        try:
            got = bool(connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one())
            connection.commit()
        except BaseException:
            connection.close()
            raise
        if not got:
            connection.close()
            return None
        return cls(connection, key)

    def release(self) -> None:
        """Give the lock back (idempotent); a broken connection has lost it already."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            connection.commit()
        except DBAPIError as exc:
            log.warning("Advisory lock %s: unlock failed (%s); closing its connection", self.key, exc.orig)
            connection.invalidate()
        finally:
            connection.close()


# -- change notices ---------------------------------------------------------------------------------


class ChangeListener:
    """One LISTENing connection; `poll()` returns how many change notices have arrived so far.

    Synchronous and meant for one worker thread (services/changes.py). A poll is one trivial round trip;
    notices that arrived meanwhile are counted by psycopg's notify handler as the result comes in. When the
    connection breaks, the next poll reconnects and counts one change, since notices may have been missed.
    """

    def __init__(self, engine: Engine, channel: str = CHANNEL) -> None:
        self.engine = engine
        self.channel = channel
        self._count = 0
        self._lock = threading.Lock()
        self._raw: Any = None  # the psycopg connection, detached from the engine's pool while it listens
        self._connected_before = False

    def _notified(self, _notice: object) -> None:
        with self._lock:
            self._count += 1

    def _connect(self) -> Any:
        raw = self.engine.raw_connection()
        driver: Any = raw.driver_connection
        assert driver is not None
        raw.detach()  # a LISTENing connection never goes back to the pool
        driver.rollback()
        driver.autocommit = True
        driver.add_notify_handler(self._notified)
        driver.execute(f"LISTEN {self.channel}")
        return driver

    def poll(self) -> int:
        """The number of change notices seen so far (it only grows); raises StoreError when unreachable."""
        try:
            if self._raw is None:
                self._raw = self._connect()
                if self._connected_before:
                    self._notified(None)  # reconnected: something may have changed meanwhile
                self._connected_before = True
            self._raw.execute("SELECT 1")
        except Exception as exc:
            self._drop()
            raise StoreError(f"Could not read changes from the database: {_first_line(exc)}") from exc
        with self._lock:
            return self._count

    def _drop(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            try:
                raw.close()
            except Exception:  # already broken: nothing to close cleanly
                log.debug("Change listener connection was already closed", exc_info=True)

    def close(self) -> None:
        """Stop listening and close the connection."""
        self._drop()


# -- configuration ----------------------------------------------------------------------------------


def database_url(
    settings_file: Path,
    environ: Mapping[str, str],
    password: Callable[[], str | None] = lambda: None,
) -> URL | None:
    """The shared database's URL, or None for the local SQLite file (the default).

    From MT_DATABASE_URL when set (tests, scripted installs; it may carry a password), else from
    `database_url` in settings.json, which must not carry one: a password in a settings file is readable
    by anyone who can read the file. Without a password in the URL, `password()` is asked (the OS
    keyring); when it has none, libpq finds one itself in PGPASSWORD or ~/.pgpass (pgpass.conf on Windows).
    """
    source = ENV_URL
    raw = environ.get(ENV_URL, "").strip()
    if not raw:
        source = f"{settings_file} ({SETTINGS_KEY})"
        raw = _from_settings(settings_file)
    if not raw:
        return None
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise StoreError(f"The database URL in {source} is not valid: {exc}") from None
    backend = url.get_backend_name()
    if backend not in ("postgresql", "sqlite"):
        raise StoreError(
            f"The database URL in {source} names {backend}; use postgresql+psycopg://user@host/database"
        )
    if backend == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        if url.password is not None and source != ENV_URL:
            raise StoreError(
                f"The database URL in {source} contains a password; remove it and keep the password in "
                "the OS keyring (MerchantTerminal, database/password) or in ~/.pgpass"
            )
        if url.password is None:
            secret = password()
            if secret:
                url = url.set(password=secret)
    return url


def _from_settings(settings_file: Path) -> str:
    if not settings_file.exists():
        return ""
    try:
        data = json.loads(settings_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"The settings file {settings_file} cannot be read: {exc}") from None
    value = data.get(SETTINGS_KEY, "") if isinstance(data, dict) else ""
    return value.strip() if isinstance(value, str) else ""


def _first_line(exc: BaseException) -> str:
    text_ = str(getattr(exc, "orig", None) or exc).strip()
    return text_.splitlines()[0] if text_ else type(exc).__name__
