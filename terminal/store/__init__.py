"""The local database: schema, migrations, repositories returning domain objects.

The errors live here, free of SQLAlchemy, so that callers can catch them without importing the driver:

    StoreError                       every store failure; the message is one line, safe to show and log
    ├── DataDirectoryError           the data directory cannot be created or written
    ├── DatabaseInUseError           another Merchant Terminal holds the database
    ├── NotADatabaseError            the file is not (our) SQLite database
    ├── NewerDatabaseError           the schema was written by a newer version of the terminal
    ├── NotFoundError                no transaction / operation with that id
    ├── DuplicateError               an id, idempotency key or merchant reference is already stored
    │   └── DuplicateReferenceError  the merchant reference, at that gateway and profile
    ├── InvalidRecordError           a value the store refuses to keep (full card number, naive time...)
    ├── IllegalTransitionError       the stored state cannot move to the new one (also a TransitionError)
    └── StaleOperationError          the operation changed meanwhile (another writer got there first)
"""

from __future__ import annotations

from terminal.domain.operations import TransitionError


class StoreError(Exception):
    """A store failure; `str(error)` is one line naming what and where, never card data."""


class DataDirectoryError(StoreError):
    """The data directory cannot be created or is not writable."""


class DatabaseInUseError(StoreError):
    """Another running Merchant Terminal (or another program) holds the database."""


class NotADatabaseError(StoreError):
    """The database file is not an SQLite database, or not one of ours."""


class NewerDatabaseError(StoreError):
    """The database carries a schema revision this version does not know: a newer terminal wrote it."""


class NotFoundError(StoreError):
    """No record with that id."""


class DuplicateError(StoreError):
    """A unique value (id, idempotency key, merchant reference) is already stored."""


class DuplicateReferenceError(DuplicateError):
    """The merchant reference is already used by another transaction at the same gateway and profile."""


class InvalidRecordError(StoreError):
    """A value the store refuses to keep."""


class IllegalTransitionError(StoreError, TransitionError):
    """The stored operation's state cannot move to the requested one."""


class StaleOperationError(StoreError):
    """The stored operation is not in the state the caller expected: someone else updated it first."""


__all__ = [
    "DataDirectoryError",
    "DatabaseInUseError",
    "DuplicateError",
    "IllegalTransitionError",
    "InvalidRecordError",
    "NewerDatabaseError",
    "NotADatabaseError",
    "NotFoundError",
    "StaleOperationError",
    "StoreError",
]
