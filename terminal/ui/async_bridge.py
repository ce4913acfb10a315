"""The one bridge from Qt screens to async services: keeps tasks alive, blocks double submits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)
T = TypeVar("T")


def loop_running() -> bool:
    """Whether an asyncio event loop runs in this thread now (the terminal's qasync loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class AsyncBridge(QObject):
    """Runs service coroutines on the qasync loop for the screens.

    While a task runs, the controls that started it are disabled (no double submit) and `busy`
    reports the work; the result or the error is handed to the screen's callbacks on the UI thread.
    """

    busy = Signal(str)
    idle = Signal()
    failed = Signal(str)
    # Every task's exception, handled by the screen or not: for window-wide reactions (a clerk refused
    # an action is offered the supervisor's approval at once) without per-screen code.
    errored = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: set[asyncio.Task[Any]] = set()
        # Status reads and reconciliation: they never send money, so closing may cancel them.
        self._background: set[asyncio.Task[Any]] = set()

    @property
    def running(self) -> int:
        """How many foreground tasks (those that may move money or that a screen waits on) are in flight."""
        return len(self._tasks)

    def run(
        self,
        coro: Coroutine[Any, Any, T],
        *,
        on_done: Callable[[T], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        controls: Sequence[QWidget] = (),
        busy_text: str = "Working…",
        background: bool = False,
    ) -> asyncio.Task[T] | None:
        """Start `coro`; disable `controls` until it ends; call `on_done(result)` or `on_error(exc)`.

        A `background` task only reads (status, reconciliation): it never holds up closing the window.
        A background read asked for when no event loop runs (a timer firing after the terminal's loop
        ended) is dropped, and None returned: there is nothing to run it on, and nothing is lost.
        """
        if background and not loop_running():
            coro.close()
            return None
        task: asyncio.Task[T] = asyncio.ensure_future(coro)
        tasks = self._background if background else self._tasks
        tasks.add(task)
        disabled = [c for c in controls if c.isEnabled()]
        for control in disabled:
            control.setEnabled(False)
        self.busy.emit(busy_text)

        def finished(done: asyncio.Task[T]) -> None:
            tasks.discard(done)
            for control in disabled:
                control.setEnabled(True)
            if not self._tasks:
                self.idle.emit()
            if done.cancelled():
                return
            exc = done.exception()
            if exc is not None:
                self.errored.emit(exc)
                if on_error is not None:
                    on_error(exc)
                else:
                    log.error("Background task failed", exc_info=exc)
                    self.failed.emit(str(exc) or type(exc).__name__)
                return
            if on_done is not None:
                on_done(done.result())

        task.add_done_callback(finished)
        return task

    async def drain(self) -> None:
        """Cancel background reads, then wait for every foreground task (at shutdown and in tests)."""
        for task in list(self._background):
            task.cancel()
        while self._tasks or self._background:
            await asyncio.gather(*list(self._tasks | self._background), return_exceptions=True)
