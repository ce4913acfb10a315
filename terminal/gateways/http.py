"""The one HTTP module every adapter speaks through: one verifying httpx client, explicit timeouts,
failures sorted by whether the request could have taken effect (SECURITY.md 2.2), scrubbed logs.

Retries happen only here, in :meth:`GatewayHttp.request`, as `terminal/gateways/retry.py` decides
(IDEM-4): a request is sent again only when it provably never left, when the gateway said it did not
process it, or when repeating it cannot move money twice (a read, or a request the gateway de-duplicates).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from terminal.domain.scrub import scrub_headers, scrub_text, scrub_value
from terminal.gateways.aio_network import default_transport
from terminal.gateways.clock_observers import ClockObserver, observe_clock
from terminal.gateways.clock_observers import observers as _clock_observers
from terminal.gateways.errors import GatewayError, GatewayUnavailableError, OutcomeUnknownError
from terminal.gateways.retry import Failure, RetryPolicy, Safety

__all__ = [
    "DEFAULT_TIMEOUT",
    "ClockObserver",
    "GatewayHttp",
    "HttpReply",
    "Safety",
    "observe_clock",
    "origin_of",
    "raise_if_server_error",
]

DEFAULT_TIMEOUT: Final = httpx.Timeout(connect=5.0, read=30.0, write=10.0, pool=5.0)
USER_AGENT: Final = "MerchantTerminal/0.1"
# Logged bodies are cut here: a gateway's HTML error page is no use in full in a debug log.
_LOG_BODY_LIMIT: Final = 4000

# Failures in which no request byte can have reached the gateway (SECURITY.md 2.2).
_NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


class _PermanentlyUnreachableError(GatewayUnavailableError):
    """Not sent, and sending again would not help: not an http(s) address, or a certificate refused."""


def _permanent(exc: httpx.HTTPError) -> bool:
    return isinstance(exc, httpx.UnsupportedProtocol) or "certificate" in str(exc).lower()


def _garbled(reply: HttpReply) -> bool:
    """A reply that says it is JSON but does not parse (cut short, or mangled by a proxy)."""
    if "json" not in reply.headers.get("Content-Type", "").lower() or not reply.body:
        return False
    try:
        json.loads(reply.body)
    except (ValueError, UnicodeDecodeError):
        return True
    return False


def _clock_skew(headers: httpx.Headers, received: datetime) -> float | None:
    """Seconds the sender's `Date` is ahead of `received` (None without a readable Date header)."""
    values = headers.get_list("date")
    if not values:
        return None
    try:
        theirs = parsedate_to_datetime(values[0])
    except (TypeError, ValueError, IndexError):
        return None
    if theirs.tzinfo is None:
        theirs = theirs.replace(tzinfo=UTC)  # RFC 9110: an HTTP date is always GMT
    return (theirs - received).total_seconds()


