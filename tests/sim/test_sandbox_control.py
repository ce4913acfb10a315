"""The shared sandbox (docs/SANDBOX.md): test cards, clock, ledger, control API, faults, runner."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from terminal.sim.control import is_loopback
from terminal.sim.runner import PortInUseError, available_simulators, serve_app, start_simulators
from terminal.sim.sandbox import (
    TEST_CARDS,
    SimClock,
    SimLedger,
    SimState,
    SimulatorApp,
    card_outcome,
    luhn_valid,
)

MakeToy = Callable[[], tuple[SimState, SimulatorApp]]

# -- test cards ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "outcome"),
    [
        ("4111 1111 1111 1111", "approved"),
        ("4242 4242 4242 4242", "approved"),
        ("5555 5555 5555 4444", "approved"),
        ("3782 822463 10005", "approved"),
        ("4000 0000 0000 0002", "do_not_honour"),
        ("4000 0000 0000 9995", "insufficient_funds"),
        ("4000 0000 0000 0069", "expired_card"),
        ("4000 0000 0000 0127", "cvc_failed"),
        ("4000 0000 0000 3220", "challenge"),
        ("4012888888881881", "approved"),  # Luhn-valid, not in the table
        ("4242424242424241", "invalid"),
        ("1234", "invalid"),
        ("4242-4242-4242-424x", "invalid"),
    ],
)
def test_card_outcome_follows_the_sandbox_table(number: str, outcome: str) -> None:
    assert card_outcome(number) == outcome


def test_every_table_card_passes_luhn_and_brands_are_named() -> None:
    assert len(TEST_CARDS) == 9
    assert all(luhn_valid(number) for number in TEST_CARDS)
    assert {brand for brand, _ in TEST_CARDS.values()} == {"Visa", "Mastercard", "American Express"}
    assert not luhn_valid("79927398710") and not luhn_valid("")


# -- clock and ledger ----------------------------------------------------------------------------------


def test_clock_is_aware_utc_and_advances_and_resets() -> None:
    clock = SimClock()
    assert clock.now().tzinfo is not None
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=1)
    clock.advance(3600)
    assert abs(clock.now() - datetime.now(UTC) - timedelta(hours=1)) < timedelta(seconds=1)
    clock.advance(-7200)
    assert clock.offset_s == -3600
    clock.reset()
    assert clock.offset_s == 0


def test_ledger_is_append_only_and_hands_out_copies() -> None:
    clock = SimClock()
    ledger = SimLedger(clock)
    ledger.record("sale", amount=100, currency="LKR", reference="r1")
    ledger.record("sale", effect=False, amount=50, currency="LKR", outcome="declined")
    entries = ledger.entries()
    assert [(e["seq"], e["kind"], e["effect"], e["amount"]) for e in entries] == [
        (1, "sale", True, 100),
        (2, "sale", False, 50),
    ]
    assert entries[0]["reference"] == "r1" and entries[1]["outcome"] == "declined"
    entries[0]["amount"] = 999
    assert ledger.entries()[0]["amount"] == 100
    ledger.reset()
    assert ledger.entries() == []


# -- control API ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.7", False),
        ("192.168.1.20", False),
        ("::ffff:10.0.0.7", False),
        ("2001:db8::1", False),
        ("testclient", False),
        ("", False),
        (None, False),
    ],
)
def test_is_loopback(host: str | None, allowed: bool) -> None:
    assert is_loopback(host) is allowed


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/_sim/faults"),
        ("GET", "/_sim/faults"),
        ("POST", "/_sim/clock"),
        ("POST", "/_sim/settle"),
        ("GET", "/_sim/ledger"),
        ("POST", "/_sim/reset"),
    ],
)
def test_control_api_refuses_non_loopback_clients(make_toy: MakeToy, method: str, path: str) -> None:
    state, app = make_toy()
    state.ledger.record("charge", amount=1)

    async def call() -> httpx.Response:
        # The only test not over real HTTP: a loopback server cannot be reached from another address.
        transport = httpx.ASGITransport(app=app, client=("10.0.0.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return await client.request(method, path, json={"advance_s": 60})

    response = asyncio.run(call())
    assert response.status_code == 403
    assert len(state.ledger.entries()) == 1 and state.clock.offset_s == 0


def test_ledger_clock_settle_and_reset(toy: httpx.Client) -> None:
    assert toy.post("/charge", json={"amount": 250}).status_code == 200
    moved = toy.post("/_sim/clock", json={"advance_s": 86400}).json()
    assert moved["offset_s"] == 86400
    assert datetime.fromisoformat(moved["now"]) - datetime.now(UTC) > timedelta(hours=23)
    assert toy.post("/charge", json={"amount": 40}).status_code == 200
    entries = toy.get("/_sim/ledger").json()["entries"]
    assert [(e["seq"], e["kind"], e["amount"], e["currency"], e["effect"]) for e in entries] == [
        (1, "charge", 250, "XTS", True),
        (2, "charge", 40, "XTS", True),
    ]
    assert datetime.fromisoformat(entries[1]["time"]) - datetime.fromisoformat(
        entries[0]["time"]
    ) > timedelta(hours=23)
    assert toy.post("/_sim/settle").json()["settled"] == {"captures": 2}
    assert toy.post("/_sim/settle").json()["settled"] == {"captures": 0}

    toy.post("/_sim/faults", json={"method": "POST", "path": "/charge", "fault": "http_500"})
    assert toy.post("/_sim/reset").json() == {"ok": True}
    assert toy.get("/_sim/ledger").json()["entries"] == []
    assert toy.get("/_sim/faults").json()["faults"] == []
    assert toy.get("/_sim/clock").json()["offset_s"] == 0
    assert toy.post("/charge", json={"amount": 1}).json()["seq"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"method": "POST", "path": "/charge", "fault": "explode"},
        {"method": "POST", "fault": "http_500"},
        {"method": "POST", "path": "/charge", "fault": "http_500", "times": 0},
        {"method": "POST", "path": "/charge", "fault": "slow", "delay_ms": -1},
        {"method": 5, "path": "/charge", "fault": "http_500"},
        [],
    ],
)
def test_bad_fault_requests_are_refused(toy: httpx.Client, body: object) -> None:
    response = toy.post("/_sim/faults", json=body)
    assert response.status_code == 400 and response.json()["ok"] is False
    assert toy.post("/_sim/clock", json={"advance_s": "soon"}).status_code == 400
    assert toy.post("/_sim/faults", content=b"{not json").status_code == 400


# -- faults --------------------------------------------------------------------------------------------


def _arm(client: httpx.Client, fault: str, *, path: str = "/charge", **extra: object) -> None:
    body = {"method": "POST", "path": path, "fault": fault, **extra}
    client.post("/_sim/faults", json=body).raise_for_status()


def _charges(client: httpx.Client) -> int:
    return sum(1 for e in client.get("/_sim/ledger").json()["entries"] if e["effect"])


def test_http_500_and_503_answer_an_error_and_change_nothing(toy: httpx.Client) -> None:
    _arm(toy, "http_500")
    _arm(toy, "http_503")
    assert toy.post("/charge", json={"amount": 5}).status_code == 500
    assert toy.post("/charge", json={"amount": 5}).status_code == 503
    assert _charges(toy) == 0
    assert toy.post("/charge", json={"amount": 5}).status_code == 200
    assert _charges(toy) == 1


def test_times_glob_and_method_decide_which_requests_fault(toy: httpx.Client) -> None:
    _arm(toy, "http_503", path="/ch*", times=2)
    assert toy.get("/ping").status_code == 200  # GET does not match a POST rule
    assert [toy.post("/charge", json={"amount": 1}).status_code for _ in range(3)] == [503, 503, 200]
    _arm(toy, "http_500", path="*", method="*")
    assert toy.get("/_sim/ledger").status_code == 200  # the control API is never faulted
    assert toy.get("/ping").status_code == 500
    assert toy.get("/_sim/faults").json()["faults"] == []


def test_timeout_after_commit_applies_then_holds_past_the_client_timeout(toy: httpx.Client) -> None:
    _arm(toy, "timeout_after_commit")  # default hold: 30 s, ended early by the client going away
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        toy.post("/charge", json={"amount": 7}, timeout=0.4)
    assert time.monotonic() - started < 1.5
    assert _charges(toy) == 1
    assert toy.post("/charge", json={"amount": 7}).status_code == 200


def test_timeout_after_commit_with_delay_drops_without_a_response(toy: httpx.Client) -> None:
    _arm(toy, "timeout_after_commit", delay_ms=200)
    started = time.monotonic()
    with pytest.raises(httpx.RemoteProtocolError):
        toy.post("/charge", json={"amount": 7}, timeout=2.0)
    assert 0.2 <= time.monotonic() - started < 1.5
    assert _charges(toy) == 1


def test_timeout_before_commit_holds_then_drops_and_nothing_happens(toy: httpx.Client) -> None:
    _arm(toy, "timeout_before_commit")
    with pytest.raises(httpx.ReadTimeout):
        toy.post("/charge", json={"amount": 7}, timeout=0.4)
    _arm(toy, "timeout_before_commit", delay_ms=150)
    with pytest.raises(httpx.RemoteProtocolError):
        toy.post("/charge", json={"amount": 7}, timeout=2.0)
    assert _charges(toy) == 0


def test_reset_after_commit_closes_the_connection_without_a_status(toy: httpx.Client) -> None:
    _arm(toy, "reset_after_commit")
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)) as caught:
        toy.post("/charge", json={"amount": 9})
    assert not isinstance(caught.value, httpx.HTTPStatusError)
    assert _charges(toy) == 1


def test_malformed_json_applies_and_cuts_the_body_consistently(toy: httpx.Client) -> None:
    whole = toy.post("/charge", json={"amount": 3}).content
    _arm(toy, "malformed_json")
    response = toy.post("/charge", json={"amount": 3})
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content) == len(whole) // 2
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert _charges(toy) == 2


def test_slow_answers_normally_after_the_delay(toy: httpx.Client) -> None:
    _arm(toy, "slow", delay_ms=300)
    started = time.monotonic()
    response = toy.post("/charge", json={"amount": 4})
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200 and response.json()["amount"] == 4
    assert _charges(toy) == 1


# -- runner --------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_port_in_use_is_a_clear_oserror(make_toy: MakeToy) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"port {port} is already in use") as caught:
            serve_app(make_toy()[1], port=port)
        assert isinstance(caught.value, OSError)
        with pytest.raises(OSError, match=str(port)):
            start_simulators(port)


def test_fixed_port_and_stop() -> None:
    port = _free_port()
    running = start_simulators(port)
    try:
        # N, N+1, ... in the registry's order, one port per simulator.
        names = available_simulators()
        assert running.urls == {name: f"http://127.0.0.1:{port + i}" for i, name in enumerate(names)}
        assert httpx.get(f"{running.urls['ogopay']}/version").json()["name"] == "OGO Pay"
    finally:
        running.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/version", timeout=0.5)


def test_command_line_prints_name_and_url_then_serves_until_terminated() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "terminal.sim.runner", "--port", "0"], stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            lines = [process.stdout.readline().split() for _ in available_simulators()]
            assert [name for name, _ in lines] == available_simulators()
            url = dict(lines)["ogopay"]
            assert url.startswith("http://127.0.0.1:")
            assert httpx.get(f"{url}/version").status_code == 200
        finally:
            process.terminate()
        # SIGTERM is a clean stop on POSIX; Windows' terminate() cannot be caught.
        assert process.wait(timeout=10) == (1 if sys.platform == "win32" else 0)
