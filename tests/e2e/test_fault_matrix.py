"""The fault matrix (TEST-2): every adapter × every money operation × every fault of SANDBOX.md, driven
through the real service against the simulator, checked against the table in docs/RELIABILITY.md: the
operation's state, what reconciliation makes of it, and how many times the simulator applied it (never
more than once).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest

from terminal.assembly import Services, build_services
from terminal.domain.operations import OperationState
from terminal.sim.faults import FAULT_KINDS
from tests.e2e.conftest import run
from tests.e2e.matrix_drivers import DIRECT_PROFILES, DRIVERS, Driver

DOC = Path(__file__).resolve().parents[2] / "docs" / "RELIABILITY.md"
HOLD_MS = 300  # the simulators hold (or delay) an answer this long; the adapter's timeout is longer


class Expected(NamedTuple):
    state: OperationState
    reconciled: OperationState
    effects: int


def _table() -> dict[tuple[str, str, str], Expected]:
    """The rows of the fault-matrix table: (gateway, operation, fault) → expected outcome."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("<!-- fault-matrix -->")[1]
    rows: dict[tuple[str, str, str], Expected] = {}
    for line in section.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) != 6 or not re.fullmatch(r"[a-z_]+", cells[0]) or cells[0] == "gateway":
            continue
        gateway, operation, fault, state, reconciled, effects = cells
        rows[(gateway, operation, fault)] = Expected(
            OperationState(state), OperationState(reconciled), int(effects)
        )
    return rows


TABLE = _table()
CASES = [(d, f) for d in DRIVERS for f in sorted(FAULT_KINDS)]


def test_the_table_covers_every_case_and_nothing_else() -> None:
    wanted = {(d.gateway, d.operation, f) for d, f in CASES}
    assert set(TABLE) == wanted


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """One terminal for the whole matrix (starting the simulators per case would triple its time)."""
    built = build_services(tmp_path_factory.mktemp("matrix") / "data", force_sandbox=True)
    for profile_id in DIRECT_PROFILES:  # typed cards: the terminal's own request moves the money
        profile = built.profiles.get(profile_id)
        built.profiles.put(replace(profile, settings={**profile.settings, "direct_entry": "on"}))
    try:
        yield built
    finally:
        run(built.aclose())


def _sim(services: Services, gateway: str) -> str:
    assert services.sims is not None
    return services.sims.urls[gateway]


def _effects(services: Services, driver: Driver) -> int:
    reply = httpx.get(_sim(services, driver.gateway) + "/_sim/ledger", timeout=5)
    entries = reply.json()["entries"]
    return sum(1 for e in entries if e["kind"] == driver.effect_kind and (e["effect"] or driver.any_entry))


@pytest.mark.parametrize(("driver", "fault"), CASES, ids=[f"{d.gateway}-{d.operation}-{f}" for d, f in CASES])
def test_fault(services: Services, driver: Driver, fault: str) -> None:
    expected = TABLE[(driver.gateway, driver.operation, fault)]
    httpx.post(_sim(services, driver.gateway) + "/_sim/reset", timeout=5).raise_for_status()

    def arm() -> None:
        body = {"method": "POST", "path": driver.path, "fault": fault, "times": 1, "delay_ms": HOLD_MS}
        httpx.post(_sim(services, driver.gateway) + "/_sim/faults", json=body, timeout=5).raise_for_status()

    op = run(driver.run(services, arm))
    assert op.state is expected.state, op.gateway_message
    report = run(services.reconciler.run())
    after = run(services.journal.get(op.transaction_id))
    reconciled = next(o for o in after.operations if o.id == op.id)
    assert reconciled.state is expected.reconciled, reconciled.gateway_message
    if reconciled.state is OperationState.UNKNOWN:
        assert op.id in {o.id for o in report.needs_attention}  # listed for an operator
    assert _effects(services, driver) == expected.effects
