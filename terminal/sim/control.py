"""The ``/_sim/`` control API every simulator serves (docs/SANDBOX.md), for loopback clients only.

Routes: ``POST|GET|DELETE /_sim/faults``, ``POST|GET /_sim/clock``, ``POST /_sim/settle``,
``GET /_sim/ledger``, ``POST /_sim/reset``. Answers are JSON with ``"ok"``; refusals carry ``"error"``.
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from terminal.sim.faults import CONTROL_PREFIX, FaultBoard, FaultSpecError, parse_fault

__all__ = ["Controllable", "control_routes", "is_loopback"]


class _Clock(Protocol):
    @property
    def offset_s(self) -> float: ...

    def now(self) -> datetime: ...

    def advance(self, seconds: float) -> datetime: ...


class _Ledger(Protocol):
    def entries(self) -> list[dict[str, Any]]: ...


class Controllable(Protocol):
    """What the control API needs of a simulator's state (``sandbox.SimState`` provides it)."""

    @property
    def clock(self) -> _Clock: ...

    @property
    def ledger(self) -> _Ledger: ...

    def reset(self) -> None: ...

    def settle(self) -> dict[str, int]: ...


def is_loopback(host: str | None) -> bool:
    """True only for a loopback IP address (IPv4, IPv6 or IPv4-mapped IPv6)."""
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message}, status_code=status)


async def _json_body(request: Request) -> Any:
    """The request's JSON body; an empty body reads as an empty object."""
    raw = await request.body()
    return json.loads(raw) if raw.strip() else {}


_Endpoint = Callable[[Request], Awaitable[Response]]


def _loopback_only(endpoint: _Endpoint) -> _Endpoint:
    async def guarded(request: Request) -> Response:
        if not is_loopback(request.client.host if request.client else None):
            return _error(403, "the control API answers loopback clients only")
        try:
            return await endpoint(request)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "body must be JSON")

    return guarded


def control_routes(state: Controllable, faults: FaultBoard) -> list[BaseRoute]:
    """The control routes for one simulator's state and fault board."""

    def clock_view() -> dict[str, Any]:
        return {"ok": True, "now": state.clock.now().isoformat(), "offset_s": state.clock.offset_s}

    async def arm_fault(request: Request) -> Response:
        try:
            rule = parse_fault(await _json_body(request))
        except FaultSpecError as exc:
            return _error(400, str(exc))
        faults.arm(rule)
        return JSONResponse({"ok": True, "armed": rule.as_dict()})

    async def list_faults(request: Request) -> Response:
        return JSONResponse({"ok": True, "faults": faults.armed()})

    async def clear_faults(request: Request) -> Response:
        faults.clear()
        return JSONResponse({"ok": True})

    async def move_clock(request: Request) -> Response:
        body = await _json_body(request)
        seconds = body.get("advance_s") if isinstance(body, dict) else None
        valid = isinstance(seconds, int | float) and not isinstance(seconds, bool) and math.isfinite(seconds)
        if not valid:
            return _error(400, "advance_s must be a number of seconds")
        state.clock.advance(float(seconds))  # type: ignore[arg-type]
        return JSONResponse(clock_view())

    async def read_clock(request: Request) -> Response:
        return JSONResponse(clock_view())

    async def settle(request: Request) -> Response:
        return JSONResponse({"ok": True, "settled": state.settle()})

    async def ledger(request: Request) -> Response:
        return JSONResponse({"ok": True, "entries": state.ledger.entries()})

    async def reset(request: Request) -> Response:
        state.reset()
        faults.clear()
        return JSONResponse({"ok": True})

    table: list[tuple[str, _Endpoint, list[str]]] = [
        ("faults", arm_fault, ["POST"]),
        ("faults", list_faults, ["GET"]),
        ("faults", clear_faults, ["DELETE"]),
        ("clock", move_clock, ["POST"]),
        ("clock", read_clock, ["GET"]),
        ("settle", settle, ["POST"]),
        ("ledger", ledger, ["GET"]),
        ("reset", reset, ["POST"]),
    ]
    return [Route(CONTROL_PREFIX + name, _loopback_only(fn), methods=methods) for name, fn, methods in table]
