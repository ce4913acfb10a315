"""Run the simulators on loopback, each with its own uvicorn server, port and thread (SANDBOX.md).

``python -m terminal.sim.runner [--port N]`` does what ``merchant-terminal sim`` does.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import importlib
import importlib.util
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from starlette.types import ASGIApp

__all__ = [
    "REGISTRY",
    "PortInUseError",
    "RunningSims",
    "available_simulators",
    "reserve_simulators",
    "run_forever",
    "serve_app",
]

# Fixed order: with --port N the simulators take N, N+1, ... in this order (only those that exist).
REGISTRY: Final[tuple[str, ...]] = ("ompay", "paymentz", "etpay", "ogopay", "connect")
_START_TIMEOUT_S: Final = 10.0
_BACKLOG: Final = 128


class PortInUseError(OSError):
    """The port a simulator was asked to listen on is taken."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(errno.EADDRINUSE, f"cannot start simulator: {host} port {port} is already in use")
        self.host, self.port = host, port


def _bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket bound here, so a taken port fails now and in the caller's thread."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # An explicit IPPROTO_TCP makes asyncio set TCP_NODELAY on accepted connections (proto 0 would not),
    # which avoids a 40 ms delayed-ACK stall between the header and body writes of every response.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    if sys.platform != "win32":
        # Lets a restarted simulator reuse a port in TIME_WAIT; on Windows it would allow port stealing.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
            raise PortInUseError(host, port) from exc
        raise
    return sock


def _base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve_app(
    app: ASGIApp, host: str = "127.0.0.1", port: int = 0, *, sock: socket.socket | None = None
) -> tuple[str, Callable[[], None]]:
    """Serve ``app`` with uvicorn in a background thread; returns its base URL and a stop function.

    ``sock``: serve on this socket, already bound (``reserve_simulators``), instead of binding one.
    """
    import uvicorn  # here, not at import: the terminal reserves ports at start-up and serves them later

    sock = sock if sock is not None else _bind(host, port)
    config = uvicorn.Config(
        app,
        log_config=None,  # keep the host application's logging setup untouched
        log_level="warning",
        access_log=False,  # never log requests: bodies and paths may carry card data or tokens
        lifespan="off",
        http="h11",  # the fault middleware drops connections through the h11 cycle's transport
        ws="none",
        proxy_headers=False,
        timeout_graceful_shutdown=1,  # a held fault must not keep stop() waiting for 30 s
    )
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # reported to the starting thread below
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"sim-server-{sock.getsockname()[1]}", daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_S
    while not server.started:
        if failure or not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            cause = failure[0] if failure else None
            raise RuntimeError(f"simulator server on {host}:{port} did not start") from cause
        time.sleep(0.01)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()

    return _base_url(host, sock.getsockname()[1]), stop


def available_simulators() -> list[str]:
    """Names from REGISTRY whose module ``terminal.sim.<name>`` exists, in registry order."""
    return [name for name in REGISTRY if importlib.util.find_spec(f"terminal.sim.{name}") is not None]


@dataclass
class RunningSims:
    """Started simulators: ``urls`` maps name to base URL; ``stop()`` shuts them all down."""

    urls: dict[str, str] = field(default_factory=dict)
    _stops: list[Callable[[], None]] = field(default_factory=list, repr=False)
    # Reserved by reserve_simulators: (name, host, listening socket), served once start_pending runs.
    _pending: list[tuple[str, str, socket.socket]] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stopped: bool = field(default=False, repr=False)

    def start_pending(self) -> None:
        """Serve the simulators reserved but not started yet (any thread; once; not after stop())."""
        while True:
            with self._lock:
                if self._stopped or not self._pending:
                    return
                name, host, sock = self._pending.pop(0)
            try:
                app = importlib.import_module(f"terminal.sim.{name}").create_app()
                _url, stop = serve_app(app, host, sock=sock)
            except BaseException:
                sock.close()
                raise
            with self._lock:
                self._stops.append(stop)
                if not self._stopped:
                    continue
            stop()  # stop() ran while this one was starting
            return

    def stop(self) -> None:
        """Stop every server and release reserved ports (safe to call twice, from any thread)."""
        with self._lock:
            self._stopped = True
            pending, self._pending = self._pending, []
            stops, self._stops = self._stops, []
        for _name, _host, sock in pending:
            sock.close()
        while stops:
            stops.pop()()

    def __enter__(self) -> RunningSims:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_simulators(
    port: int = 0,
    host: str = "127.0.0.1",
    *,
    on_listening: Callable[[str, str], None] | None = None,
) -> RunningSims:
    """Start every available simulator; port 0 gives each an ephemeral port, N gives N, N+1, ... in order."""
    running = RunningSims()
    try:
        for index, name in enumerate(available_simulators()):
            app = importlib.import_module(f"terminal.sim.{name}").create_app()
            url, stop = serve_app(app, host, port + index if port else 0)
            running.urls[name] = url
            running._stops.append(stop)
            if on_listening is not None:
                on_listening(name, url)
    except BaseException:
        running.stop()
        raise
    return running


def reserve_simulators(port: int = 0, host: str = "127.0.0.1") -> RunningSims:
    """Bind and listen on every available simulator's port now, and serve them later (`start_pending`).

    The URLs are known at once and a port in use fails here, in the caller's thread; a connection made
    before its server runs waits in the socket's backlog. The terminal starts the servers on a
    background thread once its window is shown, so that start-up does not wait for them.
    """
    running = RunningSims()
    try:
        for index, name in enumerate(available_simulators()):
            sock = _bind(host, port + index if port else 0)
            running._pending.append((name, host, sock))
            sock.listen(_BACKLOG)
            running.urls[name] = _base_url(host, sock.getsockname()[1])
    except BaseException:
        running.stop()
        raise
    return running


def run_forever(port: int = 0, host: str = "127.0.0.1") -> int:
    """Start the simulators, print ``NAME BASE_URL`` per simulator as it listens, serve until interrupted."""
    stopping = threading.Event()

    def announce(name: str, url: str) -> None:
        print(f"{name} {url}", flush=True)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    in_main = threading.current_thread() is threading.main_thread()
    # SIGTERM (service managers, CI) should stop as cleanly as Ctrl-C; only the main thread may set it.
    previous = signal.signal(signal.SIGTERM, on_signal) if in_main else None
    try:
        with start_simulators(port, host, on_listening=announce):
            # A timed wait keeps Ctrl-C responsive on every platform.
            while not stopping.wait(0.5):
                pass
    except KeyboardInterrupt:
        pass
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--port N`` (default: ephemeral ports) and ``--host``."""
    parser = argparse.ArgumentParser(prog="terminal.sim.runner", description="Run the gateway simulators.")
    parser.add_argument(
        "--port", type=int, default=0, help="first port; the others follow (default: ephemeral)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    args = parser.parse_args(argv)
    try:
        return run_forever(args.port, args.host)
    except PortInUseError as exc:
        print(exc.strerror, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
