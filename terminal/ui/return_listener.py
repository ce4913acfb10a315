"""The loopback listener behind a payment page: it serves the page and receives the browser's return.

One ``ReturnListener`` runs on the application's asyncio loop (qasync in the app) on 127.0.0.1 and an
ephemeral port, and serves any number of page slots. A slot has two unguessable paths:

* ``/page/<token>`` serves the HTML set with ``set_page`` (GET) with ``Cache-Control: no-store``,
  ``Referrer-Policy: no-referrer`` and a strict Content-Security-Policy: nothing loads from anywhere
  (``default-src 'none'``), inline styles are allowed, inline scripts only by their SHA-256 hash, and
  forms post only to the origins given.
* ``/return/<token>`` takes ONE return: a GET's query string or a POST's form-urlencoded body (plus the
  query); ``await slot.wait()`` gets the fields. A second return is answered 409 and ignored.

Everything else is 404, other methods 405, bodies over ``MAX_BODY`` 413, a request not read in full within
``READ_TIMEOUT_S`` 400, and peers other than loopback are refused. What arrives is untrusted: it only tells
the service what to verify with the gateway. Paths, query strings and bodies are never logged.

HTTP/1.1 is spoken with h11 over asyncio streams, one request per connection; starting takes a millisecond.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import ipaddress
import logging
import secrets
from collections.abc import Iterable
from html.parser import HTMLParser
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

import h11

from terminal.ui.navigation import origin_of

__all__ = ["MAX_BODY", "READ_TIMEOUT_S", "PageSlot", "ReturnListener"]

log = logging.getLogger(__name__)

MAX_BODY: Final = 64 * 1024
READ_TIMEOUT_S = 10.0  # a whole request (head and body); module-level so tests can shorten it
MAX_FIELDS: Final = 200
MAX_CONNECTIONS: Final = 32
_MAX_HEAD: Final = 16 * 1024
_LINGER_S: Final = 1.0
_LINGER_BYTES: Final = 1024 * 1024
_FORM_TYPE: Final = "application/x-www-form-urlencoded"

_RECEIVED: Final = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Card details received</title>'
    "<style>body{font-family:system-ui,sans-serif;margin:3em;color:#1d2430}h1{font-size:1.4em}</style>"
    "</head><body><h1>Card details received</h1>"
    "<p>Card details received — finishing the payment in the terminal…</p></body></html>"
).encode()
_PLAIN_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
_COMMON_HEADERS: Final = (
    ("cache-control", "no-store"),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
)
_REASONS: Final = {
    400: b"Bad request",
    403: b"Forbidden",
    404: b"Not found",
    405: b"Method not allowed",
    409: b"This page has already returned to the terminal.",
    413: b"Request too large",
    415: b"Unsupported form encoding",
}

Response = tuple[int, list[tuple[str, str]], bytes]


class _InlineCode(HTMLParser):
    """Collects inline <script> bodies and on* handler attributes, to allow exactly those by hash."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []
        self.handlers: list[str] = []
        self._script: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handlers.extend(v for k, v in attrs if k.startswith("on") and v)
        if tag == "script" and not any(k == "src" for k, _ in attrs):
            self._script = []

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append("".join(self._script))
            self._script = None


def _sha256_source(code: str) -> str:
    normalised = code.replace("\r\n", "\n").replace("\r", "\n")  # as the HTML parser hands it to CSP
    digest = base64.b64encode(hashlib.sha256(normalised.encode("utf-8")).digest()).decode("ascii")
    return f"'sha256-{digest}'"


