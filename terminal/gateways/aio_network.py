"""httpx on the running asyncio loop without anyio in between: a network backend for httpcore.

httpx sends through httpcore, which reaches the network through a "network backend"; under asyncio it
picks anyio's. Profiling the end-of-day batch put about a tenth of the event loop's time in anyio's
layers: a `fail_after` cancel scope around every read and write, and a fresh dictionary of socket
attributes built each time httpcore asks whether a pooled connection is still usable, which it does for
every pooled connection on every request (docs/BENCHMARKS.md). `AsyncioBackend` implements httpcore's
public `AsyncNetworkBackend` interface with asyncio's own streams and `asyncio.timeout`.

The failures keep their meaning, which is what exactly-once rests on (gateways/http.py sorts them): only
connecting (and the TLS handshake, which is part of it) raises `ConnectError` / `ConnectTimeout`, i.e.
"nothing was sent"; a failed or timed-out read or write raises `ReadError` / `ReadTimeout` /
`WriteError` / `WriteTimeout` once a request may have left. httpx turns these into its own classes as it
does for anyio's.

`default_transport()` is what `GatewayHttp` uses: an `httpx.AsyncHTTPTransport` on this backend, or None
(httpx's own transport) when the system names a proxy, so that proxies keep working exactly as httpx
handles them.
"""

from __future__ import annotations

import asyncio
import ssl
import typing
import urllib.request

import httpcore
import httpx
from httpcore._utils import is_socket_readable

__all__ = ["LIMITS", "AsyncioBackend", "AsyncioHTTPTransport", "AsyncioStream", "default_transport"]

# httpx's own defaults (httpx._config.DEFAULT_LIMITS), with its 5 s keep-alive.
LIMITS: typing.Final = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection as an asyncio stream pair."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Up to `max_bytes` (b"" once the peer closed)."""
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:  # before OSError: TimeoutError is one
            raise httpcore.ReadTimeout(str(exc) or "timed out reading") from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc) or type(exc).__name__) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Send all of `buffer`."""
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc) or "timed out writing") from exc
        except (OSError, RuntimeError) as exc:  # RuntimeError: the transport was closed meanwhile
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc

    async def aclose(self) -> None:
        """Drop the connection at once, as anyio's backend does: nothing still buffered is sent after a
        cancelled or timed-out request, and no TLS goodbye is waited for."""
        self._writer.transport.abort()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """The TLS handshake on this connection; a failure is a failure to connect (nothing was sent)."""
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as exc:
            self._writer.transport.abort()
            raise httpcore.ConnectTimeout(str(exc) or "timed out in the TLS handshake") from exc
        except (OSError, EOFError) as exc:  # ssl.SSLError (a refused certificate) is an OSError
            self._writer.transport.abort()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        return self

    def get_extra_info(self, info: str) -> typing.Any:
        """What httpcore asks of a connection: its TLS object, addresses, socket, and whether the peer
        has sent something (or closed) while it sat idle in the pool."""
        if info == "is_readable":
            # Anything the peer sent or did while the connection sat idle makes it unusable: bytes asyncio
            # has already read into the stream's buffer (an unasked-for answer would otherwise be taken
            # for the next request's), the end of the stream, an error, or bytes still in the socket.
            reader = self._reader
            buffered: typing.Any = getattr(reader, "_buffer", None)  # asyncio keeps no public count
            if reader.at_eof() or reader.exception() is not None or buffered:
                return True
            sock = self._writer.get_extra_info("socket")
            return sock is None or is_socket_readable(sock)
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Connections made with `asyncio.open_connection` on the running loop (TCP_NODELAY is asyncio's
    default for TCP)."""

    def __init__(self) -> None:
        self.connections_opened = 0

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """A new TCP connection to `host`:`port`."""
        local = (local_address, 0) if local_address else None
        # Addresses raced 0.25 s apart, as anyio does (a broken IPv6 route costs a quarter second).
        opening = asyncio.open_connection(host, port, local_addr=local, happy_eyeballs_delay=0.25)
        return await self._connect(opening, timeout, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """A new connection to the Unix socket at `path`."""
        return await self._connect(asyncio.open_unix_connection(path), timeout, socket_options)

    async def _connect(
        self,
        opening: typing.Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]],
        timeout: float | None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None,
    ) -> AsyncioStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await opening
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc) or "timed out connecting") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        return self._opened(reader, writer, socket_options)

    def _opened(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None,
    ) -> AsyncioStream:
        sock = writer.get_extra_info("socket")
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
        except OSError as exc:
            writer.transport.abort()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        self.connections_opened += 1
        return AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        """Wait on the running loop."""
        await asyncio.sleep(seconds)


class AsyncioHTTPTransport(httpx.AsyncHTTPTransport):
    """httpx's HTTP transport (TLS verified against httpx's trusted roots, HTTP/1.1, httpx's limits) with
    its connection pool on `AsyncioBackend`.

    httpx's constructor takes no network backend, so this builds the pool the way it does and keeps it
    where httpx's methods look for it (`_pool`); tests/gateways/test_aio_network.py fails if that stops
    being so.
    """

    def __init__(self, *, limits: httpx.Limits = LIMITS) -> None:
        # Not super().__init__(): it would load the trusted roots for a pool that is thrown away.
        self.backend = AsyncioBackend()
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=self.backend,
        )


def default_transport() -> httpx.AsyncBaseTransport | None:
    """The transport a gateway client uses: on asyncio's own streams, unless the system (the environment,
    or the OS's settings as `urllib.request.getproxies` reads them, which is what httpx reads) names a
    proxy; then None, and httpx routes requests through the proxy as it always does."""
    if any(scheme != "no" for scheme in urllib.request.getproxies()):  # NO_PROXY alone names none
        return None
    return AsyncioHTTPTransport()
