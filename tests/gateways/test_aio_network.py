"""The asyncio network backend under httpx (gateways/aio_network.py), over real loopback sockets: answers
and kept-alive connections, TLS verified (a trusted certificate works, an untrusted one is "nothing
sent"), a handshake that never ends is a connect timeout, and a system proxy hands the transport back to
httpx. How every other failure is sorted is tests/gateways/test_http.py, which runs on this backend."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from terminal.gateways.aio_network import AsyncioHTTPTransport, default_transport
from terminal.gateways.errors import GatewayUnavailableError
from terminal.gateways.http import GatewayHttp
from tests.gateways.conftest import run
from tests.support.tls import self_signed, serve_tls

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


async def _echo(request: Request) -> JSONResponse:
    return JSONResponse({"path": request.url.path, "body": (await request.body()).decode()})


APP = Starlette(routes=[Route("/{path:path}", _echo, methods=["GET", "POST"])])


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def https_url(tls_files: tuple[Path, Path]) -> Iterator[str]:
    url, stop = serve_tls(APP, *tls_files)
    yield url
    stop()


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A TCP server that accepts and never says a word (a TLS handshake to it never ends)."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(timeout=5)
    for sock in held:
        sock.close()
    server.close()


def test_answers_come_back_and_connections_are_kept_alive(
    no_proxy: None, monkeypatch: pytest.MonkeyPatch, tls_files: tuple[Path, Path], https_url: str
) -> None:
    # The self-signed certificate trusted the way an operator would (httpx reads SSL_CERT_FILE).
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files[1]))
    transport = default_transport()
    assert isinstance(transport, AsyncioHTTPTransport)

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=https_url, transport=transport) as client:
            for n in range(5):
                reply = await client.post(f"/one/{n}", content=b"x" * n)
                assert reply.json() == {"path": f"/one/{n}", "body": "x" * n}
            assert transport.backend.connections_opened == 1  # one TLS connection, kept alive
            replies = await asyncio.gather(*(client.get(f"/many/{n}") for n in range(4)))
            assert [reply.json()["path"] for reply in replies] == [f"/many/{n}" for n in range(4)]
            opened = transport.backend.connections_opened
            assert opened <= 4  # at most one per request in flight, the idle one reused
            # Every connection those four used is kept alive: four more, one at a time, open none.
            for n in range(4):
                assert (await client.get(f"/again/{n}")).json()["path"] == f"/again/{n}"
            assert transport.backend.connections_opened == opened

    run(scenario())


def test_an_untrusted_certificate_is_nothing_sent(no_proxy: None, https_url: str) -> None:
    async def scenario() -> None:
        http = GatewayHttp("testgw", https_url, timeout=httpx.Timeout(2.0))
        try:
            with pytest.raises(
                GatewayUnavailableError, match=r"TLS certificate is not trusted\); nothing was sent"
            ):
                await http.request("POST", "/purchase", content=b"{}")
        finally:
            await http.aclose()

    run(scenario())


def test_a_handshake_that_never_ends_is_a_connect_timeout(no_proxy: None, silent_url: str) -> None:
    async def scenario() -> None:
        transport = AsyncioHTTPTransport()
        async with httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(0.3)) as client:
            with pytest.raises(httpx.ConnectTimeout):
                await client.post(f"{silent_url}/purchase", content=b"{}")
        assert transport.backend.connections_opened == 1  # the TCP connection was made; TLS never was

    run(scenario())


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_system_proxy_leaves_the_transport_to_httpx(
    no_proxy: None, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "http://proxy.example:3128")
    assert default_transport() is None

    async def scenario() -> None:
        http = GatewayHttp("testgw", "https://gateway.example")
        try:
            # httpx's own transport for the URL: the proxy's.
            assert not isinstance(
                http._client._transport_for_url(httpx.URL("https://gateway.example/")), AsyncioHTTPTransport
            )
        finally:
            await http.aclose()

    run(scenario())


def test_an_answer_nobody_asked_for_is_never_taken_for_the_next_one(no_proxy: None) -> None:
    """A server that answers, then sends one more (unasked-for) answer on the idle kept-alive connection:
    the next request goes out on a new connection and gets its own answer."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            seen.append(head.split(b" ")[1] + b" " + await reader.readexactly(length))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nanswer")
            await writer.drain()
            await asyncio.sleep(0.05)
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\n\r\nstale")
            await writer.drain()
            await reader.read()  # keep the connection open until the client drops it
        finally:
            writer.close()

    async def scenario() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        transport = AsyncioHTTPTransport()
        try:
            async with httpx.AsyncClient(transport=transport) as client:
                first = await client.post(f"http://127.0.0.1:{port}/pay1", content=b"one")
                await asyncio.sleep(0.3)  # the unasked-for answer arrives while the connection is idle
                second = await client.post(f"http://127.0.0.1:{port}/pay2", content=b"two")
        finally:
            server.close()
        assert (first.status_code, first.text, second.status_code, second.text) == (
            200,
            "answer",
            200,
            "answer",
        )
        assert transport.backend.connections_opened == 2
        assert seen == [b"/pay1 one", b"/pay2 two"]

    run(scenario())
