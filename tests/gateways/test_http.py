"""GatewayHttp: failures sorted by whether the request could have taken effect, against a real local
socket server, and debug logs that never show a card number, a CVC or a secret.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from terminal.gateways.errors import GatewayUnavailableError, OutcomeUnknownError
from terminal.gateways.http import DEFAULT_TIMEOUT, GatewayHttp, HttpReply, origin_of, raise_if_server_error
from tests.gateways.conftest import run

SHORT = httpx.Timeout(1.0, read=0.3)
SENTINEL_PAN = "4000056655665556"
SENTINEL_CVC = "987"
SENTINEL_SECRET = "sentinel-secret-Zq81"


class _Handler(socketserver.BaseRequestHandler):
    """Reads one HTTP request and behaves according to its path."""

    def handle(self) -> None:
        sock: socket.socket = self.request
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1)) if b"ength" in head else 0
        while len(body) < length:
            body += sock.recv(65536)
        path = head.split(b" ")[1].decode()
        if path == "/hang":
            time.sleep(1.0)
        elif path == "/reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif path == "/cut":
            sock.sendall(
                b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"succ'
            )
        elif path == "/garbage":
            sock.sendall(b"this is not HTTP at all\r\n\r\n")
        else:
            status = b"500 Internal Server Error" if path == "/500" else b"200 OK"
            reply = body if path == "/echo" else b'{"ok": true}'
            sock.sendall(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(reply)).encode() + b"\r\nSet-Cookie: session=" + SENTINEL_SECRET.encode()
                + b"\r\nConnection: close\r\n\r\n" + reply
            )  # fmt: skip


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def send(
    base_url: str, path: str, *, method: str = "POST", body: bytes = b"{}", **kwargs: object
) -> HttpReply:
    async def scenario() -> HttpReply:
        http = GatewayHttp("testgw", base_url, timeout=SHORT, secrets=(SENTINEL_SECRET,), **kwargs)  # type: ignore[arg-type]
        try:
            return await http.request(
                method, path, content=body, headers={"Content-Type": "application/json"}
            )
        finally:
            await http.aclose()

    return run(scenario())


# -- classification over real sockets ---------------------------------------------------------------
def test_refused_connection_is_unavailable() -> None:
    with pytest.raises(GatewayUnavailableError, match="nothing was sent"):
        send(closed_port_url(), "/purchase")


def test_read_timeout_is_unknown(server_url: str) -> None:
    started = time.monotonic()
    with pytest.raises(OutcomeUnknownError, match="ReadTimeout"):
        send(server_url, "/hang")
    assert time.monotonic() - started < 1.0


def test_reset_is_unknown(server_url: str) -> None:
    with pytest.raises(OutcomeUnknownError):
        send(server_url, "/reset")


@pytest.mark.parametrize("path", ["/cut", "/garbage"])
def test_broken_answer_is_unknown(server_url: str, path: str) -> None:
    with pytest.raises(OutcomeUnknownError):
        send(server_url, path)


def test_500_is_returned_and_the_helper_calls_it_unknown(server_url: str) -> None:
    reply = send(server_url, "/500")
    assert reply.status == 500
    with pytest.raises(OutcomeUnknownError) as unknown:
        raise_if_server_error(reply)
    assert unknown.value.status == 500


def test_ok_reply(server_url: str) -> None:
    reply = send(server_url, "/ok", method="GET", body=b"")
    assert reply.status == 200
    assert reply.json() == {"ok": True}
    assert reply.elapsed_ms >= 0
    raise_if_server_error(reply)


# -- classification of every httpx failure ------------------------------------------------------------
class _Raising(httpx.AsyncBaseTransport):
    def __init__(self, error: type[httpx.TransportError]) -> None:
        self.error = error

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise self.error("simulated", request=request)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (httpx.ConnectError, GatewayUnavailableError),
        (httpx.ConnectTimeout, GatewayUnavailableError),
        (httpx.PoolTimeout, GatewayUnavailableError),
        (httpx.UnsupportedProtocol, GatewayUnavailableError),
        (httpx.ReadTimeout, OutcomeUnknownError),
        (httpx.WriteTimeout, OutcomeUnknownError),
        (httpx.ReadError, OutcomeUnknownError),
        (httpx.WriteError, OutcomeUnknownError),
        (httpx.RemoteProtocolError, OutcomeUnknownError),
        (httpx.LocalProtocolError, OutcomeUnknownError),
        (httpx.ProxyError, OutcomeUnknownError),
    ],
    ids=lambda value: value.__name__,
)
def test_every_transport_failure_is_classified(
    error: type[httpx.TransportError], expected: type[Exception]
) -> None:
    with pytest.raises(expected) as raised:
        send("http://127.0.0.1:9", "/purchase", transport=_Raising(error))
    assert raised.value.__cause__ is None  # the httpx request (and its body) is not carried along


# -- replies ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("body", [b"<html>oops</html>", b"[1]", b'"text"', b"", b"\xff\xfe"])
def test_unreadable_json_is_unknown(body: bytes) -> None:
    with pytest.raises(OutcomeUnknownError, match="unreadable answer"):
        HttpReply(200, httpx.Headers(), body).json()


def test_defaults() -> None:
    assert (DEFAULT_TIMEOUT.connect, DEFAULT_TIMEOUT.read, DEFAULT_TIMEOUT.write, DEFAULT_TIMEOUT.pool) == (
        5.0, 30.0, 10.0, 5.0,
    )  # fmt: skip
    assert origin_of("https://host.example:8443/a/b?c=d") == "https://host.example:8443"

    async def scenario() -> None:
        http = GatewayHttp("x", "https://host.example")
        try:
            assert http._client.follow_redirects is False
            assert http._client.timeout == DEFAULT_TIMEOUT
        finally:
            await http.aclose()

    run(scenario())


def test_tls_verification_is_never_switched_off() -> None:
    """PCI-13: no `verify=False` anywhere in the terminal's code."""
    root = Path(__file__).resolve().parents[2] / "terminal"
    offenders = [
        str(path)
        for path in root.rglob("*.py")
        if re.search(r"verify\s*=\s*False", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


# -- logs ---------------------------------------------------------------------------------------------------
def test_debug_logs_are_scrubbed(server_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="terminal.gateways.testgw")
    json_body = json.dumps(
        {
            "cardNumber": SENTINEL_PAN,
            "cvc": SENTINEL_CVC,
            "note": "call about 4000 0566 5566 5556 please",
            "merchantSecret": SENTINEL_SECRET,
            "free": f"the key is {SENTINEL_SECRET}",
            "amount": 1250,
        }
    ).encode()
    form_body = f"cardNumber={SENTINEL_PAN}&cvv={SENTINEL_CVC}&expiryMonth=12".encode()

    async def scenario() -> None:
        http = GatewayHttp("testgw", server_url, timeout=SHORT, secrets=(SENTINEL_SECRET,))
        headers = {"Authorization": f"OGO m:{SENTINEL_SECRET}", "X-Api-Key": SENTINEL_SECRET}
        try:
            echoed = await http.request("POST", "/echo", content=json_body, headers=headers)
            assert SENTINEL_PAN.encode() in echoed.body  # the body really carried it
            await http.request("POST", "/echo", content=form_body, headers=headers)
            with pytest.raises(OutcomeUnknownError):
                await http.request("POST", "/hang", content=json_body, headers=headers)
        finally:
            await http.aclose()

    run(scenario())
    text = caplog.text
    assert "POST /echo -> 200 in" in text
    assert "POST /hang failed after" in text
    assert "5556" in text  # last four kept, so the line is still useful
    for forbidden in (SENTINEL_PAN, "4000 0566 5566 5556", SENTINEL_SECRET):
        assert forbidden not in text
    assert not re.search(rf"(cvc|cvv)\W+{SENTINEL_CVC}", text, re.I)
    assert all(record.name == "terminal.gateways.testgw" for record in caplog.records)


def test_nothing_logged_above_debug(server_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="terminal.gateways.testgw")
    with contextlib.suppress(OutcomeUnknownError):
        send(server_url, "/echo", body=json.dumps({"cardNumber": SENTINEL_PAN}).encode())
    assert caplog.records == []
