"""Sandbox rules shared by every simulator (docs/SANDBOX.md): test cards, clock, ledger, app builder.

A simulator is a Starlette app made by ``create_app(...)``: its own routes plus a state object derived
from :class:`SimState`; :func:`build_sim_app` adds the ``/_sim/`` control API and fault injection.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from terminal.sim.control import control_routes
from terminal.sim.faults import FaultBoard, FaultMiddleware

__all__ = [
    "TEST_CARDS",
    "CardOutcome",
    "SandboxCard",
    "SimClock",
    "SimLedger",
    "SimState",
    "SimulatorApp",
    "build_sim_app",
    "card_outcome",
    "luhn_valid",
]

CardOutcome = Literal[
    "approved", "do_not_honour", "insufficient_funds", "expired_card", "cvc_failed", "challenge", "invalid"
]

SandboxCard = tuple[str, CardOutcome]

# The SANDBOX.md table, keyed by digits only: number -> (brand, outcome).
TEST_CARDS: Final[dict[str, SandboxCard]] = {
    "4111111111111111": ("Visa", "approved"),
    "4242424242424242": ("Visa", "approved"),
    "5555555555554444": ("Mastercard", "approved"),
    "378282246310005": ("American Express", "approved"),
    "4000000000000002": ("Visa", "do_not_honour"),
    "4000000000009995": ("Visa", "insufficient_funds"),
    "4000000000000069": ("Visa", "expired_card"),
    "4000000000000127": ("Visa", "cvc_failed"),
    "4000000000003220": ("Visa", "challenge"),
}


def _digits(number: str) -> str:
    """The number without the spaces and dashes people type."""
    return "".join(ch for ch in number if ch not in " -")


def luhn_valid(number: str) -> bool:
    """True when ``number`` (spaces/dashes allowed) is 12-19 digits with a valid Luhn check digit."""
    digits = _digits(number)
    if not digits.isascii() or not digits.isdigit() or not 12 <= len(digits) <= 19:
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_outcome(number: str) -> CardOutcome:
    """The sandbox outcome of a card: from the test table, else approved if Luhn-valid, else invalid."""
    digits = _digits(number)
    if digits in TEST_CARDS:
        return TEST_CARDS[digits][1]
    return "approved" if luhn_valid(digits) else "invalid"


class SimClock:
    """Real UTC time plus an offset that tests move with ``advance``."""

    def __init__(self) -> None:
        self._offset = 0.0

    @property
    def offset_s(self) -> float:
        """Seconds the simulator clock is ahead of real time (negative: behind)."""
        return self._offset

    def now(self) -> datetime:
        """The simulator's current time, timezone-aware UTC."""
        return datetime.now(UTC) + timedelta(seconds=self._offset)

    def advance(self, seconds: float) -> datetime:
        """Move the clock by ``seconds`` (may be negative) and return the new time."""
        self._offset += seconds
        return self.now()

    def reset(self) -> None:
        """Back to real time."""
        self._offset = 0.0


class SimLedger:
    """Append-only journal of the operations a simulator applied, so tests can prove money moved once."""

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock
        self._entries: list[dict[str, Any]] = []
        # Handlers run on the server's loop while tests may read from another thread.
        self._lock = threading.Lock()

    def record(
        self,
        kind: str,
        *,
        effect: bool = True,
        amount: int | None = None,
        currency: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Append one entry; ``effect`` is False for operations that moved no money (declines)."""
        with self._lock:
            entry: dict[str, Any] = {
                "seq": len(self._entries) + 1,
                "time": self._clock.now().isoformat(),
                "kind": kind,
                "effect": effect,
                "amount": amount,
                "currency": currency,
                **fields,
            }
            self._entries.append(entry)
            return copy.deepcopy(entry)

    def entries(self) -> list[dict[str, Any]]:
        """A copy of every entry, oldest first."""
        with self._lock:
            return copy.deepcopy(self._entries)

    def reset(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()


class SimState:
    """Base of a simulator's in-memory state: owns the clock and ledger; subclasses add their data."""

    def __init__(self) -> None:
        self.clock = SimClock()
        self.ledger = SimLedger(self.clock)

    def reset(self) -> None:
        """Forget everything; subclasses extend this and call ``super().reset()``."""
        self.clock.reset()
        self.ledger.reset()

    def settle(self) -> dict[str, int]:
        """Run settlement now; returns counts of what changed (nothing by default)."""
        return {}


class SimulatorApp:
    """ASGI app of one simulator: its routes plus the control API, all behind fault injection."""

    def __init__(self, routes: Sequence[BaseRoute], state: SimState) -> None:
        self.state = state
        self.faults = FaultBoard()
        self.routes_app = Starlette(routes=[*control_routes(state, self.faults), *routes])
        self._asgi = FaultMiddleware(self.routes_app, self.faults)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._asgi(scope, receive, send)


def build_sim_app(routes: Sequence[BaseRoute], state: SimState) -> SimulatorApp:
    """Wrap a simulator's routes with the ``/_sim/`` control API and fault injection."""
    return SimulatorApp(routes, state)
