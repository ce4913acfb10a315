"""Fault injection (docs/SANDBOX.md): rules armed per method and path glob, applied by ASGI middleware.

Simulator handlers never know about faults: the middleware decides whether a handler runs and what,
if anything, of its response reaches the client. "Takes effect" means the handler really ran.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from fnmatch import fnmatchcase
from typing import Any, Final, Literal, cast, get_args

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CONTROL_PREFIX",
    "FAULT_KINDS",
    "FaultBoard",
    "FaultKind",
    "FaultMiddleware",
    "FaultRule",
    "FaultSpecError",
    "parse_fault",
]

FaultKind = Literal[
    "timeout_after_commit",
    "timeout_before_commit",
    "reset_after_commit",
    "http_500",
    "http_503",
    "malformed_json",
    "slow",
]
FAULT_KINDS: Final[frozenset[str]] = frozenset(get_args(FaultKind))

# The control API is never faulted, so a broad glob such as "*" cannot lock tests out of it.
CONTROL_PREFIX: Final = "/_sim/"
DEFAULT_HOLD_MS: Final = 30_000
DEFAULT_SLOW_MS: Final = 1_000
# How long to wait for the server to notice a connection we aborted ourselves.
_ABORT_SETTLE_S: Final = 1.0


class FaultSpecError(ValueError):
    """A fault request that cannot be armed; the message says why."""


@dataclass
class FaultRule:
    """One armed fault: applies to the next ``times`` requests matching ``method`` and ``path``."""

    method: str
    path: str
    fault: FaultKind
    times: int = 1
    delay_ms: int | None = None

    def matches(self, method: str, path: str) -> bool:
        """True if this rule applies to a request (method ``*`` matches any)."""
        return self.method in ("*", method.upper()) and fnmatchcase(path, self.path)

    def as_dict(self) -> dict[str, Any]:
        """The rule as JSON-ready data."""
        return asdict(self)


def parse_fault(data: object) -> FaultRule:
    """Validate a ``POST /_sim/faults`` body into a rule, or raise FaultSpecError."""
    if not isinstance(data, dict):
        raise FaultSpecError("body must be a JSON object")
    fault, path = data.get("fault"), data.get("path")
    if fault not in FAULT_KINDS:
        raise FaultSpecError(f"fault must be one of {sorted(FAULT_KINDS)}")
    if not isinstance(path, str) or not path.startswith(("/", "*")):
        raise FaultSpecError("path must be a glob such as /purchase or /pay*")
    method = data.get("method", "*")
    if not isinstance(method, str) or not method:
        raise FaultSpecError("method must be a string such as POST or *")
    times = data.get("times", 1)
    if not isinstance(times, int) or isinstance(times, bool) or times < 1:
        raise FaultSpecError("times must be a positive integer")
    delay_ms = data.get("delay_ms")
    if delay_ms is not None and (not isinstance(delay_ms, int) or isinstance(delay_ms, bool) or delay_ms < 0):
        raise FaultSpecError("delay_ms must be a non-negative integer")
    return FaultRule(method.upper(), path, cast(FaultKind, fault), times, delay_ms)


class FaultBoard:
    """The armed faults of one simulator, consumed first-armed-first as requests match."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        # Tests may arm faults in-process from another thread than the server's loop.
        self._lock = threading.Lock()

    def arm(self, rule: FaultRule) -> None:
        """Add a rule after those already armed."""
        with self._lock:
            self._rules.append(rule)

    def take(self, method: str, path: str) -> FaultRule | None:
        """Use up one of the first matching rule's ``times``; None when nothing applies."""
        if path.startswith(CONTROL_PREFIX):
            return None
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.times -= 1
                    if rule.times == 0:
                        self._rules.remove(rule)
                    return FaultRule(rule.method, rule.path, rule.fault, 1, rule.delay_ms)
        return None

    def armed(self) -> list[dict[str, Any]]:
        """The rules still armed, with their remaining ``times``."""
        with self._lock:
            return [rule.as_dict() for rule in self._rules]

    def clear(self) -> None:
        """Disarm everything."""
        with self._lock:
            self._rules.clear()


_Handler = Callable[[ASGIApp, FaultRule, Scope, Receive, Send], Awaitable[None]]