def content_security_policy(page_html: str, form_action_origins: Iterable[str]) -> str:
    """The entry page's CSP: nothing external, its own inline code by hash, forms to the given origins."""
    targets: list[str] = []
    for origin in form_action_origins:
        normalised = origin_of(origin)
        if normalised is None:
            raise ValueError("form_action_origins takes http(s) origins only")
        targets.append(normalised)
    parser = _InlineCode()
    parser.feed(page_html)
    parser.close()
    scripts = sorted({_sha256_source(s) for s in parser.scripts})
    handlers = sorted({_sha256_source(h) for h in parser.handlers})
    directives = [
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src data:",
    ]
    if scripts or handlers:
        unsafe_hashes = ["'unsafe-hashes'"] if handlers else []
        directives.append(" ".join(["script-src", *unsafe_hashes, *scripts, *handlers]))
        if targets:
            # A page's own script may call only the same origins its forms may post to (OMPay's card page
            # asks the gateway for a nonce with fetch); without a script there is nothing to call them.
            directives.append(f"connect-src {' '.join(sorted(set(targets)))}")
    directives += [
        f"form-action {' '.join(sorted(set(targets))) or chr(39) + 'none' + chr(39)}",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


class PageSlot:
    """One page: its entry URL (the page shown), its return URL, and the fields returned once.

    Create it with ``ReturnListener.new_page()``; use it on the listener's loop.
    """

    def __init__(self, origin: str, token: str, loop: asyncio.AbstractEventLoop) -> None:
        self.entry_path = f"/page/{token}"
        self.return_path = f"/return/{token}"
        self.entry_url = origin + self.entry_path
        self.return_url = origin + self.return_path
        self.html: str | None = None
        self.csp = ""
        self._fields: asyncio.Future[dict[str, str]] = loop.create_future()

    def set_page(self, page_html: str, form_action_origins: Iterable[str] = frozenset()) -> None:
        """Serve `page_html` at the entry URL; its forms may post only to `form_action_origins`."""
        self.csp = content_security_policy(page_html, form_action_origins)
        self.html = page_html

    @property
    def done(self) -> bool:
        """The page returned or was cancelled."""
        return self._fields.done()

    def deliver(self, fields: dict[str, str]) -> bool:
        """Accept the one return of this page; False (and ignored) for any later one."""
        if self._fields.done():
            return False
        self._fields.set_result(dict(fields))
        return True

    def cancel(self) -> None:
        """Give up on the page: `wait()` raises CancelledError, and a later return is answered 409."""
        if not self._fields.done():
            self._fields.cancel()

    async def wait(self) -> dict[str, str]:
        """The fields the page returned. Cancelling one caller does not cancel the slot (it is shielded)."""
        return dict(await asyncio.shield(self._fields))


class _TooLargeError(Exception):
    pass


class ReturnListener:
    """An HTTP/1.1 server on 127.0.0.1 (ephemeral port) serving page slots; see the module docstring."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: dict[str, PageSlot] = {}
        self._connections: set[asyncio.Task[Any]] = set()
        self.origin = ""

    async def start(self) -> None:
        """Listen on a free loopback port; `origin` is then ``http://127.0.0.1:PORT``."""
        if self._server is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, limit=_MAX_HEAD)
        port = self._server.sockets[0].getsockname()[1]
        self.origin = f"http://127.0.0.1:{port}"
        log.info("Return listener started on loopback port %d", port)

    async def stop(self) -> None:
        """Stop listening and drop open connections; pages still waiting are cancelled. Safe twice."""
        for slot in set(self._slots.values()):
            slot.cancel()
        self._slots.clear()
        server, self._server = self._server, None
        if server is not None:
            server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)
            log.info("Return listener stopped")

    def new_page(self, html: str | None = None, form_action_origins: Iterable[str] = frozenset()) -> PageSlot:
        """A fresh slot with unguessable paths; `html` (optional) is served at its entry URL."""
        if self._server is None or self._loop is None:
            raise RuntimeError("the return listener is not started")
        slot = PageSlot(self.origin, secrets.token_urlsafe(24), self._loop)
        if html is not None:
            slot.set_page(html, form_action_origins)
        self._slots[slot.entry_path] = slot
        self._slots[slot.return_path] = slot
        return slot

    def forget(self, slot: PageSlot) -> None:
        """Stop serving a slot (its URLs become 404); it is not cancelled."""
        self._slots.pop(slot.entry_path, None)
        self._slots.pop(slot.return_path, None)

    # -- HTTP --------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is None or len(self._connections) >= MAX_CONNECTIONS or not _loopback_peer(writer):
            writer.close()
            return
        self._connections.add(task)
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_HEAD)
        try:
            try:
                response = await asyncio.wait_for(self._read_and_route(conn, reader), READ_TIMEOUT_S)
            except _TooLargeError:
                response = _plain(413)
            except (TimeoutError, h11.RemoteProtocolError, ConnectionError, UnicodeError, ValueError):
                response = _plain(400)
            log.debug("Return listener answered %d", response[0])
            await self._respond(conn, writer, response)
            await _linger(reader, writer)
        except (ConnectionError, h11.LocalProtocolError, TimeoutError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read_and_route(self, conn: h11.Connection, reader: asyncio.StreamReader) -> Response:
        request: h11.Request | None = None
        body = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                if not data and conn.their_state is not h11.DONE:
                    raise ConnectionError("the client went away mid-request")
                conn.receive_data(data)
                continue
            if isinstance(event, h11.Request):
                request = event
                length = dict(event.headers).get(b"content-length")
                if length is not None and length.isdigit() and int(length) > MAX_BODY:
                    raise _TooLargeError
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > MAX_BODY:
                    raise _TooLargeError
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                break
        if request is None:
            raise h11.RemoteProtocolError("no request")
        return self._route(request, bytes(body))

    def _route(self, request: h11.Request, body: bytes) -> Response:
        target = urlsplit(request.target.decode("ascii"))
        slot = self._slots.get(target.path)
        method = request.method.decode("ascii").upper()
        if slot is None or (target.path == slot.entry_path and slot.html is None):
            return _plain(404)
        if target.path == slot.entry_path:
            if method != "GET":
                return _plain(405, allow="GET")
            assert slot.html is not None
            headers = [("content-type", "text/html; charset=utf-8"), ("content-security-policy", slot.csp)]
            return 200, headers, slot.html.encode("utf-8")
        if method not in ("GET", "POST"):
            return _plain(405, allow="GET, POST")
        fields = _parse_fields(target.query)
        if method == "POST" and body:
            content_type = dict(request.headers).get(b"content-type", b"").split(b";")[0].strip().lower()
            if content_type != _FORM_TYPE.encode():
                return _plain(415)
            fields.update(_parse_fields(body.decode("utf-8")))
        if not slot.deliver(fields):
            return _plain(409)
        log.info("Payment page returned to the terminal (%d fields)", len(fields))
        return (
            200,
            [("content-type", "text/html; charset=utf-8"), ("content-security-policy", _PLAIN_CSP)],
            _RECEIVED,
        )

    async def _respond(self, conn: h11.Connection, writer: asyncio.StreamWriter, response: Response) -> None:
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        status, headers, body = response
        all_headers = [
            *headers,
            *_COMMON_HEADERS,
            ("content-length", str(len(body))),
            ("connection", "close"),
        ]
        writer.write(conn.send(h11.Response(status_code=status, headers=all_headers)) or b"")
        writer.write(conn.send(h11.Data(data=body)) or b"")
        writer.write(conn.send(h11.EndOfMessage()) or b"")
        await writer.drain()


def _plain(status: int, *, allow: str | None = None) -> Response:
    headers = [("content-type", "text/plain; charset=utf-8")]
    if allow:
        headers.append(("allow", allow))
    return status, headers, _REASONS[status]


def _parse_fields(encoded: str) -> dict[str, str]:
    """Form or query fields; the last of repeated names wins. ValueError when malformed or too many."""
    return dict(parse_qsl(encoded, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict"))


def _loopback_peer(writer: asyncio.StreamWriter) -> bool:
    peer = writer.get_extra_info("peername")
    if not peer:
        return False
    try:
        address = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Half-close and read what the client still sends, so an early answer is not lost to a TCP reset."""
    with contextlib.suppress(OSError, RuntimeError, NotImplementedError):
        if writer.can_write_eof():
            writer.write_eof()
    received = 0
    with contextlib.suppress(TimeoutError, ConnectionError):
        async with asyncio.timeout(_LINGER_S):
            while received < _LINGER_BYTES:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                received += len(chunk)
