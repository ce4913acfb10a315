"""Run a test body against a started ReturnListener on a private event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx

from terminal.ui.return_listener import ReturnListener

T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    """A private event loop, so the session's qasync loop stays the current one for the Qt tests."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(asyncio.wait_for(coro, 20))
    finally:
        loop.close()


def with_listener(body: Callable[[ReturnListener, httpx.AsyncClient], Awaitable[T]]) -> T:
    """Start a listener, hand it and an HTTP client (no redirects followed) to `body`, then stop it."""

    async def session() -> T:
        listener = ReturnListener()
        await listener.start()
        try:
            async with httpx.AsyncClient(timeout=5, follow_redirects=False) as client:
                return await body(listener, client)
        finally:
            await listener.stop()

    return run(session())
