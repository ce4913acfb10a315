"""Simulators reserved at start-up and served later (the terminal's window comes first): the URLs are known
at once, a port in use fails at once, a request made before the servers run waits and is answered."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from terminal.sim.runner import PortInUseError, available_simulators, reserve_simulators


def test_a_request_made_before_the_servers_start_is_answered_once_they_do() -> None:
    sims = reserve_simulators()
    try:
        assert sorted(sims.urls) == sorted(available_simulators())
        answers: list[int] = []
        url = sims.urls["ogopay"] + "/_sim/ledger"
        early = threading.Thread(target=lambda: answers.append(httpx.get(url, timeout=10).status_code))
        early.start()
        time.sleep(0.2)
        assert answers == []  # waiting in the listening socket's backlog, not refused
        sims.start_pending()
        early.join(10)
        assert answers == [200]
        sims.start_pending()  # nothing left to start: no second server
    finally:
        sims.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)


def test_stop_before_start_releases_the_ports_and_start_does_nothing() -> None:
    sims = reserve_simulators()
    ports = [int(url.rsplit(":", 1)[1]) for url in sims.urls.values()]
    sims.stop()
    sims.start_pending()
    for port in ports:
        with socket.socket() as again:
            again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            again.bind(("127.0.0.1", port))


def test_a_port_in_use_fails_at_reservation() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(PortInUseError):
            reserve_simulators(port=port)
