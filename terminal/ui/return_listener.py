"""The loopback listener behind a payment page: it serves the page and receives the browser's return POST.

What arrives is untrusted: it only tells the service which token to charge or what to read back from
the gateway. Bodies and query strings are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import secrets
from urllib.parse import parse_qsl, urlsplit

import h11

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
READ_TIMEOUT_S = 10.0

_RECEIVED = """<!doctype html><html><head><meta charset="utf-8"><title>Card details received</title>
<style>body{font-family:sans-serif;margin:3em;color:#1d2430}h1{font-size:1.4em}</style></head>
<body><h1>Card details received</h1><p>Finishing the payment in the terminal…</p></body></html>"""


class PageSlot:
    """One page: its entry URL (the page to show), its return URL, and the fields returned once."""

    def __init__(self, origin: str, entry_path: str, return_path: str) -> None:
        self.entry_url = origin + entry_path
        self.return_url = origin + return_path
        self.entry_path = entry_path
        self.return_path = return_path
        self.html: str | None = None
        self.csp = ""
        self._fields: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()

    def set_page(self, page_html: str, form_action_origins: frozenset[str] = frozenset()) -> None:
        """The HTML served at the entry URL, allowed to post its form only to `form_action_origins`."""
        self.html = page_html
        targets = " ".join(sorted(form_action_origins)) or "'none'"
        self.csp = (
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
            f"form-action {targets}; base-uri 'none'; frame-ancestors 'none'"
        )

    @property
    def done(self) -> bool:
        """The page returned or was cancelled."""
        return self._fields.done()

    def deliver(self, fields: dict[str, str]) -> bool:
        """Accept the one return of this page; False for any later one."""
        if self._fields.done():
            return False
        self._fields.set_result(fields)
        return True

    def cancel(self) -> None:
        """Stop waiting: whoever awaits `wait()` is cancelled."""
        if not self._fields.done():
            self._fields.cancel()

    async def wait(self) -> dict[str, str]:
        """The fields the page returned (query string or form body)."""
        return await asyncio.shield(self._fields)


class ReturnListener:
    """An HTTP/1.1 server on 127.0.0.1 (ephemeral port) serving page slots."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._slots: dict[str, PageSlot] = {}
        self.origin = ""

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.origin = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        """Stop listening; pages still waiting are cancelled."""
        for slot in self._slots.values():
            slot.cancel()
        self._slots.clear()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    def new_page(self) -> PageSlot:
        """A fresh slot with unguessable paths."""
        if not self.origin:
            raise RuntimeError("the listener is not started")
        token = secrets.token_urlsafe(18)
        slot = PageSlot(self.origin, f"/page/{token}", f"/return/{token}")
        self._slots[slot.entry_path] = slot
        self._slots[slot.return_path] = slot
        return slot

    def forget(self, slot: PageSlot) -> None:
        """Drop a slot that is no longer needed."""
        self._slots.pop(slot.entry_path, None)
        self._slots.pop(slot.return_path, None)

    # -- HTTP --------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=16 * 1024)
        try:
            status, headers, body = await asyncio.wait_for(
                self._serve_one(conn, reader, writer), READ_TIMEOUT_S
            )
        except (TimeoutError, h11.RemoteProtocolError, ConnectionError):
            status, headers, body = 400, [], b"Bad request"
        except _TooLarge:
            status, headers, body = 413, [], b"Too large"
        try:
            if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                response_headers = [("content-length", str(len(body))), ("connection", "close"), *headers]
                writer.write(conn.send(h11.Response(status_code=status, headers=response_headers)) or b"")
                writer.write(conn.send(h11.Data(data=body)) or b"")
                writer.write(conn.send(h11.EndOfMessage()) or b"")
                await writer.drain()
        except (ConnectionError, h11.LocalProtocolError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve_one(
        self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        peer = writer.get_extra_info("peername")
        request: h11.Request | None = None
        body = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                conn.receive_data(data)
                if not data and conn.their_state is not h11.DONE:
                    raise ConnectionError("client went away")
                continue
            if isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body.extend(event.data)
                if len(body) > MAX_BODY:
                    raise _TooLarge
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                break
        if request is None:
            raise h11.RemoteProtocolError("no request")
        if not peer or not str(peer[0]).startswith(("127.", "::1")):
            return 403, [], b"Forbidden"
        return self._route(request, bytes(body))

    def _route(self, request: h11.Request, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        target = urlsplit(request.target.decode("ascii", "replace"))
        slot = self._slots.get(target.path)
        method = request.method.decode().upper()
        if slot is None:
            return 404, [], b"Not found"
        plain = [("cache-control", "no-store"), ("referrer-policy", "no-referrer")]
        if target.path == slot.entry_path and method == "GET" and slot.html is not None:
            page = [
                ("content-type", "text/html; charset=utf-8"),
                ("content-security-policy", slot.csp),
                *plain,
            ]
            return 200, page, slot.html.encode()
        if target.path == slot.return_path and method in ("GET", "POST"):
            fields = dict(parse_qsl(target.query, keep_blank_values=True))
            if method == "POST":
                fields.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            if not slot.deliver(fields):
                return 409, plain, b"This page was already returned."
            log.info("Payment page returned to the terminal (%d fields)", len(fields))
            return 200, [("content-type", "text/html; charset=utf-8"), *plain], _RECEIVED.encode()
        return 405, [], html.escape(method).encode()


class _TooLarge(Exception):
    pass
