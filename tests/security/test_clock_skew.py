"""PCI-15 trustworthy time: a gateway whose `Date` is more than 60 s off is warned about and audited.

The simulators' `Date` header comes from uvicorn (real time), not from their /_sim/clock, so this test
serves its own small Starlette app on 127.0.0.1 whose clock the test moves; the terminal side is the real
GatewayHttp and the real security services (audit in a real database).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from terminal.gateways.http import GatewayHttp, Safety
from terminal.services.audit import Event
from terminal.services.clock import SKEW_LIMIT_S
from terminal.services.profiles import ProfileRegistry
from terminal.services.security import Security, build_security
from terminal.store.database import open_database


class SkewedServer:
    """A gateway stand-in on loopback whose clock runs `offset_s` ahead of real time."""

    def __init__(self) -> None:
        self.offset_s = 0.0

        async def ping(_request: Request) -> JSONResponse:
            date = formatdate(time.time() + self.offset_s, usegmt=True)
            return JSONResponse({"ok": True}, headers={"Date": date})

        async def clock(request: Request) -> JSONResponse:  # as the simulators' /_sim/clock
            self.offset_s += float((await request.json())["advance_s"])
            return JSONResponse({"ok": True, "offset_s": self.offset_s})

        app = Starlette(routes=[Route("/ping", ping), Route("/_sim/clock", clock, methods=["POST"])])
        # date_header=False: uvicorn would add its own (true) Date next to the app's.
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off",
                                date_header=False, access_log=False)  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "test server did not start"
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[SkewedServer]:
    running = SkewedServer()
    yield running
    running.stop()


@pytest.fixture
def security(tmp_path: Path) -> Iterator[Security]:
    database = open_database(tmp_path / "data")
    built = build_security(database, ProfileRegistry([]), tmp_path / "data")
    yield built
    built.close()
    database.close()


def test_a_gateway_clock_five_minutes_off_is_warned_about_and_audited(
    server: SkewedServer,
    security: Security,
    caplog: pytest.LogCaptureFixture,
    qloop: asyncio.AbstractEventLoop,
) -> None:
    caplog.set_level(logging.INFO, logger="terminal.services.clock")
    shown: list[str] = []
    security.clock.listeners.append(shown.append)

    async def talk() -> list[int]:
        http = GatewayHttp("skewgw", server.url, display_name="Skew Gateway")
        statuses = []
        try:
            statuses.append((await http.request("GET", "/ping", safety=Safety.READ)).status)
            assert shown == []  # in step: nothing to say
            # Move the gateway's clock 5 minutes ahead, through its clock route, as tests move a simulator's.
            json_type = {"Content-Type": "application/json"}
            advance = b'{"advance_s": 300}'
            moved = await http.request(
                "POST", "/_sim/clock", content=advance, headers=json_type, safety=Safety.READ
            )
            statuses.append(moved.status)
            statuses.append((await http.request("GET", "/ping", safety=Safety.READ)).status)
            statuses.append((await http.request("GET", "/ping", safety=Safety.READ)).status)
        finally:
            await http.aclose()
        return statuses

    statuses = qloop.run_until_complete(talk())
    assert statuses == [200, 200, 200, 200]  # the warning never costs a request its answer
    # Surfaced once (not per reply): the status bar's listener, the log and one audit entry.
    assert len(shown) == 1 and "5 minutes behind Skew Gateway's" in shown[0], shown
    assert any(r.levelno == logging.WARNING and "5 minutes behind" in r.getMessage() for r in caplog.records)
    entries = [r for r in security.audit.latest(50) if r.event == Event.CLOCK_SKEW]
    assert len(entries) == 1
    entry = entries[0]
    assert entry.outcome == "failure" and entry.target == "Skew Gateway"
    detail = json.loads(entry.detail)
    assert 295 <= detail["skew_s"] <= 305 and detail["limit_s"] == SKEW_LIMIT_S
    assert security.audit.verify().ok


def test_back_in_step_then_behind_warns_again_and_small_drift_is_quiet(
    server: SkewedServer, security: Security, qloop: asyncio.AbstractEventLoop
) -> None:
    shown: list[str] = []
    security.clock.listeners.append(shown.append)

    async def talk() -> None:
        http = GatewayHttp("skewgw", server.url, display_name="Skew Gateway")
        try:
            server.offset_s = 45.0  # under the 60 s limit: quiet
            await http.request("GET", "/ping", safety=Safety.READ)
            assert shown == []
            server.offset_s = 120.0
            await http.request("GET", "/ping", safety=Safety.READ)
            server.offset_s = 0.0  # corrected
            await http.request("GET", "/ping", safety=Safety.READ)
            server.offset_s = -600.0  # now the gateway is behind: this computer is ahead
            await http.request("GET", "/ping", safety=Safety.READ)
        finally:
            await http.aclose()

    qloop.run_until_complete(talk())
    assert len(shown) == 2, shown
    assert "behind Skew Gateway's" in shown[0] and "10 minutes ahead of Skew Gateway's" in shown[1]
    assert len([r for r in security.audit.latest(50) if r.event == Event.CLOCK_SKEW]) == 2


def test_closing_the_security_services_stops_listening(
    server: SkewedServer, tmp_path: Path, qloop: asyncio.AbstractEventLoop
) -> None:
    database = open_database(tmp_path / "other")
    security = build_security(database, ProfileRegistry([]), tmp_path / "other")
    shown: list[str] = []
    security.clock.listeners.append(shown.append)
    security.close()
    server.offset_s = 900.0

    async def talk() -> None:
        http = GatewayHttp("skewgw", server.url)
        try:
            await http.request("GET", "/ping", safety=Safety.READ)
        finally:
            await http.aclose()

    qloop.run_until_complete(talk())
    database.close()
    assert shown == []
