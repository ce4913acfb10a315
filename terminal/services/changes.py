"""'The history changed elsewhere': a cheap signal History polls to show other terminals' work.

On a shared PostgreSQL database every write transaction sends a NOTIFY (store/postgres.py); this feed
keeps one LISTENing connection and answers `changed()` with whether any notice arrived since the last
call. A poll is one trivial round trip on the feed's own worker thread: never the UI thread, and never
the journal's thread, so a slow network cannot hold up a payment's writes. Our own writes notify too,
which costs at most one extra refresh.

On SQLite there is nothing to watch: one terminal per file, and the screens already refresh after
their own actions, so `changed()` is always False and nothing is opened.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine

from terminal.store import StoreError
from terminal.store.postgres import ChangeListener, is_shared

__all__ = ["POLL_EVERY_MS", "ChangeFeed"]

log = logging.getLogger(__name__)

# How often History asks: quick enough that another till's sale shows within a few seconds.
POLL_EVERY_MS = 3000


class ChangeFeed:
    """Whether another terminal (or this one) wrote to the shared database since the last poll."""

    def __init__(self, engine: Engine) -> None:
        self._listener = ChangeListener(engine) if is_shared(engine) else None
        self._executor = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="changes") if self._listener else None
        )
        self._seen: int | None = None
        self._failing = False

    @property
    def enabled(self) -> bool:
        """True when the database is shared, so polling can find anything."""
        return self._listener is not None

    async def changed(self) -> bool:
        """True when a write was committed since the previous call (the first call only starts listening).

        An unreachable server is logged once and reads as "no change"; History keeps what it shows.
        """
        if self._listener is None or self._executor is None:
            return False
        loop = asyncio.get_running_loop()
        try:
            count = await loop.run_in_executor(self._executor, self._listener.poll)
        except StoreError as exc:
            if not self._failing:
                log.warning("History cannot watch the shared database for changes: %s", exc)
            self._failing = True
            return False
        if self._failing:
            log.info("History is watching the shared database for changes again")
            self._failing = False
        seen, self._seen = self._seen, count
        return seen is not None and count != seen

    def close(self) -> None:
        """Stop listening (a poll in flight finishes first)."""
        if self._executor is not None and self._listener is not None:
            self._executor.submit(self._listener.close)
            self._executor.shutdown(wait=True)
