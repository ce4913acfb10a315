"""Group commit: writes that arrive together share one database transaction and one commit (fsync).

A repository write asks `write_groups(engine).begin()` for its connection. Outside a group that is a
database transaction of its own, committed when the block ends, as before. Inside `group()` (entered by
the store's worker thread around writes queued at the same moment) it is the group's one transaction,
committed once at the end. Nothing of the group is durable until that commit, and the worker tells no
caller its write is done before it; if any write of the group fails, the worker rolls the whole group
back and runs each write again alone, so that the failing one fails alone (services/store_worker.py).
The end-of-day batch's captures, their sent marks, answers and audit entries thus share commits instead
of paying one each.

The group's connection is per thread, so only the thread that opened a group writes into it; writes
from any other thread keep their own transactions.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine

from terminal.store.database import writer

_LOCK = threading.Lock()
_GROUPS: WeakKeyDictionary[Engine, WriteGroups] = WeakKeyDictionary()


class WriteGroups:
    """The write transactions of one engine: each its own, or one group's on this thread."""

    def __init__(self, engine: Engine) -> None:
        # A weak reference: the registry below must not keep a disposed engine alive through its groups.
        self._engine = weakref.ref(engine)
        self._local = threading.local()

    def _writer(self) -> Engine:
        engine = self._engine()
        if engine is None:
            raise RuntimeError("the engine of these write groups is gone")
        return writer(engine)

    def _current(self) -> Connection | None:
        return getattr(self._local, "connection", None)

    @contextmanager
    def group(self) -> Iterator[None]:
        """One write transaction for every `begin()` on this thread until the block ends; committed then.

        An exception escaping the block rolls the whole group back.
        """
        if self._current() is not None:
            raise RuntimeError("a write group is already open on this thread")
        with self._writer().begin() as connection:
            self._local.connection = connection
            try:
                yield
            finally:
                self._local.connection = None

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection to write on: committed at the end of the block, or of the group it belongs to."""
        connection = self._current()
        if connection is None:
            with self._writer().begin() as own:
                yield own
            return
        yield connection


def write_groups(engine: Engine) -> WriteGroups:
    """The engine's write groups (one per engine, shared by its repositories)."""
    with _LOCK:
        groups = _GROUPS.get(engine)
        if groups is None:
            groups = _GROUPS[engine] = WriteGroups(engine)
        return groups
