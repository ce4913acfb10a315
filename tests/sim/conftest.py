"""Fixtures for the simulator tests: real uvicorn servers on loopback, reset before every test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from terminal.sim.ogopay import create_app
from terminal.sim.runner import RunningSims, serve_app, start_simulators
from terminal.sim.sandbox import SimState, SimulatorApp, build_sim_app

# The published OGO vector's secret (docs/gateways/ogopay.md 4.3), served beside the sandbox merchant.
VECTOR_MERCHANT = "vector-merchant"
VECTOR_SECRET = "AXz7ovfpCdzznQMgFUnN8IPlyH1+qAVMjF5CaYbopIc="


class ToyState(SimState):
    """A minimal simulator state: counts charges so the sandbox layer can be tested on its own."""

    def __init__(self) -> None:
        super().__init__()
        self.charges = 0
        self.settled = 0

    def reset(self) -> None:
        super().reset()
        self.charges = 0
        self.settled = 0

    def settle(self) -> dict[str, int]:
        newly, self.settled = self.charges - self.settled, self.charges
        return {"captures": newly}


def toy_app(state: ToyState) -> SimulatorApp:
    """A one-route simulator: ``POST /charge {"amount": n}`` records a charge and answers JSON."""

    async def charge(request: Request) -> Response:
        amount = int((await request.json())["amount"])
        state.charges += 1
        entry = state.ledger.record("charge", amount=amount, currency="XTS", reference=f"c{state.charges}")
        return JSONResponse({"ok": True, "seq": entry["seq"], "amount": amount, "note": "charged " * 4})

    async def ping(request: Request) -> Response:
        return JSONResponse({"pong": True})

    routes = [Route("/charge", charge, methods=["POST"]), Route("/ping", ping, methods=["GET"])]
    return build_sim_app(routes, state)


@pytest.fixture
def make_toy() -> Callable[[], tuple[SimState, SimulatorApp]]:
    """A factory of fresh, unserved toy simulators (state, app) for in-process checks."""

    def make() -> tuple[SimState, SimulatorApp]:
        state = ToyState()
        return state, toy_app(state)

    return make


@pytest.fixture(scope="session")
def sims() -> Iterator[RunningSims]:
    """Every registered simulator, started once for the session on ephemeral ports."""
    with start_simulators() as running:
        yield running


@pytest.fixture
def ogo(sims: RunningSims) -> Iterator[httpx.Client]:
    """A client for the OGO Pay simulator, which is reset (state, ledger, faults, clock) first."""
    with httpx.Client(base_url=sims.urls["ogopay"], timeout=2.0) as client:
        client.post("/_sim/reset").raise_for_status()
        yield client


@pytest.fixture(scope="session")
def vector_url() -> Iterator[str]:
    """An OGO Pay simulator that also knows the published vector's merchant secret."""
    merchants = {"sandbox-merchant": "sandbox-ogo-secret", VECTOR_MERCHANT: VECTOR_SECRET}
    url, stop = serve_app(create_app(merchants))
    yield url
    stop()


@pytest.fixture(scope="session")
def toy_server() -> Iterator[tuple[str, ToyState]]:
    """The toy simulator served over real HTTP, with its state for in-process checks."""
    state = ToyState()
    url, stop = serve_app(toy_app(state))
    yield url, state
    stop()


@pytest.fixture
def toy(toy_server: tuple[str, ToyState]) -> Iterator[httpx.Client]:
    """A client for the toy simulator, reset first."""
    with httpx.Client(base_url=toy_server[0], timeout=2.0) as client:
        client.post("/_sim/reset").raise_for_status()
        yield client
