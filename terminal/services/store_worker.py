"""The store's one worker thread: reads and writes in the order they were asked for, off the UI thread,
and writes queued together committed together (group commit).

The journal and the audit trail hand their database calls to the same worker, so the database has one
writer in this process (two would wait on each other's lock) and a burst of writes (the end-of-day
batch: captures written ahead, marked sent, answered, audited) shares commits. A write still fails
alone: when one of a group fails, the group is rolled back and its writes run again one by one
(terminal/store/groups.py).
An awaited write returns only once the commit that holds it is durable, so "written ahead before
sending" means what it meant with one commit per write. A read waits for the writes queued before it,
and sees them.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from terminal.store.groups import WriteGroups

T = TypeVar("T")

log = logging.getLogger(__name__)

# At most this many writes share one commit: the first caller of a group waits for all of them.
GROUP_LIMIT = 32


@dataclass(slots=True)
class _Job:
    fn: Callable[[], Any]
    write: bool
    future: Future[Any] = field(default_factory=Future)
    # An awaiting coroutine's future on its event loop: the worker hands it the outcome together with
    # the others of its group, in one wake-up of that loop (see `_hand_over`).
    waiter: asyncio.Future[Any] | None = None


class StoreWorker:
    """One thread running store calls in order; consecutive writes share a database transaction."""

    def __init__(self, groups: WriteGroups | None = None, *, name: str = "store") -> None:
        self._groups = groups
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    # -- asking ---------------------------------------------------------------------------------
    def submit(self, fn: Callable[[], T], *, write: bool = False) -> Future[T]:
        """Queue `fn`; its future is done once it ran (and, for a write, once its commit is durable)."""
        return self._queue_job(_Job(fn, write)).future

    def _queue_job(self, job: _Job) -> _Job:
        with self._lock:
            if self._closed:
                raise RuntimeError("the store's worker is closed")
            self._queue.put(job)
        return job

    async def _await(self, fn: Callable[[], T], write: bool) -> T:
        waiter: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        job = self._queue_job(_Job(fn, write, waiter=waiter))
        try:
            return await waiter
        except asyncio.CancelledError:
            job.future.cancel()  # not started yet: it never runs (as asyncio.wrap_future would do)
            raise

    async def run(self, fn: Callable[[], T]) -> T:
        """Run `fn` alone on the worker, after everything queued before it: a read, or a write that opens
        its own transaction or lock (an advisory lock, the audit purge)."""
        return await self._await(fn, write=False)

    async def write(self, fn: Callable[[], T]) -> T:
        """Run the write `fn` on the worker, perhaps in one commit with other writes queued with it.

        `fn` must write through `WriteGroups.begin()` (the repositories do): a transaction of its own,
        opened on another connection inside a group, would wait for the group's lock forever. It must also
        be safe to run again after a rollback (a function of its arguments and the database, with no effect
        outside the transaction): when another write of its group fails, it is.
        """
        return await self._await(fn, write=True)

    def on_worker_thread(self) -> bool:
        """Whether the caller is running on this worker's thread."""
        return threading.current_thread() is self._thread

    def close(self) -> None:
        """Finish what is queued, then stop the thread (again: nothing)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join()

    # -- the thread -----------------------------------------------------------------------------
    def _loop(self) -> None:
        pending: _Job | None = None
        while True:
            job = pending if pending is not None else self._queue.get()
            pending = None
            if job is None:
                return
            if not job.write or self._groups is None:
                _run(job)
                _hand_over([job])
                continue
            group = [job]
            while len(group) < GROUP_LIMIT:
                try:
                    after = self._queue.get_nowait()
                except queue.Empty:
                    break
                if after is None or not after.write:
                    pending = after
                    if after is None:
                        self._queue.put(None)  # stop once this group and nothing else is done
                        pending = None
                    break
                group.append(after)
            if len(group) == 1:
                _run(job)
            else:
                self._commit_together(group)
            _hand_over(group)

    def _commit_together(self, group: list[_Job]) -> None:
        """Run the group's writes in one transaction and commit once.

        When write k fails, the transaction is rolled back: the writes before it are committed again as a
        group, write k runs alone (and fails alone), and the rest go on as a new group. A BEGIN that fails
        (the database locked) fails every write of the group, and a COMMIT whose outcome is unknown (the
        connection lost while committing) fails them all too: running them again could store twice what
        the lost commit may have stored. Any other failed COMMIT runs each write alone.
        """
        self._commit_live([job for job in group if job.future.set_running_or_notify_cancel()])

    def _commit_live(self, live: list[_Job]) -> None:
        assert self._groups is not None
        while live:
            results: list[Any] = []
            began = False
            try:
                with self._groups.group():
                    began = True
                    for job in live:
                        results.append(job.fn())
            except BaseException as exc:
                live = self._after_failure(live, began, len(results), exc)
                continue
            for job, value in zip(live, results, strict=True):
                job.future.set_result(value)
            return

    def _after_failure(self, live: list[_Job], began: bool, ran: int, exc: BaseException) -> list[_Job]:
        """Settle what a group rolled back by `exc` can settle (see _commit_together); the writes left to
        run as the next group."""
        at_commit = ran == len(live)
        if not began or (at_commit and getattr(exc, "connection_invalidated", False)):
            for job in live:
                job.future.set_exception(exc)
            return []
        if at_commit:  # the COMMIT itself was refused (a deferred constraint, the disk): one by one
            log.debug("A write group's commit failed; running its %d writes one by one", len(live))
            for job in live:
                _settle(job)
            return []
        self._commit_live(live[:ran])  # those before the failing write, together again
        _settle(live[ran])
        return live[ran + 1 :]


def _hand_over(jobs: list[_Job]) -> None:
    """Give the awaiting coroutines their outcomes: one wake-up per event loop for the whole group, not
    one per job (each wake-up is a write to the loop's self-pipe, and a wait for the interpreter lock)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
    for job in jobs:
        if job.waiter is not None and job.future.done():
            by_loop.setdefault(job.waiter.get_loop(), []).append(job)
    for loop, waiting in by_loop.items():
        try:
            loop.call_soon_threadsafe(_deliver, waiting)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            log.debug("A store result arrived after its event loop closed")


def _deliver(jobs: list[_Job]) -> None:
    """On the waiting loop: copy each finished job's outcome into its waiter (unless cancelled since)."""
    for job in jobs:
        waiter = job.waiter
        assert waiter is not None
        if waiter.done():
            continue
        if job.future.cancelled():
            waiter.cancel()
            continue
        exc = job.future.exception()
        try:
            if exc is not None:
                waiter.set_exception(exc)
            else:
                waiter.set_result(job.future.result())
        except (TypeError, RuntimeError) as refused:  # an exception asyncio will not carry (StopIteration)
            # Each waiter gets an answer, whatever happened to the one before it.
            waiter.set_exception(RuntimeError(f"the store call failed: {exc!r}"))
            log.debug("A store result could not be handed over as it was: %s", refused)


def _run(job: _Job) -> None:
    if job.future.set_running_or_notify_cancel():
        _settle(job)


def _settle(job: _Job) -> None:
    try:
        job.future.set_result(job.fn())
    except BaseException as exc:
        job.future.set_exception(exc)