def origin_of(url: str) -> str:
    """'https://host:port' of a URL (scheme and authority only), as a web view compares origins."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True, slots=True)
class HttpReply:
    """A complete HTTP answer: status, headers and the body bytes, read in full."""

    status: int
    headers: httpx.Headers
    body: bytes
    elapsed_ms: float = 0.0
    gateway: str = ""

    def json(self) -> dict[str, Any]:
        """The body as a JSON object; anything else is an unreadable answer (the outcome is unknown)."""
        try:
            data = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            who = f"{self.gateway} sent" if self.gateway else "The gateway sent"
            raise OutcomeUnknownError(
                f"{who} an unreadable answer (HTTP {self.status}); the operation may have been executed.",
                status=self.status,
            )
        return data

    def text(self) -> str:
        """The body decoded as UTF-8, undecodable bytes replaced."""
        return self.body.decode("utf-8", errors="replace")


def raise_if_server_error(reply: HttpReply) -> None:
    """A 5xx answer (JSON or a proxy's HTML page) says nothing definite: raise OutcomeUnknownError."""
    if reply.status >= 500:
        who = reply.gateway or "The gateway"
        raise OutcomeUnknownError(
            f"{who} answered with a server error (HTTP {reply.status}); "
            "the operation may have been executed.",
            status=reply.status,
        )


class GatewayHttp:
    """One gateway's HTTP client: TLS verified, no redirects, retries by policy, scrubbed debug logs."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        timeout: httpx.Timeout | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        secrets: Sequence[str] = (),
        display_name: str = "",
        retry: RetryPolicy | None = None,
    ) -> None:
        self.name = name
        self.retry = retry if retry is not None else RetryPolicy()
        self.display_name = display_name or name
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout or DEFAULT_TIMEOUT
        self._secrets = tuple(s for s in secrets if s)
        self.log = logging.getLogger(f"terminal.gateways.{name}")
        # verify stays at its default (True, the system's trusted roots); it is never switched off. The
        # default transport runs on asyncio's own streams (gateways/aio_network.py).
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=self.timeout,
            transport=transport if transport is not None else default_transport(),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        safety: Safety = Safety.MONEY,
    ) -> HttpReply:
        """Send a request, repeating it as the retry policy allows for its `safety`, and read the answer.

        Raises GatewayUnavailableError when nothing can have been sent (refused connection, connect or
        pool timeout) and OutcomeUnknownError when it may have been executed (read/write timeout,
        reset, protocol error mid-answer). HTTP statuses are the adapter's to judge; a 429 or 5xx still
        standing after the allowed repeats is returned like any other answer.
        """
        attempt = 1
        while True:
            try:
                reply = await self._send_once(method, path, content=content, headers=headers)
            except _PermanentlyUnreachableError:
                raise  # a bad address or an untrusted certificate does not heal in a second
            except GatewayError as exc:
                failure = (
                    Failure.NOT_SENT if isinstance(exc, GatewayUnavailableError) else Failure.ANSWER_LOST
                )
                if not self.retry.should_retry(safety, failure, attempt):
                    raise
                delay = self.retry.sleep_time(attempt)
            else:
                if _garbled(reply):
                    # A JSON answer cut or garbled on the way is an answer lost, whatever its status.
                    if not self.retry.should_retry(safety, Failure.ANSWER_LOST, attempt):
                        return reply
                elif not self.retry.should_retry(safety, Failure.STATUS, attempt, reply.status):
                    return reply
                delay = self.retry.sleep_time(attempt, reply.headers.get("Retry-After"))
            self.log.info("%s %s: attempt %d failed; sending again in %.2f s", method, path, attempt, delay)
            await asyncio.sleep(delay)
            attempt += 1

    async def _send_once(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None,
        headers: Mapping[str, str] | None,
    ) -> HttpReply:
        debug = self.log.isEnabledFor(logging.DEBUG)
        if debug:
            self.log.debug(
                "%s %s headers=%s body=%s",
                method,
                path,
                scrub_headers(headers or {}, self._secrets),
                self._loggable(content),
            )
        started = time.perf_counter()
        try:
            response = await self._client.request(method, path, content=content, headers=headers)
        except _NOT_SENT as exc:
            self._log_failure(method, path, started, exc)
            message = self._unreachable_message(exc)
            if _permanent(exc):
                raise _PermanentlyUnreachableError(message) from None
            raise GatewayUnavailableError(message) from None
        except httpx.TimeoutException as exc:
            self._log_failure(method, path, started, exc)
            raise OutcomeUnknownError(
                f"{self.display_name} did not answer in time ({type(exc).__name__}); "
                "the operation may have been executed."
            ) from None
        except httpx.TransportError as exc:
            self._log_failure(method, path, started, exc)
            raise OutcomeUnknownError(
                f"The connection to {self.display_name} broke before an answer arrived "
                f"({type(exc).__name__}); the operation may have been executed."
            ) from None
        except httpx.HTTPError as exc:
            # Anything else httpx raises once the request may have left (a body that fails to decode...).
            self._log_failure(method, path, started, exc)
            raise OutcomeUnknownError(
                f"{self.display_name}'s answer could not be read ({type(exc).__name__}); "
                "the operation may have been executed."
            ) from None
        elapsed_ms = (time.perf_counter() - started) * 1000
        reply = HttpReply(
            response.status_code, response.headers, response.content, elapsed_ms, self.display_name
        )
        if _clock_observers:
            self._report_clock(reply.headers)
        if debug:
            self.log.debug(
                "%s %s -> %d in %.0f ms headers=%s body=%s",
                method,
                path,
                reply.status,
                elapsed_ms,
                scrub_headers(reply.headers, self._secrets),
                self._loggable(reply.body),
            )
        return reply

    def _report_clock(self, headers: httpx.Headers) -> None:
        skew = _clock_skew(headers, datetime.now(UTC))
        if skew is None:
            return
        for observer in tuple(_clock_observers):
            try:
                observer(self.display_name, skew)
            except Exception:  # a watcher's failure never costs a payment its answer
                self.log.warning("Clock observer failed", exc_info=True)

    def _unreachable_message(self, exc: httpx.HTTPError) -> str:
        detail = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in detail or "certificate" in detail.lower():
            why = "its TLS certificate is not trusted"
        elif isinstance(exc, httpx.UnsupportedProtocol):
            why = "the address is not an http(s) URL"
        elif isinstance(exc, httpx.TimeoutException):
            why = "the connection timed out"
        else:
            why = "the connection failed"
        return f"{self.display_name} could not be reached ({why}); nothing was sent."

    def _log_failure(self, method: str, path: str, started: float, exc: Exception) -> None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.log.debug(
            "%s %s failed after %.0f ms: %s %s",
            method,
            path,
            elapsed_ms,
            type(exc).__name__,
            scrub_text(str(exc), self._secrets),
        )

    def _loggable(self, body: bytes | None) -> str:
        """A scrubbed, shortened rendering of a body: JSON masked by field name, anything else as text."""
        if not body:
            return ""
        text = body.decode("utf-8", errors="replace")
        try:
            parsed = json.loads(text)
        except ValueError:
            shown = scrub_text(text, self._secrets)
        else:
            shown = json.dumps(scrub_value(parsed, self._secrets), ensure_ascii=False, separators=(",", ":"))
            # Secrets given as values under innocent names are caught by a final text pass.
            shown = scrub_text(shown, self._secrets)
        if len(shown) > _LOG_BODY_LIMIT:
            shown = shown[:_LOG_BODY_LIMIT] + f"... ({len(shown)} chars)"
        return shown

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