class FaultMiddleware:
    """ASGI middleware that applies the board's faults to matching gateway requests."""

    def __init__(self, app: ASGIApp, board: FaultBoard) -> None:
        self.app = app
        self.board = board

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = self.board.take(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if rule is None:
            await self.app(scope, receive, send)
        else:
            await _HANDLERS[rule.fault](self.app, rule, scope, receive, send)


async def _run_captured(app: ASGIApp, scope: Scope, receive: Receive) -> list[Message]:
    """Run the handler (the operation takes effect) and keep its response instead of sending it."""
    messages: list[Message] = []

    async def capture(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, capture)
    return messages


async def _drain_request(receive: Receive) -> bool:
    """Read the request body without handling it; False if the client went away meanwhile."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return False
        if not message.get("more_body", False):
            return True


async def _wait_disconnect(receive: Receive, seconds: float) -> None:
    """Return when the client disconnects or after ``seconds``, whichever comes first."""
    try:
        async with asyncio.timeout(seconds):
            while (await receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:
        pass


def _delay_s(rule: FaultRule, default_ms: int) -> float:
    """The rule's delay in seconds, or the fault's default when none was given."""
    return (default_ms if rule.delay_ms is None else rule.delay_ms) / 1000


def _transport(send: Send) -> asyncio.Transport | None:
    """The connection's transport: uvicorn's ``send`` is a method of a cycle that holds it."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    return transport if isinstance(transport, asyncio.Transport) else None


async def _drop(send: Send, receive: Receive, *, reset: bool) -> None:
    """Close the connection without a response byte; ``reset`` makes the close a TCP RST."""
    transport = _transport(send)
    if transport is None:
        # Not under uvicorn: an exception is the nearest thing to a dropped connection.
        raise ConnectionAbortedError("simulated connection drop")
    sock = transport.get_extra_info("socket")
    if reset and sock is not None:
        # Zero linger turns close() into a reset instead of an orderly FIN.
        linger = struct.pack("HH" if sys.platform == "win32" else "ii", 1, 0)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
    transport.abort()
    # Let the server see the loss first, so it does not answer with its own 500 when we return.
    await _wait_disconnect(receive, _ABORT_SETTLE_S)


async def _timeout_after_commit(
    app: ASGIApp, rule: FaultRule, scope: Scope, receive: Receive, send: Send
) -> None:
    await _run_captured(app, scope, receive)
    await _wait_disconnect(receive, _delay_s(rule, DEFAULT_HOLD_MS))
    await _drop(send, receive, reset=False)


async def _timeout_before_commit(
    app: ASGIApp, rule: FaultRule, scope: Scope, receive: Receive, send: Send
) -> None:
    if await _drain_request(receive):
        await _wait_disconnect(receive, _delay_s(rule, DEFAULT_HOLD_MS))
    await _drop(send, receive, reset=False)


async def _reset_after_commit(
    app: ASGIApp, rule: FaultRule, scope: Scope, receive: Receive, send: Send
) -> None:
    await _run_captured(app, scope, receive)
    await _drop(send, receive, reset=True)


async def _http_error(status: int, reason: bytes, receive: Receive, send: Send) -> None:
    await _drain_request(receive)
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(reason)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": reason})


async def _http_500(app: ASGIApp, rule: FaultRule, scope: Scope, receive: Receive, send: Send) -> None:
    await _http_error(500, b"Internal Server Error", receive, send)


async def _http_503(app: ASGIApp, rule: FaultRule, scope: Scope, receive: Receive, send: Send) -> None:
    await _http_error(503, b"Service Unavailable", receive, send)


async def _malformed_json(app: ASGIApp, rule: FaultRule, scope: Scope, receive: Receive, send: Send) -> None:
    messages = await _run_captured(app, scope, receive)
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    cut = body[: len(body) // 2]
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(cut)).encode()))
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": cut})


async def _slow(app: ASGIApp, rule: FaultRule, scope: Scope, receive: Receive, send: Send) -> None:
    # The operation commits at once; only the answer is late (like a slow gateway back end).
    messages = await _run_captured(app, scope, receive)
    await asyncio.sleep(_delay_s(rule, DEFAULT_SLOW_MS))
    for message in messages:
        await send(message)


_HANDLERS: Final[dict[str, _Handler]] = {
    "timeout_after_commit": _timeout_after_commit,
    "timeout_before_commit": _timeout_before_commit,
    "reset_after_commit": _reset_after_commit,
    "http_500": _http_500,
    "http_503": _http_503,
    "malformed_json": _malformed_json,
    "slow": _slow,
}
